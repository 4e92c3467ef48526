"""kill -9 at every journal step of a refund (退号 of a booking paid by card): the kiosk process (the
production composition root, real drivers on `kiosk sim` in its own process) dies right after the step
is durable (`KIOSK_FAULT_KILL_AT`); the next process's recovery finishes the refund. Afterwards the
terminal's ledger, the HIS and the journal agree: the booking cancelled, its payment refunded once at
the HIS and given back exactly once on the terminal, no entry left open."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from benchmarks.torture.processes import EngineKiosk, Sim

KILL_POINTS = (
    "refund:intent", "refund.cancel:intent", "refund.cancel:confirmed", "refund.claim:intent",
    "refund.claim:confirmed", "refund.void:intent", "refund.void:confirmed", "refund:confirmed",
)
QUICK = ("refund.cancel:confirmed", "refund.void:intent")
"""The kill points the default run takes (one process pair costs seconds); every one runs as `slow`, and
tests/flows/test_refund_his.py kills in-process at every step in the default run."""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    work = tmp_path_factory.mktemp("refund-kills")
    running = Sim(work, card_time_s=0.1)
    yield running
    running.stop()


def _post(sim: Sim, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {**sim.auth, "Idempotency-Key": str(uuid.uuid4())}
    answer = requests.post(f"{sim.his}{path}", json=body, headers=headers, timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def _booking(sim: Sim, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient with no appointment books a slot a few days ahead (cancellable today), fee unpaid."""
    fixtures = sim.his_get("/_test/fixtures")
    booked = {a["patient_id"] for a in fixtures["appointments"]}
    patient = [p for p in fixtures["patients"] if p["id"] not in booked and p["tags"] == ["clean"]][n]
    today = dt.date.fromisoformat(sim.his_get("/health")["time"][:10])
    day = (today + dt.timedelta(days=3)).isoformat()
    for department in sim.his_get("/departments")["departments"]:
        for schedule in sim.his_get("/schedules", department_id=department["id"], date=day)["schedules"]:
            if schedule["state"] != "open" or not schedule["available"]:
                continue
            slot = next((s for s in sim.his_get(f"/schedules/{schedule['id']}/slots")["slots"] if s["available"]), None)
            if slot is None:
                continue
            hold = _post(sim, "/holds", {"slot_id": slot["id"], "patient_id": patient["id"]})
            appointment = _post(sim, "/appointments", {"hold_id": hold["hold_id"], "pay_now": True})["appointment"]
            return patient, appointment
    raise AssertionError("no free slot three days ahead")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kill_at", [k if k in QUICK else pytest.param(k, marks=pytest.mark.slow) for k in KILL_POINTS])
def test_killed_at_a_refund_step_the_next_process_refunds_exactly_once(sim: Sim, tmp_path, kill_at: str) -> None:
    patient, appointment = _booking(sim, KILL_POINTS.index(kill_at))
    kiosk = EngineKiosk(tmp_path, sim.config)
    kiosk.data_dir = sim.config.parent / "data"  # the kiosk's journal, as `kiosk sim --write-config` set it
    kiosk.start(kill_at=kill_at)
    assert kiosk.ready() or kiosk.wait_recovered(60)
    paid = kiosk.pay({"kind": "fee", "visit_card": patient["visit_card"], "appointment_id": appointment["id"],
                      "fee_fen": appointment["fee_fen"]}, sim)
    assert paid["outcome"] == "paid", paid
    sale_ref = paid["terminal_ref"]
    answer = kiosk.refund({"visit_card": patient["visit_card"], "appointment_id": appointment["id"]})
    assert answer == {}  # it died at the step, before answering
    kiosk.kill()
    kiosk.start()
    assert kiosk.wait_recovered(60), "recovery did not settle the refund"
    kiosk.kill()

    ledger = sim.observe("payment/ledger")["transactions"]
    given_back = [t for t in ledger if t.get("original_ref") == sale_ref and t["result"] == "approved"]
    assert [t["type"] for t in given_back] == ["void"]  # the day of the sale: voided, exactly once
    [after] = [a for a in sim.his_get("/appointments", patient_id=patient["id"])["appointments"]
               if a["id"] == appointment["id"]]
    assert after["status"] == "cancelled" and after["paid_fen"] == 0
    [payment] = sim.his_get(f"/appointments/{appointment['id']}/payments")["payments"]
    assert payment["status"] == "refunded"
    assert [r["payment_id"] for r in sim.his_get("/refunds")["refunds"]].count(payment["id"]) == 1

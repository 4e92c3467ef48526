"""Idempotency-Key: one effect per key, the first response replayed, reuse refused (both databases)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from simulators.his import models as m
from simulators.his.rules import Title
from simulators.his.testing import TODAY, His, error_code


@pytest.fixture
def his(his_any: His) -> His:
    """Every test of this file runs on SQLite and on PostgreSQL."""
    return his_any


def _slot(his: His, nth: int = 0) -> str:
    return his.free_slot(TODAY + dt.timedelta(days=2), titles=(Title.RESIDENT, Title.ATTENDING), nth=nth)[0]


def test_replay_returns_the_first_response_without_a_second_effect(his: His) -> None:
    key = str(uuid.uuid4())
    slot = _slot(his)
    first = his.hold(slot, "P000003", key=key)
    assert first.status_code == 201
    again = his.hold(slot, "P000003", key=key)
    assert again.status_code == 201 and again.json() == first.json()
    assert his.count(m.Hold, m.Hold.slot_id == slot) == 1
    book_key = str(uuid.uuid4())
    body = {"hold_id": first.json()["hold_id"], "pay_now": False}
    b1 = his.post("/appointments", body, key=book_key)
    b2 = his.post("/appointments", body, key=book_key)
    assert b1.status_code == b2.status_code == 201 and b1.json() == b2.json()
    assert his.count(m.Appointment, m.Appointment.slot_id == slot) == 1


def test_same_key_different_body_is_refused(his: His) -> None:
    key = str(uuid.uuid4())
    assert his.hold(_slot(his), "P000003", key=key).status_code == 201
    r = his.hold(_slot(his, 1), "P000003", key=key)
    assert r.status_code == 422 and error_code(r) == "IDEMPOTENCY_KEY_REUSED"
    assert his.count(m.Hold, m.Hold.patient_id == "P000003") == 1


def test_business_refusals_are_stored_validation_errors_are_not(his: His) -> None:
    slot = _slot(his)
    assert his.hold(slot, "P000003").status_code == 201
    key = str(uuid.uuid4())
    r = his.hold(slot, "P000004", key=key)
    assert r.status_code == 409 and error_code(r) == "SLOT_TAKEN"
    assert his.count(m.IdempotencyKey, m.IdempotencyKey.key == key) == 1
    bad_key = str(uuid.uuid4())
    r = his.post("/holds", {"slot_id": slot}, key=bad_key)
    assert r.status_code == 422
    assert his.count(m.IdempotencyKey, m.IdempotencyKey.key == bad_key) == 0
    # The fixed request under the same key is processed normally.
    r = his.hold(_slot(his, 1), "P000004", key=bad_key)
    assert r.status_code == 201


def test_a_stored_refusal_is_replayed_even_when_the_slot_frees_up(his: His) -> None:
    slot = _slot(his)
    hold = his.hold(slot, "P000003").json()
    key = str(uuid.uuid4())
    assert his.hold(slot, "P000004", key=key).status_code == 409
    his.delete(f"/holds/{hold['hold_id']}")
    r = his.hold(slot, "P000004", key=key)
    assert r.status_code == 409 and error_code(r) == "SLOT_TAKEN"


def test_keys_are_per_kiosk(his: His) -> None:
    key = str(uuid.uuid4())
    assert his.hold(_slot(his), "P000003", key=key).status_code == 201
    r = his.post(
        "/holds", {"slot_id": _slot(his, 1), "patient_id": "P000004"}, key=key, token="second-kiosk-token"
    )
    assert r.status_code == 201


def test_a_key_still_running_answers_in_progress(his: His) -> None:
    key = str(uuid.uuid4())
    with his.hub.inflight.claim("K01", key):
        r = his.hold(_slot(his), "P000003", key=key)
    assert r.status_code == 409 and error_code(r) == "IDEMPOTENCY_IN_PROGRESS"
    assert his.count(m.Hold, m.Hold.patient_id == "P000003") == 0
    assert his.hold(_slot(his), "P000003", key=key).status_code == 201


def test_payment_replay_charges_once(his: His) -> None:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    p = next(x for x in fixtures["patients"] if "unpaid_bills" in x["tags"])
    bills = his.get("/bills", patient_id=p["id"]).json()["bills"]
    body = {
        "patient_id": p["id"],
        "bill_ids": [b["id"] for b in bills],
        "amount_fen": sum(b["amount_fen"] for b in bills),
        "method": "bank_card",
        "terminal_ref": "REF1",
    }
    key = str(uuid.uuid4())
    r1 = his.post("/payments", body, key=key)
    r2 = his.post("/payments", body, key=key)
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert his.count(m.Payment, m.Payment.patient_id == p["id"]) == 1


def test_bad_keys_are_refused(his: His) -> None:
    r = his.hold(_slot(his), "P000003", key="x" * 300)
    assert r.status_code == 422 and error_code(r) == "VALIDATION"

"""The kiosk's hot routes taken by the fast path (fastpath.py) answer exactly as FastAPI's routes do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from simulators.his.fastpath import FastRoutes
from simulators.his.testing import AUTH, TODAY, His


@pytest.fixture
def twins(sqlite_url: str) -> Iterator[tuple[His, His, list[str]]]:
    """Two servers on one database: `fast` as shipped, `plain` with FastAPI alone; and the paths of the
    requests that reached FastAPI's router behind the fast one."""
    fast, plain = His(sqlite_url), His(sqlite_url)
    plain.app.user_middleware = [mw for mw in plain.app.user_middleware if mw.cls is not FastRoutes]
    passed_on: list[str] = []
    fast.client.get("/api/v1/health")  # builds the middleware stack
    stack: Any = fast.app.middleware_stack
    while not isinstance(stack, FastRoutes):
        stack = stack.app
    router = stack.app

    async def spy(scope: dict, receive: Any, send: Any) -> None:
        passed_on.append(f"{scope['method']} {scope['path']}")
        await router(scope, receive, send)

    stack.app = spy
    yield fast, plain, passed_on
    fast.close()
    plain.close()


def _answer(r: Any) -> tuple[int, str, Any]:
    return r.status_code, r.headers["content-type"], r.json()


def test_reads_answer_the_same(twins: tuple[His, His, list[str]]) -> None:
    fast, plain, passed_on = twins
    fixtures = plain.client.get("/api/v1/_test/fixtures").json()
    appt = next(a for a in fixtures["appointments"] if a["date"] == TODAY.isoformat())
    patient = next(p for p in fixtures["patients"] if p["id"] == appt["patient_id"])
    schedules = fast.get("/schedules", department_id=appt["department_id"], date=TODAY.isoformat())
    schedule_id = schedules.json()["schedules"][0]["id"]
    reads = [
        ("get", "/schedules", {"department_id": appt["department_id"], "date": TODAY.isoformat()}),
        ("get", "/schedules", {}),
        ("get", f"/schedules/{schedule_id}/slots", {}),
        ("get", "/schedules/S-NOPE/slots", {}),
        ("get", "/appointments", {"patient_id": patient["id"]}),
        ("get", "/appointments", {"patient_id": patient["id"], "date": TODAY.isoformat()}),
        ("get", "/payments", {"patient_id": patient["id"]}),
        ("post", "/patients/resolve", {"kind": "id_card", "value": patient["id_number"]}),
        ("post", "/patients/resolve", {"kind": "visit_card", "value": "0000"}),
    ]
    for method, path, params in reads:
        if method == "get":
            pair = [h.get(path, **params) for h in (fast, plain)]
        else:
            pair = [h.post(path, params) for h in (fast, plain)]
        assert _answer(pair[0]) == _answer(pair[1]), path
    assert passed_on == []


def test_writes_and_refusals_answer_the_same(twins: tuple[His, His, list[str]]) -> None:
    fast, plain, passed_on = twins
    slot, _ = fast.free_slot(TODAY + dt.timedelta(days=1))
    held = fast.hold(slot, "P000101", key="fast-hold-1")
    assert held.status_code == 201
    # the same slot again: the same refusal from both; the same key again: the stored answer
    assert _answer(fast.hold(slot, "P000102")) == _answer(plain.hold(slot, "P000102"))
    replay = plain.hold(slot, "P000101", key="fast-hold-1")
    assert _answer(replay) == _answer(held) and replay.headers["idempotent-replayed"] == "true"
    booked = fast.post("/appointments", {"hold_id": held.json()["hold_id"], "pay_now": False})
    assert booked.status_code == 201
    appointment = booked.json()["appointment"]
    listed = plain.get("/appointments", patient_id="P000101").json()["appointments"]
    assert appointment in listed
    for path, body in (
        ("/appointments", {"hold_id": "H-NOPE", "pay_now": False}),
        (f"/appointments/{appointment['id']}/collect", {"patient_id": "P000102"}),
        ("/appointments/A-NOPE/collect", {"patient_id": "P000101"}),
        (
            "/payments",
            {"bill_ids": ["B-NOPE"], "amount_fen": 100, "method": "bank_card", "patient_id": "P000101"},
        ),
    ):
        assert _answer(fast.post(path, body)) == _answer(plain.post(path, body)), path
    beat = fast.post("/kiosks/K01/heartbeat", {"devices": {}})
    assert beat.status_code == 200 and beat.json()["kiosk_id"] == "K01"
    assert passed_on == []


def test_what_the_fast_path_is_unsure_of_goes_to_fastapi(twins: tuple[His, His, list[str]]) -> None:
    fast, plain, passed_on = twins
    unsure = [
        ("/holds", b'{"slot_id": "x"}', "application/json"),  # a field missing
        ("/holds", b'{"slot_id": ', "application/json"),  # not JSON
        ("/holds", b'{"slot_id": "x", "patient_id": "P000101"}', "text/plain"),  # not declared JSON
        ("/appointments/" + "x" * 65 + "/collect", b'{"patient_id": "P000101"}', "application/json"),
    ]
    for path, content, kind in unsure:
        pair = [
            h.client.post(f"/api/v1{path}", content=content, headers={**AUTH, "Content-Type": kind})
            for h in (fast, plain)
        ]
        assert _answer(pair[0]) == _answer(pair[1]), path
        assert pair[0].status_code == 422
    twice = [h.client.get("/api/v1/appointments?patient_id=P000101&patient_id=P000102", headers=AUTH)
             for h in (fast, plain)]  # fmt: skip
    assert _answer(twice[0]) == _answer(twice[1])
    assert len(passed_on) == len(unsure) + 1

"""The PostgreSQL write path (pgasync.py): pipelined flows roll back whole, run again after a lost race
or a connection lost before COMMIT, and leave nothing half-written when a booking is refused."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest
from sqlalchemy import bindparam, insert, select

from simulators.his import booking
from simulators.his import models as m
from simulators.his.context import Lane
from simulators.his.db import Database
from simulators.his.fastsql import Flow, Prepared, step
from simulators.his.pgasync import APPLICATION_NAME, Pipelined, conninfo
from simulators.his.testing import TODAY, His, error_code

pytestmark = pytest.mark.postgres


@pytest.fixture
def his(pg_his: His) -> His:
    assert pg_his.hub.pipelined is not None  # the path under test
    return pg_his


def _slot(his: His, nth: int = 0) -> str:
    return his.free_slot(TODAY + dt.timedelta(days=2), nth=nth)[0]


def test_a_booking_code_clash_is_run_again_from_the_start(his: His, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = iter(["CLASH0001", "CLASH0001", "FRESH0002"])
    monkeypatch.setattr(booking, "random_booking_code", lambda: next(codes))
    first = his.book(_slot(his, 0), "P000003")
    assert first.status_code == 201 and first.json()["appointment"]["booking_code"] == "CLASH0001"
    slot = _slot(his, 0)
    second = his.book(slot, "P000004")
    # The first attempt's slot UPDATE was rolled back with it: the second attempt took the slot again.
    assert second.status_code == 201, second.json()
    assert second.json()["appointment"]["booking_code"] == "FRESH0002"
    assert his.count(m.Appointment, m.Appointment.slot_id == slot) == 1
    assert his.count(m.Hold, m.Hold.slot_id == slot, m.Hold.status == "booked") == 1


def test_a_slot_already_held_writes_no_hold(his: His) -> None:
    slot = _slot(his)
    assert his.hold(slot, "P000003").status_code == 201
    refused = his.hold(slot, "P000004")
    assert error_code(refused) == "SLOT_TAKEN"
    assert his.count(m.Hold, m.Hold.slot_id == slot) == 1
    # the connection went back clean: the next request works
    assert his.hold(_slot(his, 1), "P000004").status_code == 201


def test_a_refusal_after_the_reads_releases_the_patients_lock(his: His) -> None:
    held = his.hold(_slot(his), "P000003").json()["hold_id"]
    his.set_now(his.clock.local() + dt.timedelta(minutes=30))  # the hold has expired
    assert error_code(his.post("/appointments", {"hold_id": held, "pay_now": False})) == "HOLD_EXPIRED"
    # Were the patient's row still locked, this would wait for ever (each request is one transaction).
    assert his.hold(_slot(his, 1), "P000003").status_code == 201


def test_connections_the_server_closed_are_replaced_before_anything_is_sent(his: His, pg_url: str) -> None:
    assert his.hold(_slot(his, 0), "P000003").status_code == 201
    slot = _slot(his, 1)
    with psycopg.connect(conninfo(pg_url), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            (APPLICATION_NAME,),
        ).fetchone()
    assert ended is not None and ended[0] == 1  # the idle connection the hold used
    assert his.hold(slot, "P000004").status_code == 201
    assert his.count(m.Hold, m.Hold.slot_id == slot) == 1


_keys = m.IdempotencyKey.__table__
_STORE = Prepared(
    insert(_keys).values({c: bindparam(c) for c in ("kiosk_id", "key", "request_hash", "status_code",
                                                   "response", "created_at")})
)  # fmt: skip
_READ = Prepared(select(_keys.c.key).where(_keys.c.kiosk_id == bindparam("kiosk_id")))


def _row(key: str) -> dict:
    return {"kiosk_id": "K77", "key": key, "request_hash": "h", "status_code": 201, "response": "{}",
            "created_at": dt.datetime(2026, 11, 23, 8, 0)}  # fmt: skip


def test_a_statement_prepared_after_a_failure_is_prepared_again(pg_url: str) -> None:
    db = Database(pg_url)
    runner = Pipelined(pg_url, db.writer.dialect, {Lane.BOOKING: 1})

    def store_twice() -> Flow[int]:
        # the second INSERT breaks the unique key; the SELECT after it (first use: prepared in the
        # same round trip) is skipped by PostgreSQL, so it is not prepared on the connection
        yield step(_STORE(**_row("a")), _STORE(**_row("a")), _READ(kiosk_id="K77"))
        return 0

    def read() -> Flow[list[str]]:
        (found,) = yield step(_READ(kiosk_id="K77"))
        return [r.key for r in found.rows]

    def store(key: str) -> Flow[int]:
        (done,) = yield step(_STORE(**_row(key)), last=True)
        return done.rowcount

    async def scenario() -> tuple[list[str], int, list[str]]:
        with pytest.raises(psycopg.errors.UniqueViolation):
            await runner.run(store_twice)
        nothing = await runner.run(read)  # rolled back whole; the same connection, SELECT prepared anew
        stored = await runner.run(lambda: store("b"))
        return nothing, stored, await runner.run(read)

    try:
        nothing, stored, after = asyncio.run(scenario())
    finally:
        runner.close()
        db.dispose()
    assert nothing == [] and stored == 1 and after == ["b"]


def test_a_collection_does_not_wait_for_the_booking_lanes_connections(pg_url: str) -> None:
    from simulators.his.holds import _PATIENT_LOCKED

    db = Database(pg_url)
    runner = Pipelined(pg_url, db.writer.dialect, {Lane.BOOKING: 1, Lane.ARRIVAL: 1})

    def lock_patient() -> Flow[int]:
        (found,) = yield step(_PATIENT_LOCKED(patient_id="P000001"), last=True)
        return len(found.rows)

    def read() -> Flow[int]:
        (found,) = yield step(_READ(kiosk_id="K77"))
        return len(found.rows)

    async def scenario(admin: psycopg.Connection) -> tuple[int, int, int]:
        blocked = asyncio.ensure_future(runner.run(lock_patient))  # the booking lane's one connection
        await asyncio.sleep(0.3)
        queued = asyncio.ensure_future(runner.run(read))  # waits for that connection
        arrived = await asyncio.wait_for(runner.run(read, Lane.ARRIVAL), 20)
        assert not blocked.done() and not queued.done()
        admin.rollback()  # the row is free: the booking lane moves again
        return arrived, await blocked, await queued

    try:
        with psycopg.connect(conninfo(pg_url)) as admin:
            admin.execute("SELECT 1 FROM patients WHERE id = 'P000001' FOR UPDATE")
            assert asyncio.run(scenario(admin)) == (0, 1, 0)
    finally:
        runner.close()
        db.dispose()

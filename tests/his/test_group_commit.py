"""Group commit: requests batched in one transaction keep their own outcomes, and none is answered early."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.context import Lane
from simulators.his.db import Database
from simulators.his.groupcommit import GroupCommit
from simulators.his.server import ServerHandle, start_in_thread
from simulators.his.testing import SEEDED_AT, TODAY, TOKENS, TZ

HEADERS = {"Authorization": "Bearer demo-kiosk-token"}
Call = Callable[[], requests.Response]


@pytest.fixture
def server(db_url: str) -> Iterator[ServerHandle]:
    handle = start_in_thread(
        db_url, seed=None, tokens=TOKENS, test_mode=True, clock=Clock(TZ, SEEDED_AT), group_commit=True
    )
    yield handle
    handle.stop()


@pytest.fixture
def sqlite_server(sqlite_url: str) -> Iterator[ServerHandle]:
    handle = start_in_thread(
        sqlite_url, seed=None, tokens=TOKENS, test_mode=True, clock=Clock(TZ, SEEDED_AT), group_commit=True
    )
    yield handle
    handle.stop()


def _free_slots(handle: ServerHandle, n: int) -> list[str]:
    with handle.hub.db.read() as s:
        return list(
            s.execute(
                select(m.Slot.id)
                .join(m.Schedule, m.Schedule.id == m.Slot.schedule_id)
                .where(
                    m.Schedule.date == TODAY + dt.timedelta(days=2),
                    m.Schedule.state == "open",
                    m.Slot.appointment_id.is_(None),
                    m.Slot.hold_id.is_(None),
                    m.Slot.reserved_followup.is_(False),
                )
                .order_by(m.Slot.id)
                .limit(n)
            ).scalars()
        )


def _hold(handle: ServerHandle, slot: str, patient: str, key: str | None = None) -> Call:
    headers = dict(HEADERS)
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"slot_id": slot, "patient_id": patient}
    return lambda: requests.post(f"{handle.url}/holds", json=body, headers=headers, timeout=30)


def _in_one_batch(handle: ServerHandle, calls: list[Call], done: list[int] | None = None) -> list[Any]:
    """Run the calls while the writer is held, so that they all queue, then let it take them at once."""
    committer = handle.hub.committer
    assert committer is not None
    entered, gate = threading.Event(), threading.Event()

    def blocker(_s: Session) -> None:
        entered.set()
        assert gate.wait(30)

    holder = threading.Thread(target=committer.run, args=(blocker,))
    holder.start()
    assert entered.wait(10)
    results: list[Any] = [None] * len(calls)

    def call(k: int) -> None:
        try:
            results[k] = calls[k]()
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[k] = error
        if done is not None:
            done.append(k)

    threads = [threading.Thread(target=call, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for _ in range(500):  # bounded: at most ~10 s
        if committer.pending() == len(calls):
            break
        threading.Event().wait(0.02)
    assert committer.pending() == len(calls)
    gate.set()
    holder.join(10)
    for t in threads:
        t.join(30)
    return results


def test_one_refusal_in_a_batch_rolls_back_only_itself(server: ServerHandle) -> None:
    committer = server.hub.committer
    assert committer is not None
    slots = _free_slots(server, 4)
    assert _hold(server, slots[3], "P000010")().status_code == 201  # taken before the batch
    sizes: list[int] = []
    committer.on_commit = sizes.append
    refused_key, contested_key = str(uuid.uuid4()), str(uuid.uuid4())
    calls = [
        _hold(server, slots[0], "P000001"),
        _hold(server, slots[1], "P000002"),
        _hold(server, slots[2], "P000003", key=contested_key),
        _hold(server, slots[2], "P000004"),  # the same slot in the same batch: one of the two wins
        _hold(server, slots[3], "P000005", key=refused_key),  # SLOT_TAKEN, and stored under its key
    ]
    a, b, c, d, e = _in_one_batch(server, calls)
    assert sizes[-1] == len(calls), sizes  # they did share one transaction
    assert a.status_code == b.status_code == 201
    assert sorted([c.status_code, d.status_code]) == [201, 409]
    loser = c if c.status_code == 409 else d
    assert loser.json()["error"]["code"] == "SLOT_TAKEN"
    assert e.status_code == 409 and e.json()["error"]["code"] == "SLOT_TAKEN"
    with server.hub.db.read() as s:
        for slot in slots:
            live = s.execute(select(m.Hold).where(m.Hold.slot_id == slot, m.Hold.status == "live")).scalars()
            holds = list(live)
            assert len(holds) == 1, slot
            row = s.get(m.Slot, slot)
            assert row is not None and row.hold_id == holds[0].id
        refused = s.execute(select(m.IdempotencyKey).where(m.IdempotencyKey.key == refused_key)).scalar_one()
        assert refused.status_code == 409
        contested = s.execute(
            select(m.IdempotencyKey).where(m.IdempotencyKey.key == contested_key)
        ).scalar_one()
        assert contested.status_code == c.status_code
        assert s.execute(select(m.Hold).where(m.Hold.patient_id == "P000005")).first() is None
    replay = _hold(server, slots[3], "P000005", key=refused_key)()
    assert replay.status_code == 409 and replay.headers.get("Idempotent-Replayed") == "true"


def test_a_crash_before_the_commit_answers_no_request_and_keeps_nothing(sqlite_server: ServerHandle) -> None:
    hub = sqlite_server.hub
    slots = _free_slots(sqlite_server, 3)
    answered: list[int] = []
    seen_at_commit: list[list[int]] = []
    real = hub.db.transaction
    crashes = 0

    @contextmanager
    def crashing() -> Iterator[Connection]:
        nonlocal crashes
        with real() as conn:
            yield conn
            if crashes == 0 and _holds_written(conn, slots):
                crashes += 1
                seen_at_commit.append(list(answered))
                raise RuntimeError("power cut before the commit")  # rolls the transaction back

    hub.db.transaction = crashing  # type: ignore[method-assign]
    calls = [_hold(sqlite_server, slot, f"P00000{k + 1}") for k, slot in enumerate(slots)]
    results = _in_one_batch(sqlite_server, calls, done=answered)
    assert crashes == 1 and seen_at_commit == [[]]  # nobody had an answer when the commit was due
    assert all(r.status_code == 500 for r in results)  # and nobody was told it succeeded
    with hub.db.read() as s:
        assert s.execute(select(m.Hold).where(m.Hold.slot_id.in_(slots))).first() is None
        assert all(s.get(m.Slot, slot).hold_id is None for slot in slots)  # type: ignore[union-attr]
    # The writer lives on: the same requests succeed now.
    assert [call().status_code for call in calls] == [201, 201, 201]


def _holds_written(conn: Connection, slots: list[str]) -> bool:
    """True when this (uncommitted) transaction holds any of the slots: the batch under test."""
    return conn.execute(select(m.Hold.id).where(m.Hold.slot_id.in_(slots))).first() is not None


def test_a_failed_commit_runs_each_request_alone(sqlite_server: ServerHandle) -> None:
    hub = sqlite_server.hub
    committer = hub.committer
    assert committer is not None
    sizes: list[int] = []
    committer.on_commit = sizes.append
    slots = _free_slots(sqlite_server, 3)
    real = hub.db.transaction
    failures = 0

    @contextmanager
    def flaky() -> Iterator[Connection]:
        nonlocal failures
        with real() as conn:
            yield conn
            if failures == 0 and _holds_written(conn, slots):
                failures += 1
                raise OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    hub.db.transaction = flaky  # type: ignore[method-assign]
    calls = [_hold(sqlite_server, slot, f"P00001{k + 1}") for k, slot in enumerate(slots)]
    results = _in_one_batch(sqlite_server, calls)
    assert failures == 1
    assert [r.status_code for r in results] == [201, 201, 201]
    assert sizes[-3:] == [1, 1, 1], sizes  # the failed batch of 3 was not counted; each ran alone
    with hub.db.read() as s:
        for slot in slots:
            assert len(list(s.execute(select(m.Hold).where(m.Hold.slot_id == slot)).scalars())) == 1


def test_a_waiting_collection_goes_in_the_next_batch_ahead_of_a_surge(sqlite_url: str) -> None:
    """At the release time 40 holds wait for the writer; a 取号 arriving after them is in the next batch."""
    db = Database(sqlite_url)
    committer = GroupCommit(db, max_batch=32)
    ran: list[str] = []
    batches: list[int] = []
    committer.on_commit = batches.append
    entered, gate = threading.Event(), threading.Event()

    def blocker(_s: Session) -> None:
        entered.set()
        assert gate.wait(30)

    def unit(name: str) -> Callable[[Session], str]:
        return lambda _s: ran.append(name) or name

    try:
        first = committer.submit(blocker)
        assert entered.wait(10)
        surge = [committer.submit(unit(f"hold{k}")) for k in range(40)]
        collect = committer.submit(unit("collect"), Lane.ARRIVAL)
        gate.set()
        assert collect.result(10) == "collect"
        assert [f.result(10) for f in surge] == [f"hold{k}" for k in range(40)]
        first.result(10)
    finally:
        committer.close()
        db.dispose()
    assert batches == [1, 32, 9]
    assert ran.index("collect") == 0  # the first of the batch after the blocker's, before any hold

"""Several server processes on one database (serve --workers 2): still no slot taken twice.

On SQLite the workers share the file (and its writer lock); on PostgreSQL they share nothing but the
database, as servers on several machines would.

GIVEN the reference HIS started as `python -m simulators.his serve --workers 2` on a seeded database
WHEN many clients on many connections (so both workers answer) race for the same slots and keys
THEN one hold wins each slot, no slot is booked twice, and one idempotency key has one effect.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from simulators.his import models as m
from simulators.his.db import Database
from simulators.his.testing import SEEDED_AT, TODAY, TZ, public_slots

HEADERS = {"Authorization": "Bearer demo-kiosk-token"}
FREE_PATIENTS = [f"P{n:06d}" for n in [*range(1, 50), *range(410, 600)]]
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def workers(db_url: str) -> Iterator[tuple[str, Database]]:
    port = _free_port()
    now = SEEDED_AT.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))).isoformat()
    assert TZ == "Asia/Shanghai"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.his", "serve", "--port", str(port), "--db", db_url]
        + ["--now", now, "--token", "demo-kiosk-token", "--workers", "2", "--log-level", "warning"],
        cwd=REPO,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    db = Database(db_url)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        time.sleep(1.0)  # the second worker comes up just after the first
        yield url, db
    finally:
        db.dispose()
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its two workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_two_workers_race_for_the_last_slot(workers: tuple[str, Database]) -> None:
    url, db = workers
    slot = public_slots(db, TODAY + dt.timedelta(days=2), 1)[0]
    clients = 100
    barrier = threading.Barrier(clients, timeout=60)

    def attempt(patient: str) -> tuple[int, str]:
        with requests.Session() as http:
            http.get(
                f"{url}/health", timeout=30
            )  # the connection is open (and has its worker) before the race
            barrier.wait()
            r = http.post(
                f"{url}/holds", json={"slot_id": slot, "patient_id": patient}, headers=HEADERS, timeout=60
            )
            return r.status_code, r.json().get("error", {}).get("code", "")

    with ThreadPoolExecutor(max_workers=clients) as pool:
        codes = Counter(pool.map(attempt, FREE_PATIENTS[:clients]))
    assert codes[(201, "")] == 1, codes
    assert codes[(409, "SLOT_TAKEN")] == clients - 1, codes
    with db.read() as s:
        live = (
            s.execute(select(m.Hold).where(m.Hold.slot_id == slot, m.Hold.status == "live")).scalars().all()
        )
        assert len(live) == 1
        row = s.get(m.Slot, slot)
        assert row is not None and row.hold_id == live[0].id


def test_two_workers_book_each_slot_once(workers: tuple[str, Database]) -> None:
    url, db = workers
    slots = [sl for d in (3, 4) for sl in public_slots(db, TODAY + dt.timedelta(days=d), 10)]
    patients = FREE_PATIENTS[:40]

    def client(k: int) -> Counter:
        seen: Counter = Counter()
        with requests.Session() as http:
            for n in range(6):
                body = {
                    "slot_id": slots[(k + n) % len(slots)],
                    "patient_id": patients[(k * 7 + n) % len(patients)],
                }
                r = http.post(f"{url}/holds", json=body, headers=HEADERS, timeout=60)
                if r.status_code != 201:
                    seen[r.json()["error"]["code"]] += 1
                    continue
                b = http.post(
                    f"{url}/appointments",
                    json={"hold_id": r.json()["hold_id"], "pay_now": False},
                    headers=HEADERS,
                    timeout=60,
                )
                seen["booked" if b.status_code == 201 else b.json()["error"]["code"]] += 1
        return seen

    with ThreadPoolExecutor(max_workers=40) as pool:
        totals = sum(pool.map(client, range(40)), Counter())
    assert totals["booked"] > 0 and sum(totals.values()) == 240, totals
    with db.read() as s:
        active = m.Appointment.status.in_(m.ACTIVE_STATUSES)
        booked = s.execute(
            select(func.count()).where(m.Appointment.patient_id.in_(patients), active)
        ).scalar_one()
        assert booked == totals["booked"]
        per_slot = s.execute(
            select(m.Appointment.slot_id, func.count()).where(active).group_by(m.Appointment.slot_id)
        ).all()
        assert max(n for _, n in per_slot) == 1
        for sid in slots:
            row = s.get(m.Slot, sid)
            assert row is not None
            if row.appointment_id is not None:
                appt = s.get(m.Appointment, row.appointment_id)
                assert appt is not None and appt.slot_id == sid and appt.status == "booked"


def test_two_workers_same_key_one_effect(workers: tuple[str, Database]) -> None:
    url, db = workers
    slot = public_slots(db, TODAY + dt.timedelta(days=5), 1)[0]
    clients = 30
    barrier = threading.Barrier(clients, timeout=60)
    headers = {**HEADERS, "Idempotency-Key": "one-key-two-workers"}

    def attempt(_: int) -> tuple[int, str]:
        with requests.Session() as http:
            http.get(f"{url}/health", timeout=30)
            barrier.wait()
            r = http.post(
                f"{url}/holds", json={"slot_id": slot, "patient_id": "P000003"}, headers=headers, timeout=60
            )
            body = r.json()
            return r.status_code, body.get("hold_id") or body["error"]["code"]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(attempt, range(clients)))
    assert len({value for status, value in results if status == 201}) == 1, results
    assert {value for status, value in results if status != 201} <= {"IDEMPOTENCY_IN_PROGRESS"}
    with db.read() as s:
        assert len(s.execute(select(m.Hold).where(m.Hold.slot_id == slot)).scalars().all()) == 1

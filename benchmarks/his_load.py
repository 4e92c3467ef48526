"""Load on the reference HIS: hold + book throughput and latency at 50 and 200 concurrent clients,
on SQLite and on PostgreSQL, then a check that no slot was booked twice.

Run: `.venv/bin/python benchmarks/his_load.py [--backend sqlite|postgres|both] [--clients 50,200]
[--seconds 10]`. Loopback only; every client stops at the deadline or after --max-per-client attempts.
The server (uvicorn, one process) and the clients share this machine and its GIL, so the figures are a
floor for a real deployment, not a ceiling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import func, select

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.pgtemp import TempCluster
from simulators.his.server import ServerHandle, start_in_thread

START = dt.datetime(2026, 11, 23, 9, 0)  # Monday 09:00: the whole week is bookable
HEADERS = {"Authorization": "Bearer demo-kiosk-token"}


@dataclass
class Result:
    hold_ms: list[float] = field(default_factory=list)
    book_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _slots(handle: ServerHandle) -> list[str]:
    with handle.hub.db.read() as s:
        return list(
            s.execute(
                select(m.Slot.id)
                .join(m.Schedule, m.Schedule.id == m.Slot.schedule_id)
                .where(
                    m.Schedule.date > START.date(),
                    m.Schedule.state == "open",
                    m.Slot.appointment_id.is_(None),
                    m.Slot.reserved_followup.is_(False),
                )
            ).scalars()
        )


def _client(
    url: str,
    slots: list[str],
    patients: list[str],
    deadline: float,
    max_attempts: int,
    seed: int,
    result: Result,
    lock: threading.Lock,
) -> None:
    rng = random.Random(seed)
    local = Result()
    with requests.Session() as http:
        for _ in range(max_attempts):
            if time.monotonic() >= deadline:
                break
            t0 = time.perf_counter()
            r = http.post(
                f"{url}/holds",
                json={"slot_id": rng.choice(slots), "patient_id": rng.choice(patients)},
                headers=HEADERS,
                timeout=60,
            )
            local.hold_ms.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 201:
                local.outcomes[r.json()["error"]["code"]] += 1
                continue
            t0 = time.perf_counter()
            b = http.post(
                f"{url}/appointments",
                json={"hold_id": r.json()["hold_id"], "pay_now": False},
                headers=HEADERS,
                timeout=60,
            )
            local.book_ms.append((time.perf_counter() - t0) * 1000)
            local.outcomes["booked" if b.status_code == 201 else b.json()["error"]["code"]] += 1
    with lock:
        result.hold_ms += local.hold_ms
        result.book_ms += local.book_ms
        result.outcomes.update(local.outcomes)


def double_bookings(handle: ServerHandle) -> int:
    """Slots with more than one active appointment, plus appointments their slot does not point back to."""
    with handle.hub.db.read() as s:
        active = select(m.Appointment.slot_id).where(
            m.Appointment.status.in_(m.ACTIVE_STATUSES), m.Appointment.slot_id.is_not(None)
        )
        doubled = s.execute(
            select(func.count()).select_from(
                active.group_by(m.Appointment.slot_id).having(func.count() > 1).subquery()
            )
        ).scalar_one()
        dangling = s.execute(
            select(func.count())
            .select_from(m.Appointment)
            .join(m.Slot, m.Slot.id == m.Appointment.slot_id)
            .where(m.Appointment.status.in_(m.ACTIVE_STATUSES), m.Slot.appointment_id != m.Appointment.id)
        ).scalar_one()
    return int(doubled) + int(dangling)


def run(db_url: str, clients: int, seconds: float, max_per_client: int) -> dict:
    handle = start_in_thread(db_url, seed=1, test_mode=False, clock=Clock(now=START))
    try:
        slots = _slots(handle)
        patients = [f"P{n:06d}" for n in range(1, 1201)]
        result, lock = Result(), threading.Lock()
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(
                target=_client, args=(handle.url, slots, patients, deadline, max_per_client, k, result, lock)
            )
            for k in range(clients)
        ]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.monotonic() - t0
        return {
            "clients": clients,
            "elapsed_s": elapsed,
            "holds_per_s": len(result.hold_ms) / elapsed,
            "bookings_per_s": result.outcomes["booked"] / elapsed,
            "hold_p50_ms": _pct(result.hold_ms, 0.5),
            "hold_p99_ms": _pct(result.hold_ms, 0.99),
            "book_p50_ms": _pct(result.book_ms, 0.5),
            "book_p99_ms": _pct(result.book_ms, 0.99),
            "outcomes": dict(result.outcomes.most_common()),
            "double_bookings": double_bookings(handle),
        }
    finally:
        handle.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", default="50,200")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-per-client", type=int, default=2000)
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        cluster = TempCluster.start() if backend == "postgres" else None
        try:
            for n, clients in enumerate(counts):
                if cluster is not None:
                    name = f"load{n}"
                    cluster.admin(f"CREATE DATABASE {name}")
                    url = cluster.url(name)
                    tmp = None
                else:
                    tmp = tempfile.TemporaryDirectory()
                    url = f"sqlite:///{Path(tmp.name) / 'his.db'}"
                try:
                    row = run(url, clients, args.seconds, args.max_per_client)
                finally:
                    if tmp is not None:
                        tmp.cleanup()
                row["backend"] = backend
                rows.append(row)
                print(
                    f"{backend:8s} {clients:4d} clients: {row['holds_per_s']:7.1f} holds/s "
                    f"{row['bookings_per_s']:6.1f} bookings/s | hold p50 {row['hold_p50_ms']:6.1f} ms "
                    f"p99 {row['hold_p99_ms']:7.1f} ms | book p50 {row['book_p50_ms']:6.1f} ms "
                    f"p99 {row['book_p99_ms']:7.1f} ms | double bookings {row['double_bookings']}",
                    flush=True,
                )
                print(f"          outcomes: {row['outcomes']}", flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
    assert all(r["double_bookings"] == 0 for r in rows), "a slot was booked twice"
    print(f"median over runs: {statistics.median(r['bookings_per_s'] for r in rows):.1f} bookings/s")


if __name__ == "__main__":
    main()

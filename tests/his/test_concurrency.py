"""Races against a real uvicorn server on loopback: no slot is ever taken twice, limits hold."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.rules import Rules
from simulators.his.server import ServerHandle, start_in_thread
from simulators.his.testing import SEEDED_AT, TODAY, TOKENS, TZ, public_slots

# Seeded patients with no bookings at all (1..49 and 410..599 minus the no-show history 50..69).
FREE_PATIENTS = [f"P{n:06d}" for n in [*range(1, 50), *range(410, 600)]]
HEADERS = {"Authorization": "Bearer demo-kiosk-token"}


@pytest.fixture
def server(db_url: str) -> Iterator[ServerHandle]:
    handle = start_in_thread(db_url, seed=None, tokens=TOKENS, test_mode=True, clock=Clock(TZ, SEEDED_AT))
    yield handle
    handle.stop()


def test_200_clients_race_for_the_last_slot(server: ServerHandle) -> None:
    slot = public_slots(server.hub.db, TODAY + dt.timedelta(days=2), 1)[0]
    clients = 200
    barrier = threading.Barrier(clients, timeout=60)

    def attempt(patient: str) -> tuple[int, str]:
        with requests.Session() as http:
            barrier.wait()
            r = http.post(
                f"{server.url}/holds",
                json={"slot_id": slot, "patient_id": patient},
                headers=HEADERS,
                timeout=60,
            )
            return r.status_code, r.json().get("error", {}).get("code", "")

    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(attempt, FREE_PATIENTS[:clients]))
    codes = Counter(results)
    assert codes[(201, "")] == 1, codes
    assert codes[(409, "SLOT_TAKEN")] == clients - 1, codes
    with server.hub.db.read() as s:
        live = (
            s.execute(select(m.Hold).where(m.Hold.slot_id == slot, m.Hold.status == "live")).scalars().all()
        )
        assert len(live) == 1
        row = s.get(m.Slot, slot)
        assert row is not None and row.hold_id == live[0].id


def test_many_clients_many_slots_book_each_slot_once(server: ServerHandle) -> None:
    days = [TODAY + dt.timedelta(days=n) for n in (2, 3, 4)]
    slots = [sl for d in days for sl in public_slots(server.hub.db, d, 15)]
    patients = FREE_PATIENTS[:25]
    rng = random.Random(7)
    plan = [[(rng.choice(slots), rng.choice(patients)) for _ in range(6)] for _ in range(60)]

    def client(attempts: list[tuple[str, str]]) -> Counter:
        seen: Counter = Counter()
        with requests.Session() as http:
            for slot, patient in attempts:
                r = http.post(
                    f"{server.url}/holds",
                    json={"slot_id": slot, "patient_id": patient},
                    headers=HEADERS,
                    timeout=60,
                )
                if r.status_code != 201:
                    seen[r.json()["error"]["code"]] += 1
                    continue
                b = http.post(
                    f"{server.url}/appointments",
                    json={"hold_id": r.json()["hold_id"], "pay_now": False},
                    headers=HEADERS,
                    timeout=60,
                )
                seen["booked" if b.status_code == 201 else b.json()["error"]["code"]] += 1
        return seen

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        totals = sum(pool.map(client, plan), Counter())
    assert totals["booked"] > 0 and sum(totals.values()) == 360, totals
    assert set(totals) <= {
        "booked",
        "SLOT_TAKEN",
        "DAILY_DEPARTMENT_LIMIT",
        "SAME_DEPARTMENT_DOCTOR_LIMIT",
        "WEEKLY_LIMIT",
        "FIRST_VISIT_EXPERT_LIMIT",
        "HOLD_EXPIRED",
    }, totals
    rules = Rules()
    with server.hub.db.read() as s:
        appts = (
            s.execute(
                select(m.Appointment).where(
                    m.Appointment.patient_id.in_(patients), m.Appointment.status == "booked"
                )
            )
            .scalars()
            .all()
        )
        assert len(appts) == totals["booked"]
        per_slot = Counter(a.slot_id for a in appts)
        assert max(per_slot.values()) == 1
        for a in appts:
            slot = s.get(m.Slot, a.slot_id)
            assert slot is not None and slot.appointment_id == a.id
    by_patient: dict[str, list[m.Appointment]] = defaultdict(list)
    for a in appts:
        by_patient[a.patient_id].append(a)
    for mine in by_patient.values():
        per_day: dict[dt.date, list[str]] = defaultdict(list)
        for a in mine:
            per_day[a.date].append(a.department_id)
        for deps in per_day.values():
            assert len(set(deps)) <= rules.max_departments_per_day
            assert max(Counter(deps).values()) <= rules.max_per_department_per_day
        assert len(mine) <= rules.max_bookings_per_window  # all within one 7-day window


def test_the_same_key_at_once_has_one_effect(server: ServerHandle) -> None:
    slot = public_slots(server.hub.db, TODAY + dt.timedelta(days=3), 1)[0]
    clients = 30
    barrier = threading.Barrier(clients, timeout=60)
    headers = {**HEADERS, "Idempotency-Key": "same-key-for-everyone"}

    def attempt(_: int) -> tuple[int, str]:
        with requests.Session() as http:
            barrier.wait()
            r = http.post(
                f"{server.url}/holds",
                json={"slot_id": slot, "patient_id": "P000003"},
                headers=headers,
                timeout=60,
            )
            body = r.json()
            return r.status_code, body.get("hold_id") or body["error"]["code"]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(attempt, range(clients)))
    created = {value for status, value in results if status == 201}
    assert len(created) == 1, results
    assert {value for status, value in results if status != 201} <= {"IDEMPOTENCY_IN_PROGRESS"}
    with server.hub.db.read() as s:
        assert len(s.execute(select(m.Hold).where(m.Hold.slot_id == slot)).scalars().all()) == 1


def test_collecting_at_once_gives_each_appointment_one_queue_number(server: ServerHandle) -> None:
    fixtures = requests.get(f"{server.url}/_test/fixtures", timeout=30).json()
    todays = [
        a for a in fixtures["appointments"] if a["date"] == TODAY.isoformat() and a["status"] == "booked"
    ]
    todays = [a for a in todays if a["period"] == "am"][:20]
    assert len(todays) >= 10
    attempts = [a for a in todays for _ in range(2)]  # every appointment collected twice at once
    barrier = threading.Barrier(len(attempts), timeout=60)

    def collect(appt: dict) -> tuple[str, str, int, str]:
        with requests.Session() as http:
            barrier.wait()
            r = http.post(
                f"{server.url}/appointments/{appt['id']}/collect",
                json={"patient_id": appt["patient_id"]},
                headers=HEADERS,
                timeout=60,
            )
            return appt["id"], appt["department_id"], r.status_code, r.json().get("queue_number", r.text)

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        results = list(pool.map(collect, attempts))
    assert {status for _, _, status, _ in results} == {200}, results
    numbers: dict[str, set[str]] = defaultdict(set)
    for appointment_id, _, _, number in results:
        numbers[appointment_id].add(number)
    assert all(len(n) == 1 for n in numbers.values()), numbers  # the second answer repeats the first
    per_department: dict[str, list[str]] = defaultdict(list)
    for appointment_id, department_id, _, _ in set(results):
        per_department[department_id].append(next(iter(numbers[appointment_id])))
    assert all(len(set(n)) == len(n) for n in per_department.values()), per_department

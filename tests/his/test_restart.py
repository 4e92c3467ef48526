"""A crash of the HIS mid-load loses nothing it acknowledged, and no hold outlives its TTL.

GIVEN the reference HIS as its own process on a SQLite file, with many clients holding and booking
slots and paying bills at once
WHEN the server is killed (SIGKILL, no clean shutdown) in the middle, and started again on the same file
THEN every booking and payment it answered 201 for is there after the restart, no slot is booked twice,
and the holds left behind expire at their 15 minutes like any other.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulators.rig import HisProcess

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
AUTH = {"Authorization": "Bearer demo-kiosk-token"}
CLIENTS = 12
DEADLINE_S = 20.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'his.db'}"


def _post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    headers = {**AUTH, "Idempotency-Key": str(uuid.uuid4())}
    return requests.post(f"{url}{path}", json=body, headers=headers, timeout=5)


def _free_slots(url: str, day: dt.date, want: int) -> list[str]:
    slots: list[str] = []
    departments = requests.get(f"{url}/departments", headers=AUTH, timeout=10).json()["departments"]
    for dep in departments:
        schedules = requests.get(f"{url}/schedules", params={"department_id": dep["id"], "date": day.isoformat()},
                                 headers=AUTH, timeout=10).json()["schedules"]
        for sch in schedules:
            if sch["state"] != "open":
                continue
            for slot in requests.get(f"{url}/schedules/{sch['id']}/slots", headers=AUTH, timeout=10).json()["slots"]:
                if slot["available"]:
                    slots.append(slot["id"])
            if len(slots) >= want:
                return slots[:want]
    return slots


def test_kill_mid_load_then_restart(db: str) -> None:
    his = HisProcess.start(db, now=NOW)
    try:
        url = his.url
        tomorrow = NOW.date() + dt.timedelta(days=1)
        slots = _free_slots(url, tomorrow, 400)
        fixtures = requests.get(f"{url}/_test/fixtures", timeout=10).json()
        clean = [p["id"] for p in fixtures["patients"] if p["tags"] == ["clean"]][:300]
        bills = [b for b in fixtures["bills"] if b["status"] == "unpaid"][:200]
        assert len(slots) >= 100 and len(clean) >= 100 and bills

        booked: list[dict[str, Any]] = []
        paid: list[dict[str, Any]] = []
        held: list[tuple[str, str]] = []  # (slot id, the hold's expires_at)
        lock = threading.Lock()
        stop = threading.Event()
        work = iter(range(10_000))

        def client() -> None:
            deadline = time.monotonic() + DEADLINE_S
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    n = next(work)
                if n >= len(slots):
                    return
                try:
                    hold = _post(url, "/holds", {"slot_id": slots[n], "patient_id": clean[n % len(clean)]})
                    if hold.status_code != 201:
                        continue
                    if n % 3 == 0:  # some holds are left to expire
                        with lock:
                            held.append((slots[n], hold.json()["expires_at"]))
                        continue
                    made = _post(url, "/appointments", {"hold_id": hold.json()["hold_id"], "pay_now": False})
                    if made.status_code == 201:
                        with lock:
                            booked.append(made.json()["appointment"])
                    if n < len(bills):
                        bill = bills[n]
                        pay = _post(url, "/payments", {"patient_id": bill["patient_id"], "bill_ids": [bill["id"]],
                                                       "amount_fen": bill["amount_fen"], "method": "wechat"})
                        if pay.status_code == 201:
                            with lock:
                                paid.append(pay.json()["payment"])
                except requests.RequestException:
                    return  # the server died under us: what it acknowledged before is what counts

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for _ in range(200):  # kill once the load is well under way
            if len(booked) >= 40:
                break
            time.sleep(0.05)
        os.kill(his.process.pid, signal.SIGKILL)
        his.process.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(booked) >= 20 and paid and held, "the load never got going"
        print(f"before the kill: {len(booked)} booked, {len(paid)} paid, {len(held)} holds left")
    finally:
        his.stop()

    # The clock starts where it was; the holds taken before the crash are then 1 minute old.
    again = HisProcess.start(db, now=NOW + dt.timedelta(minutes=1))
    try:
        url = again.url
        by_patient: dict[str, list[dict[str, Any]]] = {}
        for appointment in booked:
            by_patient.setdefault(appointment["patient_id"], [])
        for patient_id in by_patient:
            by_patient[patient_id] = requests.get(
                f"{url}/appointments", params={"patient_id": patient_id}, headers=AUTH, timeout=10
            ).json()["appointments"]
        for appointment in booked:
            found = [a for a in by_patient[appointment["patient_id"]] if a["id"] == appointment["id"]]
            assert found and found[0]["status"] == "booked", f"acknowledged booking {appointment['id']} lost"
        all_slots = [a["slot"]["id"] for lst in by_patient.values() for a in lst if a["status"] == "booked"]
        assert len(all_slots) == len(set(all_slots)), "a slot was booked twice"

        day_payments = requests.get(f"{url}/payments", params={"date": NOW.date().isoformat(), "kiosk_id": "all"},
                                    headers=AUTH, timeout=10).json()["payments"]
        stored = {p["id"] for p in day_payments}
        assert all(p["id"] in stored for p in paid), "an acknowledged payment was lost"

        def slot_available(slot_id: str) -> bool:
            for dep in requests.get(f"{url}/departments", headers=AUTH, timeout=10).json()["departments"]:
                for sch in requests.get(f"{url}/schedules", params={"department_id": dep["id"],
                                        "date": tomorrow.isoformat()}, headers=AUTH, timeout=10).json()["schedules"]:
                    for slot in requests.get(f"{url}/schedules/{sch['id']}/slots", headers=AUTH,
                                             timeout=10).json()["slots"]:
                        if slot["id"] == slot_id:
                            return bool(slot["available"])
            raise AssertionError(f"slot {slot_id} vanished")

        if held:
            probe, expires_at = held[0]
            assert not slot_available(probe), "a live hold must still keep its slot after the restart"
            # The server clock ran on from NOW while the load ran: expire from the hold's own deadline.
            after = dt.datetime.fromisoformat(expires_at) + dt.timedelta(seconds=1)
            requests.put(f"{url}/_test/clock", json={"now": after.isoformat()}, timeout=10).raise_for_status()
            assert slot_available(probe), "a hold outlived its 15 minutes across the restart"
    finally:
        again.stop()

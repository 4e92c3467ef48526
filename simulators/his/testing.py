"""Test support for the reference HIS: a TestClient wrapper with a settable clock and DB helpers."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from sqlalchemy import func, select

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.db import Database
from simulators.his.rules import Rules, Title
from simulators.his.server import Hub, create_app

with warnings.catch_warnings():
    # Starlette nudges towards httpx2 at import; the httpx-based TestClient works the same.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

TZ = "Asia/Shanghai"
SEEDED_AT = dt.datetime(2026, 11, 23, 9, 0)  # a Monday, 09:00 hospital time
TODAY = SEEDED_AT.date()
TOKEN = "demo-kiosk-token"
TOKENS = {TOKEN: "K01", "second-kiosk-token": "K02"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def at(day_offset: int, hhmmss: str) -> dt.datetime:
    """A hospital-local time `day_offset` days after the seed day."""
    return dt.datetime.combine(TODAY + dt.timedelta(days=day_offset), dt.time.fromisoformat(hhmmss))


class His:
    """A test client with helpers: set the clock, pick free slots, count rows."""

    def __init__(self, url: str, rules: Rules | None = None, now: dt.datetime = SEEDED_AT) -> None:
        self.clock = Clock(TZ, now)
        self.app = create_app(url, seed=None, tokens=TOKENS, test_mode=True, rules=rules, clock=self.clock)
        self.hub: Hub = self.app.state.hub
        self.client = TestClient(self.app)

    def close(self) -> None:
        self.client.close()
        self.hub.close()

    # --- HTTP ---
    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=AUTH)

    def post(self, path: str, body: Any = None, key: str | None = None, token: str = TOKEN) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=AUTH)

    def set_now(self, when: dt.datetime) -> None:
        self.clock.set(when)

    def hold(self, slot_id: str, patient_id: str, key: str | None = None) -> Any:
        return self.post("/holds", {"slot_id": slot_id, "patient_id": patient_id}, key=key)

    def book(self, slot_id: str, patient_id: str) -> Any:
        """Hold and book; returns the booking response (or the failed hold's)."""
        held = self.hold(slot_id, patient_id)
        if held.status_code != 201:
            return held
        return self.post("/appointments", {"hold_id": held.json()["hold_id"], "pay_now": False})

    # --- the database ---
    def free_slot(
        self,
        day: dt.date,
        *,
        period: str | None = None,
        titles: tuple[Title, ...] | None = None,
        general: bool = False,
        state: str = "open",
        exclude_departments: tuple[str, ...] = (),
        department: str | None = None,
        nth: int = 0,
        latest: bool = False,
    ) -> tuple[str, str]:
        """(slot id, department id) of a free public slot matching the filters."""
        with self.hub.db.read() as s:
            stmt = (
                select(m.Slot.id, m.Schedule.department_id)
                .join(m.Schedule, m.Slot.schedule_id == m.Schedule.id)
                .where(
                    m.Schedule.date == day,
                    m.Schedule.state == state,
                    m.Slot.appointment_id.is_(None),
                    m.Slot.hold_id.is_(None),
                    m.Slot.reserved_followup.is_(False),
                )
                .order_by(m.Slot.start.desc() if latest else m.Slot.start, m.Slot.id)
            )
            if period:
                stmt = stmt.where(m.Schedule.period == period)
            if general:
                stmt = stmt.where(m.Schedule.doctor_id.is_(None))
            if titles is not None:
                stmt = stmt.join(m.Doctor, m.Doctor.id == m.Schedule.doctor_id).where(
                    m.Doctor.title.in_([t.value for t in titles])
                )
            if exclude_departments:
                stmt = stmt.where(m.Schedule.department_id.not_in(exclude_departments))
            if department:
                stmt = stmt.where(m.Schedule.department_id == department)
            rows = list(s.execute(stmt.limit(nth + 1)))
        assert len(rows) > nth, "no free slot matches"
        return rows[nth][0], rows[nth][1]

    def count(self, model: type, *where: Any) -> int:
        with self.hub.db.read() as s:
            return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    def patient(self, pid: str) -> m.Patient:
        with self.hub.db.read() as s:
            p = s.get(m.Patient, pid)
            assert p is not None
            return p


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) >= {"code", "message", "message_en", "details"}, body
    return body["error"]["code"]


def public_slots(db: Database, day: dt.date, limit: int) -> list[str]:
    """Free slots of open schedules on `day` that the public may hold (not the follow-up reserve)."""
    with db.read() as s:
        return list(
            s.execute(
                select(m.Slot.id)
                .join(m.Schedule, m.Schedule.id == m.Slot.schedule_id)
                .where(
                    m.Schedule.date == day,
                    m.Schedule.state == "open",
                    m.Slot.appointment_id.is_(None),
                    m.Slot.hold_id.is_(None),
                    m.Slot.reserved_followup.is_(False),
                )
                .order_by(m.Slot.id)
                .limit(limit)
            ).scalars()
        )

"""What one request works with: the time it started, the rules, the calling kiosk, and helpers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.errors import ApiError
from simulators.his.rules import Rules


@dataclass(frozen=True)
class Ctx:
    """One request's view of the world; `now` is fixed when the request starts (naive hospital-local)."""

    now: dt.datetime
    rules: Rules
    clock: Clock
    kiosk_id: str

    @property
    def today(self) -> dt.date:
        return self.now.date()

    def iso(self, when: dt.datetime | None) -> str | None:
        return None if when is None else self.clock.iso(when)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def get_or_404(s: Session, model: type, key: str, *, lock: bool = False) -> object:
    """The row with this primary key, row-locked when asked (PostgreSQL), or 404 NOT_FOUND."""
    stmt = select(model).where(model.id == key)  # type: ignore[attr-defined]
    if lock:
        stmt = stmt.with_for_update()
    row = s.execute(stmt).scalar_one_or_none()
    if row is None:
        raise ApiError("NOT_FOUND", {"resource": model.__tablename__, "id": key})  # type: ignore[attr-defined]
    return row


def next_counter(s: Session, name: str, day: dt.date) -> int:
    """Increment and return a per-day counter (queue numbers, receipt numbers) without a race."""
    result = s.execute(
        update(m.QueueCounter)
        .where(m.QueueCounter.department_id == name, m.QueueCounter.date == day)
        .values(last=m.QueueCounter.last + 1)
        .returning(m.QueueCounter.last)
    ).scalar_one_or_none()
    if result is not None:
        return int(result)
    try:
        with s.begin_nested():
            s.add(m.QueueCounter(department_id=name, date=day, last=1))
        return 1
    except IntegrityError:  # another transaction created the row first: increment it
        return int(
            s.execute(
                update(m.QueueCounter)
                .where(m.QueueCounter.department_id == name, m.QueueCounter.date == day)
                .values(last=m.QueueCounter.last + 1)
                .returning(m.QueueCounter.last)
            ).scalar_one()
        )

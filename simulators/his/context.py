"""What one request works with: the time it started, the rules, the calling kiosk, and helpers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.errors import ApiError
from simulators.his.fastsql import Flow, Prepared, run_flow, step
from simulators.his.rules import Rules


class Lane(Enum):
    """Which queue a write waits in. At the release time every kiosk books at once; the patients
    collecting their numbers meanwhile must not wait behind that surge."""

    BOOKING = "booking"  # holds, bookings, payments, heartbeats, ...
    ARRIVAL = "arrival"  # 取号: a patient at the kiosk waiting for the slip


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


_counters = m.QueueCounter.__table__
_COUNTER_NEXT = Prepared(
    update(_counters)
    .where(_counters.c.department_id == bindparam("counter"), _counters.c.date == bindparam("day"))
    .values(last=_counters.c.last + 1)
    .returning(_counters.c.last)
)
_COUNTER_FIRST = Prepared(
    insert(_counters).values(department_id=bindparam("counter"), date=bindparam("day"), last=1)
)


def counter(name: str, day: dt.date) -> Flow[int]:
    """Increment and return a per-day counter (queue numbers, receipt numbers) without a race.

    The first of the day is an INSERT; two at once break the primary key, and the write that lost is
    run again (as every write that loses a unique-constraint race is), finding the row to increment.
    """
    (bumped,) = yield step(_COUNTER_NEXT(counter=name, day=day))
    row = bumped.first()
    if row is not None:
        return int(row.last)
    yield step(_COUNTER_FIRST(counter=name, day=day))
    return 1


def next_counter(s: Session, name: str, day: dt.date) -> int:
    """`counter` in the session's transaction."""
    return run_flow(s.connection(), counter(name, day))

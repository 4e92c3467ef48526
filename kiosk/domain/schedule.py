"""Departments, doctors, schedules, slots and holds: what the patient chooses from when booking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from kiosk.domain.money import Money


class Period(str, Enum):
    """A half-day session."""

    AM = "am"
    PM = "pm"


class ScheduleState(str, Enum):
    """排班状态; only OPEN (and SUBSTITUTED, after the patient confirms) can be booked."""

    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    SUBSTITUTED = "substituted"

    @property
    def bookable(self) -> bool:
        return self in (ScheduleState.OPEN, ScheduleState.SUBSTITUTED)


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    name_en: str
    floor: str
    room: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Doctor:
    id: str
    name: str
    title: str
    title_en: str
    specialty: str
    department_id: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """One doctor (or the department's general clinic when `doctor_id` is None) on one half-day."""

    id: str
    doctor_id: str | None
    date: dt.date
    period: Period
    state: ScheduleState
    substitute_doctor_id: str | None
    fee: Money
    available: int


@dataclass(frozen=True, slots=True)
class Slot:
    id: str
    start: dt.datetime
    end: dt.datetime
    available: bool

    @property
    def time_text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Hold:
    """A slot held for the patient (锁号) until `expires_at`."""

    id: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class QueueTicket:
    """排队小票: the answer to a check-in."""

    queue_number: str
    department: str
    room: str
    floor: str
    ahead: int
    estimated_wait_min: int


@dataclass(frozen=True, slots=True)
class QueueStatus:
    department_id: str
    now_serving: str | None
    waiting: int

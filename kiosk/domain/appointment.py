"""Appointments and the result of collecting one (取号)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from kiosk.domain.money import Money


class AppointmentStatus(str, Enum):
    BOOKED = "booked"
    COLLECTED = "collected"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


@dataclass(frozen=True, slots=True)
class Appointment:
    """One booked visit: who, which doctor, when, for what fee."""

    id: str
    booking_code: str
    patient_id: str
    date: dt.date
    period: str
    start: dt.datetime
    end: dt.datetime
    department_id: str
    department: str
    doctor: str | None
    doctor_title: str | None
    fee: Money
    status: AppointmentStatus
    queue_number: str | None = None
    """Given at collection (取号); None while only booked."""
    floor: str = ""
    room: str = ""
    paid: Money = field(default_factory=Money.zero)
    """What was paid toward the fee so far (a refund on 退号 returns this)."""

    @property
    def time_text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def collectable(self) -> bool:
        return self.status is AppointmentStatus.BOOKED


@dataclass(frozen=True, slots=True)
class Collected:
    """The HIS's answer to a successful collection: the queue number and where to go."""

    appointment: Appointment
    queue_number: str
    room: str
    floor: str
    fee_due: Money

"""Appointments and the result of collecting one (取号)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
    department_en: str = ""
    """The department's English name from the HIS (`name_en`); empty when the HIS sends none."""
    doctor_title_en: str = ""
    collect_from: dt.datetime | None = None
    """When collection (取号) opens, as the HIS says; None when the HIS does not say."""
    collect_until: dt.datetime | None = None
    window_open: bool | None = None
    """Whether the HIS, by its own clock, takes the collection now; None when it does not say."""

    @property
    def time_text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def collectable(self) -> bool:
        """Booked, not collected yet, and (as far as the HIS said) inside its collection window now."""
        return self.status is AppointmentStatus.BOOKED and self.window_open is not False

    @property
    def opens_later(self) -> bool:
        """Booked, but its collection window has not opened yet (an afternoon visit in the morning): a
        booking whose window has closed is a no-show, not booked."""
        return self.status is AppointmentStatus.BOOKED and self.window_open is False

    def department_in(self, english: bool) -> str:
        return self.department_en if english and self.department_en else self.department

    def doctor_title_in(self, english: bool) -> str | None:
        return self.doctor_title_en if english and self.doctor_title_en else self.doctor_title


@dataclass(frozen=True, slots=True)
class Collected:
    """The HIS's answer to a successful collection: the queue number and where to go."""

    appointment: Appointment
    queue_number: str
    room: str
    floor: str
    fee_due: Money

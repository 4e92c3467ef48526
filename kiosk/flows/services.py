"""What the composition root hands to the flows and the UI: the config, the HIS client and the ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from kiosk.config import Config
from kiosk.devices.ports import (
    CodeScanner,
    IdCardReader,
    InsuranceCardReader,
    PaymentTerminal,
    ReceiptPrinter,
)
from kiosk.domain.appointment import Appointment, Collected
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, Identity, Patient
from kiosk.domain.payment import PaymentRecord
from kiosk.domain.satisfaction import Rating
from kiosk.domain.schedule import Department, Doctor, Hold, QueueTicket, Schedule, Slot
from kiosk.sync.client import Health
from kiosk.sync.journal import Journal

HOSPITAL_TZ = ZoneInfo("Asia/Shanghai")


class HisApi(Protocol):
    """The part of `kiosk.sync.client.HisClient` the flows use (tests pass a fake)."""

    def health(self) -> Health: ...

    def resolve_patient(self, identity: Identity) -> Patient: ...

    def create_patient(self, card: IdCardData, idempotency_key: str | None = None) -> Patient: ...

    def list_appointments(self, patient_id: str, date: dt.date | None) -> list[Appointment]: ...

    def collect(self, appointment_id: str, patient_id: str, idempotency_key: str) -> Collected: ...

    def departments(self) -> list[Department]: ...

    def doctors(self, department_id: str | None = None) -> list[Doctor]: ...

    def schedules(self, department_id: str, date: dt.date | None) -> list[Schedule]: ...

    def slots(self, schedule_id: str) -> list[Slot]: ...

    def hold(self, slot_id: str, patient_id: str, idempotency_key: str) -> Hold: ...

    def release_hold(self, hold_id: str) -> None: ...

    def book(self, hold_id: str, pay_now: bool, idempotency_key: str) -> Appointment: ...

    def cancel_appointment(self, appointment_id: str, idempotency_key: str) -> Money: ...

    def checkin(self, appointment_id: str, idempotency_key: str) -> QueueTicket: ...

    def patient_payments(self, patient_id: str, date: dt.date) -> list[PaymentRecord]: ...


class Metrics(Protocol):
    """What tasks report for the hospital's monitoring (kiosk.sync.metrics.KioskMetrics)."""

    def task_started(self, task: str) -> None: ...

    def task_completed(self, task: str) -> None: ...

    def task_failed(self, task: str, reason: str) -> None: ...

    def payment(self, method: str, amount: Money) -> None:
        """One payment taken, by method (bank_card, wechat, …) and amount."""

    def satisfaction(self, task: str, rating: Rating) -> None:
        """A patient's one tap on 满意 / 一般 / 不满意 after `task`'s result."""

    def idle_wipe(self) -> None: ...


class NoMetrics:
    """Metrics that go nowhere (tests, tools)."""

    def task_started(self, task: str) -> None:
        pass

    def task_completed(self, task: str) -> None:
        pass

    def task_failed(self, task: str, reason: str) -> None:
        pass

    def payment(self, method: str, amount: Money) -> None:
        pass

    def satisfaction(self, task: str, rating: Rating) -> None:
        pass

    def idle_wipe(self) -> None:
        pass


def hospital_now() -> dt.datetime:
    return dt.datetime.now(HOSPITAL_TZ)


@dataclass
class Services:
    """Everything a task needs. A port that is None is not installed: the task that needs it says so."""

    config: Config
    his: HisApi | None = None
    idcard: IdCardReader | None = None
    insurance: InsuranceCardReader | None = None
    printer: ReceiptPrinter | None = None
    payment: PaymentTerminal | None = None
    scanner: CodeScanner | None = None
    journal: Journal | None = None
    """Where bookings and money steps are written before they are attempted (None: tests only)."""
    metrics: Metrics = field(default_factory=NoMetrics)
    closed_tasks: Callable[[], frozenset[str]] = field(default=frozenset)
    """Tasks recovery keeps closed until an unsettled entry of theirs settles (e.g. "payment" while
    the terminal cannot be asked about a charge); the home screen greys them out."""
    clock: Callable[[], dt.datetime] = field(default=hospital_now)
    """The hospital's current time (aware); injected so that tests control 'today'."""

    def today(self) -> dt.date:
        return self.clock().date()

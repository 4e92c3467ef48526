"""The state of the records task (查询补打 and 退号): steps, outcome and what the screens show."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from kiosk.domain.appointment import Appointment
from kiosk.domain.errors import KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import Patient
from kiosk.domain.payment import PaymentRecord
from kiosk.flows.refund import Refunded


def payment_key(payment: PaymentRecord) -> str:
    """A payment's key among the records (ids of payments and appointments may coincide)."""
    return f"pay:{payment.id}"


class LookupStep(str, Enum):
    IDENTIFY = "identify"
    RECORDS = "records"
    REPRINTING = "reprinting"
    CONFIRM_CANCEL = "confirm_cancel"
    CANCELLING = "cancelling"
    DONE = "done"
    ERROR = "error"


class Outcome(str, Enum):
    REPRINTED = "reprinted"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class LookupState:
    step: LookupStep = LookupStep.IDENTIFY
    patient: Patient | None = None
    records: tuple[Appointment, ...] = ()
    """Today's and later registrations, newest day last."""
    payments: tuple[PaymentRecord, ...] = ()
    """Today's payments of the patient (fees and bills), wherever they were made."""
    selected_id: str | None = None
    key: str | None = None
    outcome: Outcome | None = None
    reprint_count: int = 0
    refund: Money = field(default_factory=Money.zero)
    refunded: Refunded | None = None
    """退号 of a paid booking: how its fee went back, and the 退费凭条."""
    error: KioskError | None = None
    failed_at: LookupStep | None = None

    @property
    def selected(self) -> Appointment | None:
        return next((a for a in self.records if a.id == self.selected_id), None)

    @property
    def selected_payment(self) -> PaymentRecord | None:
        return next((p for p in self.payments if payment_key(p) == self.selected_id), None)

    @property
    def can_retry(self) -> bool:
        return self.step is LookupStep.ERROR and self.failed_at in (LookupStep.REPRINTING, LookupStep.CANCELLING)

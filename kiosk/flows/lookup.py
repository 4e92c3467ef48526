"""查询补打 and 退号 — the identified patient's registrations from today on, a reprint of a slip or
queue ticket (marked 补打, counted), and cancelling a booking before the deadline.

identify -> records -> (reprinting | confirm_cancel -> cancelling) -> done, `error` from every step.
A reprint is counted per document in the journal (kind `reprint`), so the count survives a restart;
a cancellation is a keyed HIS write, journaled first. A refund of a paid fee is the payment engine's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from kiosk.domain.appointment import Appointment, AppointmentStatus, Collected
from kiosk.domain.document import Document
from kiosk.domain.errors import HisRefused, KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, InsuranceCardData, Patient
from kiosk.flows.identify import Identified
from kiosk.flows.patient_task import PatientTask
from kiosk.flows.receipts import SlipContext, booking_slip, queue_ticket, registration_slip, reprint
from kiosk.sync.journal import EntryState

log = logging.getLogger(__name__)

REPRINT_KIND = "reprint"
CANCEL_KIND = "cancel"


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
    selected_id: str | None = None
    key: str | None = None
    outcome: Outcome | None = None
    reprint_count: int = 0
    refund: Money = field(default_factory=Money.zero)
    error: KioskError | None = None
    failed_at: LookupStep | None = None

    @property
    def selected(self) -> Appointment | None:
        return next((a for a in self.records if a.id == self.selected_id), None)

    @property
    def can_retry(self) -> bool:
        return self.step is LookupStep.ERROR and self.failed_at in (LookupStep.REPRINTING, LookupStep.CANCELLING)


def can_reprint(appointment: Appointment) -> bool:
    return appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.COLLECTED, AppointmentStatus.CHECKED_IN)


def can_cancel(appointment: Appointment) -> bool:
    """Only a booking not yet collected; whether the deadline has passed is the HIS's to say."""
    return appointment.status is AppointmentStatus.BOOKED


class LookupFlow(PatientTask):
    ERROR = LookupStep.ERROR

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._counts: Counter[str] = Counter()
        """Reprint counts when there is no journal (tests)."""

    def start(self) -> LookupState:
        return LookupState()

    def identify_id_card(self, state: LookupState, card: IdCardData) -> LookupState:
        return self._identify(state, lambda: self.resolve_id_card(card))

    def identify_insurance_card(self, state: LookupState, card: InsuranceCardData) -> LookupState:
        return self._identify(state, lambda: self.resolve_insurance_card(card))

    def identify_scan(self, state: LookupState, code: str) -> LookupState:
        return self._identify(state, lambda: self.resolve_scan(code))

    def _identify(self, state: LookupState, resolve: Callable[[], Identified]) -> LookupState:
        try:
            patient = resolve().patient
            records = self._records(patient)
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=LookupStep.IDENTIFY), exc)
        return LookupState(LookupStep.RECORDS, patient, records)

    def _records(self, patient: Patient) -> tuple[Appointment, ...]:
        today = self.services.today()
        every = self._his().list_appointments(patient.id, None)
        return tuple(sorted((a for a in every if a.date >= today), key=lambda a: a.start))

    def select(self, state: LookupState, appointment_id: str) -> LookupState:
        if not any(a.id == appointment_id for a in state.records):
            raise ValueError(f"no record {appointment_id}")
        return dataclasses.replace(state, selected_id=appointment_id, key=None)

    # --- reprint --------------------------------------------------------------------------------
    def reprint(self, state: LookupState) -> LookupState:
        """Print the selected registration's slip (or its queue ticket once checked in) marked 补打."""
        appointment, patient = state.selected, state.patient
        if appointment is None or patient is None or not can_reprint(appointment):
            raise ValueError("nothing selected that can be reprinted")
        working = dataclasses.replace(state, step=LookupStep.REPRINTING, error=None, failed_at=None)
        try:
            document, what = self._document(patient, appointment)
            count = self._count(what)
            self.print_document(reprint(document, count, self.services.clock()))
        except KioskError as exc:
            return self.fail(working, exc)
        log.info("lookup: reprinted", extra={"what": what.split(":")[0], "count": count})
        return dataclasses.replace(working, step=LookupStep.DONE, outcome=Outcome.REPRINTED, reprint_count=count)

    def _document(self, patient: Patient, appointment: Appointment) -> tuple[Document, str]:
        config = self.services.config.kiosk
        context = SlipContext(config.hospital_name, config.id, self.services.clock(), appointment.booking_code)
        if appointment.status is AppointmentStatus.CHECKED_IN:
            # Checking in again is how the HIS answers "my ticket" (the same number, people ahead now).
            ticket = self._his().checkin(appointment.id, self._new_key())
            return queue_ticket(ticket, context), f"ticket:{appointment.id}"
        if appointment.status is AppointmentStatus.COLLECTED and appointment.queue_number:
            collected = Collected(appointment, appointment.queue_number, appointment.room, appointment.floor, Money(0))
            return registration_slip(patient, collected, context), f"slip:{appointment.id}"
        return booking_slip(patient, appointment, context), f"booking:{appointment.id}"

    def _count(self, what: str) -> int:
        """This document's reprint number (1 = first reprint), recorded before printing."""
        journal = self.services.journal
        if journal is None:
            self._counts[what] += 1
            return self._counts[what]
        count = 1 + sum(1 for e in journal.entries(REPRINT_KIND) if e.payload.get("document") == what)
        entry = journal.record(REPRINT_KIND, {"document": what, "count": str(count)})
        journal.advance(entry.key, EntryState.CONFIRMED, {})
        return count

    # --- cancel (退号) ----------------------------------------------------------------------------
    def ask_cancel(self, state: LookupState) -> LookupState:
        appointment = state.selected
        if appointment is None or not can_cancel(appointment):
            raise ValueError("nothing selected that can be cancelled")
        return dataclasses.replace(state, step=LookupStep.CONFIRM_CANCEL, key=state.key or self._new_key())

    def cancel(self, state: LookupState) -> LookupState:
        """POST /appointments/{id}/cancel, journaled first. CANCEL_DEADLINE_PASSED: go to the window."""
        appointment, key = state.selected, state.key
        if appointment is None or key is None:
            raise ValueError("cancel needs a confirmed selection")
        working = dataclasses.replace(state, step=LookupStep.CANCELLING, error=None, failed_at=None)
        self.journal_intent(CANCEL_KIND, key, {"appointment_id": appointment.id})
        try:
            refund = self._his().cancel_appointment(appointment.id, key)
        except HisRefused as exc:
            self.journal_settle(key, EntryState.FAILED, {"code": exc.code})
            return self.fail(working, exc)
        except KioskError as exc:
            return self.fail(working, exc)
        self.journal_settle(key, EntryState.CONFIRMED, {"refund_fen": str(refund.fen)})
        log.info("lookup: cancelled", extra={"appointment_id": appointment.id, "refund_fen": refund.fen})
        return dataclasses.replace(working, step=LookupStep.DONE, outcome=Outcome.CANCELLED, refund=refund)

    def retry(self, state: LookupState) -> LookupState:
        if state.failed_at is LookupStep.REPRINTING:
            return self.reprint(state)
        if state.failed_at is LookupStep.CANCELLING:
            return self.cancel(state)
        raise ValueError(f"nothing to retry from {state.failed_at}")

    def back(self, state: LookupState) -> LookupState:
        if state.step is LookupStep.DONE or state.patient is None:
            return self.start()
        if state.step is LookupStep.RECORDS:
            return self.start()
        return dataclasses.replace(state, step=LookupStep.RECORDS, error=None, failed_at=None)

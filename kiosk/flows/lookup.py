"""查询补打 — the identified patient's registrations from today on and a reprint of a slip or queue
ticket (marked 补打, counted); 退号 of one of them is `kiosk.flows.cancel`'s.

identify -> records -> (reprinting | confirm_cancel -> cancelling) -> done, `error` from every step.
A reprint is counted per document in the journal (kind `reprint`), so the count survives a restart.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable

from kiosk.domain.appointment import Appointment, AppointmentStatus, Collected
from kiosk.domain.document import Document
from kiosk.domain.errors import KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import Patient
from kiosk.domain.payment import PaymentRecord
from kiosk.flows.cancel import CancelSteps
from kiosk.flows.identify import Identified
from kiosk.flows.receipts import (
    SlipContext,
    booking_slip,
    payment_copy,
    queue_ticket,
    registration_slip,
    reprint,
)
from kiosk.flows.records import LookupState, LookupStep, Outcome, payment_key
from kiosk.sync.journal import EntryState

log = logging.getLogger(__name__)

REPRINT_KIND = "reprint"


def can_reprint(appointment: Appointment) -> bool:
    return appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.COLLECTED, AppointmentStatus.CHECKED_IN)


class LookupFlow(CancelSteps):
    ERROR = LookupStep.ERROR

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._counts: Counter[str] = Counter()
        """Reprint counts when there is no journal (tests)."""

    def start(self) -> LookupState:
        return LookupState()

    def _identify(self, state: LookupState, resolve: Callable[[], Identified]) -> LookupState:
        try:
            patient = resolve().patient
            records = self._records(patient)
            payments = tuple(self._his().patient_payments(patient.id, self.services.today()))
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=LookupStep.IDENTIFY), exc)
        return LookupState(LookupStep.RECORDS, patient, records, payments)

    def _records(self, patient: Patient) -> tuple[Appointment, ...]:
        today = self.services.today()
        every = self._his().list_appointments(patient.id, None)
        return tuple(sorted((a for a in every if a.date >= today), key=lambda a: a.start))

    def select(self, state: LookupState, key: str) -> LookupState:
        """Pick a registration (its id) or a payment (`records.payment_key`)."""
        if not any(a.id == key for a in state.records) and not any(payment_key(p) == key for p in state.payments):
            raise ValueError(f"no record {key}")
        return dataclasses.replace(state, selected_id=key, key=None)

    # --- reprint --------------------------------------------------------------------------------
    def reprint(self, state: LookupState) -> LookupState:
        """Print the selected registration's slip (or its queue ticket once checked in) marked 补打."""
        appointment, payment, patient = state.selected, state.selected_payment, state.patient
        if patient is None or (payment is None and (appointment is None or not can_reprint(appointment))):
            raise ValueError("nothing selected that can be reprinted")
        working = dataclasses.replace(state, step=LookupStep.REPRINTING, error=None, failed_at=None)
        try:
            if payment is not None:
                document, what = self._receipt(patient, payment), f"receipt:{payment.id}"
            else:
                assert appointment is not None
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

    def _receipt(self, patient: Patient, payment: PaymentRecord) -> Document:
        config = self.services.config.kiosk
        return payment_copy(patient, payment, SlipContext(config.hospital_name, config.id, self.services.clock(),
                                                          payment.receipt_no or payment.id))

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

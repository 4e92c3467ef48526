"""报到排队 — check in a collected appointment and take the queue ticket (排队小票).

identify -> choose (today's appointments; only collected ones can check in) -> checking_in ->
printing -> done, `error` from every step. Check-in is a keyed HIS write, journaled first.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from kiosk.domain.appointment import Appointment, AppointmentStatus
from kiosk.domain.document import Document
from kiosk.domain.errors import KioskError
from kiosk.domain.patient import Patient
from kiosk.domain.schedule import QueueTicket
from kiosk.flows.identify import Identified
from kiosk.flows.patient_task import PatientTask
from kiosk.flows.receipts import SlipContext, queue_ticket

log = logging.getLogger(__name__)

JOURNAL_KIND = "checkin"


class CheckinStep(str, Enum):
    IDENTIFY = "identify"
    CHOOSE = "choose"
    CHECKING_IN = "checking_in"
    PRINTING = "printing"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class CheckinState:
    step: CheckinStep = CheckinStep.IDENTIFY
    patient: Patient | None = None
    appointments: tuple[Appointment, ...] = ()
    selected_id: str | None = None
    key: str | None = None
    ticket: QueueTicket | None = None
    document: Document | None = None
    printed: bool = False
    error: KioskError | None = None
    failed_at: CheckinStep | None = None

    @property
    def selected(self) -> Appointment | None:
        return next((a for a in self.appointments if a.id == self.selected_id), None)

    @property
    def can_retry(self) -> bool:
        return self.step is CheckinStep.ERROR and self.failed_at in (CheckinStep.CHECKING_IN, CheckinStep.PRINTING)


def can_check_in(appointment: Appointment) -> bool:
    """Collected (取号 done) — or already checked in, which only prints the ticket again."""
    return appointment.status in (AppointmentStatus.COLLECTED, AppointmentStatus.CHECKED_IN)


class CheckinFlow(PatientTask):
    ERROR = CheckinStep.ERROR

    def start(self) -> CheckinState:
        return CheckinState()

    def _identify(self, state: CheckinState, resolve: Callable[[], Identified]) -> CheckinState:
        try:
            patient = resolve().patient
            appointments = tuple(self._his().list_appointments(patient.id, self.services.today()))
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=CheckinStep.IDENTIFY), exc)
        ready = [a for a in appointments if can_check_in(a)]
        chosen = ready[0].id if len(ready) == 1 else None
        return CheckinState(
            CheckinStep.CHOOSE, patient, appointments, chosen, self._new_key() if chosen else None
        )

    def select(self, state: CheckinState, appointment_id: str) -> CheckinState:
        if not any(a.id == appointment_id and can_check_in(a) for a in state.appointments):
            raise ValueError(f"appointment {appointment_id} cannot check in")
        key = state.key if appointment_id == state.selected_id and state.key else self._new_key()
        return dataclasses.replace(state, selected_id=appointment_id, key=key)

    def check_in(self, state: CheckinState) -> CheckinState:
        """POST /queue/checkin, journaled first; next step: printing the ticket."""
        appointment, key = state.selected, state.key
        if appointment is None or key is None:
            raise ValueError("check-in needs a selected appointment")
        working = dataclasses.replace(state, step=CheckinStep.CHECKING_IN, error=None, failed_at=None)
        try:
            ticket = self.journaled(
                JOURNAL_KIND, key, {"appointment_id": appointment.id},
                lambda: self._his().checkin(appointment.id, key), lambda t: {"queue_number": t.queue_number},
            )
        except KioskError as exc:
            return self.fail(working, exc)
        config = self.services.config.kiosk
        document = queue_ticket(ticket, SlipContext(config.hospital_name, config.id, self.services.clock(), key))
        log.info("checkin: checked in", extra={"appointment_id": appointment.id})
        return dataclasses.replace(working, step=CheckinStep.PRINTING, ticket=ticket, document=document)

    def print_ticket(self, state: CheckinState) -> CheckinState:
        if state.document is None:
            raise ValueError("nothing to print before the check-in")
        printing = dataclasses.replace(state, step=CheckinStep.PRINTING, error=None, failed_at=None)
        try:
            self.print_document(state.document)
        except KioskError as exc:
            return self.fail(printing, exc)
        return dataclasses.replace(printing, step=CheckinStep.DONE, printed=True)

    def retry(self, state: CheckinState) -> CheckinState:
        if state.failed_at is CheckinStep.CHECKING_IN:
            return self.check_in(state)
        if state.failed_at is CheckinStep.PRINTING:
            return self.print_ticket(state)
        raise ValueError(f"nothing to retry from {state.failed_at}")

    def back(self, state: CheckinState) -> CheckinState:
        if state.ticket is not None:
            return state
        if state.step is CheckinStep.ERROR and state.failed_at is CheckinStep.CHECKING_IN:
            return dataclasses.replace(state, step=CheckinStep.CHOOSE, error=None, failed_at=None)
        return self.start()


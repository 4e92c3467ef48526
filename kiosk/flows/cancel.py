"""退号 — cancel a booking before the hospital's deadline, as steps of the records task (查询补打).

The cancellation is a keyed HIS write, journaled first (kind `cancel`); CANCEL_DEADLINE_PASSED sends the
patient to a staffed window. A booking with its fee paid is cancelled and refunded as one journaled
transaction of `kiosk.flows.refund` (cancel first, then the refund the way it was paid, 退费凭条);
a retry continues that transaction, and what the session leaves open recovery finishes.
"""

from __future__ import annotations

import dataclasses
import logging

from kiosk.domain.appointment import Appointment, AppointmentStatus
from kiosk.domain.errors import KioskError
from kiosk.flows.patient_task import PatientTask
from kiosk.flows.payment_steps import StepUnknown
from kiosk.flows.records import LookupState, LookupStep, Outcome
from kiosk.flows.refund import RefundEngine

log = logging.getLogger(__name__)

CANCEL_KIND = "cancel"


def can_cancel(appointment: Appointment) -> bool:
    """Only a booking not yet collected; whether the deadline has passed is the HIS's to say."""
    return appointment.status is AppointmentStatus.BOOKED


class CancelSteps(PatientTask):
    """The records flow's 退号 steps: ask, then cancel the selected booking."""

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
        if appointment.paid:
            return self._cancel_and_refund(working, appointment, key)
        try:
            refund = self.journaled(
                CANCEL_KIND, key, {"appointment_id": appointment.id},
                lambda: self._his().cancel_appointment(appointment.id, key),
                lambda money: {"refund_fen": str(money.fen)},
            )
        except KioskError as exc:
            return self.fail(working, exc)
        log.info("cancel: cancelled", extra={"appointment_id": appointment.id, "refund_fen": refund.fen})
        return dataclasses.replace(working, step=LookupStep.DONE, outcome=Outcome.CANCELLED, refund=refund)


    def _cancel_and_refund(self, working: LookupState, appointment: Appointment, key: str) -> LookupState:
        """A paid booking: cancel, then give the fee back (one journaled transaction, its group = `key`)."""
        journal, patient = self._services.journal, working.patient
        assert patient is not None
        engine = RefundEngine(self._services)
        try:
            dues = engine.dues(appointment)
            owner = self._owners.setdefault(key, journal.session()) if journal is not None else ""
            refunded = engine.cancel_and_refund(patient, appointment, dues, key, owner)
        except StepUnknown as unknown:
            return self.fail(working, KioskError(str(unknown), message_key="refund.pending"))
        except KioskError as exc:
            return self.fail(working, exc)
        log.info("cancel: cancelled and refunded", extra={"appointment_id": appointment.id,
                                                          "refund_fen": refunded.result.refunded.fen})
        return dataclasses.replace(working, step=LookupStep.DONE, outcome=Outcome.CANCELLED,
                                   refund=refunded.result.refunded, refunded=refunded)

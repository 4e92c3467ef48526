"""预约取号 — collect a pre-booked appointment, as a typed step machine over plain data.

identify -> choose_appointment -> collecting -> printing -> done, with `error` reachable from every
step. Each transition takes the current `CollectState` and returns a new one; transitions that talk
to the HIS or a device block, so the UI runs them off the GUI thread. A `KioskError` never escapes a
transition: it becomes an `error` state that remembers where it happened, so Retry repeats exactly
that step (collection with the SAME idempotency key, so a lost answer never collects twice) and a
paper-out keeps the collection and allows a reprint.

The collection is journaled before it is sent, owned by this session (`CollectState.session`). Its
outcome is done, refused or unknown (`kiosk.domain.outcome`): only a refusal closes the entry as
failed; an unknown one stays open for the retry (same key) or, once the session ends, for recovery.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from kiosk.devices.base import Cancel
from kiosk.domain.appointment import Appointment, Collected
from kiosk.domain.document import Document
from kiosk.domain.errors import (
    DeviceError,
    DeviceOffline,
    DeviceTimeout,
    HisRefused,
    HisUnavailable,
    KioskError,
)
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.domain.patient import IdCardData, InsuranceCardData, Patient
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.flows.identify import Identified, Identifier
from kiosk.flows.payment import Charge, Paid, PaymentEngine, ViewCallback
from kiosk.flows.readiness import require_ready
from kiosk.flows.receipts import SlipContext, registration_slip
from kiosk.flows.services import HisApi, Services
from kiosk.sync.journal import EntryState, JournalError, NotOwner

log = logging.getLogger(__name__)

JOURNAL_KIND = "collect"


class CollectStep(str, Enum):
    IDENTIFY = "identify"
    CHOOSE_APPOINTMENT = "choose_appointment"
    COLLECTING = "collecting"
    PAYING_FEE = "paying_fee"
    """取号时缴费: the fee due is paid here through the payment engine (optional, before printing)."""
    PRINTING = "printing"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class CollectState:
    """Everything the collect screens show. Holds patient data: drop it when the session ends."""

    step: CollectStep = CollectStep.IDENTIFY
    patient: Patient | None = None
    appointments: tuple[Appointment, ...] = ()
    """Today's appointments, collectable or not (the screen offers only the collectable ones)."""
    selected_id: str | None = None
    collect_key: str | None = None
    """Idempotency key of the collection of `selected_id`, kept across retries."""
    collected: Collected | None = None
    slip: Document | None = None
    printed: bool = False
    print_failures: int = 0
    """Prints of the slip that failed (the first, then each 重新打印)."""
    error: KioskError | None = None
    failed_at: CollectStep | None = None
    session: str | None = None
    """The journal owner of this patient session's entries (None without a journal)."""
    fee_paid: Paid | None = None
    """The fee due at collection, paid at the kiosk (None: nothing due, or paid at the window)."""

    @property
    def selected(self) -> Appointment | None:
        return next((a for a in self.appointments if a.id == self.selected_id), None)

    @property
    def collectable(self) -> tuple[Appointment, ...]:
        return tuple(a for a in self.appointments if a.collectable)

    @property
    def can_retry(self) -> bool:
        """Whether repeating the failed step can work: a reprint, or a step whose answer was lost or
        whose server was unreachable. A refusal or a device that needs staff gets no 重试."""
        if self.step is not CollectStep.ERROR:
            return False
        if self.failed_at is CollectStep.PRINTING:
            return True
        return self.failed_at in (CollectStep.IDENTIFY, CollectStep.COLLECTING) and retryable(self.error)

    @property
    def can_pay_fee(self) -> bool:
        """A fee is due and not yet paid: offer to pay it here (`CollectFlow.pay_fee`)."""
        return self.collected is not None and bool(self.collected.fee_due) and self.fee_paid is None

    @property
    def can_reprint(self) -> bool:
        return self.slip is not None and self.collected is not None and not self.printed


def retryable(error: KioskError | None) -> bool:
    """An error that the same request may not meet again: no answer, or the server still busy with it."""
    if isinstance(error, HisRefused):
        return error.code == "IDEMPOTENCY_IN_PROGRESS"
    return isinstance(error, (HisUnavailable, DeviceTimeout))


class CollectFlow:
    """The transitions of 预约取号 over the injected services (HIS client + receipt printer)."""

    def __init__(self, services: Services, new_key: Callable[[], str] = lambda: str(uuid.uuid4()),
                 engine: PaymentEngine | None = None) -> None:
        self._services = services
        self._new_key = new_key
        self._engine = engine or PaymentEngine(services)

    def start(self) -> CollectState:
        journal = self._services.journal
        return CollectState(session=journal.session() if journal is not None else None)

    def end(self, state: CollectState) -> None:
        """The session is over (home, idle, done): whatever it left open is recovery's now."""
        if self._services.journal is not None and state.session is not None:
            self._services.journal.release(state.session)

    # --- identify -----------------------------------------------------------------------------------
    def identify_id_card(self, state: CollectState, card: IdCardData) -> CollectState:
        return self._identify(state, lambda ident: ident.resolve_id_card(card, self._services.today()))

    def identify_insurance_card(self, state: CollectState, card: InsuranceCardData) -> CollectState:
        return self._identify(state, lambda ident: ident.resolve_insurance_card(card, self._services.today()))

    def identify_scan(self, state: CollectState, code: str) -> CollectState:
        return self._identify(state, lambda ident: ident.resolve_scan(code))

    def identify_booking_code(self, state: CollectState, code: str, id_last4: str) -> CollectState:
        """The booking-code path: the coded appointment comes pre-selected."""
        return self._identify(state, lambda ident: ident.resolve_booking_code(code, id_last4), preselect=code)

    def fail(self, state: CollectState, error: KioskError) -> CollectState:
        """An error from outside a transition (e.g. the card reader) shown in the flow's error state."""
        return dataclasses.replace(state, step=CollectStep.ERROR, error=error, failed_at=state.step)

    def _identify(
        self, state: CollectState, resolve: Callable[[Identifier], Identified], preselect: str | None = None
    ) -> CollectState:
        try:
            his = self._his()
            identified = resolve(Identifier(his))
            appointments = tuple(his.list_appointments(identified.patient.id, self._services.today()))
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=CollectStep.IDENTIFY), exc)
        collectable = [a for a in appointments if a.collectable]
        chosen = next((a for a in collectable if preselect and a.booking_code == preselect), None)
        if chosen is None and len(collectable) == 1:
            chosen = collectable[0]  # one thing to collect: one touch fewer
        log.info(
            "collect: identified", extra={"patient_id": identified.patient.id, "today": len(appointments)}
        )
        return CollectState(
            step=CollectStep.CHOOSE_APPOINTMENT,
            patient=identified.patient,
            appointments=appointments,
            selected_id=chosen.id if chosen else None,
            collect_key=self._new_key() if chosen else None,
            session=state.session,
        )

    # --- choose and collect ---------------------------------------------------------------------------
    def select(self, state: CollectState, appointment_id: str) -> CollectState:
        """Pick an appointment (pure). Re-picking the same one keeps its idempotency key."""
        appointment = next((a for a in state.collectable if a.id == appointment_id), None)
        if appointment is None:
            raise ValueError(f"appointment {appointment_id} is not collectable")
        key = (
            state.collect_key
            if appointment_id == state.selected_id and state.collect_key
            else self._new_key()
        )
        return dataclasses.replace(state, selected_id=appointment_id, collect_key=key)

    def collect(self, state: CollectState) -> CollectState:
        """取号 with the HIS, then build the slip. Next step: printing. Not taken (nothing journaled or
        sent) while the printer cannot print the slip: the booking then stays as it was."""
        appointment, patient = state.selected, state.patient
        if appointment is None or patient is None or state.collect_key is None:
            raise ValueError("collect needs an identified patient and a selected appointment")
        collecting = dataclasses.replace(state, step=CollectStep.COLLECTING, error=None, failed_at=None)
        try:
            require_ready({"printer": self._services.printer})
        except DeviceError as exc:
            log.warning("collect: not taken, a device is not ready", extra={"error": exc.detail})
            return self.fail(collecting, exc)
        key = state.collect_key
        try:
            self._journal_intent(key, {"appointment_id": appointment.id, "patient_id": patient.id}, state)
            collected = self._his().collect(appointment.id, patient.id, key)
        except NotOwner as exc:
            return self.fail(collecting, _handed_to_recovery(exc))
        except KioskError as exc:
            if outcome_of(exc) is Outcome.REFUSED:
                self._journal_settle(key, EntryState.FAILED, {"code": getattr(exc, "code", type(exc).__name__)},
                                     state)
            else:
                # No answer: the HIS may or may not have collected. The intent stays open, and a retry
                # (now, or by recovery once the session ended) with the same key gets the stored answer.
                self._journal_note(key, {"unknown": type(exc).__name__}, state)
            return self.fail(collecting, exc)
        try:
            self._journal_settle(key, EntryState.CONFIRMED, {"queue_number": collected.queue_number}, state)
        except NotOwner as exc:
            return self.fail(collecting, _handed_to_recovery(exc))
        slip = self._slip(patient, collected, state.collect_key, None)
        log.info("collect: collected", extra={"appointment_id": appointment.id})
        return dataclasses.replace(collecting, step=CollectStep.PRINTING, collected=collected, slip=slip)

    def pay_fee(self, state: CollectState, method: PayMethod, on_view: ViewCallback | None = None,
                cancel: Cancel | None = None, mode: QrMode = QrMode.SHOW,
                auth_code: str | None = None) -> CollectState:
        """Pay the fee due at 取号 here, through the one payment engine (journaled, undone on failure);
        the slip then says how it was paid. Next: printing. A failure is not retried from here: what the
        engine could not settle is recovery's, and a new attempt starts from the choice of method."""
        if not state.can_pay_fee or state.patient is None or state.collected is None:
            raise ValueError("no fee due to pay")
        collected, patient = state.collected, state.patient
        appointment = collected.appointment
        paying = dataclasses.replace(state, step=CollectStep.PAYING_FEE, error=None, failed_at=None)
        charge = Charge.for_appointment(patient, appointment.id, collected.fee_due, f"挂号费 {appointment.department}")
        try:
            paid = self._engine.start(charge, state.session).pay(method, on_view, cancel, mode, auth_code)
        except KioskError as exc:
            return self.fail(paying, exc)
        slip = self._slip(patient, collected, state.collect_key or paid.record.id, paid.method.label)
        return dataclasses.replace(paying, step=CollectStep.PRINTING, fee_paid=paid, slip=slip)

    def _slip(self, patient: Patient, collected: Collected, transaction_no: str, method: str | None) -> Document:
        config = self._services.config.kiosk
        context = SlipContext(config.hospital_name, config.id, self._services.clock(), transaction_no, method)
        return registration_slip(patient, collected, context)

    def print_slip(self, state: CollectState) -> CollectState:
        """Print the slip. On a printer fault the collection stands and `can_reprint` stays True."""
        if state.slip is None or state.collected is None:
            raise ValueError("nothing to print before the collection")
        printing = dataclasses.replace(state, step=CollectStep.PRINTING, error=None, failed_at=None)
        try:
            if self._services.printer is None:
                raise DeviceOffline("no receipt printer installed")
            self._services.printer.print_document(state.slip)
        except KioskError as exc:
            log.warning("collect: slip not printed", extra={"error": type(exc).__name__})
            return self.fail(dataclasses.replace(printing, print_failures=state.print_failures + 1), exc)
        return dataclasses.replace(printing, step=CollectStep.DONE, printed=True)

    def retry(self, state: CollectState) -> CollectState:
        """Repeat the step that failed (collect with the same key, or print again)."""
        if state.failed_at is CollectStep.COLLECTING:
            return self.collect(state)
        if state.failed_at is CollectStep.PRINTING:
            return self.print_slip(state)
        raise ValueError(f"nothing to retry from {state.failed_at}")

    def back(self, state: CollectState) -> CollectState:
        """One step back (pure). After a collection there is no way back: only reprint or home."""
        if state.collected is not None:
            return state
        if state.step is CollectStep.ERROR and state.failed_at is CollectStep.COLLECTING:
            return dataclasses.replace(state, step=CollectStep.CHOOSE_APPOINTMENT, error=None, failed_at=None)
        return self.start()

    def _journal_intent(self, key: str, payload: dict[str, str], state: CollectState) -> None:
        journal = self._services.journal
        if journal is None:
            return
        try:
            journal.get(key)  # a retry of an intent already written
        except JournalError:
            journal.record(JOURNAL_KIND, payload, key=key, owner=state.session)

    def _journal_settle(self, key: str, entry_state: EntryState, outcome: dict[str, str],
                        state: CollectState) -> None:
        if self._services.journal is not None:
            self._services.journal.advance(key, entry_state, outcome, owner=state.session)

    def _journal_note(self, key: str, outcome: dict[str, str], state: CollectState) -> None:
        if self._services.journal is not None:
            self._services.journal.note(key, outcome, owner=state.session)

    def _his(self) -> HisApi:
        if self._services.his is None:
            raise HisUnavailable("no HIS client configured")
        return self._services.his


def _handed_to_recovery(error: NotOwner) -> KioskError:
    """This session's lease ran out and recovery settles the step now: say so, never act twice."""
    log.warning("collect: entry taken over by recovery", extra={"error": str(error)})
    return HisUnavailable("the collection is being settled by recovery")

"""Drives the 预约取号 flow: runs its transitions off the GUI thread and shows the screen for each step."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from kiosk.devices.base import Cancel, Detail, DeviceStatus
from kiosk.domain.errors import (
    DeviceOffline,
    DeviceTimeout,
    KioskError,
    NoCard,
    UserCancelled,
)
from kiosk.domain.idnumber import mask_name
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.flows.collect import CollectFlow, CollectState, CollectStep
from kiosk.flows.payment import ViewCallback
from kiosk.flows.services import Services
from kiosk.ui.credentials import READ_WAIT_S, REARM_MS
from kiosk.ui.i18n import Translator
from kiosk.ui.patient_task_controller import StepRunner
from kiosk.ui.payment_controller import Offer, PaymentController, task_outcome
from kiosk.ui.screens.appointments import AppointmentsScreen
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.code_entry import CodeEntryScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.home import COLLECT
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.screens.result import ResultScreen
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


STEP_KEYS = ("step.identify", "step.choose", "step.collect", "step.done")
_STEP_INDEX = {
    CollectStep.IDENTIFY: 0,
    CollectStep.CHOOSE_APPOINTMENT: 1,
    CollectStep.COLLECTING: 2,
    CollectStep.PRINTING: 2,
    CollectStep.DONE: 3,
}


class CollectScreens:
    """The screens this task uses (built by the main window)."""

    def __init__(
        self,
        identify: IdentifyScreen,
        code_entry: CodeEntryScreen,
        appointments: AppointmentsScreen,
        result: ResultScreen,
        error: ErrorScreen,
    ) -> None:
        self.identify = identify
        self.code_entry = code_entry
        self.appointments = appointments
        self.result = result
        self.error = error


class CollectController(QObject, StepRunner):
    """One collect session at a time; `reset()` drops every patient datum and ignores late results."""

    id_card_read = Signal(object)
    """An ID card was read (IdCardData): the window offers elder mode by the holder's age."""

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        translator: Translator,
        screens: CollectScreens,
        show: Callable[[Screen, int], None],
        current: Callable[[], QWidget],
        go_home: Callable[[], None],
        payment: PaymentController | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.flow = CollectFlow(services)
        self.tasks = tasks
        self.t = translator
        self.screens = screens
        self._show = show
        self._current_screen = current
        self._go_home = go_home
        self.payment = payment
        """The payment screens, for a fee due at 取号 (None: such a fee is left for a window)."""
        self._fee_later = False
        self.state: CollectState | None = None
        self._session = 0
        self._waits: dict[str, Cancel] = {}
        """Reader name -> its running wait for a card or scan (or the pause before the next one)."""
        self._held: set[str] = set()
        """Readers whose card was read and is still in: it identifies nobody again until taken out."""
        self._id_card_used = False
        self._identify_again: Callable[[], None] | None = None
        """Repeats the last identification (same card or code), for 重试 when the HIS did not answer."""
        self._by_code = False
        screens.identify.code_requested.connect(self._on_identify_code_requested)
        screens.code_entry.submitted.connect(self._on_code_entry_submitted)
        screens.appointments.selected.connect(self._on_appointments_selected)
        screens.appointments.confirmed.connect(self._on_appointments_confirmed)
        screens.error.retry_requested.connect(self._on_error_retry_requested)
        screens.result.finished.connect(go_home)
        screens.result.reprint_requested.connect(self._on_error_retry_requested)

    # --- session ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.reset()
        self.services.metrics.task_started(COLLECT)
        self.state = self.flow.start()
        self._render()

    def reset(self) -> None:
        """Forget the patient: cancel reader waits, clear every screen, drop late results."""
        self._session += 1
        self._cancel_reads()
        # what the session left open goes to recovery now; a fee payment still in flight ends it itself
        if self.state is not None and not (self.payment is not None and self.payment.paying):
            self.flow.end(self.state)
        self.state = None
        self._id_card_used = False
        self._identify_again = None
        self._by_code = False
        self._fee_later = False
        self.screens.code_entry.clear()
        self.screens.appointments.clear()
        self.screens.result.clear()
        self.screens.error.show_error(KioskError(), None)

    def back(self, current: Screen) -> None:
        if self.payment is not None and self.payment.back(current):
            return
        if self.state is not None and current is self.screens.error and self.state.failed_at is CollectStep.PAYING_FEE:
            self._pay_later()  # collected already: the slip, with the fee left for a window
            return
        if current is self.screens.code_entry:
            self._show_identify()
        elif current is self.screens.error and self._by_code and self._failed_at(CollectStep.IDENTIFY):
            # the code was typed: keep it, and let the patient retype only the ID digits
            self.state = self.flow.start()
            self.screens.code_entry.retype_last4()
            self._show(self.screens.code_entry, 0)
        elif self.state is None or current in (self.screens.identify, self.screens.result):
            self._go_home()
        else:
            back = self.flow.back(self.state)
            if back is self.state:  # collected already: nothing to go back to
                self._go_home()
                return
            self.state = back
            self._render()

    def _failed_at(self, step: CollectStep) -> bool:
        return self.state is not None and self.state.step is CollectStep.ERROR and self.state.failed_at is step

    # --- showing each step ---------------------------------------------------------------------------
    def _render(self) -> None:
        state = self.state
        if state is None:
            return
        s = self.screens
        if state.step is CollectStep.IDENTIFY:
            self._show_identify()
        elif state.step is CollectStep.CHOOSE_APPOINTMENT:
            name = mask_name(state.patient.name) if state.patient else ""
            s.appointments.show_appointments(name, state.appointments, state.selected_id)
            self._show(s.appointments, 1)
        elif state.step is CollectStep.PRINTING and state.can_pay_fee and not self._fee_later and self.payment:
            self._pay_fee(state)
        elif state.step is CollectStep.PRINTING:
            self._run(lambda: self.flow.print_slip(state), "busy.print")
        elif state.step is CollectStep.DONE:
            assert state.collected is not None
            self.services.metrics.task_completed(COLLECT)
            s.result.show_result(state.collected, self._id_card_used)
            self._show(s.result, 3)
        elif state.step is CollectStep.ERROR and state.failed_at is CollectStep.PAYING_FEE:
            self._show_fee_error(state)
        elif state.step is CollectStep.ERROR and state.collected is not None:
            # collected, slip not printed: the collection stands, so it is a success with a note
            # (for the metrics a failure by its reason: "completed" counts slips in hand)
            self.services.metrics.task_failed(COLLECT, type(state.error).__name__)
            s.result.show_result(state.collected, self._id_card_used, state.error, state.print_failures)
            self._show(s.result, 3)
        elif state.step is CollectStep.ERROR:
            self._show_error(state)

    def _show_error(self, state: CollectState) -> None:
        assert state.error is not None
        self.services.metrics.task_failed(COLLECT, type(state.error).__name__)
        self.screens.error.show_error(state.error, "error.retry" if state.can_retry else None)
        self._show(self.screens.error, _STEP_INDEX.get(state.failed_at or CollectStep.IDENTIFY, 0))

    # --- the fee due at 取号 ----------------------------------------------------------------------------
    def _pay_fee(self, state: CollectState) -> None:
        """The HIS asks a fee at collection: pay it here through the payment screens, or at a window."""
        assert self.payment is not None and state.collected is not None
        session = self._session

        def pay(method: PayMethod, on_view: ViewCallback, cancel: Cancel, mode: QrMode, code: str | None
                ) -> CollectState:
            paid = self.flow.pay_fee(state, method, on_view, cancel, mode, code)
            if session != self._session:
                self.flow.end(paid)  # the patient left meanwhile: the session ends with its payment
            return paid

        settled, crashed = task_outcome(
            lambda: session == self._session, self._show_state,
            lambda: self.flow.fail(dataclasses.replace(state, step=CollectStep.PAYING_FEE), KioskError("unexpected error")),
        )
        self.payment.begin(Offer(state.collected.fee_due, pay, settled, self._pay_later, crashed,
                                 later=self._pay_later))

    def _show_state(self, state: CollectState) -> None:
        self.state = state
        self._render()

    def _show_fee_error(self, state: CollectState) -> None:
        """The fee was not paid (nothing charged, or held for a window): pay another way, or Back for the
        slip with the fee left for a window."""
        assert state.error is not None
        final = state.error.message_key in ("payment.manual", "payment.pending")
        self.screens.error.show_error(state.error, None if final else "payerror.retry")
        self._show(self.screens.error, _STEP_INDEX[CollectStep.PRINTING])

    def _pay_later(self) -> None:
        """The patient pays the fee at a staffed window: the slip says so."""
        self._fee_later = True
        state = self._current()
        self.state = dataclasses.replace(state, step=CollectStep.PRINTING, error=None, failed_at=None)
        self._render()

    # --- identify: card readers and scanner wait in the background ---------------------------------
    def _show_identify(self) -> None:
        self._cancel_reads()
        self.state = self.flow.start()
        self._by_code = False
        self.screens.identify.set_task_pay(False)
        self.screens.identify.set_reader_available(self._usable(self.services.idcard))
        self._show(self.screens.identify, 0)
        self._arm_readers()

    def _usable(self, port: Any) -> bool:
        return port is not None and port.status().state.usable

    def _readers(self) -> tuple[tuple[Any, Callable[[Any], None]], ...]:
        s = self.services
        return ((s.idcard, self._on_id_card), (s.insurance, self._on_insurance_card), (s.scanner, self._on_scan))

    def _arm_readers(self) -> None:
        """Wait on every reader that is not waiting already and holds no card it has read."""
        session = self._session
        for port, on_read in self._readers():
            # a synchronous runner may already have identified the patient during this loop
            if port is None or not self._waiting_for_credentials(session):
                continue
            if port.name not in self._waits and port.name not in self._held:
                self._wait_for(port, on_read, session)

    def on_device_status(self, name: str, status: DeviceStatus) -> None:
        """A reader's status changed (GUI thread): a card taken out may identify again, a reader back
        online is waited on again, and the identify screen says whether the ID-card reader works."""
        if status.detail is not Detail.CARD_PRESENT:
            self._held.discard(name)
        if not self._waiting_for_credentials(self._session):
            return
        idcard = self.services.idcard
        if idcard is not None and name == idcard.name:
            self.screens.identify.set_reader_available(status.state.usable)
        if status.state.usable:
            self._arm_readers()

    def _waiting_for_credentials(self, session: int) -> bool:
        return (
            session == self._session
            and self.state is not None
            and self.state.step is CollectStep.IDENTIFY
            and self._current_screen() is self.screens.identify
        )

    def _wait_for(self, port: Any, on_read: Callable[[Any], None], session: int) -> None:
        cancel = Cancel()
        self._waits[port.name] = cancel
        read = port.read_code if hasattr(port, "read_code") else port.read_card

        def done(value: Any) -> None:
            if cancel.cancelled or not self._waiting_for_credentials(session):
                return
            self._cancel_reads()
            if port.status().detail is Detail.CARD_PRESENT:
                self._held.add(port.name)  # a card that stays in must not identify again on 返回
            on_read(value)

        def failed(exc: BaseException) -> None:
            if cancel.cancelled or not self._waiting_for_credentials(session):
                return
            if isinstance(exc, (NoCard, DeviceTimeout, UserCancelled)):
                # `self` as context: the timer dies with the window instead of firing into deleted widgets
                QTimer.singleShot(REARM_MS, self, lambda: self._rearm(port, on_read, session, cancel))
                return
            self._waits.pop(port.name, None)
            if isinstance(exc, DeviceOffline):
                # waited on again when the reader reports itself back (on_device_status)
                log.warning("reader offline on the identify screen", extra={"device": port.name})
                if port is self.services.idcard:
                    self.screens.identify.set_reader_available(False)
            elif isinstance(exc, KioskError):
                self._cancel_reads()
                assert self.state is not None
                self.state = self.flow.fail(self.state, exc)
                self._render()
            else:
                log.error("reader failed", exc_info=exc)

        self.tasks.submit(lambda: read(READ_WAIT_S, cancel), done, failed)

    def _rearm(self, port: Any, on_read: Callable[[Any], None], session: int, cancel: Cancel) -> None:
        if self._waits.get(port.name) is cancel and self._waiting_for_credentials(session):
            self._wait_for(port, on_read, session)

    def _cancel_reads(self) -> None:
        for cancel in self._waits.values():
            cancel.cancel()
        self._waits = {}

    def _identify(self, op: Callable[[CollectState], CollectState]) -> None:
        def attempt() -> None:
            state = self.flow.start()
            self.state = state
            self._run(lambda: op(state), "busy.identify")

        self._identify_again = attempt
        attempt()

    def _on_id_card(self, card: Any) -> None:
        self._id_card_used = True
        self.id_card_read.emit(card)
        self._identify(lambda state: self.flow.identify_id_card(state, card))

    def _on_insurance_card(self, card: Any) -> None:
        self._identify(lambda state: self.flow.identify_insurance_card(state, card))

    def _on_scan(self, code: str) -> None:
        self._identify(lambda state: self.flow.identify_scan(state, code))

    def _current(self) -> CollectState:
        assert self.state is not None
        return self.state

    # --- patient actions ------------------------------------------------------------------------------
    def _on_identify_code_requested(self) -> None:
        self._cancel_reads()
        self.screens.code_entry.clear()
        self._show(self.screens.code_entry, 0)

    def _on_code_entry_submitted(self, code: str, last4: str) -> None:
        self._by_code = True
        self._identify(lambda state: self.flow.identify_booking_code(state, code, last4))

    def _on_appointments_selected(self, appointment_id: str) -> None:
        self.state = self.flow.select(self._current(), appointment_id)

    def _on_appointments_confirmed(self) -> None:
        state = self._current()
        if state.selected is None:
            return
        self._run(lambda: self.flow.collect(state), "busy.collect")

    def _on_error_retry_requested(self) -> None:
        """重试 / 重新打印: repeat the failed step (identification with the same card or code)."""
        state = self._current()
        if state.failed_at is CollectStep.PAYING_FEE:
            self.state = dataclasses.replace(state, step=CollectStep.PRINTING, error=None, failed_at=None)
            self._render()  # the methods again
            return
        if not state.can_retry:
            return
        if state.failed_at is CollectStep.IDENTIFY:
            if self._identify_again is not None:
                self._identify_again()
            return
        busy = "busy.print" if state.failed_at is CollectStep.PRINTING else "busy.collect"
        self._run(lambda: self.flow.retry(state), busy)

"""Drives the 预约取号 flow: runs its transitions off the GUI thread and shows the screen for each step."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from kiosk.devices.base import Cancel
from kiosk.domain.errors import KioskError
from kiosk.domain.idnumber import mask_name
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.flows.collect import CollectFlow, CollectState, CollectStep
from kiosk.flows.payment import ViewCallback
from kiosk.flows.services import Services
from kiosk.ui.credentials import CredentialWaiter
from kiosk.ui.i18n import Translator
from kiosk.ui.payment_controller import Offer, PaymentController
from kiosk.ui.screens.appointments import AppointmentsScreen
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.code_entry import CodeEntryScreen
from kiosk.ui.screens.error import ErrorScreen
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


class CollectController(QObject):
    """One collect session at a time; `reset()` drops every patient datum and ignores late results."""

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
        self.state: CollectState | None = None
        self._session = 0
        self.readers = CredentialWaiter(services, tasks, self)
        self._fee_later = False
        self._id_card_used = False
        screens.identify.code_requested.connect(self._on_identify_code_requested)
        screens.code_entry.submitted.connect(self._on_code_entry_submitted)
        screens.appointments.selected.connect(self._on_appointments_selected)
        screens.appointments.confirmed.connect(self._on_appointments_confirmed)
        screens.error.retry_requested.connect(self._on_error_retry_requested)
        screens.result.finished.connect(go_home)

    # --- session ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.reset()
        self.state = self.flow.start()
        self._render()

    def reset(self) -> None:
        """Forget the patient: cancel reader waits, clear every screen, drop late results."""
        self._session += 1
        self._cancel_reads()
        if self.state is not None and not (self.payment is not None and self.payment.paying):
            self.flow.end(self.state)  # what the session left open goes to recovery now
        self.state = None
        self._id_card_used = False
        self._fee_later = False
        self.screens.code_entry.clear()
        self.screens.appointments.clear()
        self.screens.result.clear()
        self.screens.error.show_error(KioskError(), None)

    def back(self, current: Screen) -> None:
        if self.payment is not None and self.payment.owns(current) and self.payment.back(current):
            return
        if self.state is not None and current is self.screens.error and self.state.failed_at is CollectStep.PAYING_FEE:
            self._pay_later()  # collected already: the slip, with the fee left for a window
            return
        if current is self.screens.code_entry:
            self._show_identify()
        elif self.state is None or current in (self.screens.identify, self.screens.result):
            self._go_home()
        else:
            back = self.flow.back(self.state)
            if back is self.state:  # collected already: nothing to go back to
                self._go_home()
                return
            self.state = back
            self._render()

    # --- running transitions ------------------------------------------------------------------------
    def _run(self, op: Callable[[], CollectState], busy_key: str) -> None:
        session = self._session

        def done(state: CollectState) -> None:
            if session == self._session:
                self.state = state
                self._render()

        def failed(exc: BaseException) -> None:
            if session != self._session:
                return
            if not isinstance(exc, KioskError):
                # a bug, not a patient problem: log it for the technician, show plain words
                log.error("collect step crashed", exc_info=exc)
                exc = KioskError("unexpected error")
            assert self.state is not None
            self.state = self.flow.fail(self.state, exc)
            self._render()

        self.tasks.submit(op, done, failed, busy_text=self.t.tr(busy_key))

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
            s.result.show_result(state.collected, self._id_card_used)
            self._show(s.result, 3)
        elif state.step is CollectStep.ERROR:
            self._show_error(state)

    def _show_error(self, state: CollectState) -> None:
        assert state.error is not None
        retry_key, note = None, None
        if state.failed_at is CollectStep.PRINTING:
            retry_key = "error.reprint"
            assert state.collected is not None
            note = ("error.collected", {"queue": state.collected.queue_number})
        elif state.failed_at is CollectStep.COLLECTING:
            retry_key = "error.retry"
        elif state.failed_at is CollectStep.PAYING_FEE:
            assert state.collected is not None
            note = ("error.collected", {"queue": state.collected.queue_number})
            if state.error.message_key not in ("payment.manual", "payment.pending"):
                retry_key = "payerror.retry"
        self.screens.error.show_error(state.error, retry_key, note)
        self._show(self.screens.error, _STEP_INDEX.get(state.failed_at or CollectStep.IDENTIFY, 0))

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

        def settled(next_state: CollectState) -> None:
            if session == self._session:
                self.state = next_state
                self._render()

        def crashed(exc: BaseException) -> None:
            if session == self._session:
                log.error("fee payment crashed", exc_info=exc)
                settled(self.flow.fail(state, KioskError("unexpected error")))

        self.payment.begin(Offer(state.collected.fee_due, pay, settled, self._pay_later, crashed,
                                 later=self._pay_later))

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
        self.screens.identify.set_task_pay(False)
        self.screens.identify.set_reader_available(self._usable(self.services.idcard))
        self._show(self.screens.identify, 0)
        self._arm_readers()

    def _usable(self, port: Any) -> bool:
        return self.readers.usable(port)

    def _arm_readers(self) -> None:
        session = self._session
        self.readers.arm(
            lambda: self._waiting_for_credentials(session),
            self._on_id_card,
            self._on_insurance_card,
            self._on_scan,
            self._on_read_failed,
            lambda: self.screens.identify.set_reader_available(False),
        )

    def _waiting_for_credentials(self, session: int) -> bool:
        return (
            session == self._session
            and self.state is not None
            and self.state.step is CollectStep.IDENTIFY
            and self._current_screen() is self.screens.identify
        )

    def _on_read_failed(self, exc: KioskError) -> None:
        assert self.state is not None
        self.state = self.flow.fail(self.state, exc)
        self._render()

    def _cancel_reads(self) -> None:
        self.readers.cancel()

    def _on_id_card(self, card: Any) -> None:
        self._id_card_used = True
        state = self._current()
        self._run(lambda: self.flow.identify_id_card(state, card), "busy.identify")

    def _on_insurance_card(self, card: Any) -> None:
        state = self._current()
        self._run(lambda: self.flow.identify_insurance_card(state, card), "busy.identify")

    def _on_scan(self, code: str) -> None:
        state = self._current()
        self._run(lambda: self.flow.identify_scan(state, code), "busy.identify")

    def _current(self) -> CollectState:
        assert self.state is not None
        return self.state

    # --- patient actions ------------------------------------------------------------------------------
    def _on_identify_code_requested(self) -> None:
        self._cancel_reads()
        self.screens.code_entry.clear()
        self._show(self.screens.code_entry, 0)

    def _on_code_entry_submitted(self, code: str, last4: str) -> None:
        state = self.flow.start()
        self.state = state
        self._run(lambda: self.flow.identify_booking_code(state, code, last4), "busy.identify")

    def _on_appointments_selected(self, appointment_id: str) -> None:
        self.state = self.flow.select(self._current(), appointment_id)

    def _on_appointments_confirmed(self) -> None:
        state = self._current()
        if state.selected is None:
            return
        self._run(lambda: self.flow.collect(state), "busy.collect")

    def _on_error_retry_requested(self) -> None:
        state = self._current()
        if state.failed_at is CollectStep.PAYING_FEE:
            self.state = dataclasses.replace(state, step=CollectStep.PRINTING, error=None, failed_at=None)
            self._render()  # the methods again
        elif state.can_retry:
            busy = "busy.print" if state.failed_at is CollectStep.PRINTING else "busy.collect"
            self._run(lambda: self.flow.retry(state), busy)

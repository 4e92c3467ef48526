"""门诊缴费 on screen: renders `kiosk.flows.pay`'s states — identify (ID card, insurance card, e-voucher or
visit card on the scanner) → the unpaid bills → the payment screens (`PaymentController`) → the result
with where to go next, or the error with what to do now."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from kiosk.devices.base import Cancel
from kiosk.domain.errors import KioskError
from kiosk.domain.idnumber import mask_name
from kiosk.domain.payment import Bill, PayMethod, QrMode
from kiosk.flows.pay import PayFlow, PayState, PayStep
from kiosk.flows.payment import ViewCallback
from kiosk.flows.services import Services
from kiosk.ui.credentials import CredentialWaiter
from kiosk.ui.i18n import Translator
from kiosk.ui.payment_controller import Offer, PaymentController
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.bills import BillsScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.screens.pay_result import PayResultScreen
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

STEP_KEYS = ("pay.step.identify", "pay.step.bills", "pay.step.pay", "pay.step.done")
_STEP_INDEX = {PayStep.IDENTIFY: 0, PayStep.CHOOSE_BILLS: 1, PayStep.CHOOSE_METHOD: 2, PayStep.PAYING: 2,
               PayStep.DONE: 3}
_NO_RETRY = frozenset({"payment.manual", "payment.pending"})
"""Failures the patient cannot retry here: a window or recovery settles the money."""


class PayScreens:
    def __init__(self, identify: IdentifyScreen, bills: BillsScreen, result: PayResultScreen,
                 error: ErrorScreen) -> None:
        self.identify, self.bills, self.result, self.error = identify, bills, result, error


class PayController(QObject):
    """One 门诊缴费 session at a time; `reset()` ends it (undoes what is unpaid) and ignores late results."""

    STEP_KEYS = STEP_KEYS

    def __init__(self, services: Services, tasks: TaskRunner, translator: Translator, screens: PayScreens,
                 payment: PaymentController, show: Callable[[Screen, int], None], current: Callable[[], object],
                 go_home: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.flow = PayFlow(services)
        self.tasks = tasks
        self.t = translator
        self.screens = screens
        self.payment = payment
        self._show = show
        self._current = current
        self._go_home = go_home
        self.readers = CredentialWaiter(services, tasks, self)
        self.state: PayState | None = None
        self._session = 0
        screens.bills.confirmed.connect(self._on_bills_confirmed)
        screens.error.retry_requested.connect(self._on_error_retry)
        screens.result.finished.connect(go_home)
        screens.result.reprint_requested.connect(self._on_result_reprint)

    @property
    def active(self) -> bool:
        return self.state is not None

    # --- session --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.reset()
        self.state = self.flow.start()
        self._render()

    def reset(self) -> None:
        self._session += 1
        self.readers.cancel()
        state, self.state = self.state, None
        # a payment still in flight ends its session itself once the engine returns
        if state is not None and not self.payment.paying:
            self.tasks.submit(lambda: self.flow.end(state), lambda _: None, _log_end_failure)
        self.screens.bills.clear()
        self.screens.result.show_paid(None)

    def back(self, current: object) -> None:
        state = self.state
        if state is None or self.payment.back(current):
            return
        s = self.screens
        if current is s.bills or (current is s.error and state.patient is None):
            self._show_identify()
        elif current is s.error and state.bills:
            self._set(dataclasses.replace(state, step=PayStep.CHOOSE_BILLS, error=None, failed_at=None))
        else:
            self._go_home()

    # --- rendering ------------------------------------------------------------------------------------
    def _set(self, state: PayState) -> None:
        self.state = state
        self._render()

    def _render(self) -> None:
        state, s = self.state, self.screens
        if state is None:
            return
        if state.step is PayStep.IDENTIFY:
            self._show_identify()
        elif state.step is PayStep.CHOOSE_BILLS:
            assert state.patient is not None
            s.bills.show_bills(mask_name(state.patient.name), state.bills)
            self._show(s.bills, 1)
        elif state.step is PayStep.CHOOSE_METHOD:
            self._offer(state)
        elif state.step is PayStep.DONE:
            assert state.paid is not None
            s.result.show_paid(state.paid, tuple(b.next_step for b in state.chosen_bills if b.next_step))
            self._show(s.result, 3)
        elif state.step is PayStep.ERROR:
            self._show_error(state)

    def _show_error(self, state: PayState) -> None:
        assert state.error is not None
        retry = None
        if state.failed_at is PayStep.CHOOSE_BILLS:
            retry = "payerror.relist"  # the bills changed: they are listed again
        elif state.failed_at is PayStep.PAYING and state.error.message_key not in _NO_RETRY:
            retry = "payerror.retry"
        self.screens.error.show_error(state.error, retry)
        self._show(self.screens.error, _STEP_INDEX.get(state.failed_at or PayStep.IDENTIFY, 0))

    def _show_identify(self) -> None:
        self.readers.cancel()
        state = self.flow.start() if self.state is None or self.state.patient is not None else self.state
        self.state = dataclasses.replace(state, step=PayStep.IDENTIFY, error=None, failed_at=None)
        identify = self.screens.identify
        identify.set_task_pay(True)
        identify.set_reader_available(self.readers.usable(self.services.idcard))
        self._show(identify, 0)
        session = self._session

        def waiting() -> bool:
            return (session == self._session and self.state is not None and self.state.step is PayStep.IDENTIFY
                    and self._current() is identify)

        self.readers.arm(
            waiting,
            lambda card: self._run(lambda s: self.flow.identify_id_card(s, card), "busy.bills"),
            lambda card: self._run(lambda s: self.flow.identify_insurance_card(s, card), "busy.bills"),
            lambda code: self._run(lambda s: self.flow.identify_scan(s, code), "busy.bills"),
            lambda exc: self._set(self.flow.fail(self._state(), exc)),
            lambda: identify.set_reader_available(False),
        )

    # --- the patient's choices -----------------------------------------------------------------------
    def _on_bills_confirmed(self, chosen: tuple[Bill, ...]) -> None:
        state = self.state
        if state is None or not chosen:
            return
        picked = dataclasses.replace(state, chosen=frozenset(b.id for b in chosen))
        self._run(lambda _s: self.flow.confirm(picked), "busy.presettle" if state.insurance else "busy.bills")

    def _offer(self, state: PayState) -> None:
        def pay(method: PayMethod, on_view: ViewCallback, cancel: Cancel, mode: QrMode, code: str | None) -> PayState:
            paid = self.flow.pay(state, method, on_view, cancel, mode, code)
            if session != self._session:
                self.flow.end(paid)  # the patient left meanwhile: the session ends with its payment
            return paid

        def leave() -> None:
            self._run(lambda s: self._unconfirm(s), "busy.bills")

        session = self._session
        self.payment.begin(Offer(state.to_pay, pay, self._settled(session), leave, self._crashed(session),
                                 split=state.split))

    def _unconfirm(self, state: PayState) -> PayState:
        """Back from paying to the bills: the pre-settlement nobody paid is cancelled."""
        if state.run is not None:
            state.run.abandon()
        return dataclasses.replace(state, step=PayStep.CHOOSE_BILLS, run=None, split=None)

    def _on_error_retry(self) -> None:
        state = self.state
        if state is None:
            return
        if state.failed_at is PayStep.CHOOSE_BILLS:
            self._set(dataclasses.replace(state, step=PayStep.CHOOSE_BILLS, error=None, failed_at=None))
        elif state.failed_at is PayStep.PAYING:
            # the failed attempt is closed: check (and pre-settle) the same bills again, then choose
            self._run(lambda s: self.flow.confirm(s), "busy.presettle" if state.insurance else "busy.bills")

    def _on_result_reprint(self) -> None:
        self._run(lambda s: self.flow.reprint(s), "busy.print")

    # --- plumbing ---------------------------------------------------------------------------------------
    def _state(self) -> PayState:
        assert self.state is not None
        return self.state

    def _run(self, op: Callable[[PayState], PayState], busy_key: str) -> None:
        state = self._state()
        self.tasks.submit(lambda: op(state), self._settled(self._session), self._crashed(self._session),
                          busy_text=self.t.tr(busy_key))

    def _settled(self, session: int) -> Callable[[Any], None]:
        def settled(state: PayState) -> None:
            if session == self._session:
                self._set(state)
        return settled

    def _crashed(self, session: int) -> Callable[[BaseException], None]:
        def crashed(exc: BaseException) -> None:
            if session != self._session or self.state is None:
                return
            if not isinstance(exc, KioskError):
                log.error("pay step crashed", exc_info=exc)  # a bug: plain words for the patient
                exc = KioskError("unexpected error")
            self._set(self.flow.fail(self.state, exc))
        return crashed


def _log_end_failure(exc: BaseException) -> None:
    log.warning("pay: session end not completed now (recovery will)", extra={"error": type(exc).__name__})

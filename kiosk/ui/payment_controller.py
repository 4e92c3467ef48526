"""Drives the payment engine on screen, for every task that takes money (门诊缴费, the fee at 取号):
pre-settlement and its split → how to pay → the terminal's steps / the payment code / the QR → printing.

The engine's blocking calls run on a worker; its `PaymentView`s cross to the GUI thread through a
queued signal. While money is in flight (the terminal works, a payment is being recorded or undone)
the idle countdown holds and Back/Home are disabled; a shown QR or a scanned code still waiting for the
phone is cancelled on Back, Home or idle timeout (the engine records it if the patient paid meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from kiosk.devices.base import Cancel
from kiosk.domain.errors import DeviceTimeout, HisRefused, KioskError, NoCard, UserCancelled
from kiosk.domain.payment import Insurance, PayMethod, QrMode, channel_for_payment_code
from kiosk.flows.payment import Charge, Paid, PaymentEngine, PaymentFailed, PaymentRun, PaymentView, Phase
from kiosk.flows.services import Services
from kiosk.ui.credentials import READ_WAIT_S
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.pay_method import CARD, LATER, SCAN, SHOW_QR, PayMethodScreen
from kiosk.ui.screens.paying import (
    CardPaymentScreen,
    PayingScreen,
    PrintingScreen,
    QrPaymentScreen,
    ScanPaymentScreen,
)
from kiosk.ui.screens.split import SplitScreen
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

SHOW_QR_METHOD = PayMethod.WECHAT
"""The channel a QR shown on screen is created for (the hospital's aggregated code)."""
_WAITING_ON_PHONE = frozenset({Phase.QR_SHOWN, Phase.WAITING_CONFIRMATION})
_RELIST_KEYS = frozenset({"payment.bill_changed", "his.AMOUNT_MISMATCH", "his.ALREADY_PAID"})
_FINAL_KEYS = frozenset({"payment.manual", "payment.pending"})
"""Failures the patient cannot retry here: the money is held until a window or recovery settles it."""


@dataclass
class PaymentScreens:
    split: SplitScreen
    method: PayMethodScreen
    card: CardPaymentScreen
    scan: ScanPaymentScreen
    qr: QrPaymentScreen
    printing: PrintingScreen
    error: ErrorScreen

    def all(self) -> tuple[Screen, ...]:
        return (self.split, self.method, self.card, self.scan, self.qr, self.printing, self.error)


@dataclass
class Purpose:
    """What the task does around the payment: called on the GUI thread."""

    paid: Callable[[Paid], None]
    leave: Callable[[], None]
    """Back out of the payment (nothing paid)."""
    relist: Callable[[], None] | None = None
    """The bills changed on the HIS: show them again (门诊缴费)."""
    later: Callable[[], None] | None = None
    """Pay at a staffed window instead (the fee at 取号)."""
    step: int = 2


class PaymentController(QObject):
    view_arrived = Signal(object)
    money_moving = Signal(bool)
    """True while Back/Home must not abandon money (the main window disables them)."""

    def __init__(self, services: Services, tasks: TaskRunner, translator: Translator, screens: PaymentScreens,
                 show: Callable[[Screen, int], None], current: Callable[[], object],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.engine = PaymentEngine(services)
        self.tasks = tasks
        self.t = translator
        self.screens = screens
        self._show = show
        self._current = current
        self.run: PaymentRun | None = None
        self.last_run: PaymentRun | None = None
        """The run that paid last (its receipt can be printed again)."""
        self._charge: Charge | None = None
        self._insurance: Insurance | None = None
        self._purpose: Purpose | None = None
        self._generation = 0
        self._paying = False
        self._phase: Phase | None = None
        self._scan_cancel: Cancel | None = None
        self._back_to_method = False
        self._retry_key: str | None = None
        self.view_arrived.connect(self._on_view)
        screens.split.confirmed.connect(self._on_split_confirmed)
        screens.method.chosen.connect(self._on_method_chosen)
        screens.error.retry_requested.connect(self._on_error_retry)

    # --- what the window asks ----------------------------------------------------------------------
    @property
    def holds_idle(self) -> bool:
        """Money is in flight and the patient waits on the terminal or the HIS: the idle timer holds."""
        return self._paying and self._phase not in _WAITING_ON_PHONE

    def owns(self, screen: object) -> bool:
        return screen in self.screens.all()

    def begin(self, charge: Charge, purpose: Purpose, insurance: Insurance | None = None) -> None:
        """Start paying `charge`: check the bills, pre-settle with `insurance`, then offer the methods."""
        self.reset()
        self._charge, self._purpose, self._insurance = charge, purpose, insurance
        self._start_run()

    def reset(self) -> None:
        """The session ends: stop waiting on the phone, undo a pre-settlement nobody paid, forget."""
        self._generation += 1
        self._cancel_scan()
        run, self.run = self.run, None
        if run is not None:
            if self._paying:
                run.request_qr_cancel()  # the worker finishes (cancelled, or recorded if paid) and releases
            else:
                self.tasks.submit(lambda: self._abandon(run), lambda _: None, self._log_failure)
        self._set_paying(False)
        self._charge = self._purpose = self._insurance = None
        self.last_run = None
        self._back_to_method = False
        for screen in (self.screens.card, self.screens.scan, self.screens.qr, self.screens.printing):
            screen.show_view(None)
        self.screens.split.show_split(None)

    def back(self, current: object) -> bool:
        """Back from a payment screen; False when there is no payment to step back in."""
        if self._purpose is None:
            return False
        s = self.screens
        if current in (s.scan, s.qr) and self._paying:
            assert self.run is not None
            self._back_to_method = True
            self.run.request_qr_cancel()
        elif current is s.scan:
            self._cancel_scan()
            self._show_method()
        elif current is s.method and self.run is not None and self.run.split is not None:
            self._show(s.split, self._step)
        elif not self._paying:
            leave = self._purpose.leave
            self.reset()
            leave()
        return True

    # --- steps ---------------------------------------------------------------------------------------
    @property
    def _step(self) -> int:
        return self._purpose.step if self._purpose is not None else 2

    def _start_run(self) -> None:
        assert self._charge is not None
        generation = self._generation
        run = self.run = self.engine.start(self._charge)
        insurance = self._insurance

        def prepare() -> None:
            run.check()
            if insurance is not None:
                run.presettle(insurance)

        def done(_: object) -> None:
            if generation != self._generation:
                return
            if run.split is not None:
                self.screens.split.show_split(run.split)
                self._show(self.screens.split, self._step)
            else:
                self._show_method()

        def failed(exc: BaseException) -> None:
            self._release(run)
            if generation == self._generation:
                self.run = None
                self._fail(exc)

        self.tasks.submit(prepare, done, failed,
                          busy_text=self.t.tr("busy.presettle" if insurance else "busy.bills"))

    def _show_method(self) -> None:
        assert self.run is not None and self._purpose is not None
        available = {CARD, SCAN, SHOW_QR} if self.services.payment is not None else {SCAN, SHOW_QR}
        if self.services.scanner is None:
            available.discard(SCAN)
        if self._purpose.later is not None:
            available.add(LATER)
        self.screens.method.show_amount(self.run.self_pay, fee=self._purpose.later is not None,
                                        available=frozenset(available))
        self._show(self.screens.method, self._step)

    def _on_split_confirmed(self) -> None:
        if self.run is None:
            return
        if not self.run.self_pay:
            self._pay(PayMethod.INSURANCE_ONLY, self.screens.printing)
        else:
            self._show_method()

    def _on_method_chosen(self, method: str) -> None:
        if self.run is None or self._purpose is None:
            return
        if method == CARD:
            self._pay(PayMethod.BANK_CARD, self.screens.card)
        elif method == SHOW_QR:
            self._pay(SHOW_QR_METHOD, self.screens.qr, QrMode.SHOW)
        elif method == SCAN:
            self._wait_for_code()
        elif method == LATER and self._purpose.later is not None:
            later = self._purpose.later
            self.reset()
            later()

    def _wait_for_code(self) -> None:
        scanner = self.services.scanner
        assert scanner is not None and self.run is not None
        self.screens.scan.show_view(PaymentView(Phase.CHECKING, self.run.self_pay))
        self._show(self.screens.scan, self._step)
        cancel = self._scan_cancel = Cancel()
        generation = self._generation

        def read(code: str) -> None:
            if generation == self._generation and not cancel.cancelled:
                self._scan_cancel = None
                self._pay(channel_for_payment_code(code), self.screens.scan, QrMode.SCAN, code)

        def failed(exc: BaseException) -> None:
            if generation != self._generation or cancel.cancelled:
                return
            if isinstance(exc, (NoCard, DeviceTimeout, UserCancelled)):
                self._wait_for_code()  # nothing scanned yet: keep waiting while the screen shows
            else:
                self._fail(exc)

        self.tasks.submit(lambda: scanner.read_code(READ_WAIT_S, cancel), read, failed)

    def _cancel_scan(self) -> None:
        if self._scan_cancel is not None:
            self._scan_cancel.cancel()
            self._scan_cancel = None

    def _pay(self, method: PayMethod, screen: Screen, mode: QrMode = QrMode.SHOW, code: str | None = None) -> None:
        run = self.run
        assert run is not None
        generation = self._generation
        self._phase = None
        self._set_paying(True)
        # what shows until the engine's first view: the terminal starting, or the order being made
        first = {self.screens.card: Phase.TERMINAL, self.screens.scan: Phase.PRESETTLING}.get(screen, Phase.CHECKING)
        if isinstance(screen, PayingScreen):
            screen.show_view(PaymentView(first, run.self_pay))
        self._show(screen, self._step)

        def work() -> Paid:
            try:
                return run.pay(method, on_view=self.view_arrived.emit, mode=mode, auth_code=code)
            finally:
                self._release(run)

        def done(paid: Paid) -> None:
            if generation != self._generation:
                return
            self._set_paying(False)
            self.run, self.last_run = None, run
            assert self._purpose is not None
            self._purpose.paid(paid)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self._set_paying(False)
            self.run = None
            if self._back_to_method and isinstance(exc, PaymentFailed) and exc.message_key == "payment.qr_cancelled":
                self._back_to_method = False
                self._start_run()
                return
            self._fail(exc)

        self.tasks.submit(work, done, failed)

    def _on_view(self, view: PaymentView) -> None:
        if not self._paying:
            return
        self._phase = view.phase
        s = self.screens
        target = {Phase.TERMINAL: s.card, Phase.QR_SHOWN: s.qr, Phase.WAITING_CONFIRMATION: s.scan,
                  Phase.PRINTING: s.printing}.get(view.phase)
        current = self._current()
        if target is None:
            if isinstance(current, PayingScreen):
                current.show_view(view)
            self._set_paying(True)
            return
        target.show_view(view)
        if current is not target:
            self._show(target, self._step)
        self._set_paying(True)

    # --- failures ------------------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        if not isinstance(exc, KioskError):
            log.error("payment step crashed", exc_info=exc)
            exc = KioskError("unexpected error")
        key = exc.message_key
        if key in _RELIST_KEYS and self._purpose is not None and self._purpose.relist is not None:
            retry: str | None = "payerror.relist"
        elif key in _FINAL_KEYS or (isinstance(exc, HisRefused) and key not in _RELIST_KEYS
                                    and not isinstance(exc, PaymentFailed)):
            retry = None
        else:
            retry = "payerror.retry"
        self._retry_key = retry
        self.screens.error.show_error(exc, retry)
        self._show(self.screens.error, self._step)

    def _on_error_retry(self) -> None:
        if self._purpose is None or self._charge is None:
            return
        if self._retry_key == "payerror.relist" and self._purpose.relist is not None:
            relist = self._purpose.relist
            self.reset()
            relist()
        else:
            self._start_run()

    def _set_paying(self, paying: bool) -> None:
        self._paying = paying
        self.money_moving.emit(self.holds_idle)

    def _abandon(self, run: PaymentRun) -> None:
        try:
            run.abandon()
        finally:
            self._release(run)

    def _release(self, run: PaymentRun) -> None:
        """The run is over: whatever it left open is recovery's now."""
        if self.services.journal is not None:
            self.services.journal.release(run.steps.owner)

    @staticmethod
    def _log_failure(exc: BaseException) -> None:
        log.warning("payment: pre-settlement not undone now (recovery will)", extra={"error": type(exc).__name__})

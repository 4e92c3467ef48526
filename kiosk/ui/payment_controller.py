"""The payment screens, for every task that takes money (门诊缴费, the fee at 取号): the insurance split →
how to pay → the terminal's steps / the payment code / the QR for the phone → printing.

The task's flow moves the money (its `pay` transition, through the one payment engine); this controller
runs that transition on a worker, shows the engine's `PaymentView`s (they cross to the GUI thread
through a queued signal) and hands the flow's next state back to the task. While money is in flight —
the terminal works, a payment is being recorded or undone — the idle countdown holds and Back/Home are
disabled; a QR or payment code still waiting for the phone is cancelled on Back, Home or idle timeout
(the engine records it if the patient paid meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from kiosk.devices.base import Cancel
from kiosk.domain.errors import DeviceTimeout, NoCard, UserCancelled
from kiosk.domain.money import Money
from kiosk.domain.payment import InsuranceSplit, PayMethod, QrMode, channel_for_payment_code
from kiosk.flows.payment import PaymentView, Phase, ViewCallback
from kiosk.flows.services import Services
from kiosk.ui.credentials import READ_WAIT_S
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
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
PayCall = Callable[[PayMethod, ViewCallback, Cancel, QrMode, "str | None"], Any]
"""The task's pay transition: (method, on_view, cancel, mode, payment code) → the flow's next state."""


@dataclass
class PaymentScreens:
    split: SplitScreen
    method: PayMethodScreen
    card: CardPaymentScreen
    scan: ScanPaymentScreen
    qr: QrPaymentScreen
    printing: PrintingScreen

    def all(self) -> tuple[Screen, ...]:
        return (self.split, self.method, self.card, self.scan, self.qr, self.printing)


@dataclass
class Offer:
    """One payment offered to the patient, and what the task does around it (GUI thread)."""

    amount: Money
    """What the patient pays here (the self-pay part after insurance)."""
    pay: PayCall
    settled: Callable[[Any], None]
    """The flow's state after `pay` (done, or an error state): the task renders it."""
    leave: Callable[[], None]
    """Back out before paying (nothing was taken)."""
    crashed: Callable[[BaseException], None]
    """`pay` raised (a bug: flows turn every KioskError into a state)."""
    split: InsuranceSplit | None = None
    later: Callable[[], None] | None = None
    """Pay later instead (the fee at 取号: at a window; a booking: at collection)."""
    later_key: str = "method.later"
    registration: bool = False
    """A registration fee (挂号费待缴), even where it cannot be paid later."""
    hold_seconds: Callable[[], int | None] = lambda: None
    """How long a booked slot stays held for this payment: counted down on the methods screen."""
    hold_expired: Callable[[], None] | None = None
    """The hold ran out before the patient started paying."""
    step: int = 2


def task_outcome(live: Callable[[], bool], show: Callable[[Any], None], failed: Callable[[], Any]
                 ) -> tuple[Callable[[Any], None], Callable[[BaseException], None]]:
    """An `Offer`'s `settled` and `crashed` for a task: a result whose session ended is dropped; a crash
    (a bug: flows turn every KioskError into a state) is logged and shown as `failed()`, the task's
    plain-words error state."""

    def settled(state: Any) -> None:
        if live():
            show(state)

    def crashed(exc: BaseException) -> None:
        if live():
            log.error("fee payment crashed", exc_info=exc)
            show(failed())

    return settled, crashed


class PaymentController(QObject):
    view_arrived = Signal(object)
    money_moving = Signal(bool)
    """True while Back/Home must not abandon money (the main window disables them)."""

    def __init__(self, services: Services, tasks: TaskRunner, translator: Translator, screens: PaymentScreens,
                 show: Callable[[Screen, int], None], current: Callable[[], object],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.tasks = tasks
        self.t = translator
        self.screens = screens
        self._show = show
        self._current = current
        self.offer: Offer | None = None
        self._generation = 0
        self._paying = False
        self._phase: Phase | None = None
        self._cancel: Cancel | None = None
        """Cancels the wait for a payment code, or a QR waiting for the phone."""
        self.view_arrived.connect(self._on_view)
        screens.split.confirmed.connect(self._on_split_confirmed)
        screens.method.chosen.connect(self._on_method_chosen)
        screens.method.hold_expired.connect(self._on_hold_expired)

    # --- what the window and the tasks ask ----------------------------------------------------------
    @property
    def holds_idle(self) -> bool:
        """Money is in flight and the patient waits on the terminal or the HIS: the idle timer holds."""
        return self._paying and self._phase not in _WAITING_ON_PHONE

    @property
    def paying(self) -> bool:
        return self._paying

    def owns(self, screen: object) -> bool:
        return screen in self.screens.all()

    def begin(self, offer: Offer) -> None:
        """Offer a payment: the split first when insurance pre-settled, else the methods."""
        self.reset()
        self.offer = offer
        if offer.split is not None:
            self.screens.split.show_split(offer.split)
            self._show(self.screens.split, offer.step)
        else:
            self._show_method()

    def reset(self) -> None:
        """The session ends: stop waiting on the phone (a payment in flight finishes on its worker and
        its result is dropped here: the task's flow ends it); forget the offer."""
        self._generation += 1
        if self._cancel is not None:
            self._cancel.cancel()
            self._cancel = None
        self._set_paying(False)
        self.offer = None
        for screen in (self.screens.card, self.screens.scan, self.screens.qr, self.screens.printing):
            screen.show_view(None)
        self.screens.split.show_split(None)

    def back(self, current: object) -> bool:
        """Back from a payment screen; False when there is no payment to step back in."""
        offer = self.offer
        if offer is None or not self.owns(current):
            return False
        if self._paying:
            if self._cancel is not None:  # a QR or payment code waiting for the phone: cancel it
                self._cancel.cancel()
        elif current is self.screens.scan:
            self._cancel_wait()
            self._show_method()
        elif current is self.screens.method and offer.split is not None:
            self._show(self.screens.split, offer.step)
        else:
            self.reset()
            offer.leave()
        return True

    # --- steps ---------------------------------------------------------------------------------------
    def _show_method(self) -> None:
        offer = self.offer
        assert offer is not None
        available = {SHOW_QR}
        if self.services.payment is not None:
            available.add(CARD)
        if self.services.scanner is not None:
            available.add(SCAN)
        if offer.later is not None:
            available.add(LATER)
        self.screens.method.show_amount(offer.amount, fee=offer.registration or offer.later is not None,
                                        available=frozenset(available), hold_seconds=offer.hold_seconds(),
                                        later_key=offer.later_key)
        self._show(self.screens.method, offer.step)

    def _on_split_confirmed(self) -> None:
        if self.offer is None:
            return
        if not self.offer.amount:
            self._pay(PayMethod.INSURANCE_ONLY, self.screens.printing)  # insurance covers it all: no terminal
        else:
            self._show_method()

    def _on_method_chosen(self, method: str) -> None:
        offer = self.offer
        if offer is None or self._paying:
            return
        if method == CARD:
            self._pay(PayMethod.BANK_CARD, self.screens.card)
        elif method == SHOW_QR:
            self._pay(SHOW_QR_METHOD, self.screens.qr, QrMode.SHOW)
        elif method == SCAN:
            self._wait_for_code()
        elif method == LATER and offer.later is not None:
            later = offer.later
            self.reset()
            later()

    def _on_hold_expired(self) -> None:
        offer = self.offer
        if offer is None or offer.hold_expired is None or self._paying or self._current() is not self.screens.method:
            return
        expired = offer.hold_expired
        self.reset()
        expired()

    def _wait_for_code(self) -> None:
        scanner, offer = self.services.scanner, self.offer
        assert scanner is not None and offer is not None
        self.screens.scan.show_view(PaymentView(Phase.CHECKING, offer.amount))
        self._show(self.screens.scan, offer.step)
        cancel = self._cancel = Cancel()
        generation = self._generation

        def read(code: str) -> None:
            if generation == self._generation and not cancel.cancelled:
                self._pay(channel_for_payment_code(code), self.screens.scan, QrMode.SCAN, code)

        def failed(exc: BaseException) -> None:
            if generation != self._generation or cancel.cancelled:
                return
            if isinstance(exc, (NoCard, DeviceTimeout, UserCancelled)):
                self._wait_for_code()  # nothing scanned yet: keep waiting while the screen shows
            else:
                log.warning("scanner failed while waiting for a payment code", extra={"error": type(exc).__name__})
                self._show_method()

        self.tasks.submit(lambda: scanner.read_code(READ_WAIT_S, cancel), read, failed)

    def _cancel_wait(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self._cancel = None

    def _pay(self, method: PayMethod, screen: PayingScreen, mode: QrMode = QrMode.SHOW,
             code: str | None = None) -> None:
        offer = self.offer
        assert offer is not None
        generation = self._generation
        cancel = self._cancel = Cancel()
        self._phase = None
        self._set_paying(True)
        # what shows until the engine's first view: the terminal starting, or the order being made
        first = {self.screens.card: Phase.TERMINAL, self.screens.scan: Phase.PRESETTLING}.get(screen, Phase.CHECKING)
        screen.show_view(PaymentView(first, offer.amount))
        self._show(screen, offer.step)

        def settled(state: Any) -> None:
            if generation == self._generation:
                self._cancel = None
                self._set_paying(False)
                offer.settled(state)

        def crashed(exc: BaseException) -> None:
            if generation == self._generation:
                self._cancel = None
                self._set_paying(False)
                offer.crashed(exc)

        self.tasks.submit(lambda: offer.pay(method, self.view_arrived.emit, cancel, mode, code), settled, crashed)

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
        else:
            target.show_view(view)
            if current is not target and self.offer is not None:
                self._show(target, self.offer.step)
        self._set_paying(True)

    def _set_paying(self, paying: bool) -> None:
        self._paying = paying
        self.money_moving.emit(self.holds_idle)

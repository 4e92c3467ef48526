"""门诊缴费 on screen: identify (ID card, insurance card, e-voucher or visit card on the scanner) → the
unpaid bills → the payment (`PaymentController`) → the result with where to go next."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from kiosk.domain.errors import KioskError
from kiosk.domain.idnumber import mask_name
from kiosk.domain.payment import Bill
from kiosk.flows.pay_bills import PayBillsFlow, Payer
from kiosk.flows.payment import Charge, Paid
from kiosk.flows.services import Services
from kiosk.ui.credentials import CredentialWaiter
from kiosk.ui.i18n import Translator
from kiosk.ui.payment_controller import PaymentController, Purpose
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.bills import BillsScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.screens.pay_result import PayResultScreen
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

STEP_KEYS = ("pay.step.identify", "pay.step.bills", "pay.step.pay", "pay.step.done")


class PayController(QObject):
    """One 门诊缴费 session at a time; `reset()` forgets the patient and ignores late results."""

    def __init__(self, services: Services, tasks: TaskRunner, translator: Translator, identify: IdentifyScreen,
                 bills: BillsScreen, result: PayResultScreen, error: ErrorScreen, payment: PaymentController,
                 show: Callable[[Screen, int], None], current: Callable[[], object],
                 go_home: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.flow = PayBillsFlow(services.his)
        self.tasks = tasks
        self.t = translator
        self.identify, self.bills, self.result, self.error = identify, bills, result, error
        self.payment = payment
        self._show = show
        self._current = current
        self._go_home = go_home
        self.readers = CredentialWaiter(services, tasks, self)
        self.payer: Payer | None = None
        self.paid: Paid | None = None
        self.active = False
        self._session = 0
        bills.confirmed.connect(self._on_bills_confirmed)
        result.finished.connect(go_home)
        result.reprint_requested.connect(self._on_result_reprint)

    def owns(self, screen: object) -> bool:
        return self.active and (screen in (self.bills, self.result, self.identify, self.error)
                                or self.payment.owns(screen))

    # --- session --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.reset()
        self.active = True
        self._show_identify()

    def reset(self) -> None:
        self._session += 1
        self.readers.cancel()
        if self.active:
            self.payment.reset()
        self.active = False
        self.payer = None
        self.paid = None
        self.bills.clear()
        self.result.show_paid(None)

    def back(self, current: object) -> None:
        if self.payment.owns(current) and self.payment.back(current):
            return
        if current is self.bills or (current is self.error and self.payer is None):
            self._show_identify()
        elif current is self.error:
            self._show(self.bills, 1)
        else:
            self._go_home()

    # --- identify ---------------------------------------------------------------------------------------
    def _show_identify(self) -> None:
        self.readers.cancel()
        self.payer = None
        self.identify.set_task_pay(True)
        self.identify.set_reader_available(self.readers.usable(self.services.idcard))
        self._show(self.identify, 0)
        session = self._session
        today = self.services.today
        self.readers.arm(
            lambda: session == self._session and self.payer is None and self._current() is self.identify,
            lambda card: self._identify(lambda: self.flow.by_id_card(card, today())),
            lambda card: self._identify(lambda: self.flow.by_insurance_card(card, today())),
            lambda code: self._identify(lambda: self.flow.by_scan(code)),
            self._fail,
            lambda: self.identify.set_reader_available(False),
        )

    def _identify(self, op: Callable[[], Payer]) -> None:
        self._run(op, self._show_bills, "busy.bills")

    def _show_bills(self, payer: Payer) -> None:
        self.payer = payer
        self.bills.show_bills(mask_name(payer.patient.name), payer.bills)
        self._show(self.bills, 1)

    # --- pay ------------------------------------------------------------------------------------------
    def _on_bills_confirmed(self, chosen: tuple[Bill, ...]) -> None:
        if self.payer is None or not chosen:
            return
        charge = Charge.for_bills(self.payer.patient, chosen)
        purpose = Purpose(paid=lambda paid: self._on_paid(paid, chosen), leave=lambda: self._show(self.bills, 1),
                          relist=self._relist)
        self.payment.begin(charge, purpose, self.payer.insurance)

    def _relist(self) -> None:
        payer = self.payer
        if payer is not None:
            self._run(lambda: self.flow.relist(payer), self._show_bills, "busy.bills")

    def _on_paid(self, paid: Paid, bills: tuple[Bill, ...]) -> None:
        self.paid = paid
        self.result.show_paid(paid, tuple(b.next_step for b in bills if b.next_step))
        self._show(self.result, 3)

    def _on_result_reprint(self) -> None:
        run = self.payment.last_run
        if run is None:
            return
        self._run(run.reprint, lambda paid: self._on_paid(paid, run.charge.bills), "busy.print")

    # --- plumbing ---------------------------------------------------------------------------------------
    def _run(self, op: Callable[[], Any], done: Callable[[Any], None], busy_key: str) -> None:
        session = self._session

        def ok(value: Any) -> None:
            if session == self._session:
                done(value)

        def failed(exc: BaseException) -> None:
            if session == self._session:
                self._fail(exc)

        self.tasks.submit(op, ok, failed, busy_text=self.t.tr(busy_key))

    def _fail(self, exc: BaseException) -> None:
        if not isinstance(exc, KioskError):
            log.error("pay step crashed", exc_info=exc)
            exc = KioskError("unexpected error")
        self.error.show_error(exc, None)
        self._show(self.error, 0 if self.payer is None else 1)

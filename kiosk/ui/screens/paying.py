"""The screens while money moves: the card terminal's steps, waiting for the payment code, the QR for
the phone with its countdown, and printing. They only show `PaymentView`s; the engine acts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout

from kiosk.flows.payment import PaymentView, Phase
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import label
from kiosk.ui.widgets.qr import qr_pixmap

_PHASE_KEYS = {Phase.CHECKING: "pay.working", Phase.PRESETTLING: "pay.working", Phase.RECORDING: "pay.recording",
               Phase.UNDOING: "pay.undoing"}


class PayingScreen(Screen):
    """Title, the amount, and one line that says what happens now."""

    title_key = ""

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(28)
        self.title = label("", "title", center=True)
        self.amount = label("", "card-fee", center=True, name="amount")
        self.status = label("", "subtitle", center=True, name="status")
        self.hint = label("", "warning", center=True, name="hint")
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.amount)
        self.body = QVBoxLayout()
        layout.addLayout(self.body)
        layout.addWidget(self.status)
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self.view: PaymentView | None = None

    def show_view(self, view: PaymentView | None) -> None:
        self.view = view
        self.retranslate()

    def status_key(self, view: PaymentView) -> str:
        return _PHASE_KEYS.get(view.phase, "")

    def retranslate(self) -> None:
        t, view = self.t, self.view
        self.title.setText(t.tr(self.title_key))
        self.amount.setText(t.tr("pay.amount", amount=view.amount) if view is not None else "")
        key = self.status_key(view) if view is not None else ""
        self.status.setText(t.tr(key) if key else "")
        self.hint.setText(t.tr("card.keep"))


class CardPaymentScreen(PayingScreen):
    name = "card_payment"
    title_key = "card.title"

    def status_key(self, view: PaymentView) -> str:
        if view.phase is Phase.TERMINAL:
            return f"card.{view.terminal_step.value}" if view.terminal_step else "card.waiting"
        return super().status_key(view)


class ScanPaymentScreen(PayingScreen):
    name = "scan_payment"
    title_key = "scan.title"

    def status_key(self, view: PaymentView) -> str:
        if view.phase is Phase.WAITING_CONFIRMATION:
            return "scan.confirm"
        if view.phase is Phase.CHECKING:
            return "scan.hint"  # no code read yet: nothing is in flight
        return super().status_key(view)

    def retranslate(self) -> None:
        super().retranslate()
        self.hint.setVisible(self.view is not None and self.view.phase is not Phase.CHECKING)


class QrPaymentScreen(PayingScreen):
    name = "qr_payment"
    title_key = "qr.title"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.qr = QLabel()
        self.qr.setObjectName("qr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.order = label("", "hint", center=True, name="qr_order")
        self.body.addWidget(self.qr)
        self.body.addWidget(self.order)
        self._content: str | None = None

    def show_view(self, view: PaymentView | None) -> None:
        content = view.qr_content if view is not None else None
        if content != self._content:
            self._content = content
            if content:
                self.qr.setPixmap(qr_pixmap(content))
            else:
                self.qr.clear()
        super().show_view(view)

    def status_key(self, view: PaymentView) -> str:
        return "qr.countdown" if view.phase is Phase.QR_SHOWN else super().status_key(view)

    def retranslate(self) -> None:
        super().retranslate()
        view = self.view
        if view is not None and view.phase is Phase.QR_SHOWN:
            self.status.setText(self.t.tr("qr.countdown", seconds=view.seconds_left or 0))
        self.order.setText(self.t.tr("qr.order", order=view.order_id) if view and view.order_id else "")


class PrintingScreen(PayingScreen):
    name = "printing"
    title_key = "printing.title"

    def retranslate(self) -> None:
        super().retranslate()
        self.status.setText(self.t.tr("printing.hint"))
        self.hint.setText("")

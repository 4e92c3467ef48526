"""How to pay the self-pay part: bank card, the patient's payment code, or a QR for the phone; at 取号
also "pay at a staffed window"."""

from __future__ import annotations

from PySide6.QtCore import Signal

from kiosk.domain.money import Money
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label

CARD, SCAN, SHOW_QR, LATER = "card", "scan", "show_qr", "later"
_ELEMENTS = {CARD: "pay-card", SCAN: "pay-scan", SHOW_QR: "pay-show-qr", LATER: "pay-later"}


class PayMethodScreen(Screen):
    name = "pay_method"
    chosen = Signal(str)  # CARD, SCAN, SHOW_QR or LATER

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(28)
        self.title = label("", "title", center=True)
        self.amount = label("", "card-fee", center=True, name="amount")
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.amount)
        self.methods = {}
        for method, element in _ELEMENTS.items():
            role = "primary" if method == CARD else "tile" if method != LATER else ""
            choice = button("", role, name=element)
            choice.clicked.connect(lambda _=False, m=method: self.chosen.emit(m))
            self.methods[method] = choice
            layout.addWidget(choice)
        layout.addStretch(1)
        self._amount = Money.zero()
        self._fee = False

    def show_amount(self, amount: Money, fee: bool = False, available: frozenset[str] = frozenset(_ELEMENTS)) -> None:
        """`fee`: the registration fee at 取号 (which may also be paid later at a window)."""
        self._amount, self._fee = amount, fee
        for method, choice in self.methods.items():
            choice.setVisible(method in available and (method != LATER or fee))
        self.retranslate()

    def retranslate(self) -> None:
        t = self.t
        self.title.setText(t.tr("method.title"))
        self.amount.setText(t.tr("method.fee" if self._fee else "method.amount", amount=self._amount))
        for method, key in ((CARD, "method.card"), (SCAN, "method.scan"), (SHOW_QR, "method.show_qr"),
                            (LATER, "method.later")):
            self.methods[method].setText(t.tr(key))

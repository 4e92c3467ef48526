"""How to pay the self-pay part: bank card, the patient's payment code, or a QR for the phone; for a
registration fee also "pay later" where the hospital allows it. A booking paid at once shows how long
its slot stays held."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal

from kiosk.domain.money import Money
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.hold_countdown import HoldCountdown

CARD, SCAN, SHOW_QR, LATER = "card", "scan", "show_qr", "later"
_ELEMENTS = {CARD: "pay-card", SCAN: "pay-scan", SHOW_QR: "pay-show-qr", LATER: "pay-later"}


class PayMethodScreen(Screen):
    name = "pay_method"
    chosen = Signal(str)  # CARD, SCAN, SHOW_QR or LATER
    hold_expired = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(28)
        self.title = label("", "title", center=True)
        self.amount = label("", "card-fee", center=True, name="amount")
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.amount)
        self.hold = HoldCountdown(translator, self)
        self.hold.expired.connect(self.hold_expired.emit)
        self.hold.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.hold.label)
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
        self._later_key = "method.later"

    def show_amount(self, amount: Money, fee: bool = False, available: frozenset[str] = frozenset(_ELEMENTS),
                    hold_seconds: int | None = None, later_key: str = "method.later") -> None:
        """`fee`: a registration fee (which may also be paid later where `LATER` is available);
        `hold_seconds`: the booking's slot is held that long for the payment (None: no countdown)."""
        self._amount, self._fee, self._later_key = amount, fee, later_key
        self.hold.start(hold_seconds)
        for method, choice in self.methods.items():
            choice.setVisible(method in available and (method != LATER or fee))
        self.retranslate()

    def retranslate(self) -> None:
        t = self.t
        self.title.setText(t.tr("method.title"))
        self.amount.setText(t.tr("method.fee" if self._fee else "method.amount", amount=self._amount))
        self.hold.retranslate()
        for method, key in ((CARD, "method.card"), (SCAN, "method.scan"), (SHOW_QR, "method.show_qr"),
                            (LATER, self._later_key)):
            self.methods[method].setText(t.tr(key))

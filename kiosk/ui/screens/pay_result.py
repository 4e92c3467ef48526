"""Paid: the amount and method, the receipt number, where to go next (each bill's next_step), and a
reprint when the receipt did not come out."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal

from kiosk.domain.messages import text
from kiosk.flows.payment import Paid
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label


class PayResultScreen(Screen):
    name = "result"
    finished = Signal()
    reprint_requested = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(24)
        self.icon = label("✓", "ok-icon", center=True)
        self.title = label("", "title", center=True)
        self.amount = label("", "card-fee", center=True, name="paid_amount")
        self.receipt = label("", "subtitle", center=True, name="receipt_no")
        self.next = label("", "subtitle", center=True, name="next_step")
        self.notice = label("", "warning", center=True, name="take_notice")
        self.reprint = button("", "", name="reprint")
        self.reprint.clicked.connect(self.reprint_requested.emit)
        self.finish = button("", "primary", name="primary")
        self.finish.clicked.connect(self.finished.emit)
        layout.addStretch(1)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignCenter)
        for widget in (self.title, self.amount, self.receipt, self.next, self.notice):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.reprint)
        layout.addWidget(self.finish)
        self._paid: Paid | None = None
        self._steps: tuple[str, ...] = ()

    def show_paid(self, paid: Paid | None, next_steps: tuple[str, ...] = ()) -> None:
        """`next_steps`: where to go now, one per bill (duplicates shown once)."""
        self._paid, self._steps = paid, next_steps
        self.retranslate()

    def retranslate(self) -> None:
        t, paid = self.t, self._paid
        self.title.setText(t.tr("paid.title"))
        self.finish.setText(t.tr("result.finish"))
        self.reprint.setText(t.tr("paid.reprint"))
        if paid is None:
            for widget in (self.amount, self.receipt, self.next, self.notice):
                widget.setText("")
            self.reprint.hide()
            return
        method = t.tr(f"paymethod.{paid.method.value}")
        self.amount.setText(t.tr("paid.amount", amount=paid.record.amount, method=method))
        self.receipt.setText(t.tr("paid.receipt", receipt=paid.record.receipt_no))
        steps = "\n".join(dict.fromkeys(self._steps))
        self.next.setText(t.tr("paid.next", steps=steps) if steps else "")
        self.next.setVisible(bool(steps))
        key = "payment.done" if paid.printed else "payment.done_not_printed"
        self.notice.setText(text(key, t.language))
        self.reprint.setVisible(not paid.printed)

"""Identify: "place your ID card on the reader", other credentials, and the way to the booking-code keypad."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.icons import id_card_icon


class IdentifyScreen(Screen):
    name = "identify"
    code_requested = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(28)
        self.title = label("", "title", center=True)
        self.icon = QLabel()
        self.icon.setPixmap(id_card_icon())
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.others = label("", "subtitle", center=True)
        self.warning = label("", "warning", center=True, name="reader_warning")
        self.warning.hide()
        self.code = button("", "primary", name="by-code")
        self.code.clicked.connect(self.code_requested.emit)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.icon)
        layout.addWidget(self.others)
        layout.addWidget(self.warning)
        layout.addStretch(1)
        layout.addWidget(self.code)
        layout.addStretch(1)
        self._reader_ok = True
        self._pay = False

    def set_task_pay(self, pay: bool) -> None:
        """门诊缴费 asks for a card or a code on the scanner; only 取号 offers the booking-code keypad."""
        self._pay = pay
        self.retranslate()

    def set_reader_available(self, available: bool) -> None:
        self._reader_ok = available
        self.retranslate()

    def retranslate(self) -> None:
        # without the ID-card reader, the heading names only the ways that work
        title = "identify.title" if self._reader_ok else "identify.title_no_reader"
        self.title.setText(self.t.tr("identify.pay_title" if self._pay else title))
        self.icon.setVisible(self._reader_ok)
        self.others.setVisible(self._reader_ok or self._pay)
        self.others.setText(self.t.tr("identify.pay_others" if self._pay else "identify.others"))
        self.code.setVisible(not self._pay)
        self.code.setText(self.t.tr("identify.code"))
        self.warning.setText(self.t.tr("identify.no_reader"))
        self.warning.setVisible(not self._reader_ok)

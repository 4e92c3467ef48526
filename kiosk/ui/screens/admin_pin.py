"""admin_pin: the technician types the PIN on the screen's own keypad (shown as dots, never as digits)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.keypad import CLEAR, DELETE, Keypad

MAX_DIGITS = 12


class AdminPinScreen(Screen):
    name = "admin_pin"
    show_navigation = False
    pin_entered = Signal(str)
    cancelled = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(24, (96, 48))
        self.title = label("", "title", center=True)
        self.dots = label("", "pin-dots", center=True)
        self.dots.setObjectName("pin_dots")
        self.message = label("", "warning", center=True)
        self.message.setObjectName("pin_message")
        self.keypad = Keypad()
        self.keypad.keys["X"].hide()
        self.keypad.key_pressed.connect(self._on_keypad_key_pressed)
        self.cancel = button("", "key-small", name="cancel")
        self.cancel.clicked.connect(self.cancelled.emit)
        self.ok = button("", "primary", name="primary")
        self.ok.clicked.connect(lambda: self.pin_entered.emit(self._pin))
        layout.addWidget(self.title)
        layout.addWidget(self.dots)
        layout.addWidget(self.message)
        layout.addWidget(self.keypad)
        row = QHBoxLayout()
        row.addWidget(self.cancel)
        row.addWidget(self.ok, 1)
        layout.addLayout(row)
        layout.addStretch(1)
        self._pin = ""
        self._message: tuple[str, dict[str, object]] | None = None

    def reset(self, message_key: str | None = None, **values: object) -> None:
        """Clear the typed PIN; show `message_key` (wrong PIN, locked) under the dots."""
        self._pin = ""
        self._message = (message_key, values) if message_key else None
        self.retranslate()

    def _on_keypad_key_pressed(self, key: str) -> None:
        if key == DELETE:
            self._pin = self._pin[:-1]
        elif key == CLEAR:
            self._pin = ""
        elif len(self._pin) < MAX_DIGITS:
            self._pin += key
        self.dots.setText("●" * len(self._pin) or " ")
        self.ok.setEnabled(len(self._pin) >= 6)

    def retranslate(self) -> None:
        self.title.setText(self.t.tr("admin.pin_title"))
        self.dots.setText("●" * len(self._pin) or " ")
        self.message.setText(self.t.tr(self._message[0], **self._message[1]) if self._message else "")
        self.ok.setText(self.t.tr("admin.enter"))
        self.ok.setEnabled(len(self._pin) >= 6)
        self.cancel.setText(self.t.tr("admin.cancel"))
        self.keypad.retranslate(self.t.tr("keypad.delete"), self.t.tr("keypad.clear"))

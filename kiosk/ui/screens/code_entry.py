"""Booking-code entry: the 8-digit code from the SMS and the last 4 of the ID number, on a big keypad."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QButtonGroup, QPushButton, QVBoxLayout

from kiosk.flows.identify import BOOKING_CODE_LENGTH
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.keypad import CLEAR, DELETE, Keypad

LAST4_LENGTH = 4


def _spaced(value: str, length: int) -> str:
    """'1234' of 8 -> '1234 ____' : groups of 4, blanks shown as underscores."""
    shown = value.ljust(length, "_")
    return " ".join(shown[i : i + 4] for i in range(0, length, 4))


class CodeEntryScreen(Screen):
    name = "code_entry"
    submitted = Signal(str, str)  # (booking code, last 4 of the ID number)

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(16, (64, 32))
        self.title = label("", "title", center=True)
        self.code_label = label("", "field-label")
        self.code_field = button("", "field", name="code_field")
        self.last4_label = label("", "field-label")
        self.last4_field = button("", "field", name="last4_field")
        group = QButtonGroup(self)
        for field in (self.code_field, self.last4_field):
            field.setCheckable(True)
            group.addButton(field)
        group.setExclusive(True)
        self.code_field.clicked.connect(lambda: self._focus(self.code_field))
        self.last4_field.clicked.connect(lambda: self._focus(self.last4_field))
        self.keypad = Keypad()
        self.keypad.key_pressed.connect(self._on_keypad_key_pressed)
        self.confirm = button("", "primary", name="primary")
        self.confirm.clicked.connect(self._on_confirm_clicked)
        fields = QVBoxLayout()
        for widget in (self.code_label, self.code_field, self.last4_label, self.last4_field):
            fields.addWidget(widget)
        fields.addSpacing(12)
        fields.addWidget(self.confirm)
        fields.addStretch(1)
        # portrait: fields above the keypad; landscape (see resizeEvent): side by side
        self._body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self._body.setSpacing(32)
        self._body.addLayout(fields)
        self._body.addWidget(self.keypad)
        layout.addWidget(self.title)
        layout.addSpacing(8)
        layout.addLayout(self._body)
        layout.addStretch(1)
        self.clear()

    def resizeEvent(self, event: QResizeEvent) -> None:
        landscape = event.size().width() > event.size().height() * 1.2
        self._body.setDirection(
            QBoxLayout.Direction.LeftToRight if landscape else QBoxLayout.Direction.TopToBottom
        )
        super().resizeEvent(event)

    @property
    def code(self) -> str:
        return self._values[self.code_field]

    @property
    def last4(self) -> str:
        return self._values[self.last4_field]

    def clear(self) -> None:
        self._values: dict[QPushButton, str] = {self.code_field: "", self.last4_field: ""}
        self._focus(self.code_field)

    def retype_last4(self) -> None:
        """Back from a failed look-up: the booking code stays, the ID digits are typed again."""
        self._values[self.last4_field] = ""
        self._focus(self.last4_field)

    def type_text(self, text: str) -> None:
        """Feed characters as if pressed on the keypad (tests, and a hardware keypad if one is added)."""
        for char in text:
            self._on_keypad_key_pressed(char)

    def _focus(self, field: QPushButton) -> None:
        self._active = field
        field.setChecked(True)
        self.keypad.set_x_enabled(field is self.last4_field)  # X only ends an ID number
        self._refresh()

    def _limit(self, field: QPushButton) -> int:
        return BOOKING_CODE_LENGTH if field is self.code_field else LAST4_LENGTH

    def _on_keypad_key_pressed(self, key: str) -> None:
        field = self._active
        value = self._values[field]
        if key == DELETE and not value and field is self.last4_field:
            # deleting past the start of the ID digits steps back into the code, as one text would
            self._focus(self.code_field)
            field, value = self.code_field, self.code[:-1]
        elif key == DELETE:
            value = value[:-1]
        elif key == CLEAR:
            value = ""
        elif len(value) < self._limit(field) and (
            key.isdigit() or (key == "X" and field is self.last4_field)
        ):
            value += key
        self._values[field] = value
        if field is self.code_field and len(value) == BOOKING_CODE_LENGTH and not self.last4:
            self._focus(self.last4_field)  # code complete: go straight on to the ID digits
        self._refresh()

    def _complete(self) -> bool:
        return len(self.code) == BOOKING_CODE_LENGTH and len(self.last4) == LAST4_LENGTH

    def _refresh(self) -> None:
        self.code_field.setText(_spaced(self.code, BOOKING_CODE_LENGTH))
        self.last4_field.setText(_spaced(self.last4, LAST4_LENGTH))
        self.confirm.setEnabled(self._complete())

    def _on_confirm_clicked(self) -> None:
        if self._complete():
            self.submitted.emit(self.code, self.last4)

    def retranslate(self) -> None:
        self.title.setText(self.t.tr("code.title"))
        self.code_label.setText(self.t.tr("code.code"))
        self.last4_label.setText(self.t.tr("code.last4"))
        self.confirm.setText(self.t.tr("code.confirm"))
        self.keypad.retranslate(self.t.tr("keypad.delete"), self.t.tr("keypad.clear"))

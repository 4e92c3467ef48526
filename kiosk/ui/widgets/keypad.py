"""A big on-screen numeric keypad (digits, optional X for ID numbers, delete, clear)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QWidget

from kiosk.ui.widgets.common import button

DELETE = "\b"
CLEAR = "\x1b"


class Keypad(QWidget):
    """Emits `key_pressed` with '0'..'9', 'X', DELETE or CLEAR."""

    key_pressed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setSpacing(16)
        self.keys: dict[str, QPushButton] = {}
        layout = ["123", "456", "789", ("X", "0", DELETE)]
        for row, keys in enumerate(layout):
            for col, key in enumerate(keys):
                widget = button(key, "key", name=f"keypad-{'del' if key == DELETE else key.lower()}")
                if key == DELETE:
                    widget.setProperty("role", "key-small")
                widget.clicked.connect(lambda _=False, k=key: self.key_pressed.emit(k))
                grid.addWidget(widget, row, col)
                self.keys[key] = widget
        clear = button("", "key-small", name="keypad-clear")
        clear.clicked.connect(lambda: self.key_pressed.emit(CLEAR))
        grid.addWidget(clear, len(layout), 0, 1, 3)
        self.keys[CLEAR] = clear

    def set_x_enabled(self, enabled: bool) -> None:
        self.keys["X"].setEnabled(enabled)

    def retranslate(self, delete_text: str, clear_text: str) -> None:
        self.keys[DELETE].setText(delete_text)
        self.keys[CLEAR].setText(clear_text)

"""Error: what went wrong in plain words (kiosk.domain.messages), and what the patient can do now."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout

from kiosk.domain.errors import KioskError
from kiosk.domain.messages import message_for
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label


class ErrorScreen(Screen):
    name = "error"
    retry_requested = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(32, (64, 64))
        self.icon = label("!", "error-icon", center=True)
        self.title = label("", "title", center=True)
        self.message = label("", "error", center=True)
        self.message.setObjectName("error_message")
        self.note = label("", "subtitle", center=True, name="error_note")
        self.retry = button("", "primary", name="retry")
        self.retry.clicked.connect(self.retry_requested.emit)
        layout.addStretch(1)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.note)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.retry)
        layout.addLayout(row)
        layout.addStretch(1)
        self._error: KioskError | None = None
        self._retry_key: str | None = None
        self._note: tuple[str, dict[str, object]] | None = None

    def show_error(
        self, error: KioskError, retry_key: str | None = None, note: tuple[str, dict[str, object]] | None = None
    ) -> None:
        """`retry_key` labels a Retry button ('error.retry'), offered only where retrying can work; None
        hides it (the message then says when to come back or where to go)."""
        self._error, self._retry_key, self._note = error, retry_key, note
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t.tr("error.title"))
        self.message.setText(message_for(self._error, self.t.language) if self._error else "")
        self.note.setText(self.t.tr(self._note[0], **self._note[1]) if self._note else "")
        self.note.setVisible(self._note is not None)
        self.retry.setVisible(self._retry_key is not None)
        self.retry.setText(self.t.tr(self._retry_key) if self._retry_key else "")

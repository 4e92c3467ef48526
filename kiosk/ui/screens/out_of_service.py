"""Out of service (暂停服务): shown instead of any task when something essential is missing."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import label


class OutOfServiceScreen(Screen):
    name = "out_of_service"
    show_navigation = False

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 64, 64, 64)
        layout.setSpacing(40)
        self.title = label("", "title", center=True)
        self.body = label("", "subtitle", center=True)
        self.window_note = label("", "subtitle", center=True)
        self.window_note.setObjectName("oos_window")
        self.reason = label("", "hint", center=True)
        self.reason.setObjectName("oos_reason")
        layout.addStretch(1)
        for widget in (self.title, self.body, self.window_note, self.reason):
            layout.addWidget(widget)
        layout.addStretch(2)
        self._reason = ""
        self._window = ""

    def set_staffed_window(self, where: str) -> None:
        """Where the hospital's staffed window is (config `kiosk.staffed_window`)."""
        self._window = where
        self.retranslate()

    def set_reason(self, reason: str) -> None:
        """A short reason for technicians (no patient data), shown small under the notice."""
        self._reason = reason
        self.reason.setText(reason)

    def retranslate(self) -> None:
        self.title.setText(self.t.tr("oos.title"))
        self.body.setText(self.t.tr("oos.body"))
        self.window_note.setText(self.t.tr("oos.window", window=self._window) if self._window else "")

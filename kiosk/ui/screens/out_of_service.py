"""Out of service (暂停服务): shown instead of any task when something essential is missing."""

from __future__ import annotations

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.notice import NoticeScreen
from kiosk.ui.widgets.common import label


class OutOfServiceScreen(NoticeScreen):
    name = "out_of_service"
    title_key = "oos.title"
    body_key = "oos.body"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.window_note = label("", "subtitle", center=True, name="oos_window")
        self.reason = label("", "hint", center=True, name="oos_reason")
        self.column.addWidget(self.window_note)
        self.column.addWidget(self.reason)
        self.finish_layout()
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
        super().retranslate()
        self.window_note.setText(self.t.tr("oos.window", window=self._window) if self._window else "")

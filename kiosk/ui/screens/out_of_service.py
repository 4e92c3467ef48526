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
        self.reason = label("", "hint", center=True)
        self.reason.setObjectName("oos_reason")
        self.column.addWidget(self.reason)
        self.finish_layout()
        self._reason = ""

    def set_reason(self, reason: str) -> None:
        """A short reason for technicians (no patient data), shown small under the notice."""
        self._reason = reason
        self.reason.setText(reason)

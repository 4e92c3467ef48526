"""A full-screen notice with no task on it: a title and a line of body text, centred, no navigation."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import label


class NoticeScreen(Screen):
    """Subclasses name the screen and the i18n keys of its title and body."""

    show_navigation = False
    title_key = ""
    body_key = ""

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(64, 64, 64, 64)
        self.column.setSpacing(40)
        self.title = label("", "title", center=True)
        self.body = label("", "subtitle", center=True)
        self.column.addStretch(1)
        self.column.addWidget(self.title)
        self.column.addWidget(self.body)

    def finish_layout(self) -> None:
        """Called by subclasses after adding their own widgets under the body."""
        self.column.addStretch(2)

    def retranslate(self) -> None:
        self.title.setText(self.t.tr(self.title_key))
        self.body.setText(self.t.tr(self.body_key))

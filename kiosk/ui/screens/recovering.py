"""Recovering (正在恢复): shown at start while unfinished transactions are settled, before any task."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import label


class RecoveringScreen(Screen):
    name = "recovering"
    show_navigation = False

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 64, 64, 64)
        layout.setSpacing(40)
        self.title = label("", "title", center=True)
        self.body = label("", "subtitle", center=True)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addStretch(2)

    def retranslate(self) -> None:
        self.title.setText(self.t.tr("recovering.title"))
        self.body.setText(self.t.tr("recovering.body"))

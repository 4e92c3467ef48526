"""Recovering (正在恢复): shown at start while unfinished transactions are settled, before any task."""

from __future__ import annotations

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.notice import NoticeScreen


class RecoveringScreen(NoticeScreen):
    name = "recovering"
    title_key = "recovering.title"
    body_key = "recovering.body"

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.finish_layout()

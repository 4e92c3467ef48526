"""Result of a booking, check-in, reprint or cancellation: what happened, a big number, what to do next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label


@dataclass(frozen=True)
class Outcome:
    """In the current language; `number` is the big one (queue number, booking code), if any."""

    title: str
    caption: str = ""
    number: str = ""
    lines: tuple[str, ...] = ()
    take: str = ""


class DoneScreen(Screen):
    name = "result"
    finished = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(18, (48, 40))
        self.icon = label("✓", "ok-icon", center=True)
        self.title = label("", "title", center=True)
        self.caption = label("", "subtitle", center=True, name="caption")
        self.number = label("", "queue", center=True, wrap=False, name="queue_number")
        self.lines = label("", "subtitle", center=True, name="details")
        self.take = label("", "warning", center=True, name="take_notice")
        self.finish = button("", "primary", name="primary")
        self.finish.clicked.connect(self.finished.emit)
        layout.addStretch(1)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignCenter)
        for widget in (self.title, self.caption, self.number, self.lines, self.take):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.finish)
        self._render: Callable[[], Outcome] | None = None

    def show_outcome(self, render: Callable[[], Outcome]) -> None:
        self._render = render
        self.retranslate()

    def clear(self) -> None:
        self._render = None
        self.retranslate()

    def retranslate(self) -> None:
        outcome = self._render() if self._render else Outcome("")
        self.title.setText(outcome.title)
        self.finish.setText(self.t.tr("result.finish"))
        for widget, text in (
            (self.caption, outcome.caption), (self.number, outcome.number),
            (self.lines, "\n".join(outcome.lines)), (self.take, outcome.take),
        ):
            widget.setText(text)
            widget.setVisible(bool(text))

"""Confirm: review before a booking or a cancellation is made; the slot's hold counts down on screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.hold_countdown import HoldCountdown


@dataclass(frozen=True)
class Review:
    """What is about to happen, in the current language."""

    title: str
    lines: tuple[tuple[str, str], ...]
    primary: str
    warning: str = ""
    substitute: str = ""
    """替诊: who sees the patient instead; non-empty = the patient must confirm it before `primary`."""
    substitute_button: str = ""


class ConfirmScreen(Screen):
    name = "confirm"
    confirmed = Signal()
    substitute_confirmed = Signal()
    expired = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(20, (48, 32))
        self.title = label("", "title")
        self._grid = QGridLayout()
        self._grid.setHorizontalSpacing(24)
        self._grid.setVerticalSpacing(14)
        self.hold = HoldCountdown(translator, self)
        self.hold.expired.connect(self.expired.emit)
        self.countdown = self.hold.label
        self.warning = label("", "hint", name="note")
        self.substitute = label("", "warning", name="substitute")
        self.accept_substitute = button("", "secondary", name="confirm-substitute")
        self.accept_substitute.clicked.connect(self._on_accept_substitute)
        self.primary = button("", "primary", name="primary")
        self.primary.clicked.connect(self.confirmed.emit)
        layout.addWidget(self.title)
        layout.addLayout(self._grid)
        for widget in (self.countdown, self.warning, self.substitute, self.accept_substitute):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.primary)
        self._labels: list = []
        self._render: Callable[[], Review] | None = None
        self._substitute_ok = False

    def show_review(self, render: Callable[[], Review], hold_seconds: int | None, substitute_ok: bool) -> None:
        self._render = render
        self._substitute_ok = substitute_ok
        self.hold.start(hold_seconds)
        self.retranslate()

    def clear(self) -> None:
        self._render = None
        self.hold.start(None)
        self.retranslate()

    def _on_accept_substitute(self) -> None:
        self._substitute_ok = True
        self.substitute_confirmed.emit()
        self.retranslate()

    def retranslate(self) -> None:
        for widget in self._labels:
            widget.setParent(None)
            widget.deleteLater()
        self._labels = []
        review = self._render() if self._render else Review("", (), "")
        self.title.setText(review.title)
        for row, (name, value) in enumerate(review.lines):
            caption, text = label(name, "field-label", name=f"caption-{row}"), label(value, "card-line", name=f"line-{row}")
            self._grid.addWidget(caption, row, 0)
            self._grid.addWidget(text, row, 1)
            self._labels += [caption, text]
        self._grid.setColumnStretch(1, 1)
        self.hold.retranslate()
        self.warning.setText(review.warning)
        self.warning.setVisible(bool(review.warning))
        self.substitute.setText(review.substitute)
        self.substitute.setVisible(bool(review.substitute))
        self.accept_substitute.setText(review.substitute_button)
        self.accept_substitute.setVisible(bool(review.substitute) and not self._substitute_ok)
        self.primary.setText(review.primary)
        self.primary.setEnabled(not review.substitute or self._substitute_ok)

"""Satisfaction: after a task's result, one row of three faces — 满意 / 一般 / 不满意 (`rate-good`,
`rate-ok`, `rate-bad`). One tap records it and goes home; a patient who walks away leaves it to the idle
timeout, which records nothing. Shown only when the hospital asks for it (`[kiosk] satisfaction`)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from kiosk.domain.satisfaction import Rating
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.icons import icon

FACE_PX = 120


class SatisfactionScreen(Screen):
    name = "satisfaction"
    rated = Signal(object)  # Rating

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(32)
        self.title = label("", "title", center=True)
        self.hint = label("", "hint", center=True, name="satisfaction_hint")
        row = QHBoxLayout()
        row.setSpacing(28)
        self.words: dict[Rating, QLabel] = {}
        for rating in Rating:
            choice = button("", "rate", name=f"rate-{rating.value}")
            inside = QVBoxLayout(choice)
            inside.setContentsMargins(12, 20, 12, 20)
            face = QLabel()
            face.setPixmap(icon(f"face-{rating.value}", FACE_PX))
            face.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.words[rating] = label("", "rate-label", center=True, wrap=False)
            for part in (face, self.words[rating]):
                part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # the tap is the button's
                inside.addWidget(part)
            choice.clicked.connect(lambda _=False, r=rating: self.rated.emit(r))
            row.addWidget(choice, 1)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addSpacing(24)
        layout.addLayout(row)
        layout.addStretch(2)

    def retranslate(self) -> None:
        self.title.setText(self.t.tr("satisfaction.title"))
        self.hint.setText(self.t.tr("satisfaction.hint"))
        for rating, words in self.words.items():
            words.setText(self.t.tr(f"satisfaction.{rating.value}"))

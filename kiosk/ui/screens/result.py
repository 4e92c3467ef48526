"""Result: collected — the big queue number, where to go, and "take your slip and ID card"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout

from kiosk.domain.appointment import Collected
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label


class ResultScreen(Screen):
    name = "result"
    finished = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 48, 48, 48)
        layout.setSpacing(20)
        self.icon = label("✓", "ok-icon", center=True)
        self.title = label("", "title", center=True)
        self.queue_caption = label("", "subtitle", center=True)
        self.queue = label("", "queue", center=True, wrap=False)
        self.queue.setObjectName("queue_number")
        self.visit = label("", "subtitle", center=True)
        self.where = label("", "subtitle", center=True)
        self.take = label("", "warning", center=True)
        self.take.setObjectName("take_notice")
        self.finish = button("", "primary", name="primary")
        self.finish.clicked.connect(self.finished.emit)
        layout.addStretch(1)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignCenter)
        for widget in (self.title, self.queue_caption, self.queue, self.visit, self.where, self.take):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.finish)
        self._collected: Collected | None = None
        self._id_card_used = False

    def show_result(self, collected: Collected, id_card_used: bool) -> None:
        self._collected = collected
        self._id_card_used = id_card_used
        self.retranslate()

    def clear(self) -> None:
        self._collected = None
        self.retranslate()

    def retranslate(self) -> None:
        t, c = self.t, self._collected
        self.title.setText(t.tr("result.title"))
        self.queue_caption.setText(t.tr("result.queue"))
        self.finish.setText(t.tr("result.finish"))
        self.take.setText(t.tr("result.take_card" if self._id_card_used else "result.take_slip"))
        if c is None:
            for widget in (self.queue, self.visit, self.where):
                widget.setText("")
            return
        a = c.appointment
        self.queue.setText(c.queue_number)
        self.visit.setText(
            " ".join(p for p in (a.department, a.doctor or t.tr("appts.general"), a.time_text) if p)
        )
        where = " ".join(p for p in (c.floor, c.room) if p)
        self.where.setText(t.tr("result.where", where=where) if where else "")

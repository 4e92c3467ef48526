"""Result: collected — the big queue number, where to go, and "take your slip and ID card".

When the slip did not print, the collection still stands: the same success, with a note saying the slip
is missing and where to get it, and 重新打印 (each failed attempt says so again, with its count)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout

from kiosk.domain.appointment import Collected
from kiosk.domain.errors import CoverOpen, KioskError, PaperOut
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label


def _why_not_printed(error: KioskError | None) -> str:
    if isinstance(error, PaperOut):
        return "result.why.paper_out"
    if isinstance(error, CoverOpen):
        return "result.why.cover_open"
    return "result.why.printer"


class ResultScreen(Screen):
    name = "result"
    finished = Signal()
    reprint_requested = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(20)
        self.icon = label("✓", "ok-icon", center=True)
        self.title = label("", "title", center=True)
        self.queue_caption = label("", "subtitle", center=True)
        self.queue = label("", "queue", center=True, wrap=False)
        self.queue.setObjectName("queue_number")
        self.visit = label("", "subtitle", center=True)
        self.where = label("", "subtitle", center=True)
        self.take = label("", "warning", center=True)
        self.take.setObjectName("take_notice")
        self.not_printed = label("", "notice", center=True, name="not_printed")
        self.reprint = button("", "secondary", name="reprint")
        self.reprint.clicked.connect(self.reprint_requested.emit)
        self.finish = button("", "primary", name="primary")
        self.finish.clicked.connect(self.finished.emit)
        layout.addStretch(1)
        heading = QHBoxLayout()  # the tick beside the heading: the queue number keeps the height
        heading.setSpacing(24)
        heading.addStretch(1)
        heading.addWidget(self.icon)
        heading.addWidget(self.title)
        heading.addStretch(1)
        layout.addLayout(heading)
        for widget in (self.queue_caption, self.queue, self.visit, self.where, self.not_printed, self.take):
            layout.addWidget(widget)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.setSpacing(24)
        row.addWidget(self.reprint)
        row.addWidget(self.finish)
        layout.addLayout(row)
        self._collected: Collected | None = None
        self._id_card_used = False
        self._print_error: KioskError | None = None
        self._print_failures = 0

    def show_result(
        self,
        collected: Collected,
        id_card_used: bool,
        print_error: KioskError | None = None,
        print_failures: int = 0,
    ) -> None:
        """`print_error`: why the slip did not print (None: it did); `print_failures` counts the attempts."""
        self._collected = collected
        self._id_card_used = id_card_used
        self._print_error = print_error
        self._print_failures = print_failures
        self.retranslate()

    def clear(self) -> None:
        self._collected = None
        self._print_error = None
        self.retranslate()

    def retranslate(self) -> None:
        t, c = self.t, self._collected
        self.title.setText(t.tr("result.title"))
        self.queue_caption.setText(t.tr("result.queue"))
        self.finish.setText(t.tr("result.finish"))
        unprinted = self._print_error is not None and c is not None
        if unprinted:
            take = "result.take_card_only" if self._id_card_used else None
        else:
            take = "result.take_card" if self._id_card_used else "result.take_slip"
        self.take.setText(t.tr(take) if take else "")
        self.take.setVisible(take is not None)
        self.not_printed.setVisible(unprinted)
        self.reprint.setVisible(unprinted)
        self.reprint.setText(t.tr("result.reprint"))
        if c is not None and unprinted:
            again = t.tr("result.reprint_failed", count=self._print_failures - 1) if self._print_failures > 1 else ""
            self.not_printed.setText(
                again + t.tr("result.not_printed", why=t.tr(_why_not_printed(self._print_error)),
                             queue=c.queue_number)
            )
        if c is None:
            for widget in (self.queue, self.visit, self.where):
                widget.setText("")
            return
        a = c.appointment
        self.queue.setText(c.queue_number)
        self.visit.setText(
            " ".join(p for p in (a.department_in(t.is_english), a.doctor or t.tr("appts.general"), a.time_text) if p)
        )
        where = " ".join(p for p in (c.floor, c.room) if p)
        self.where.setText(t.tr("result.where", where=where) if where else "")

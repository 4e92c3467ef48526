"""Home: the five tasks as big tiles."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label, set_role

COLLECT = "collect"
PAY = "pay"


@dataclass(frozen=True)
class _Task:
    key: str
    active: bool
    row: int
    column: int
    span: int = 1
    element: str = ""
    """The tile's automation id when it differs from `task-<key>`."""


# the busiest task (预约取号) gets the full width at the top
TASKS = (
    _Task(COLLECT, True, 0, 0, 2),
    _Task("book", True, 1, 0),
    _Task(PAY, True, 1, 1),
    _Task("checkin", True, 2, 0),
    _Task("lookup", True, 2, 1, element="task-records"),
)


class HomeScreen(Screen):
    name = "home"
    show_navigation = False
    task_chosen = Signal(str)

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 40, 48, 40)
        self.welcome = label("", "title", center=True)
        layout.addWidget(self.welcome)
        layout.addSpacing(24)
        grid = QGridLayout()
        grid.setSpacing(28)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.tiles: dict[str, QPushButton] = {}
        self.notes: dict[str, QLabel] = {}
        self._unavailable: dict[str, str | None] = {}
        for task in TASKS:
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            tile = button("", "tile", name=task.element or f"task-{task.key}")
            tile.setEnabled(task.active)
            tile.clicked.connect(lambda _=False, key=task.key: self.task_chosen.emit(key))
            note = label("", "tile-note", center=True, name=f"{task.element or f'task-{task.key}'}-note")
            column.addWidget(tile)
            column.addWidget(note)
            grid.addWidget(box, task.row, task.column, 1, task.span)
            self.tiles[task.key] = tile
            self.notes[task.key] = note
        layout.addLayout(grid)
        layout.addStretch(1)

    def set_unavailable(self, task: str, reason_key: str | None) -> None:
        """Grey a task out with a reason (e.g. 'task.no_printer'), or None to offer it again."""
        if task in self._unavailable and self._unavailable[task] == reason_key:
            return  # asked every 2 s by the window: only a change is drawn again
        self._unavailable[task] = reason_key
        self.tiles[task].setEnabled(reason_key is None)
        self.retranslate()

    def retranslate(self) -> None:
        self.welcome.setText(self.t.tr("home.welcome"))
        for task in TASKS:
            self.tiles[task.key].setText(self.t.tr(f"task.{task.key}"))
            reason = self._unavailable.get(task.key)
            if not task.active:
                note, available = self.t.tr("task.coming_soon"), False
            elif reason:
                note, available = self.t.tr(reason), False
            else:
                note, available = self.t.tr(f"task.{task.key}.desc"), True
            self.notes[task.key].setText(note)
            set_role(self.notes[task.key], "tile-note", available="true" if available else "false")

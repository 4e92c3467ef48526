"""The step bar across the top of a task: where the patient is, what is done, what comes next."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from kiosk.ui.widgets.common import set_role


class StepBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepbar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self._layout = QHBoxLayout(self)
        self._labels: list[QLabel] = []
        self.current = 0

    def set_steps(self, titles: list[str]) -> None:
        if len(titles) != len(self._labels):
            for old in self._labels:
                old.setParent(None)  # out of the bar now: a task with other steps shows at once
                old.deleteLater()
            self._labels = []
            for _ in titles:
                item = QLabel()
                item.setAlignment(Qt.AlignmentFlag.AlignCenter)
                self._layout.addWidget(item, 1)
                self._labels.append(item)
        for index, (item, title) in enumerate(zip(self._labels, titles)):
            item.setText(f"{index + 1}  {title}")
        self.set_current(self.current)

    def set_current(self, index: int) -> None:
        self.current = index
        for i, item in enumerate(self._labels):
            state = "current" if i == index else ("done" if i < index else "todo")
            set_role(item, "step", state=state)

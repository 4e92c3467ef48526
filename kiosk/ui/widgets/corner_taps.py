"""The hidden technician gesture: five taps within 3 s in the window's top-left 100x100 px corner."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget

CORNER_PX = 100
TAPS = 5
WINDOW_S = 3.0


class CornerTaps(QObject):
    """An event filter for `window`'s QWindow; emits `triggered` on the fifth quick corner tap."""

    triggered = Signal()

    def __init__(self, window: QWidget, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(window)
        self._window = window
        self._clock = clock
        self._taps: list[float] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() is QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            self.tapped(self._window.mapFromGlobal(event.globalPosition().toPoint()))
        return False

    def tapped(self, at: QPoint) -> None:
        if not (0 <= at.x() < CORNER_PX and 0 <= at.y() < CORNER_PX):
            self._taps.clear()
            return
        now = self._clock()
        self._taps = [t for t in self._taps if now - t <= WINDOW_S] + [now]
        if len(self._taps) >= TAPS:
            self._taps.clear()
            self.triggered.emit()

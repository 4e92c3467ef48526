"""Idle timeout: a per-second countdown, a visible warning in the last 20 s (WCAG 2.2.1), and "more time"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from kiosk.ui.widgets.common import button, label

WARN_SECONDS = 20

_ACTIVITY = frozenset(
    {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress, QEvent.Type.Wheel}
)


class IdleWatcher(QObject):
    """Counts down while armed; any touch restarts it. `paused()` stops it while the patient waits on us."""

    countdown = Signal(int)  # seconds left, emitted each second of the last WARN_SECONDS (0 = hide)
    expired = Signal()

    def __init__(
        self, timeout_s: int, paused: Callable[[], bool] = lambda: False, parent: QObject | None = None
    ) -> None:
        """An event filter for the kiosk window's QWindow (MainWindow installs it): touches there count, a
        tester's panel beside it does not."""
        super().__init__(parent)
        self.timeout_s = timeout_s
        self.remaining = timeout_s
        self.armed = False
        self._paused = paused
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)

    def arm(self) -> None:
        self.armed = True
        self.poke()
        self._timer.start()

    def disarm(self) -> None:
        self.armed = False
        self._timer.stop()
        self.poke()

    def poke(self) -> None:
        """Activity: start the countdown over (and hide the warning)."""
        was_warning = self.remaining <= WARN_SECONDS
        self.remaining = self.timeout_s
        if was_warning:
            self.countdown.emit(0)

    def tick(self) -> None:
        """One second passed (the timer calls this; tests may too)."""
        if not self.armed or self._paused():
            return
        self.remaining -= 1
        if self.remaining <= 0:
            self.disarm()
            self.expired.emit()
        elif self.remaining <= WARN_SECONDS:
            self.countdown.emit(self.remaining)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.armed and event.type() in _ACTIVITY:
            self.poke()
        return False


class CountdownBanner(QWidget):
    """'xx 秒后将返回首页' with a big 延长时间 / More time button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("countdown")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        row = QHBoxLayout(self)
        row.setContentsMargins(32, 12, 32, 12)
        self.text = label("", wrap=False)
        self.more = button("", "primary", name="more_time")
        row.addWidget(self.text, 1)
        row.addWidget(self.more)
        self.hide()

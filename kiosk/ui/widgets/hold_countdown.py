"""The held slot's countdown (号源保留 mm:ss), on the confirm screen and, after booking, on the payment
screen: it ticks once a second and says when the time is up."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from kiosk.ui.i18n import Translator
from kiosk.ui.widgets.common import label


class HoldCountdown(QObject):
    expired = Signal()

    def __init__(self, translator: Translator, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.t = translator
        self.label: QLabel = label("", "warning", name="hold_countdown")
        self._seconds: int | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    @property
    def seconds(self) -> int | None:
        return self._seconds

    def start(self, seconds: int | None) -> None:
        """Count down from `seconds`; None hides the countdown."""
        self._seconds = seconds
        if seconds is None:
            self._timer.stop()
        else:
            self._timer.start()
        self.retranslate()

    def _tick(self) -> None:
        if self._seconds is None:
            return
        self._seconds -= 1
        if self._seconds <= 0:
            self._timer.stop()
            self.expired.emit()
        self.retranslate()

    def retranslate(self) -> None:
        seconds = self._seconds
        self.label.setVisible(seconds is not None)
        if seconds is not None:
            minutes, rest = divmod(max(seconds, 0), 60)
            self.label.setText(self.t.tr("confirm.hold", time=f"{minutes:02d}:{rest:02d}"))

"""At start the kiosk shows `recovering` while unfinished transactions are settled, then the home screen."""

from __future__ import annotations

import threading

from kiosk_test_fakes import create_services
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kiosk.app import _recover_before_home
from kiosk.sync.recovery import RecoveryReport


class _SlowRecovery:
    """Holds recovery open until the test has seen the screen."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def run(self) -> RecoveryReport:
        self.release.wait(10)
        return RecoveryReport()


def test_recovering_screen_then_home(make_window, shot) -> None:
    window = make_window(create_services())
    recovery = _SlowRecovery()
    seen: list[str] = []

    def look() -> None:
        seen.append(window.current_screen.name)
        shot(window, "recovering")
        recovery.release.set()

    # the screen is looked at from the GUI thread while recovery waits in its worker
    QTimer.singleShot(100, look)
    _recover_before_home(window, recovery, QApplication.instance())
    assert seen == ["recovering"]
    assert "核对上次未完成的交易" in window.recovering.body.text()
    assert window.current_screen is window.home

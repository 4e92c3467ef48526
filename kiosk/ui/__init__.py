"""ui layer of the kiosk: PySide6 widgets only; everything below it is Qt-free."""

from kiosk.ui.main_window import MainWindow
from kiosk.ui.tasks import Runner, SyncRunner, ThreadRunner

__all__ = ["MainWindow", "Runner", "SyncRunner", "ThreadRunner"]

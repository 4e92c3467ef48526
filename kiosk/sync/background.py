"""Periodic background work off the GUI thread (journal drain, heartbeats), stopped cleanly at exit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `work()` every `interval_s` seconds on its own daemon thread until `stop()`."""

    def __init__(self, name: str, interval_s: float, work: Callable[[], None]) -> None:
        self.name, self.interval_s, self.work = name, interval_s, work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.work()
            except Exception:  # the thread must outlive any one bad pass
                log.exception("background work failed", extra={"worker": self.name})

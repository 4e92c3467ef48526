"""Background work for the UI: run blocking device/HTTP calls off the GUI thread, results back via Signals.

`TaskRunner.submit(op, on_success, on_error, busy_text=...)` runs `op` on a `Runner`. `ThreadRunner`
uses worker threads and hands the outcome back by emitting a Signal from a QObject that lives on the
GUI thread (queued across threads), so callbacks always run on the GUI thread. Tests inject
`SyncRunner`, which runs everything at once. A busy overlay is shown only if the task takes longer
than 300 ms, and the idle countdown is paused while a task the patient waits for is running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

BUSY_DELAY_MS = 300

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Runner(Protocol):
    def run(self, op: Callable[[], Any], on_done: Done, on_error: Failed) -> None:
        """Run `op`; call exactly one of `on_done(result)` / `on_error(exc)` on the GUI thread."""

    def shutdown(self) -> None: ...


class SyncRunner:
    """Runs the operation immediately on the calling thread (tests)."""

    def run(self, op: Callable[[], Any], on_done: Done, on_error: Failed) -> None:
        try:
            result = op()
        except Exception as exc:  # noqa: BLE001 - the boundary: hand every failure to the caller's handler
            on_error(exc)
            return
        on_done(result)

    def shutdown(self) -> None:
        pass


class _Relay(QObject):
    """Lives on the GUI thread; a worker emits `finished`, Qt queues the call onto the GUI thread."""

    finished = Signal(object, object)  # (result, exception)


class ThreadRunner:
    """Worker threads for blocking calls. Enough workers for every reader waiting at once plus HTTP."""

    def __init__(self, max_workers: int = 6) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ui-task")
        self._relays: set[_Relay] = set()

    def run(self, op: Callable[[], Any], on_done: Done, on_error: Failed) -> None:
        relay = _Relay()
        self._relays.add(relay)

        def deliver(result: Any, error: BaseException | None) -> None:
            self._relays.discard(relay)
            if error is not None:
                on_error(error)
            else:
                on_done(result)

        relay.finished.connect(deliver)

        def work() -> None:
            try:
                result = op()
            except Exception as exc:  # noqa: BLE001 - crosses back to the GUI thread; never raised in a worker
                relay.finished.emit(None, exc)
                return
            relay.finished.emit(result, None)

        self._pool.submit(work)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class TaskRunner(QObject):
    """Submits work to a Runner and shows a busy indicator for anything slower than 300 ms."""

    busy_changed = Signal(bool, str)  # (busy, text shown to the patient)

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._busy = 0
        self._busy_text = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BUSY_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def submit(
        self, op: Callable[[], Any], on_success: Done, on_error: Failed, busy_text: str | None = None
    ) -> None:
        """Run `op`; `busy_text` (patient waits for it) shows the overlay after 300 ms and pauses idle."""
        if busy_text is None:
            self.runner.run(op, on_success, on_error)
            return
        self._busy += 1
        self._busy_text = busy_text
        if self._busy == 1:
            self._timer.start()

        def finish() -> None:
            self._busy -= 1
            if self._busy == 0:
                self._timer.stop()
                self.busy_changed.emit(False, "")

        def ok(result: Any) -> None:
            finish()
            on_success(result)

        def failed(exc: BaseException) -> None:
            finish()
            on_error(exc)

        self.runner.run(op, ok, failed)

    def _on_timer_timeout(self) -> None:
        if self._busy:
            self.busy_changed.emit(True, self._busy_text)

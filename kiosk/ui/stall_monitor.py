"""How long the GUI thread's event loop stalls: a precise 5 ms timer on the GUI thread notes how late
each of its ticks comes. A tick late by more than a frame (16 ms) is a stall a patient could see: a tap
that does not answer, an animation that jerks.

Served by the automation port (`GET /stalls`, `POST /stalls/reset`), so a tester's run (the e2e
session, a benchmark) reports the longest stall, the p99 and the count over 16 ms, with the screen each
happened on. Time the automation port itself spends on the GUI thread reading the screen (GET /screen's
widget walk, a screenshot, POST /view's restyling) is a tester's, not a patient's: `excluded()` keeps it
out. A tap's own events are counted: they are what a finger's would be.

Each stall also says how much of it the GUI thread spent on the CPU itself (`cpu_ms`, its thread CPU
time): a stall with little CPU of its own waited for the processor (a loaded machine) or for the Python
interpreter lock (another thread of the kiosk); `longest_cpu` is the stall with the most.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer

TICK_MS = 5
FRAME_MS = 16.0
"""A stall longer than one frame at 60 Hz shows."""
BUCKET_MS = 1
MAX_BUCKET = 2000
"""Lateness histogram: 1 ms buckets up to 2 s (a longer stall counts in the last one; `longest` keeps it)."""
WORST_KEPT = 10


@dataclass(frozen=True)
class Stall:
    ms: float
    cpu_ms: float
    """The GUI thread's own CPU time in it."""
    screen: str
    at: str
    """ISO time, UTC."""


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class StallMonitor(QObject):
    """Lives on the GUI thread; `screen()` names the screen showing (for where a stall happened)."""

    def __init__(self, screen: Callable[[], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._screen = screen
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._excluding = 0
        self.reset()

    def start(self) -> None:
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self._since = _now_iso()
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._buckets = [0] * (MAX_BUCKET + 1)
        self._ticks = 0
        self._longest: Stall | None = None
        self._longest_cpu: Stall | None = None
        self._worst: list[Stall] = []
        self._by_screen: dict[str, list[float]] = {}  # screen -> [longest ms, count over a frame]

    @contextmanager
    def excluded(self) -> Iterator[None]:
        """The GUI thread works for the tester here: the tick it delays is not a patient's stall."""
        self._excluding += 1
        try:
            yield
        finally:
            self._excluding -= 1
            self._last, self._last_cpu = time.perf_counter(), time.thread_time()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        late_ms = max(0.0, (now - self._last) * 1000 - TICK_MS)
        cpu_ms = min(late_ms, max(0.0, (cpu - self._last_cpu) * 1000))
        self._last, self._last_cpu = now, cpu
        if self._excluding:
            return
        self._ticks += 1
        self._buckets[min(int(late_ms // BUCKET_MS), MAX_BUCKET)] += 1
        if self._longest is None or late_ms > self._longest.ms:
            self._longest = self._stall(late_ms, cpu_ms)
        if self._longest_cpu is None or cpu_ms > self._longest_cpu.cpu_ms:
            self._longest_cpu = self._stall(late_ms, cpu_ms)
        if late_ms > FRAME_MS:
            stall = self._stall(late_ms, cpu_ms)
            longest, count = self._by_screen.get(stall.screen, [0.0, 0])
            self._by_screen[stall.screen] = [max(longest, late_ms), count + 1]
            self._worst.append(stall)
            self._worst.sort(key=lambda s: -s.ms)
            del self._worst[WORST_KEPT:]

    def _stall(self, late_ms: float, cpu_ms: float) -> Stall:
        return Stall(round(late_ms, 1), round(cpu_ms, 1), self._screen(), _now_iso())

    def _percentile_ms(self, fraction: float) -> float:
        if not self._ticks:
            return 0.0
        wanted, seen = fraction * self._ticks, 0
        for bucket, count in enumerate(self._buckets):
            seen += count
            if seen >= wanted:
                return float((bucket + 1) * BUCKET_MS)
        return float(MAX_BUCKET * BUCKET_MS)

    def report(self) -> dict[str, Any]:
        """GET /stalls: since when, ticks looked at, the longest (ms, cpu_ms, screen, at), the one with the
        most CPU of the GUI thread's own, p99 (upper bound of its 1 ms bucket), the count over a frame, the
        worst few and each screen's longest and count."""
        longest = self._longest
        return {
            "since": self._since,
            "tick_ms": TICK_MS,
            "ticks": self._ticks,
            "longest_ms": longest.ms if longest else 0.0,
            "longest": vars(longest) if longest else None,
            "longest_cpu": vars(self._longest_cpu) if self._longest_cpu else None,
            "p99_ms": self._percentile_ms(0.99),
            "over_16ms": sum(int(count) for _, count in self._by_screen.values()),
            "worst": [vars(s) for s in self._worst],
            "by_screen": {name: {"longest_ms": round(longest, 1), "over_16ms": int(count)}
                          for name, (longest, count) in sorted(self._by_screen.items())},
        }

    def block(self, ms: int) -> None:
        """Hold the GUI thread `ms` milliseconds (POST /stalls/inject: a tester checks the monitor sees it)."""
        time.sleep(ms / 1000)

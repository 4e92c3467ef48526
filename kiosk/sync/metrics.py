"""The kiosk's Prometheus metrics: scraped on 127.0.0.1 and written as a textfile for node_exporter.

A hospital's monitoring sees what the kiosk knows about itself: each device's state and detail (paper
low, paper out, cover open, reader offline), tasks started / completed / failed, payments by method and
amount, satisfaction ratings per task, the journal backlog, whether the HIS answers and how fast, idle
wipes and restarts. Device
states come in as plain strings from the composition root: this layer does not know the drivers.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
    write_to_textfile,
)

from kiosk.domain.money import Money
from kiosk.domain.satisfaction import Rating
from kiosk.sync.satisfaction import SatisfactionTally

log = logging.getLogger(__name__)

DEVICE_STATES = ("starting", "online", "busy", "user-error", "offline", "no-device", "hardware-error")
HIS_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


class KioskMetrics:
    """One registry per kiosk process; every method is safe to call from any thread. `ratings` keeps the
    satisfaction counts the heartbeat sends (in memory unless given a file)."""

    def __init__(self, kiosk_id: str, ratings: SatisfactionTally | None = None) -> None:
        self.registry = CollectorRegistry()
        self.ratings = ratings or SatisfactionTally()
        r, k = self.registry, ("kiosk",)
        self._kiosk = kiosk_id
        self._device_up = Gauge("kiosk_device_up", "1 when the device can serve patients (online or busy).",
                                ("kiosk", "device"), registry=r)
        self._device_state = Gauge("kiosk_device_state", "The device's state (XFS common status).",
                                   ("kiosk", "device", "state"), registry=r)
        self._device_detail = Gauge("kiosk_device_detail", "Detail of the device's state (paper-low, paper-out, "
                                    "cover-open, ...).", ("kiosk", "device", "detail"), registry=r)
        self._started = Counter("kiosk_tasks_started", "Tasks a patient started.", ("kiosk", "task"), registry=r)
        self._completed = Counter("kiosk_tasks_completed", "Tasks finished (slip in hand).", ("kiosk", "task"),
                                  registry=r)
        self._failed = Counter("kiosk_tasks_failed", "Task errors shown to a patient, by reason.",
                               ("kiosk", "task", "reason"), registry=r)
        self._payments = Counter("kiosk_payments", "Payments taken, by method.", ("kiosk", "method"), registry=r)
        self._paid_fen = Counter("kiosk_payments_fen", "Amount taken in fen, by method.", ("kiosk", "method"),
                                 registry=r)
        self._backlog = Gauge("kiosk_journal_backlog", "Journal entries not yet settled with the HIS.", k, registry=r)
        self._his_up = Gauge("kiosk_his_up", "1 when the last call to the HIS got an answer.", k, registry=r)
        self._his_latency = Histogram("kiosk_his_latency_seconds", "Time for one HIS request to answer.", k,
                                      buckets=HIS_LATENCY_BUCKETS, registry=r)
        self._satisfaction = Counter("kiosk_satisfaction", "Ratings patients gave after a task (good, ok, bad).",
                                     ("kiosk", "task", "rating"), registry=r)
        self._idle_wipes = Counter("kiosk_idle_wipes", "Sessions cleared by the idle timeout.", k, registry=r)
        self._restarts = Gauge("kiosk_restarts", "Times the app started again on this data directory.", k,
                               registry=r)
        self._details: dict[str, str] = {}
        self._server: Any = None
        self._lock = threading.Lock()

    # --- what the composition root feeds in ------------------------------------------------------
    def set_device(self, device: str, state: str, detail: str, up: bool) -> None:
        k = self._kiosk
        with self._lock:
            self._device_up.labels(k, device).set(int(up))
            for known in DEVICE_STATES:
                self._device_state.labels(k, device, known).set(int(known == state))
            old = self._details.pop(device, None)
            if old is not None:
                self._device_detail.remove(k, device, old)
            if detail != "none":
                self._details[device] = detail
                self._device_detail.labels(k, device, detail).set(1)

    def set_backlog(self, entries: int) -> None:
        self._backlog.labels(self._kiosk).set(entries)

    def his_answered(self, seconds: float | None) -> None:
        """One HIS request: its time, or None when it got no answer."""
        self._his_up.labels(self._kiosk).set(int(seconds is not None))
        if seconds is not None:
            self._his_latency.labels(self._kiosk).observe(seconds)

    def set_restarts(self, restarts: int) -> None:
        self._restarts.labels(self._kiosk).set(restarts)

    # --- what the tasks record (kiosk.flows.services.Metrics) ------------------------------------
    def task_started(self, task: str) -> None:
        self._started.labels(self._kiosk, task).inc()

    def task_completed(self, task: str) -> None:
        self._completed.labels(self._kiosk, task).inc()

    def task_failed(self, task: str, reason: str) -> None:
        self._failed.labels(self._kiosk, task, reason).inc()

    def payment(self, method: str, amount: Money) -> None:
        """A payment taken (the payment engine calls this once per recorded payment)."""
        self._payments.labels(self._kiosk, method).inc()
        self._paid_fen.labels(self._kiosk, method).inc(amount.fen)

    def satisfaction(self, task: str, rating: Rating) -> None:
        """One tap on 满意 / 一般 / 不满意 after `task`'s result."""
        self._satisfaction.labels(self._kiosk, task, rating.value).inc()
        self.ratings.record(task, rating)

    def idle_wipe(self) -> None:
        self._idle_wipes.labels(self._kiosk).inc()

    # --- export ------------------------------------------------------------------------------------
    def write_textfile(self, path: Path) -> None:
        """Replace `path` in one step (node_exporter's textfile collector never reads half a file); the
        satisfaction tally's file too, when it changed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), self.registry)
        self.ratings.save()

    def serve(self, port: int) -> int:
        """The scrape endpoint on 127.0.0.1:`port` (a daemon thread); returns the port bound."""
        self._server, _thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        bound = int(self._server.server_port)
        log.info("metrics served", extra={"port": bound})
        return bound

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def count_start(path: Path) -> int:
    """Count this start in `path` (one number); returns how many starts came before it."""
    try:
        before = int(path.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        before = 0
    path.write_text(f"{before + 1}\n", encoding="ascii")
    return before


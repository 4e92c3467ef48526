"""The composition root: reads nothing itself, builds every driver, the HIS client and the journal once.

Nothing else in the kiosk constructs a driver. `build()` is shared by `kiosk run`, `kiosk demo` and
the end-to-end tests, so the production wiring is the one the tests exercise.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import __version__, logging_setup
from kiosk.admin import diagnostics
from kiosk.admin.diag_cli import snapshot_path
from kiosk.atomic_file import write_atomically
from kiosk.config import Config
from kiosk.devices.base import READY_STATES, DeviceStatus
from kiosk.devices.registry import DEVICE_KINDS, build_device
from kiosk.domain.errors import ConfigError
from kiosk.flows.services import Services
from kiosk.sync.background import Periodic
from kiosk.sync.client import HisClient
from kiosk.sync.heartbeat import Heartbeat
from kiosk.sync.journal import Journal
from kiosk.sync.metrics import KioskMetrics, count_start
from kiosk.sync.recovery import recover

if TYPE_CHECKING:
    from simulators.rig import SimulatorRig

log = logging.getLogger(__name__)


@dataclass
class App:
    """The built kiosk: what the UI gets (`services`) and what must be closed at exit."""

    config: Config
    services: Services
    journal: Journal
    metrics: KioskMetrics
    devices: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for name, device in self.devices.items():
            try:
                device.close()
            except Exception:
                log.exception("closing %s failed", name)
        self.metrics.close()
        self.journal.close()


def _open_journal(config: Config) -> Journal:
    data_dir = Path(config.kiosk.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return Journal(data_dir / "journal.db")
    except OSError as exc:
        raise ConfigError(
            f"{config.source}: 'kiosk.data_dir' = '{data_dir}' is not writable ({exc.strerror or exc})"
        ) from None


def open_device(kind: str, config: Config, rig: SimulatorRig | None = None) -> Any:
    """Build and open the driver of one device (for `kiosk device ...` and for `build`)."""
    device = build_device(kind, config, rig)
    device.open()
    return device


def build(config: Config, rig: SimulatorRig | None = None) -> App:
    """Build and open every device, the HIS client and the journal. A device that cannot even be
    built (e.g. a missing optional library) is logged and left out: the task that needs it says so."""
    journal = _open_journal(config)
    devices: dict[str, Any] = {}
    for kind in DEVICE_KINDS:
        try:
            device = open_device(kind, config, rig)
        except Exception as exc:  # noqa: BLE001 - any driver failure leaves that device out, not the kiosk
            log.warning("device not available", extra={"device": kind, "detail": f"{type(exc).__name__}: {exc}"})
            continue
        devices[kind] = device
    metrics = KioskMetrics(config.kiosk.id)
    for device in devices.values():
        _feed_device_metrics(metrics, device.name, device.status())
        device.subscribe(lambda name, status: _feed_device_metrics(metrics, name, status))
    his = HisClient(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s,
                    on_answer=metrics.his_answered)
    services = Services(config=config, his=his, journal=journal, metrics=metrics, **devices)
    log.info("kiosk built", extra={"kiosk": config.kiosk.id, "version": __version__, "devices": ",".join(devices)})
    return App(config, services, journal, metrics, devices)


def _feed_device_metrics(metrics: KioskMetrics, name: str, status: DeviceStatus) -> None:
    """Device states reach the metrics as plain strings: the sync layer does not know the drivers."""
    metrics.set_device(name, status.state.value, status.detail.value, status.state in READY_STATES)


def _process_start_time() -> float:
    """The wall-clock time this process was started (from /proc), for honest cold-start figures."""
    with open("/proc/self/stat", encoding="ascii") as stat:
        start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat", encoding="ascii") as proc_stat:
        boot = next(int(line.split()[1]) for line in proc_stat if line.startswith("btime"))
    return boot + start_ticks / os.sysconf("SC_CLK_TCK")


def _sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) we are ready / alive; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(config: Config, rig: SimulatorRig | None = None, smoke: bool = False) -> int:
    """`kiosk run`: the full-screen app. Returns the process exit code. With `smoke`, exit once the home
    screen is up and print how long that took (from process start) and the memory it holds."""
    started = time.perf_counter()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kiosk.ui.main_window import MainWindow

    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        app = build(config, rig)
    except ConfigError as exc:
        print(f"kiosk: config error: {exc.detail}", file=sys.stderr)
        return 2
    # Every step a crash left half-done is settled before a patient can start a new one.
    his = app.services.his
    recover(app.journal, his)

    def drain() -> None:
        if app.journal.backlog():
            recover(app.journal, his)

    heartbeat = Heartbeat(his, app.devices, app.journal)
    data_dir = Path(config.kiosk.data_dir)
    app.metrics.set_restarts(count_start(data_dir / "starts"))
    recent = logging_setup.RecentLines()
    logging.getLogger().addHandler(recent)

    def export_metrics() -> None:
        app.metrics.set_backlog(app.journal.backlog())
        app.metrics.write_textfile(data_dir / "kiosk.prom")

    def snapshot() -> None:
        report = diagnostics.collect(config, app.devices, his, app.journal, recent.last(30))
        write_atomically(snapshot_path(config), json.dumps(report.as_dict(), ensure_ascii=False, default=str))

    workers = [
        Periodic("sync-recovery", 30.0, drain),
        Periodic("sync-heartbeat", 60.0, heartbeat.beat),
        Periodic("metrics", 15.0, export_metrics),
        Periodic("diag-snapshot", 15.0, snapshot),
    ]
    export_metrics()
    if config.kiosk.metrics_port:
        try:
            app.metrics.serve(config.kiosk.metrics_port)
        except OSError as exc:  # a busy port costs the scrape endpoint, not the kiosk; the textfile remains
            log.error("metrics port not available", extra={"port": config.kiosk.metrics_port, "error": str(exc)})
    for worker in workers:
        worker.start()
    window = MainWindow(app.services, recent_log=lambda: recent.last(30))
    if config.kiosk.fullscreen:
        window.showFullScreen()
    else:
        window.resize(1080, 1920 * 2 // 3)
        window.show()
    window.start_health_checks()
    qt_app.processEvents()
    startup_s = time.time() - _process_start_time()
    log.info("home screen shown", extra={"startup_ms": round(startup_s * 1000),
                                         "build_ms": round((time.perf_counter() - started) * 1000)})
    if smoke:
        print(json.dumps({"startup_s": round(startup_s, 3), "rss_mib": round(_rss_mib(), 1),
                          "devices": sorted(app.devices),
                          "states": {k: d.status().state.value for k, d in app.devices.items()}}), flush=True)
        for worker in workers:
            worker.stop()
        app.close()
        return 0
    _sd_notify("READY=1")
    watchdog_us = int(os.environ.get("WATCHDOG_USEC", "0"))
    if watchdog_us:
        # Pet the watchdog from the GUI thread: a frozen screen then gets restarted by systemd.
        pet = QTimer(window)
        pet.timeout.connect(lambda: _sd_notify("WATCHDOG=1"))
        pet.start(max(1000, watchdog_us // 2000))
    try:
        return qt_app.exec()
    finally:
        for worker in workers:
            worker.stop()
        app.close()

"""The composition root: reads nothing itself, builds every driver, the HIS client and the journal once.

Nothing else in the kiosk constructs a driver. `build()` is shared by `kiosk run`, `kiosk demo` and
the end-to-end tests, so the production wiring is the one the tests exercise.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import __version__
from kiosk.config import Config
from kiosk.devices.registry import DEVICE_KINDS, build_device
from kiosk.domain.errors import ConfigError
from kiosk.flows.collect_recovery import CollectSettler
from kiosk.flows.payment_recovery import PaymentSettler
from kiosk.flows.services import Services
from kiosk.sync.background import Periodic
from kiosk.sync.client import HisClient
from kiosk.sync.heartbeat import Heartbeat
from kiosk.sync.journal import Journal
from kiosk.sync.metrics import render, write_atomically
from kiosk.sync.recovery import Recovery

if TYPE_CHECKING:
    from simulators.rig import SimulatorRig

log = logging.getLogger(__name__)


@dataclass
class App:
    """The built kiosk: what the UI gets (`services`) and what must be closed at exit."""

    config: Config
    services: Services
    journal: Journal
    recovery: Recovery
    devices: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for name, device in self.devices.items():
            try:
                device.close()
            except Exception:
                log.exception("closing %s failed", name)
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
    his = HisClient(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s)
    recovery = Recovery(
        journal, [CollectSettler(journal, his), PaymentSettler(journal, his, devices.get("payment"), config.kiosk.id)]
    )
    services = Services(config=config, his=his, journal=journal, closed_tasks=lambda: recovery.blocked, **devices)
    log.info("kiosk built", extra={"kiosk": config.kiosk.id, "version": __version__, "devices": ",".join(devices)})
    return App(config, services, journal, recovery, devices)


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


def _recover_before_home(window: Any, recovery: Recovery, qt_app: Any) -> None:
    """Every step a crash left half-done is settled before a patient can start a new one; the screen
    says `recovering` meanwhile. Recovery's own waits (HIS timeout, terminal T2) bound this."""
    window.show_screen(window.recovering)
    finished = threading.Event()

    def settle() -> None:
        try:
            recovery.run()
        except Exception:
            log.exception("recovery at start failed")
        finally:
            finished.set()

    threading.Thread(target=settle, name="sync-recovery-start", daemon=True).start()
    while not finished.wait(0.05):
        qt_app.processEvents()
    window.show_screen(window.home)


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
    his = app.services.his

    def drain() -> None:
        if app.journal.backlog():
            app.recovery.run()

    heartbeat = Heartbeat(his, app.devices, app.journal)
    metrics_path = Path(config.kiosk.data_dir) / "kiosk.prom"

    def export_metrics() -> None:
        write_atomically(metrics_path, render(config.kiosk.id, app.devices, app.journal.backlog(), heartbeat.his_up))

    workers = [
        Periodic("sync-recovery", 30.0, drain),
        Periodic("sync-heartbeat", 60.0, heartbeat.beat),
        Periodic("metrics", 15.0, export_metrics),
    ]
    export_metrics()
    window = MainWindow(app.services)
    if config.kiosk.fullscreen:
        window.showFullScreen()
    else:
        window.resize(1080, 1920 * 2 // 3)
        window.show()
    _recover_before_home(window, app.recovery, qt_app)
    for worker in workers:
        worker.start()
    window.start_health_checks()
    qt_app.processEvents()
    startup_s = time.time() - _process_start_time()
    log.info("home screen shown", extra={"startup_ms": round(startup_s * 1000),
                                         "build_ms": round((time.perf_counter() - started) * 1000)})
    if smoke:
        import json

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

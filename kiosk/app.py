"""The composition root: reads nothing itself, builds every driver, the HIS client and the journal once.

Nothing else in the kiosk constructs a driver. `build()` is shared by `kiosk run`, `kiosk demo` and
the end-to-end tests, so the production wiring is the one the tests exercise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
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
from kiosk.domain.errors import ConfigError, KioskError
from kiosk.flows.collect_recovery import CollectSettler
from kiosk.flows.payment_recovery import PaymentSettler
from kiosk.flows.refund_recovery import RefundSettler
from kiosk.flows.services import Services, hospital_now
from kiosk.flows.task_recovery import TaskSettler
from kiosk.sync.background import Periodic
from kiosk.sync.client import HisClient
from kiosk.sync.heartbeat import Heartbeat
from kiosk.sync.journal import Journal
from kiosk.sync.metrics import KioskMetrics, count_start
from kiosk.sync.recovery import Recovery
from kiosk.sync.satisfaction import SatisfactionTally

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
    recovery: Recovery
    devices: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for name, device in self.devices.items():
            try:
                device.close()
            except Exception:
                log.exception("closing %s failed", name)
        self.metrics.close()
        self.journal.close()


KILL_AT_ENV = "KIOSK_FAULT_KILL_AT"
"""Fault injection for the torture harness, off unless set: `KIND:STATE` (e.g. `payment.sale:intent`)
makes the process kill itself (SIGKILL, as a power cut) right after that journal write is durable."""


def _kill_hook() -> Callable[[str, Any], None] | None:
    target = os.environ.get(KILL_AT_ENV)
    if not target:
        return None
    log.warning("fault injection: this process dies at journal step %s", target)

    def die_at(kind: str, state: Any) -> None:
        if f"{kind}:{state.value}" == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return die_at


def _open_journal(config: Config) -> Journal:
    data_dir = Path(config.kiosk.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return Journal(data_dir / "journal.db", on_write=_kill_hook())
    except OSError as exc:
        raise ConfigError(
            f"{config.source}: 'kiosk.data_dir' = '{data_dir}' is not writable ({exc.strerror or exc})"
        ) from None


def open_device(kind: str, config: Config, rig: SimulatorRig | None = None) -> Any:
    """Build and open the driver of one device (for `kiosk device ...` and for `build`); a "sim" driver
    is pointed at `rig`'s simulator of that kind."""
    simulated = rig is not None and getattr(config.devices, kind).driver == "sim"
    device = build_device(kind, config, rig.endpoint_for(kind) if rig is not None and simulated else None)
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
    metrics = KioskMetrics(config.kiosk.id, SatisfactionTally(Path(config.kiosk.data_dir) / "satisfaction-tally.json"))
    for device in devices.values():
        _feed_device_metrics(metrics, device.name, device.status())
        device.subscribe(lambda name, status: _feed_device_metrics(metrics, name, status))
    his = HisClient(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s,
                    on_answer=metrics.his_answered)
    recovery = Recovery(
        journal, [CollectSettler(journal, his), TaskSettler(journal, his),
                  PaymentSettler(journal, his, devices.get("payment"), config.kiosk.id),
                  RefundSettler(journal, his, devices.get("payment"), config.kiosk.id,
                                lambda: hospital_now().date())]
    )
    services = Services(config=config, his=his, journal=journal, metrics=metrics,
                        closed_tasks=lambda: recovery.blocked, **devices)
    log.info("kiosk built", extra={"kiosk": config.kiosk.id, "version": __version__, "devices": ",".join(devices)})
    return App(config, services, journal, metrics, recovery, devices)


def _feed_device_metrics(metrics: KioskMetrics, name: str, status: DeviceStatus) -> None:
    """Device states reach the metrics as plain strings: the sync layer does not know the drivers."""
    metrics.set_device(name, status.state.value, status.detail.value, status.state in READY_STATES)


def reconcile_dir(config: Config) -> Path:
    return Path(config.reconcile.out_dir or Path(config.kiosk.data_dir) / "reconcile")


def _reconcile_with(config: Config, journal: Journal, terminal: Any, his: HisClient, day: dt.date,
                    out_dir: Path, settle: bool) -> Any:
    from kiosk.flows.reconcile_run import run_reconciliation

    return run_reconciliation(journal, terminal, his, kiosk_id=config.kiosk.id, hospital=config.kiosk.hospital_name,
                              day=day, out_dir=out_dir, settle=settle, now=hospital_now)


def reconcile(config: Config, day: dt.date | None, out_dir: Path | None, settle: bool | None) -> int:
    """`kiosk reconcile`: 对账 of one day with this kiosk's terminal, HIS and journal. It opens the payment
    terminal itself (run it while the kiosk app is stopped; the app's daily run needs no such care).
    The batch is settled (ECR 05) only for today, unless told. Exit 0: all matched; 1: mismatches
    listed in the report; 2: no report (the HIS could not list the day)."""

    today = hospital_now().date()
    day = day or today
    settle = (day == today) if settle is None else settle
    journal = _open_journal(config)
    his = HisClient(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s)
    try:
        terminal = open_device("payment", config)
    except Exception as exc:  # noqa: BLE001 - reconcile without the terminal: every REF is unverified
        print(f"kiosk reconcile: the payment terminal is not available ({type(exc).__name__}: {exc}); "
              "card payments are reported as unverified", file=sys.stderr)
        terminal = None
    try:
        report = _reconcile_with(config, journal, terminal, his, day, out_dir or reconcile_dir(config), settle)
    except KioskError as exc:
        print(f"kiosk reconcile: no report for {day}: {exc.detail or type(exc).__name__}", file=sys.stderr)
        return 2
    finally:
        if terminal is not None:
            terminal.close()
        journal.close()
    rec = report.reconciliation
    print(f"kiosk reconcile {day}: {len(rec.lines)} transactions, {len(rec.mismatches)} mismatches")
    print(f"  {report.html_path}\n  {report.csv_path}")
    return 1 if rec.mismatches else 0


def _daily_reconcile(app: App) -> Callable[[], None] | None:
    """The daily 对账 inside the running kiosk, at `[reconcile] daily_at`; None when switched off."""
    from kiosk.flows.reconcile_run import daily_due

    config = app.config
    at = config.reconcile.time()
    if at is None:
        return None

    def maybe_run() -> None:
        now = app.services.clock()
        if daily_due(now, at, reconcile_dir(config), config.kiosk.id):
            _reconcile_with(config, app.journal, app.services.payment, app.services.his, now.date(),
                            reconcile_dir(config), config.reconcile.settle)

    return maybe_run


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


WINDOW_SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
"""The windowed (not full-screen) size per `[kiosk] orientation`; cut to the screen it opens on."""
SIGNAL_POLL_MS = 250
"""How often the Qt loop lets Python run its signal handlers (SIGTERM ends the kiosk cleanly)."""


@dataclass
class RunOptions:
    """What differs between `kiosk run`, `kiosk demo` and the smoke test; the wiring does not."""

    smoke: bool = False
    automation_port: int | None = None
    """Serve the automation port here (0 = a free port); None = as `[kiosk] automation_port` says."""
    window_size: tuple[int, int] | None = None
    """None = as `[kiosk] orientation` says."""
    ready: Callable[[Any, int | None], None] | None = None
    """Called on the GUI thread once the home screen shows, with the window and the automation port."""


def _place_window(window: Any, size: tuple[int, int], fullscreen: bool) -> None:
    from PySide6.QtGui import QGuiApplication

    from kiosk.ui.window_size import fit_size

    if fullscreen:
        window.showFullScreen()
        return
    screen = QGuiApplication.primaryScreen()
    if screen is not None and QGuiApplication.platformName() != "offscreen":
        area = screen.availableGeometry()
        size = fit_size(size, (area.width(), area.height()))
        window.move(area.topLeft())
    window.resize(*size)
    window.show()


def _start_automation(window: Any, config: Config, port: int | None) -> Any:
    """The tester automation port, when asked for (off by default)."""
    if port is None:
        if not config.kiosk.automation_port:
            return None
        port = config.kiosk.automation_port
    from kiosk.ui.automation.driver import AutomationDriver
    from kiosk.ui.automation.server import AutomationServer

    server = AutomationServer(AutomationDriver(window), window.prompts, port, config.kiosk.automation_token)
    server.start()
    return server


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
    window.go_home()  # home, or 暂停服务 when no task can be offered


def run(config: Config, rig: SimulatorRig | None = None, smoke: bool = False,
        options: RunOptions | None = None) -> int:
    """`kiosk run` (and `kiosk demo`, with `rig`): the app. Returns the process exit code. With `smoke`,
    exit once the home screen is up and print how long that took (from process start) and the memory
    it holds."""
    options = options or RunOptions(smoke=smoke)
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

    heartbeat = Heartbeat(his, app.devices, app.journal, app.metrics.ratings.snapshot)
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
        Periodic("sync-recovery", config.kiosk.recovery_interval_s, drain),
        Periodic("sync-heartbeat", 60.0, heartbeat.beat),
        Periodic("metrics", 15.0, export_metrics),
        Periodic("diag-snapshot", 15.0, snapshot),
    ]
    daily = _daily_reconcile(app)
    if daily is not None:
        workers.append(Periodic("reconcile", 60.0, daily))
    export_metrics()
    if config.kiosk.metrics_port:
        try:
            app.metrics.serve(config.kiosk.metrics_port)
        except OSError as exc:  # a busy port costs the scrape endpoint, not the kiosk; the textfile remains
            log.error("metrics port not available", extra={"port": config.kiosk.metrics_port, "error": str(exc)})
    window = MainWindow(app.services, recent_log=lambda: recent.last(30))
    _place_window(window, options.window_size or WINDOW_SIZES[config.kiosk.orientation], config.kiosk.fullscreen)
    _recover_before_home(window, app.recovery, qt_app)
    for worker in workers:
        worker.start()
    window.start_health_checks()
    qt_app.processEvents()
    startup_s = time.time() - _process_start_time()
    log.info("home screen shown", extra={"startup_ms": round(startup_s * 1000),
                                         "build_ms": round((time.perf_counter() - started) * 1000)})
    if options.smoke:
        print(json.dumps({"startup_s": round(startup_s, 3), "rss_mib": round(_rss_mib(), 1),
                          "devices": sorted(app.devices),
                          "states": {k: d.status().state.value for k, d in app.devices.items()}}), flush=True)
        for worker in workers:
            worker.stop()
        app.close()
        return 0
    automation = _start_automation(window, config, options.automation_port)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: qt_app.quit())
    python_turn = QTimer(window)  # a Qt loop alone never lets Python run its signal handlers
    python_turn.start(SIGNAL_POLL_MS)
    _sd_notify("READY=1")
    watchdog_us = int(os.environ.get("WATCHDOG_USEC", "0"))
    if watchdog_us:
        # Pet the watchdog from the GUI thread: a frozen screen then gets restarted by systemd.
        pet = QTimer(window)
        pet.timeout.connect(lambda: _sd_notify("WATCHDOG=1"))
        pet.start(max(1000, watchdog_us // 2000))
    if options.ready is not None:
        options.ready(window, automation.port if automation is not None else None)
    try:
        return qt_app.exec()
    finally:
        if automation is not None:
            automation.stop()
        for worker in workers:
            worker.stop()
        window.close()  # stops the window's worker threads before the devices close
        app.close()


DEMO_CONTROL_PORT = 8765
"""The demo's simulator control port: `kiosk simctl`'s default, so it reaches the demo's rig as it is."""


def _demo_control(rig: SimulatorRig, port: int) -> Any:
    from simulators.rig import control_server

    try:
        return control_server(rig, port)
    except OSError as exc:
        print(f"kiosk demo: control port {port} is taken ({exc.strerror}); using a free one", flush=True)
        return control_server(rig, 0)


def _keep_slips(rig: SimulatorRig, folder: Path) -> None:
    """Every slip the demo prints is kept as PNG and text in `folder` (numbered in print order)."""
    folder.mkdir(parents=True, exist_ok=True)
    count = [len(list(folder.glob("slip-*.txt")))]

    def keep(receipt: Any) -> None:
        count[0] += 1
        receipt.png(folder / f"slip-{count[0]:03d}.png")
        (folder / f"slip-{count[0]:03d}.txt").write_text(receipt.text, encoding="utf-8")

    rig.printer.on_receipt(keep)


Walker = Callable[[Any, Any, Path], list[Path]]
"""Drives the demo kiosk (AutomationClient, ControlClient) and writes into the folder; the files written."""


def _scripted_walk(kiosk: Any, sims: Any, out_dir: Path) -> list[Path]:
    from kiosk.ui.demo import scripted_walk

    walk = scripted_walk(kiosk, sims, out_dir)
    return walk.shots + walk.receipts


def _gallery_walk(kiosk: Any, sims: Any, out_dir: Path) -> list[Path]:
    from kiosk.ui.gallery import render_gallery

    return render_gallery(kiosk, sims, out_dir)


def run_gallery(config: Config, out_dir: Path) -> int:
    """`kiosk gallery`: the demo kiosk offscreen, every screen in every variant into `out_dir`."""
    # the tour's pauses on a screen must not be mistaken for a patient who walked away; the satisfaction
    # question on, so that its screen is shown too
    config = dataclasses.replace(config, kiosk=dataclasses.replace(config.kiosk, idle_timeout_s=600, satisfaction=True))
    return run_demo(config, out_dir, scripted=True, control_port=0, walker=_gallery_walk)


def run_demo(config: Config, out_dir: Path, scripted: bool = False, automation_port: int | None = None,
             control_port: int = DEMO_CONTROL_PORT, walker: Walker = _scripted_walk) -> int:
    """`kiosk demo`: the kiosk of `run()`, with every device simulated and the reference HIS embedded.

    With a display: the window and the tester's panel. With `automation_port`: the kiosk serves the
    automation port and runs until SIGTERM. Otherwise, with no display (or `scripted`): the scripted
    walk drives it through a port of its own, writes screenshots and slips to `out_dir`, and exits."""
    import datetime as dt

    from kiosk.flows.services import HOSPITAL_TZ
    from kiosk.ui.demo import DEMO_TIME
    from simulators.rig import SimulatorRig

    headless = (
        scripted
        or os.environ.get("QT_QPA_PLATFORM") == "offscreen"
        or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    )
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    walk_it = headless and automation_port is None
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    his_now = dt.datetime.combine(dt.datetime.now(HOSPITAL_TZ).date(), DEMO_TIME, HOSPITAL_TZ)
    rig = SimulatorRig.start(config, his=True, his_now=his_now)
    control = None
    try:
        control = _demo_control(rig, control_port)
        control_url = f"http://127.0.0.1:{control.server_address[1]}/"
        _keep_slips(rig, out_dir / "slips")
        config = dataclasses.replace(
            config,
            his=dataclasses.replace(config.his, url=rig.his_url),
            kiosk=dataclasses.replace(config.kiosk, data_dir=str(out_dir / "data")),
        )
        walked: dict[str, Any] = {}

        def ready(window: Any, port: int | None) -> None:
            print(f"kiosk demo: home screen after {time.perf_counter() - started:.2f} s; simulators:", flush=True)
            for kind, where in rig.describe().items():
                print(f"  {kind}: {where}", flush=True)
            print(f"  control: {control_url}", flush=True)
            if port is not None:
                print(f"  automation: http://127.0.0.1:{port}/", flush=True)
            if not headless:
                from simulators.panel import ControlPanel

                panel = ControlPanel(rig)
                panel.move(window.x() + window.width() + 20, window.y())
                panel.show()
                window.demo_panel = panel  # kept alive with the window
            if walk_it:
                assert port is not None
                threading.Thread(target=_walk, args=(walker, port, control_url, config, out_dir, walked),
                                 name="demo-walk", daemon=True).start()

        code = run(config, rig, options=RunOptions(automation_port=0 if walk_it else automation_port, ready=ready))
        if not walk_it:
            return code
        if "error" in walked:
            print(f"kiosk demo: FAILED: {walked['error']}")
            return 1
        files = walked["files"]
        print(f"kiosk demo: {len(files)} files in {out_dir}/")
        for path in files:
            print(f"  {path}")
        return 0
    finally:
        if control is not None:
            control.shutdown()
        rig.stop()


def _walk(walker: Walker, port: int, control_url: str, config: Config, out_dir: Path,
          walked: dict[str, Any]) -> None:
    """The walk, on its own thread, through the kiosk's automation port; quits the app after."""
    from kiosk.ui.automation.client import AutomationClient
    from simulators.control_client import ControlClient

    try:
        kiosk = AutomationClient(f"http://127.0.0.1:{port}", config.kiosk.automation_token)
        walked["files"] = walker(kiosk, ControlClient(control_url), out_dir)
    except Exception as exc:
        log.exception("demo walk failed")
        walked["error"] = exc
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # ends the app as a technician's SIGTERM does

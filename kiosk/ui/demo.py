"""`kiosk demo`: the kiosk with every device simulated and the embedded reference HIS.

With a display it opens the kiosk window and the tester's panel. Without one (or with --scripted) it
walks each task offscreen like a patient would — real drivers, real simulators, real HTTP — and writes
a screenshot of every screen and the rendered receipts to the output folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.app import App, build
from kiosk.config import Config
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.ui.main_window import MainWindow
from simulators.rig import SimulatorRig

log = logging.getLogger(__name__)

# Collection opens 07:30: the demo's hospital morning, whatever the wall clock says.
DEMO_TIME = dt.time(8, 40)


class DemoStepFailed(RuntimeError):
    pass


def pump(ms: int) -> None:
    """Process Qt events for about `ms` milliseconds. Not QTest.qWait: PySide6's qWait keeps the
    interpreter lock while it sleeps, which slows every worker thread (HTTP, devices) ten-fold."""
    app = QApplication.instance()
    deadline = time.monotonic() + ms / 1000
    while True:
        if app is not None:
            app.processEvents()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.005))


class Walk:
    """Drives the real window the way a patient does, saving a PNG of each screen it reaches."""

    def __init__(self, window: MainWindow, rig: SimulatorRig, out: Path) -> None:
        self.window, self.rig, self.out = window, rig, out
        self.shots: list[Path] = []
        self.receipts: list[Path] = []

    def wait(self, what: str, done: Callable[[], bool], timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise DemoStepFailed(f"timed out waiting for {what}")
            pump(20)

    def on(self, screen: QWidget, timeout_s: float = 15.0) -> None:
        self.wait(
            type(screen).__name__,
            lambda: self.window.current_screen is screen and not self.window.tasks.busy,
            timeout_s,
        )

    def click(self, widget: QWidget) -> None:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
        pump(30)

    def shot(self, name: str) -> None:
        pump(50)
        path = self.out / f"{len(self.shots) + 1:02d}-{name}.png"
        self.window.grab().save(str(path))
        self.shots.append(path)

    def receipt(self, name: str, count: int) -> str:
        printed = self.rig.printer.wait_for_receipt(timeout=10, count=count)
        path = self.out / f"receipt-{name}.png"
        printed.png(path)
        (self.out / f"receipt-{name}.txt").write_text(printed.text, encoding="utf-8")
        self.receipts.append(path)
        return printed.text


def _today_bookings(rig: SimulatorRig) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    fixtures = rig.fixtures()
    today = dt.datetime.now(HOSPITAL_TZ).date().isoformat()
    patients = {str(p["id"]): p for p in fixtures["patients"]}
    booked = [
        a
        for a in fixtures["appointments"]
        if a["date"] == today and a["status"] == "booked" and a["period"] == "am"
    ]
    return booked, patients


def scripted_walk(window: MainWindow, rig: SimulatorRig, out: Path) -> Walk:
    walk = Walk(window, rig, out)
    w = window
    booked, patients = _today_bookings(rig)
    if len(booked) < 2:
        raise DemoStepFailed("the HIS seed has fewer than two of today's morning bookings")
    by_card, by_code = booked[0], next(a for a in booked[1:] if a["patient_id"] != booked[0]["patient_id"])

    walk.on(w.home)
    walk.shot("home")
    # 预约取号 with the ID card: the patient taps the task, then lays the card on the reader.
    walk.click(w.home.tiles["collect"])
    walk.on(w.identify)
    walk.shot("identify")
    rig.insert_id_card(next(p for p in rig.patients(10_000) if p.id == by_card["patient_id"]))
    walk.on(w.appointments)
    walk.shot("appointments")
    enabled = [card for card in w.appointments.cards.values() if card.isEnabled()]
    walk.click(enabled[0])
    walk.click(w.appointments.confirm)
    walk.on(w.result)
    walk.shot("result")
    walk.receipt("registration-slip-id-card", 1)
    walk.click(w.result.finish)
    rig.remove_id_card()
    walk.on(w.home)

    # 预约取号 with the booking code from the SMS and the last 4 of the ID number, on the keypad.
    walk.click(w.home.tiles["collect"])
    walk.on(w.identify)
    walk.click(w.identify.code)
    walk.on(w.code_entry)
    for key in by_code["booking_code"] + patients[by_code["patient_id"]]["id_number"][-4:]:
        walk.click(w.code_entry.keypad.keys[key])
    walk.shot("booking-code")
    walk.click(w.code_entry.confirm)
    walk.on(w.appointments)
    walk.click(w.appointments.confirm)
    walk.on(w.result)
    walk.shot("result-booking-code")
    walk.receipt("registration-slip-booking-code", 2)
    walk.click(w.result.finish)
    walk.on(w.home)

    # English, then what a patient sees when the hospital system is down.
    walk.click(w.language)
    walk.shot("home-english")
    walk.click(w.language)
    rig.set_his_faults(down=True)
    walk.click(w.home.tiles["collect"])
    walk.on(w.identify)
    walk.click(w.identify.code)
    walk.on(w.code_entry)
    w.code_entry.type_text("12345678" + "0000")
    walk.click(w.code_entry.confirm)
    walk.on(w.error)
    walk.shot("error-his-down")
    rig.set_his_faults()
    walk.click(w.home_button)
    walk.on(w.home)
    return walk


def run_demo(config: Config, out_dir: Path, scripted: bool) -> int:
    headless = (
        scripted
        or os.environ.get("QT_QPA_PLATFORM") == "offscreen"
        or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    )
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    qt_app = QApplication.instance() or QApplication(["kiosk-demo"])
    his_now = dt.datetime.combine(dt.datetime.now(HOSPITAL_TZ).date(), DEMO_TIME, HOSPITAL_TZ)
    rig = SimulatorRig.start(config, his=True, his_now=his_now)
    app: App | None = None
    try:
        config = dataclasses.replace(
            config,
            his=dataclasses.replace(config.his, url=rig.his_url),
            kiosk=dataclasses.replace(config.kiosk, data_dir=str(out_dir / "data")),
        )
        app = build(config, rig)
        window = MainWindow(app.services)
        window.resize(1080, 1500)
        window.show()
        print(f"kiosk demo: home screen after {time.perf_counter() - started:.2f} s; simulators:", flush=True)
        for kind, where in rig.describe().items():
            print(f"  {kind}: {where}", flush=True)
        if not headless:
            from simulators.panel import ControlPanel

            panel = ControlPanel(rig)
            panel.move(window.x() + window.width() + 20, window.y())
            panel.show()
            return qt_app.exec()
        walk = scripted_walk(window, rig, out_dir)
        print(f"kiosk demo: {len(walk.shots)} screenshots and {len(walk.receipts)} receipts in {out_dir}/")
        for path in walk.shots + walk.receipts:
            print(f"  {path}")
        return 0
    except Exception as exc:
        log.exception("demo failed")
        print(f"kiosk demo: FAILED: {exc}")
        return 1
    finally:
        if app is not None:
            app.close()
        rig.stop()

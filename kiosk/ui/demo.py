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

    def __init__(self, window: MainWindow, rig: SimulatorRig, out: Path, screenshots: bool = False) -> None:
        self.window, self.rig, self.out = window, rig, out
        self.screenshots = screenshots
        self.shots: list[Path] = []
        self.receipts: list[Path] = []

    def wait(self, what: str, done: Callable[[], bool], timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise DemoStepFailed(f"timed out waiting for {what}")
            pump(5)

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
        if not self.screenshots:
            return
        pump(50)
        path = self.out / f"{len(self.shots) + 1:02d}-{name}.png"
        self.window.grab().save(str(path))
        self.shots.append(path)

    # --- the patient's journeys ------------------------------------------------------------------
    def collect_by_id_card(self, patient_id: str, appointment_id: str | None = None) -> None:
        """预约取号 with the ID card: tap the task, lay the card, pick the appointment (or the first one
        offered), confirm; stops on the result screen."""
        w = self.window
        self.click(w.home.tiles["collect"])
        self.on(w.identify)
        self.shot("identify")
        self.rig.insert_id_card(next(p for p in self.rig.patients(10_000) if p.id == patient_id))
        self.on(w.appointments)
        self.shot("appointments")
        if appointment_id is None:
            appointment_id = next(key for key, card in w.appointments.cards.items() if card.isEnabled())
        self.click(w.appointments.cards[appointment_id])
        self.click(w.appointments.confirm)
        self.on(w.result)
        self.shot("result")

    def _type_code(self, code: str, last4: str) -> None:
        w = self.window
        self.click(w.home.tiles["collect"])
        self.on(w.identify)
        self.click(w.identify.code)
        self.on(w.code_entry)
        for key in code + last4:
            self.click(w.code_entry.keypad.keys[key])
        self.shot("booking-code")
        self.click(w.code_entry.confirm)

    def collect_by_code(self, code: str, last4: str) -> None:
        """预约取号 with the SMS booking code and the last 4 of the ID number on the keypad."""
        self._type_code(code, last4)
        self.on(self.window.appointments)
        self.click(self.window.appointments.confirm)
        self.on(self.window.result)
        self.shot("result-booking-code")

    def refused_code(self, code: str, last4: str) -> None:
        """A booking code the kiosk cannot serve; stops on the error screen."""
        self._type_code(code, last4)
        self.on(self.window.error)

    def finish(self) -> None:
        """Tap 完成, take the card away, back on the home screen."""
        self.click(self.window.result.finish)
        if self.rig.idcard is not None:
            self.rig.remove_id_card()
        self.on(self.window.home)

    def receipt(self, name: str, count: int) -> str:
        printed = self.rig.printer.wait_for_receipt(timeout=10, count=count)
        path = self.out / f"receipt-{name}.png"
        printed.png(path)
        (self.out / f"receipt-{name}.txt").write_text(printed.text, encoding="utf-8")
        self.receipts.append(path)
        return printed.text


def today_bookings(rig: SimulatorRig) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
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
    walk = Walk(window, rig, out, screenshots=True)
    booked, patients = today_bookings(rig)
    if len(booked) < 2:
        raise DemoStepFailed("the HIS seed has fewer than two of today's morning bookings")
    by_card, by_code = booked[0], next(a for a in booked[1:] if a["patient_id"] != booked[0]["patient_id"])

    walk.on(window.home)
    walk.shot("home")
    walk.collect_by_id_card(by_card["patient_id"])
    walk.receipt("registration-slip-id-card", 1)
    walk.finish()
    walk.collect_by_code(by_code["booking_code"], patients[by_code["patient_id"]]["id_number"][-4:])
    walk.receipt("registration-slip-booking-code", 2)
    walk.finish()

    # English, then what a patient sees when the hospital system is down.
    walk.click(window.language)
    walk.shot("home-english")
    walk.click(window.language)
    rig.set_his_faults(down=True)
    walk.refused_code("12345678", "0000")
    walk.shot("error-his-down")
    rig.set_his_faults()
    walk.click(window.home_button)
    walk.on(window.home)
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

"""The scripted demo walk: drives a running kiosk through its automation port as a patient would, and
the simulators through their control port as a tester would, saving a screenshot of every screen.

No Qt and no composition here: `kiosk.app.run_demo` builds the kiosk and starts this walk against it;
the e2e tests use the same steps against a `kiosk demo --automation-port` process.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import requests

from kiosk.domain.errors import AutomationRefused
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.ui.automation.client import AutomationClient
from simulators.control_client import ControlClient

# Collection opens 07:30: the demo's hospital morning, whatever the wall clock says.
DEMO_TIME = dt.time(8, 40)


class DemoStepFailed(RuntimeError):
    pass


def his_fixtures(his_url: str) -> dict[str, Any]:
    """The test HIS's patients and appointments (`/_test/fixtures`, test mode only)."""
    response = requests.get(f"{his_url}/_test/fixtures", timeout=30)
    response.raise_for_status()
    return response.json()


def today_bookings(fixtures: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Today's booked morning appointments (collectable at 08:40) and the patients by id."""
    today = dt.datetime.now(HOSPITAL_TZ).date().isoformat()
    patients = {str(p["id"]): p for p in fixtures["patients"]}
    booked = [
        a
        for a in fixtures["appointments"]
        if a["date"] == today and a["status"] == "booked" and a["period"] == "am"
    ]
    return booked, patients


class Walk:
    """A patient's journeys through the automation port; `out` gets the screenshots when asked."""

    def __init__(self, kiosk: AutomationClient, sims: ControlClient, out: Path | None = None) -> None:
        self.kiosk, self.sims, self.out = kiosk, sims, out
        self.shots: list[Path] = []
        self.receipts: list[Path] = []

    def on(self, screen: str, timeout_s: float = 20.0) -> dict[str, Any]:
        try:
            return self.kiosk.wait(screen, timeout_s)
        except AutomationRefused as exc:
            raise DemoStepFailed(f"waiting for '{screen}': {exc.detail}") from None

    def shot(self, name: str) -> None:
        if self.out is None:
            return
        path = self.out / f"{len(self.shots) + 1:02d}-{name}.png"
        path.write_bytes(self.kiosk.screenshot())
        self.shots.append(path)

    # --- the patient's journeys ------------------------------------------------------------------
    def collect_by_id_card(self, patient_id: str) -> dict[str, Any]:
        """预约取号 with the ID card: tap the task, lay the card, pick the first appointment that can be
        collected, confirm; stops on the result screen and returns it."""
        self.kiosk.tap(id="task-collect")
        self.on("identify")
        self.shot("identify")
        self.sims.act("idcard/insert", patient_id=patient_id)
        shown = self.on("appointments")
        self.shot("appointments")
        item = next((e for e in shown["elements"] if e["role"] == "item" and e["enabled"]), None)
        if item is None:
            raise DemoStepFailed(f"patient {patient_id} has no appointment that can be collected now")
        self.kiosk.tap(id=item["id"])
        self.kiosk.tap(id="primary")
        result = self.on("result")
        self.shot("result")
        return result

    def enter_code(self, code: str, last4: str) -> None:
        self.kiosk.tap(id="task-collect")
        self.on("identify")
        self.kiosk.tap(id="by-code")
        self.on("code_entry")
        self.kiosk.type(code + last4)
        self.shot("booking-code")
        self.kiosk.tap(id="primary")

    def collect_by_code(self, code: str, last4: str) -> dict[str, Any]:
        """预约取号 with the SMS booking code and the last 4 of the ID number on the keypad."""
        self.enter_code(code, last4)
        self.on("appointments")
        self.kiosk.tap(id="primary")
        result = self.on("result")
        self.shot("result-booking-code")
        return result

    def refused_code(self, code: str, last4: str) -> dict[str, Any]:
        """A booking code the kiosk cannot serve; stops on the error screen."""
        self.enter_code(code, last4)
        return self.on("error")

    def finish(self) -> None:
        """Tap 完成, take the card away, back on the home screen."""
        self.kiosk.tap(id="primary")
        if self.sims.idcard() is not None:
            self.sims.act("idcard/remove")
        self.on("home")

    def receipt(self, name: str, count: int, timeout_s: float = 15.0) -> str:
        """The text of the `count`-th document the printer finished (waits for it)."""
        deadline = dt.datetime.now() + dt.timedelta(seconds=timeout_s)
        while len(jobs := self.sims.jobs()) < count:
            if dt.datetime.now() > deadline:
                raise DemoStepFailed(f"{len(jobs)} of {count} slips printed after {timeout_s:.0f} s")
            self.kiosk.screen()  # a round trip, not a busy spin
        text: str = jobs[count - 1]["text"]
        if self.out is not None:
            path = self.out / f"receipt-{name}.txt"
            path.write_text(text, encoding="utf-8")
            self.receipts.append(path)
        return text


def scripted_walk(kiosk: AutomationClient, sims: ControlClient, out: Path) -> Walk:
    """Every task of the demo, screenshots and slips into `out`."""
    walk = Walk(kiosk, sims, out)
    his_url = sims.describe()["simulators"]["his"]["url"]
    booked, patients = today_bookings(his_fixtures(his_url))
    if len(booked) < 2:
        raise DemoStepFailed("the HIS seed has fewer than two of today's morning bookings")
    by_card, by_code = booked[0], next(a for a in booked[1:] if a["patient_id"] != booked[0]["patient_id"])
    printed = len(sims.jobs())

    walk.on("home")
    walk.shot("home")
    walk.collect_by_id_card(by_card["patient_id"])
    walk.receipt("registration-slip-id-card", printed + 1)
    walk.finish()
    walk.collect_by_code(by_code["booking_code"], patients[by_code["patient_id"]]["id_number"][-4:])
    walk.receipt("registration-slip-booking-code", printed + 2)
    walk.finish()

    # English, then what a patient sees when the hospital system is down.
    kiosk.tap(id="lang")
    walk.shot("home-english")
    kiosk.tap(id="lang")
    sims.act("his/faults", down=True)
    walk.refused_code("12345678", "0000")
    walk.shot("error-his-down")
    sims.act("his/faults")
    kiosk.tap(id="home")
    walk.on("home")
    return walk

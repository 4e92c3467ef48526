"""The screen tour: every screen a patient can reach, each looked at in every variant a kiosk shows —
zh/en × normal/elder × portrait/landscape — through the automation port (POST /view turns the window
and switches language and mode on the spot, so one kiosk process does it all).

The accessibility check of the test suite and `kiosk gallery` both take the tour: the first checks
each look, the second saves it. A task added later adds a route to ROUTES and is checked and shown too.
No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.ui.automation.client import AutomationClient
from kiosk.ui.demo import Walk, his_fixtures, patients_with_bills
from simulators.control_client import ControlClient

PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)
HIS_DOWN_CODE = ("12345678", "0000")


@dataclass(frozen=True)
class Variant:
    size: tuple[int, int]
    lang: str
    mode: str

    @property
    def orientation(self) -> str:
        return "portrait" if self.size[0] < self.size[1] else "landscape"

    @property
    def name(self) -> str:
        return f"{self.lang}-{self.mode}-{self.orientation}"


# mode outermost: switching it restyles the whole window, the slowest of the three switches
VARIANTS = tuple(
    Variant(size, lang, mode) for mode in ("normal", "elder") for size in (PORTRAIT, LANDSCAPE) for lang in ("zh", "en")
)
HOME_VIEW = Variant(PORTRAIT, "zh", "normal")

Visit = Callable[[dict[str, Any], Variant], None]
"""Called with the screen (GET /screen's answer) as it shows in one variant."""


class Tour:
    def __init__(self, kiosk: AutomationClient, sims: ControlClient, visit: Visit, patient_id: str) -> None:
        """`patient_id`: a patient with a booking to collect this morning (the collect route uses it up)."""
        self.kiosk, self.sims, self.visit, self.patient_id = kiosk, sims, visit, patient_id
        self.walk = Walk(kiosk, sims)
        self.seen: list[str] = []

    def look(self, screen: str, second_page: bool = False) -> None:
        """Wait for `screen`, show it in every variant, then turn back to portrait, Chinese, normal.
        `second_page`: elder mode's variants show the list's second page (the place is kept across them)."""
        self.walk.on(screen)
        for variant in VARIANTS:
            shown = self.kiosk.view(variant.size, variant.lang, variant.mode)
            if second_page and variant.mode == "elder":
                shown = self.kiosk.tap(id="page-next")
                second_page = False
            self.visit(shown, variant)
        self.kiosk.view(HOME_VIEW.size, HOME_VIEW.lang, HOME_VIEW.mode)
        self.seen.append(screen)

    def first_item(self) -> str:
        """The first list item on the screen that can be chosen."""
        return next(e["id"] for e in self.kiosk.screen()["elements"] if e["role"] == "item" and e["enabled"])

    def home(self) -> None:
        if self.kiosk.element("home") is not None:
            self.kiosk.tap(id="home")
        self.walk.on("home")


def identify_and_code_entry(tour: Tour) -> None:
    tour.look("home")
    tour.kiosk.tap(id="task-collect")
    tour.look("identify")
    tour.kiosk.tap(id="by-code")
    tour.look("code_entry")
    tour.home()


def refused(tour: Tour) -> None:
    """The error screen: a booking code while the hospital system is down."""
    tour.sims.act("his/faults", down=True)
    try:
        tour.walk.enter_code(*HIS_DOWN_CODE)
        tour.look("error")
    finally:
        tour.sims.act("his/faults")
    tour.home()


def collected(tour: Tour) -> None:
    """预约取号 with the ID card: the appointments, then the result once the slip is printed."""
    tour.kiosk.tap(id="task-collect")
    tour.walk.on("identify")
    tour.sims.act("idcard/insert", patient_id=tour.patient_id)
    tour.look("appointments")
    tour.kiosk.tap(id=tour.first_item())
    tour.kiosk.tap(id="primary")
    if tour.walk.on_either("result", "pay_method") == "pay_method":  # the fee is due: pay it by card
        tour.kiosk.tap(id="pay-card")
    tour.look("result")
    tour.kiosk.tap(id="primary")
    if tour.walk.on_either("home", "satisfaction") == "satisfaction":  # the hospital asks how it was
        tour.look("satisfaction")
        tour.kiosk.tap(id="home")  # left unanswered: nothing recorded
    tour.home()
    tour.sims.act("idcard/remove")


def paying(tour: Tour) -> None:
    """门诊缴费 with the insurance card: the bills, the split, the ways to pay, a QR for the phone; Back
    then cancels the QR (nothing is charged)."""
    fixtures = his_fixtures(tour.sims.describe()["simulators"]["his"]["url"])
    patient, _ = next(patients_with_bills(fixtures, insured=True))
    tour.kiosk.tap(id="task-pay")
    tour.walk.on("identify")
    tour.sims.act("insurance/insert", patient_id=patient["id"])
    tour.look("bills")
    tour.sims.act("insurance/remove")
    tour.kiosk.tap(id="primary")
    tour.look("split")
    tour.kiosk.tap(id="primary")
    tour.look("pay_method")
    tour.kiosk.tap(id="pay-show-qr")
    tour.walk.shown_qr_order()
    tour.look("qr_payment")
    tour.kiosk.tap(id="back")
    tour.walk.on("error")
    tour.home()


def booking(tour: Tour) -> None:
    """预约挂号 for a patient with nothing booked, down to `confirm` (the slots on elder mode's second
    page); back releases the hold."""
    his_url = tour.sims.describe()["simulators"]["his"]["url"]
    fixtures = his_fixtures(his_url)
    booked = {a["patient_id"] for a in fixtures["appointments"]}
    fresh = next(p for p in reversed(fixtures["patients"]) if p["id"] not in booked)
    tour.kiosk.tap(id="task-book")
    tour.walk.on("identify")
    tour.sims.act("idcard/insert", patient_id=fresh["id"])
    for screen in ("departments", "doctors", "dates", "slots"):
        tour.look(screen, second_page=screen == "slots")
        tour.kiosk.tap(id=tour.first_item())
    tour.look("confirm")
    tour.kiosk.tap(id="back")
    tour.walk.on("slots")
    tour.home()
    tour.sims.act("idcard/remove")


def checkin_and_records(tour: Tour) -> None:
    """报到排队 and 查询补打 for the patient who has just collected."""
    for task, screen in (("task-checkin", "checkin"), ("task-records", "records")):
        tour.kiosk.tap(id=task)
        tour.walk.on("identify")
        tour.sims.act("idcard/insert", patient_id=tour.patient_id)
        tour.look(screen)
        tour.home()
        tour.sims.act("idcard/remove")


ROUTES: tuple[Callable[[Tour], None], ...] = (
    identify_and_code_entry, refused, collected, paying, booking, checkin_and_records,
)
SCREENS = ("home", "identify", "code_entry", "appointments", "error", "result", "bills", "split", "pay_method",
           "qr_payment", "departments", "doctors", "dates", "slots", "confirm", "checkin", "records", "satisfaction")
"""The screens ROUTES reach (out_of_service and recovering show only when the kiosk decides so; satisfaction
when the kiosk's config asks for it, as the e2e session's and `kiosk gallery`'s do)."""


def take_tour(kiosk: AutomationClient, sims: ControlClient, visit: Visit, patient_id: str) -> list[str]:
    """Walk every route from the home screen; returns the screens looked at, in order."""
    tour = Tour(kiosk, sims, visit, patient_id)
    tour.home()
    for route in ROUTES:
        route(tour)
    return tour.seen

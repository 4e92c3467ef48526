"""The scripted demo walk: drives a running kiosk through its automation port as a patient would, and
the simulators through their control port as a tester would, saving a screenshot of every screen.

No Qt and no composition here: `kiosk.app.run_demo` builds the kiosk and starts this walk against it;
the e2e tests use the same steps against a `kiosk demo --automation-port` process.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
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


def patients_with_bills(fixtures: dict[str, Any], insured: bool, covered: bool = False
                        ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Patients with unpaid bills, and those bills. `insured`: a valid insurance card; `covered`: the
    personal account pays every co-pay (nothing left to pay), else it is small enough that a self-pay
    part remains (the fund pays at most 70 %)."""
    bills: dict[str, list[dict[str, Any]]] = {}
    for bill in fixtures["bills"]:
        if bill["status"] == "unpaid":
            bills.setdefault(str(bill["patient_id"]), []).append(bill)
    for patient in fixtures["patients"]:
        mine = bills.get(str(patient["id"]))
        tags = set(patient["tags"])
        if not mine or "id_card_expired" in tags or insured != bool(patient["insurance_card"]):
            continue
        total, balance = sum(b["amount_fen"] for b in mine), patient["account_balance_fen"]
        if insured and ("insurance_expired" in tags or (balance < total if covered else balance * 10 >= total * 3)):
            continue
        yield patient, mine


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
        if self.on_either("result", "pay_method") == "pay_method":  # a fee is due: pay it here by card
            self.shot("fee-pay-method")
            self.kiosk.tap(id="pay-card")
            self.card_steps()
        result = self.on("result")
        self.shot("result")
        return result

    def on_either(self, *screens: str, timeout_s: float = 20.0) -> str:
        """Whichever of `screens` shows first (and is not busy)."""
        deadline = time.monotonic() + timeout_s
        while (shown := self.kiosk.screen())["screen"] not in screens or shown["busy"]:
            if time.monotonic() > deadline:
                raise DemoStepFailed(f"waiting for {' or '.join(screens)}: on '{shown['screen']}'")
            time.sleep(0.1)
        return str(shown["screen"])

    def card_steps(self) -> None:
        """The card terminal's steps as the patient sees them, until it asks for the PIN."""
        self.on("card_payment")
        deadline = time.monotonic() + 20
        while "密码" not in (self.kiosk.element("status") or {}).get("text", "PIN"):
            if time.monotonic() > deadline or self.kiosk.screen()["screen"] != "card_payment":
                return  # the terminal was quicker than the screenshot
            time.sleep(0.05)
        self.shot("card-payment-pin")

    # --- 门诊缴费 -----------------------------------------------------------------------------------
    def open_bills(self, patient: dict[str, Any], by: str) -> dict[str, Any]:
        """门诊缴费, identified by `by` (idcard or insurance); stops on the bills."""
        self.kiosk.tap(id="task-pay")
        self.on("identify")
        self.sims.act(f"{by}/insert", patient_id=patient["id"])
        bills = self.on("bills")
        if by == "insurance":
            self.sims.act("insurance/remove")  # read: the card comes back out
        self.shot("bills")
        return bills

    def pay_by_card(self, patient: dict[str, Any]) -> dict[str, Any]:
        self.open_bills(patient, "idcard")
        self.kiosk.tap(id="primary")
        self.on("pay_method")
        self.shot("pay-method")
        self.kiosk.tap(id="pay-card")
        self.card_steps()
        return self.paid("card")

    def pay_split_by_code(self, patient: dict[str, Any]) -> dict[str, Any]:
        """Insurance card: the split, then the self-pay part by the patient's payment code."""
        self.open_bills(patient, "insurance")
        self.kiosk.tap(id="primary")
        self.on("split")
        self.shot("insurance-split")
        self.kiosk.tap(id="primary")
        self.on("pay_method")
        self.kiosk.tap(id="pay-scan")
        self.on("scan_payment")
        self.shot("scan-payment")
        deadline = time.monotonic() + 20
        while (status := self.kiosk.element("status")) is not None and "付款码" in status["text"]:
            # the patient holds the code to the scanner until it is read
            if time.monotonic() > deadline:
                raise DemoStepFailed("the payment code was never read")
            self.sims.act("scanner/scan", value=patient["payment_code"])
            time.sleep(0.3)
        return self.paid("payment-code")

    def pay_by_shown_qr(self, patient: dict[str, Any], his_url: str) -> dict[str, Any]:
        """A QR on the screen, paid from the patient's phone (the HIS's test hook plays the phone)."""
        self.open_bills(patient, "idcard")
        self.kiosk.tap(id="primary")
        self.on("pay_method")
        self.kiosk.tap(id="pay-show-qr")
        order = self.shown_qr_order()
        self.shot("qr-payment")
        requests.post(f"{his_url}/_test/qr-orders/{order}/pay", timeout=10).raise_for_status()
        return self.paid("shown-qr")

    def shown_qr_order(self) -> str:
        """The id of the QR order on the `qr_payment` screen, once the HIS made it and the QR shows."""
        self.on("qr_payment")
        deadline = time.monotonic() + 20
        while not (order := (self.kiosk.element("qr_order") or {}).get("text", "")):
            if time.monotonic() > deadline:
                raise DemoStepFailed("no QR order was shown")
            time.sleep(0.1)
        self.kiosk.screen()  # one more round trip: the screen laid out with the order in it
        return order.split()[-1]

    def pay_all_covered(self, patient: dict[str, Any]) -> dict[str, Any]:
        """Insurance covers it all: the split, confirmed, and no terminal."""
        self.open_bills(patient, "insurance")
        self.kiosk.tap(id="primary")
        self.on("split")
        self.shot("insurance-all-covered")
        self.kiosk.tap(id="primary")
        return self.paid("insurance-only")

    def paid(self, name: str) -> dict[str, Any]:
        result = self.on("result", 60)
        self.shot(f"paid-{name}")
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

    def book_first_free(self, patient_id: str, day: int = 0, pay: str = "pay-card") -> dict[str, Any]:
        """预约挂号: ID card, the first department and doctor, the `day`-th day offered, its first time,
        确认挂号, the fee by `pay` (`pay-card` or `pay-later`); stops on the result."""
        self.choose_first_slot(patient_id, day)
        self.on("confirm")
        self.shot("confirm")
        self.kiosk.tap(id="primary")
        if self.on_either("result", "pay_method") == "pay_method":
            self.shot("book-pay-method")
            self.kiosk.tap(id=pay)
            if pay == "pay-card":
                self.card_steps()
        result = self.on("result")
        self.shot("result-booked")
        return result

    def choose_first_slot(self, patient_id: str, day: int = 0) -> None:
        """预约挂号: ID card, the first department and doctor, the `day`-th day offered, its first time."""
        self.kiosk.tap(id="task-book")
        self.on("identify")
        self.sims.act("idcard/insert", patient_id=patient_id)
        for screen in ("departments", "doctors", "dates", "slots"):
            self.on(screen)
            self.shot(screen)
            self.kiosk.tap(id=f"item-{day}" if screen == "dates" else "item-0")

    def book_refused(self, patient_id: str, name: str) -> dict[str, Any]:
        """预约挂号 for a patient the HIS refuses: the error screen, in plain words, then home."""
        self.choose_first_slot(patient_id)
        error = self.on("error")
        self.shot(f"error-{name}")
        self.kiosk.tap(id="home")
        self.sims.act("idcard/remove")
        self.on("home")
        return error

    def check_in(self, patient_id: str) -> dict[str, Any]:
        """报到排队 with the ID card; the one visit ready to check in comes selected."""
        self.kiosk.tap(id="task-checkin")
        self.on("identify")
        self.sims.act("idcard/insert", patient_id=patient_id)
        self.on("checkin")
        self.shot("checkin")
        self.kiosk.tap(id="primary")
        result = self.on("result")
        self.shot("result-checked-in")
        return result

    def cancel_last(self, patient_id: str) -> dict[str, Any]:
        """退号: 查询补打, the latest registration, 退号, 确认退号 (a paid fee goes back the way it came, with
        a 退费凭条); stops on the result (or the refusal)."""
        self.kiosk.tap(id="task-records")
        self.on("identify")
        self.sims.act("idcard/insert", patient_id=patient_id)
        shown = self.on("records")
        # the latest registration still to collect (today's payments are listed after the registrations)
        last = [e for e in shown["elements"] if e["role"] == "item" and "待取号" in e["text"]][-1]
        self.kiosk.tap(id=last["id"])
        self.kiosk.tap(id="cancel-booking")
        self.on("confirm")
        self.shot("cancel-confirm")
        self.kiosk.tap(id="primary")
        result = self.on("result")
        self.shot("result-cancelled")
        return result

    def reprint_first(self, patient_id: str) -> dict[str, Any]:
        """查询补打: the first record, 补打凭条."""
        self.kiosk.tap(id="task-records")
        self.on("identify")
        self.sims.act("idcard/insert", patient_id=patient_id)
        self.on("records")
        self.kiosk.tap(id="item-0")
        self.shot("records")
        self.kiosk.tap(id="reprint")
        result = self.on("result")
        self.shot("result-reprinted")
        return result

    def finish(self, rating: str = "rate-good") -> None:
        """Tap 完成, take the card away, back on the home screen; where the hospital asks how it was
        (`satisfaction`), tap `rating` first (or `home`, to leave it unanswered)."""
        self.kiosk.tap(id="primary")
        if self.sims.idcard() is not None:
            self.sims.act("idcard/remove")
        if self.on_either("home", "satisfaction") == "satisfaction":
            self.kiosk.tap(id=rating)
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
    fixtures = his_fixtures(his_url)
    booked, patients = today_bookings(fixtures)
    unpaid = [a for a in booked if a["paid_fen"] < a["fee_fen"]]
    prepaid = [a for a in booked if a["paid_fen"] >= a["fee_fen"]]
    if not unpaid or not prepaid:
        raise DemoStepFailed("the HIS seed lacks a morning booking today with its fee due, or one prepaid")
    by_card, by_code = unpaid[0], next(a for a in prepaid if a["patient_id"] != unpaid[0]["patient_id"])
    taken = {by_card["patient_id"], by_code["patient_id"]}
    self_pay = [p for p, _ in patients_with_bills(fixtures, insured=False) if p["id"] not in taken]
    split, _ = next(patients_with_bills(fixtures, insured=True))
    covered, _ = next(patients_with_bills(fixtures, insured=True, covered=True))
    printed = len(sims.jobs())

    walk.on("home")
    walk.shot("home")
    # 预约取号 with the fee due paid by card here: the 缴费凭条, then the 挂号凭条 naming the method
    walk.collect_by_id_card(by_card["patient_id"])
    walk.receipt("fee-receipt", printed + 1)
    walk.receipt("registration-slip-id-card", printed + 2)
    walk.finish()
    walk.collect_by_code(by_code["booking_code"], patients[by_code["patient_id"]]["id_number"][-4:])
    walk.receipt("registration-slip-booking-code", printed + 3)
    walk.finish()

    # 门诊缴费: bank card; insurance split and the payment code; a QR on screen; all covered by insurance
    walk.pay_by_card(self_pay[0])
    walk.receipt("payment-receipt-card", printed + 4)
    walk.finish()
    walk.pay_split_by_code(split)
    walk.receipt("payment-receipt-insurance-payment-code", printed + 5)
    walk.finish()
    walk.pay_by_shown_qr(self_pay[1], his_url)
    walk.receipt("payment-receipt-shown-qr", printed + 6)
    walk.finish()
    walk.pay_all_covered(covered)
    walk.receipt("payment-receipt-insurance-only", printed + 7)
    walk.finish()

    # 预约挂号 (today, then a later day which 退号 cancels) for a patient with nothing booked, then 报到
    # and 补打 for the one who collected by card.
    booked_ids = {a["patient_id"] for a in his_fixtures(his_url)["appointments"]}
    fresh = next(p for p in reversed(list(patients.values())) if p["id"] not in booked_ids)
    walk.book_first_free(fresh["id"])  # the fee paid by card: the 缴费凭条, then the 挂号凭条
    walk.receipt("booking-fee-receipt", printed + 8)
    walk.receipt("registration-slip-booking", printed + 9)
    walk.finish()
    walk.book_first_free(fresh["id"], day=2, pay="pay-later")  # a later day, its fee left for collection
    walk.receipt("registration-slip-later-day", printed + 10)
    walk.finish()
    later = next(p for p in reversed(list(patients.values())) if p["id"] not in booked_ids | {fresh["id"]})
    walk.book_first_free(later["id"], day=2)  # a later day paid by card, then 退号: the sale voided
    walk.receipt("booking-fee-receipt-later-day", printed + 11)
    walk.receipt("registration-slip-paid-later-day", printed + 12)
    walk.finish()
    walk.cancel_last(later["id"])
    walk.receipt("refund-slip", printed + 13)
    walk.finish()
    banned = next(p for p in fixtures["patients"] if "banned" in p["tags"])
    walk.book_refused(banned["id"], "no-show-ban")  # 爽约: the words say until when
    walk.check_in(by_card["patient_id"])
    walk.receipt("queue-ticket", printed + 14)
    walk.finish()
    walk.reprint_first(by_card["patient_id"])
    walk.receipt("reprint", printed + 15)
    walk.finish()

    # English: the home screen and a payment, then what a patient sees when the hospital system is down.
    kiosk.tap(id="lang")
    walk.shot("home-english")
    kiosk.tap(id="task-pay")
    walk.on("identify")
    sims.act("idcard/insert", patient_id=self_pay[2]["id"])
    walk.on("bills")
    walk.shot("bills-english")
    kiosk.tap(id="primary")
    walk.on("pay_method")
    walk.shot("pay-method-english")
    kiosk.tap(id="pay-card")
    walk.paid("card-english")
    walk.receipt("payment-receipt-card-english-session", printed + 16)
    walk.finish()
    sims.act("his/faults", down=True)
    walk.refused_code("12345678", "0000")
    walk.shot("error-his-down")
    sims.act("his/faults")
    kiosk.tap(id="home")
    walk.on("home")
    return walk

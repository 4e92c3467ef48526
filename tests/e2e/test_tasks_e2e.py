"""预约挂号, 报到排队, 查询补打 and 退号 end to end, through the automation port (the demo's HIS clock at
08:40: today's morning still open for 当日挂号, tomorrow's bookings still cancellable).

GIVEN `kiosk demo --automation-port` (production composition root, simulated devices, reference HIS)
WHEN a patient books, checks in, reprints or cancels by tapping as a finger would
THEN the screens, the printer's jobs and the HIS's records agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from typing import Any

import requests

from kiosk.domain.errors import AutomationRefused
from kiosk.domain.idnumber import mask_name

HEADERS = {"Authorization": "Bearer demo-kiosk-token"}


def _his(kiosk: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = dict(HEADERS, **({"Idempotency-Key": str(uuid.uuid4())} if method != "GET" else {}))
    response = requests.request(method, f"{kiosk.his_url}{path}", json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def _text(screen: dict[str, Any], element_id: str) -> str:
    return next(e["text"] for e in screen["elements"] if e["id"] == element_id)


def _time(text: str) -> str:
    """The 'HH:MM-HH:MM' a slot card shows."""
    match = re.search(r"\d\d:\d\d-\d\d:\d\d", text)
    assert match, text
    return match.group(0)


def _items(screen: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in screen["elements"] if e["role"] == "item"]


def _open(kiosk: Any, task: str, screen: str, **card: Any) -> dict[str, Any]:
    """Tap the task's tile, lay the ID card, wait for the task's first screen."""
    kiosk.tap(id=task)
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", **card)
    return kiosk.wait(screen)


def _fresh_patient(kiosk: Any) -> dict[str, Any]:
    return kiosk.fresh_patient()


def _to_slots(kiosk: Any, patient: dict[str, Any]) -> int:
    """task-book, ID card, first department, first doctor, first day: on `slots`; the touches taken."""
    _open(kiosk, "task-book", "departments", patient_id=patient["id"])
    for screen in ("doctors", "dates", "slots"):
        kiosk.tap(id="item-0")
        kiosk.wait(screen)
    return 4


def test_book_first_free_slot_of_a_department_in_six_touches(kiosk: Any) -> None:
    patient = _fresh_patient(kiosk)
    printed = len(kiosk.jobs())
    touches = _to_slots(kiosk, patient)
    slot_text = _items(kiosk.screen())[0]["text"]
    kiosk.tap(id="item-0")
    touches += 1
    confirm = kiosk.wait("confirm")
    countdown = _text(confirm, "hold_countdown")
    assert "14:5" in countdown or "15:00" in countdown  # the 15-minute hold, counting down
    kiosk.tap(id="primary")
    touches += 1
    kiosk.wait("pay_method")
    kiosk.tap(id="pay-later")  # this hospital lets the fee wait for collection
    touches += 1
    result = kiosk.wait("result")
    code = _text(result, "queue_number")

    assert touches <= 7
    jobs = kiosk.jobs()
    assert len(jobs) == printed + 1 and jobs[-1]["cut"]
    slip = jobs[-1]["text"]
    assert "挂号凭条" in slip and code in slip and mask_name(patient["name"]) in slip
    assert patient["name"] not in slip and patient["id_number"] not in slip
    assert _time(slot_text) in slip  # the time booked is the time printed
    booked = _his(kiosk, "GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    assert [a["booking_code"] for a in booked] == [code] and booked[0]["status"] == "booked"


def test_symptom_hint_finds_the_department(kiosk: Any) -> None:
    patient = _fresh_patient(kiosk)
    shown = _open(kiosk, "task-book", "departments", patient_id=patient["id"])
    chip = next(e for e in shown["elements"] if e["text"] == "头痛")
    filtered = kiosk.tap(id=chip["id"])
    assert "神经内科" in _items(filtered)[0]["text"]


def _book_tomorrow(kiosk: Any, patient: dict[str, Any]) -> dict[str, Any]:
    """Book tomorrow's first free slot for `patient` through the HIS (another channel), fee not paid."""
    departments = [d for d in _his(kiosk, "GET", "/departments")["departments"] if d["parent"]]
    tomorrow = dt.date.fromisoformat(_his_clock(kiosk)[:10]) + dt.timedelta(days=1)
    schedule = next(s for d in departments
                    for s in _his(kiosk, "GET", f"/schedules?department_id={d['id']}&date={tomorrow}")["schedules"]
                    if s["state"] == "open" and s["available"])
    slot = next(s for s in _his(kiosk, "GET", f"/schedules/{schedule['id']}/slots")["slots"] if s["available"])
    hold = _his(kiosk, "POST", "/holds", {"slot_id": slot["id"], "patient_id": patient["id"]})
    return _his(kiosk, "POST", "/appointments", {"hold_id": hold["hold_id"], "pay_now": False})["appointment"]


def _collected_patient(kiosk: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    patient, booking = kiosk.patient_with_booking()
    _his(kiosk, "POST", f"/appointments/{booking['id']}/collect", {"patient_id": patient["id"]})
    return patient, booking


def test_checkin_prints_and_shows_the_queue_ticket(kiosk: Any) -> None:
    patient, _ = _collected_patient(kiosk)
    printed = len(kiosk.jobs())
    shown = _open(kiosk, "task-checkin", "checkin", patient_id=patient["id"])
    assert _items(shown)[0]["enabled"]
    kiosk.tap(id="primary")  # the one visit that can check in comes selected
    result = kiosk.wait("result")
    number = _text(result, "queue_number")
    details = _text(result, "details")
    assert number and "前面还有" in details
    ticket = kiosk.jobs()[-1]["text"]
    assert len(kiosk.jobs()) == printed + 1
    assert "排队小票" in ticket and number in ticket and "前面还有" in ticket


def test_checkin_before_collection_is_refused_in_plain_words(kiosk: Any) -> None:
    patient, _ = kiosk.patient_with_booking()
    shown = _open(kiosk, "task-checkin", "checkin", patient_id=patient["id"])
    assert not _items(shown)[0]["enabled"]
    assert "请先取号" in " ".join(e["text"] for e in shown["elements"])


def test_records_reprint_is_marked_and_counted(kiosk: Any) -> None:
    patient, _ = _collected_patient(kiosk)
    for count in (1, 2):
        kiosk.tap(id="task-records")
        kiosk.wait("identify")
        if kiosk.sims.idcard() is None:
            kiosk.sim("idcard/insert", patient_id=patient["id"])
        kiosk.wait("records")
        kiosk.tap(id="item-0")
        kiosk.tap(id="reprint")
        result = kiosk.wait("result")
        assert str(count) in _text(result, "details")
        slip = kiosk.jobs()[-1]["text"]
        assert "补打" in slip and f"第 {count} 次" in slip
        kiosk.finish()
        kiosk.sim("idcard/remove")


def test_cancel_today_is_too_late_go_to_the_window(kiosk: Any) -> None:
    patient, booking = kiosk.patient_with_booking()
    _open(kiosk, "task-records", "records", patient_id=patient["id"])
    kiosk.tap(id="item-0")
    kiosk.tap(id="cancel-booking")
    kiosk.wait("confirm")
    kiosk.tap(id="primary")
    error = kiosk.wait("error")
    assert "已过退号时间，请到人工窗口办理" in _text(error, "error_message")
    assert "retry" not in {e["id"] for e in error["elements"]}
    english = kiosk.tap(id="lang")
    assert "Please go to a staffed window" in _text(english, "error_message")
    kiosk.tap(id="lang")
    after = _his(kiosk, "GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    assert [a["status"] for a in after if a["id"] == booking["id"]] == ["booked"]  # nothing changed


def test_cancel_tomorrows_booking(kiosk: Any) -> None:
    patient = _fresh_patient(kiosk)
    booked = _book_tomorrow(kiosk, patient)
    _open(kiosk, "task-records", "records", patient_id=patient["id"])
    kiosk.tap(id="item-0")
    kiosk.tap(id="cancel-booking")
    kiosk.wait("confirm")
    kiosk.tap(id="primary")
    kiosk.wait("result")
    after = _his(kiosk, "GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    assert [a["status"] for a in after if a["id"] == booked["id"]] == ["cancelled"]


# --- every booking-rule refusal, through the screens ------------------------------------------------
def _first(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0]


def _nth(n: int) -> Any:
    return lambda items: items[n]


def _containing(text: str) -> Any:
    return lambda items: next(i for i in items if text in i["text"])


def _start_booking(kiosk: Any, **card: Any) -> None:
    _open(kiosk, "task-book", "departments", **card)


def _hold(kiosk: Any, department: Any = _first, doctor: Any = _first, date: Any = _first) -> dict[str, Any]:
    """From `departments`, choose down to a slot and tap the first one: the screen that answers."""
    for screen, pick in (("departments", department), ("doctors", doctor), ("dates", date), ("slots", _first)):
        kiosk.tap(id=kiosk.find_item(screen, pick)["id"])
    return _settled(kiosk, ("confirm", "error"))


def _settled(kiosk: Any, screens: tuple[str, ...]) -> dict[str, Any]:
    """The screen once it is one of `screens` and not busy (a bounded number of round trips)."""
    for _ in range(200):
        shown = kiosk.screen()
        if shown["screen"] in screens and not shown["busy"]:
            return shown
        with contextlib.suppress(AutomationRefused):  # it moved on meanwhile: look again
            kiosk.wait(shown["screen"], 0.1)
    raise AssertionError(f"none of {screens} showed")


def _his_clock(kiosk: Any, now: str | None = None) -> str:
    if now is not None:
        requests.put(f"{kiosk.his_url}/_test/clock", json={"now": now}, timeout=10).raise_for_status()
    return str(requests.get(f"{kiosk.his_url}/_test/clock", timeout=10).json()["now"])


def test_a_substitute_doctor_is_shown_and_must_be_accepted(kiosk: Any) -> None:
    departments = [d for d in _his(kiosk, "GET", "/departments")["departments"] if d["parent"]]
    found = None
    for index, department in enumerate(departments):
        for schedule in _his(kiosk, "GET", f"/schedules?department_id={department['id']}")["schedules"]:
            if schedule["state"] == "substituted" and schedule["available"]:
                found = index, schedule
                break
        if found:
            break
    assert found, "the seed has no open substituted session"
    index, schedule = found
    doctors = {d["id"]: d["name"] for d in _his(kiosk, "GET", f"/doctors?department_id={departments[index]['id']}")["doctors"]}
    day = dt.date.fromisoformat(schedule["date"])
    patient = _fresh_patient(kiosk)
    _start_booking(kiosk, patient_id=patient["id"])
    shown = _hold(kiosk, department=_nth(index), doctor=_containing(doctors[schedule["doctor_id"]]),
                  date=_containing(f"{day.month}月{day.day}日"))
    assert shown["screen"] == "confirm"
    if _text(shown, "substitute"):  # the first free slot of that day may be in the doctor's other session
        assert doctors[schedule["substitute_doctor_id"]] in _text(shown, "substitute")
        assert not next(e for e in shown["elements"] if e["id"] == "primary")["enabled"]
        kiosk.tap(id="confirm-substitute")
    kiosk.tap(id="primary")
    kiosk.wait("pay_method")
    kiosk.tap(id="pay-later")
    assert kiosk.wait("result")


def test_records_list_todays_payment_and_reprint_its_receipt(kiosk: Any) -> None:
    patient = _fresh_patient(kiosk)
    booking = _book_tomorrow(kiosk, patient)
    due = booking["fee_fen"] - booking["paid_fen"]
    paid = _his(kiosk, "POST", "/payments", {"patient_id": patient["id"], "appointment_id": booking["id"],
                                              "amount_fen": due, "method": "bank_card", "terminal_ref": "E2E000001"})
    receipt_no = paid["payment"]["receipt_no"]
    shown = _open(kiosk, "task-records", "records", patient_id=patient["id"])
    item = next(e for e in _items(shown) if receipt_no in e["text"])
    assert "挂号费" in item["text"]
    kiosk.tap(id=item["id"])
    kiosk.tap(id="reprint")
    kiosk.wait("result")
    receipt = kiosk.jobs()[-1]["text"]
    assert "缴费凭条" in receipt and "补打" in receipt and receipt_no in receipt
    assert f"¥{due // 100}.{due % 100:02d}" in receipt

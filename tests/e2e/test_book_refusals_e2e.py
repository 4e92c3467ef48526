"""预约挂号's refusals and the journeys around the hold, end to end through the automation port (the
`kiosk demo` of tests/e2e/conftest.py, its reference HIS at 08:40 in test mode).

GIVEN a patient on the booking screens and the HIS (or another channel) in the state a rule needs
WHEN the patient taps what a finger would tap
THEN the screen says in plain words what happened and what to do next (in Chinese, and in English on
  one tap of `lang`), and the HIS shows nothing booked and no slot kept: every slot free before is free.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from kiosk_test_support import wait_for

from kiosk.domain.errors import AutomationRefused
from kiosk.domain.patient import age_on
from simulators.idcard import TEST_CARDS

HEADERS = {"Authorization": "Bearer demo-kiosk-token"}
Pick = Callable[[list[dict[str, Any]]], dict[str, Any]]


# --- the HIS, as another channel and as a tester ---------------------------------------------------------
def _his(kiosk: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = dict(HEADERS, **({"Idempotency-Key": str(uuid.uuid4())} if method != "GET" else {}))
    response = requests.request(method, f"{kiosk.his_url}{path}", json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def _clock(kiosk: Any, now: str | None = None) -> str:
    if now is not None:
        requests.put(f"{kiosk.his_url}/_test/clock", json={"now": now}, timeout=10).raise_for_status()
    return str(requests.get(f"{kiosk.his_url}/_test/clock", timeout=10).json()["now"])


@contextlib.contextmanager
def _clock_at(kiosk: Any, change: Callable[[dt.datetime], dt.datetime]) -> Iterator[None]:
    """The HIS's clock moved for the block, then put back (the other tests expect 08:40)."""
    before = _clock(kiosk)
    try:
        _clock(kiosk, change(dt.datetime.fromisoformat(before)).isoformat())
        yield
    finally:
        _clock(kiosk, before)


def _at(hhmm: str) -> Callable[[dt.datetime], dt.datetime]:
    hour, minute = map(int, hhmm.split(":"))
    return lambda now: now.replace(hour=hour, minute=minute, second=0)


def _appointments(kiosk: Any, patient_id: str) -> list[dict[str, Any]]:
    return list(_his(kiosk, "GET", f"/appointments?patient_id={patient_id}")["appointments"])


def _leaves(kiosk: Any) -> list[dict[str, Any]]:
    return [d for d in _his(kiosk, "GET", "/departments")["departments"] if d["parent"]]


def _book_elsewhere(kiosk: Any, patient_id: str, department: dict[str, Any], day: dt.date,
                    titles: tuple[str, ...] = ()) -> dict[str, Any]:
    """Book, as another channel (the phone app), the last free slot of `department` on `day` (of a doctor
    with one of `titles`, when given): the slot the kiosk offers first stays free."""
    for schedule in _his(kiosk, "GET", f"/schedules?department_id={department['id']}&date={day}")["schedules"]:
        if schedule["state"] != "open" or not schedule["available"] or not schedule["doctor_id"]:
            continue
        if titles:
            doctors = _his(kiosk, "GET", f"/doctors?department_id={department['id']}")["doctors"]
            if next(d["title"] for d in doctors if d["id"] == schedule["doctor_id"]) not in titles:
                continue
        slot = [s for s in _his(kiosk, "GET", f"/schedules/{schedule['id']}/slots")["slots"] if s["available"]][-1]
        hold = _his(kiosk, "POST", "/holds", {"slot_id": slot["id"], "patient_id": patient_id})
        return _his(kiosk, "POST", "/appointments", {"hold_id": hold["hold_id"], "pay_now": False})["appointment"]
    raise AssertionError(f"no open session of {department['name']} on {day}")


# --- the screen --------------------------------------------------------------------------------------
def _text(screen: dict[str, Any], element_id: str) -> str:
    return next(e["text"] for e in screen["elements"] if e["id"] == element_id)


def _items(screen: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in screen["elements"] if e["role"] == "item"]


def _first(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0]


def _containing(text: str) -> Pick:
    return lambda items: next(i for i in items if text in i["text"])


def _starting_with(names: tuple[str, ...]) -> Pick:
    return lambda items: next(i for i in items if i["text"].startswith(names))


def _day_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


@dataclass(frozen=True)
class Chosen:
    """What the patient chose on the way to `slots`, as the HIS names it."""

    department: dict[str, Any]
    day: dt.date
    start: str
    """'HH:MM' of the first slot offered, the one a test taps."""

    def free(self, kiosk: Any) -> set[str]:
        """The HIS's free slots of that department and day starting at `start` (whichever doctor)."""
        free = set()
        path = f"/schedules?department_id={self.department['id']}&date={self.day}"
        for schedule in _his(kiosk, "GET", path)["schedules"]:
            for slot in _his(kiosk, "GET", f"/schedules/{schedule['id']}/slots")["slots"]:
                if slot["available"] and slot["start"][11:16] == self.start:
                    free.add(slot["id"])
        return free


def _on(kiosk: Any, screen: str) -> dict[str, Any]:
    """`screen` once it shows; failing, says where the kiosk is and what it says there."""
    try:
        return dict(kiosk.wait(screen))
    except AutomationRefused as exc:
        shown = exc.screen or {}
        words = [e["text"] for e in shown.get("elements", []) if e["id"] == "error_message"]
        raise AssertionError(f"'{screen}' did not show: on '{shown.get('screen')}' saying {words}") from None


def _to_slots(kiosk: Any, card: dict[str, Any], department: Pick = _first, doctor: Pick = _first,
              date: Pick = _first) -> Chosen:
    """From home: 预约挂号, the ID card, a department, doctor and day: on `slots`, nothing held yet."""
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", **card)
    picked = []
    for screen, pick in (("departments", department), ("doctors", doctor), ("dates", date)):
        item = pick(_items(_on(kiosk, screen)))
        picked.append(item["text"])
        kiosk.tap(id=item["id"])
    slots = _on(kiosk, "slots")
    names = [d for d in _leaves(kiosk) if d["name"] in picked[0]]
    month, day = map(int, re.search(r"(\d+)月(\d+)日", picked[2]).groups())  # type: ignore[union-attr]
    today = dt.date.fromisoformat(_clock(kiosk)[:10])
    year = today.year + (1 if month < today.month else 0)
    start = re.search(r"\d\d:\d\d", _items(slots)[0]["text"]).group(0)  # type: ignore[union-attr]
    return Chosen(max(names, key=lambda d: len(d["name"])), dt.date(year, month, day), start)


def _english(kiosk: Any, element_id: str = "error_message") -> str:
    """The same screen's words after one tap of `lang` (and back to Chinese)."""
    kiosk.tap(id="lang")
    try:
        return _text(kiosk.screen(), element_id)
    finally:
        kiosk.tap(id="lang")


def _refused_at_hold(kiosk: Any, patient_id: str, chosen: Chosen,
                     moved: Callable[[dt.datetime], dt.datetime] | None = None) -> dict[str, Any]:
    """Tap the first slot (the HIS's clock `moved` meanwhile); the error screen, with the HIS holding
    nothing more for anyone (the slot tapped, and every other one at that time, as free as before) and
    nothing booked for the patient."""
    free, booked = chosen.free(kiosk), _appointments(kiosk, patient_id)
    with _clock_at(kiosk, moved) if moved else contextlib.nullcontext():
        kiosk.tap(id="item-0")
        error = kiosk.wait("error")
    assert chosen.free(kiosk) == free and free
    assert _appointments(kiosk, patient_id) == booked
    return error


def _finish_booking(kiosk: Any) -> dict[str, Any]:
    """确认挂号 on `confirm`, then `_booked`."""
    kiosk.tap(id="primary")
    return _booked(kiosk)


def _booked(kiosk: Any) -> dict[str, Any]:
    """The result screen, paying the fee on the way where the hospital takes it at once (later where it
    may, else on the card, the terminal instant)."""
    for _ in range(100):
        shown = kiosk.screen()
        if shown["screen"] == "result" and not shown["busy"]:
            return dict(shown)
        if shown["screen"] == "pay_method" and not shown["busy"]:
            kiosk.tap(id="pay-later" if kiosk.element("pay-later") else "pay-card")
        with contextlib.suppress(AutomationRefused):
            kiosk.wait("result", 0.2)
    raise AssertionError(f"the booking did not finish: on {kiosk.screen()['screen']}")


# --- the booking rules ---------------------------------------------------------------------------------
def test_slot_taken_says_so_and_offers_the_next_free_slot_in_one_tap(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    chosen = _to_slots(kiosk, {"patient_id": patient["id"]})
    second = re.search(r"\d\d:\d\d-\d\d:\d\d", _items(kiosk.screen())[1]["text"]).group(0)  # type: ignore[union-attr]
    # another channel takes the slot between the list and the tap: every free slot at that time, whichever doctor
    for slot_id in chosen.free(kiosk):
        other = kiosk.fresh_patient()
        _his(kiosk, "POST", "/holds", {"slot_id": slot_id, "patient_id": other["id"]})
    kiosk.tap(id="item-0")
    error = kiosk.wait("error")
    assert "该时段已被预约" in _text(error, "error_message")
    assert second[:5] in _text(error, "error_note") and "retry" in {e["id"] for e in error["elements"]}
    assert "just been taken" in _english(kiosk)
    kiosk.tap(id="retry")  # the one tap: the next free slot is held
    confirm = kiosk.wait("confirm")
    assert second in " ".join(e["text"] for e in confirm["elements"])
    _finish_booking(kiosk)
    booked = _appointments(kiosk, patient["id"])
    assert len(booked) == 1 and booked[0]["slot"]["start"][11:16] == second[:5]


def test_hold_expired_before_confirm_says_choose_again_and_the_slot_is_free(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    chosen = _to_slots(kiosk, {"patient_id": patient["id"]})
    free = chosen.free(kiosk)
    kiosk.tap(id="item-0")
    kiosk.wait("confirm")
    assert len(chosen.free(kiosk)) == len(free) - 1  # held
    with _clock_at(kiosk, lambda now: now + dt.timedelta(minutes=16)):
        kiosk.tap(id="primary")
        error = kiosk.wait("error")
        assert chosen.free(kiosk) == free  # the hold ran out: the slot is back in the pool
    assert "号源锁定已超时，请重新选择" in _text(error, "error_message")
    assert "hold on the slot expired" in _english(kiosk)
    assert _appointments(kiosk, patient["id"]) == []
    kiosk.tap(id="back")
    assert _items(kiosk.wait("slots"))


def _suspend(kiosk: Any, chosen: Chosen) -> list[tuple[str, str]]:
    """The desk suspends (停诊) every session of the department that day: (schedule id, its state before)."""
    path = f"/schedules?department_id={chosen.department['id']}&date={chosen.day}"
    changed = []
    for schedule in _his(kiosk, "GET", path)["schedules"]:
        answer = _his(kiosk, "PUT", f"/_test/schedules/{schedule['id']}/state", {"state": "suspended"})
        changed.append((schedule["id"], answer["previous"]))
    return changed


def test_a_session_suspended_after_it_was_listed_is_refused_in_plain_words(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    chosen = _to_slots(kiosk, {"patient_id": patient["id"]})
    free = chosen.free(kiosk)
    suspended = _suspend(kiosk, chosen)
    try:
        kiosk.tap(id="item-0")
        error = kiosk.wait("error")
        assert "停止预约" in _text(error, "error_message") and "请选择其他医生或日期" in _text(error, "error_message")
        assert "choose another doctor or day" in _english(kiosk)
        assert "retry" not in {e["id"] for e in error["elements"]}  # retrying the same session cannot work
        assert _appointments(kiosk, patient["id"]) == []
    finally:
        for schedule_id, state in suspended:
            _his(kiosk, "PUT", f"/_test/schedules/{schedule_id}/state", {"state": state})
    assert chosen.free(kiosk) == free


def _open_on(kiosk: Any, day: dt.date) -> tuple[dict[str, Any], Pick]:
    """The first department with an open session on `day`, and a pick of its doctor holding that session."""
    for department in _leaves(kiosk):
        path = f"/schedules?department_id={department['id']}&date={day}"
        doctors = {s["doctor_id"] for s in _his(kiosk, "GET", path)["schedules"]
                   if s["doctor_id"] and s["state"] == "open" and s["available"]}
        if doctors:
            names = [d["name"] for d in _his(kiosk, "GET", f"/doctors?department_id={department['id']}")["doctors"]
                     if d["id"] in doctors]
            return department, _starting_with(tuple(names))
    raise AssertionError(f"no open session on {day}")


WINDOW = {
    # case: (days from today, the HIS's time at the tap, Chinese words, English words)
    "last day before its 08:30 release": (7, "08:20", ("08:30", "放号"), "08:30"),
    "tomorrow after 15:00": (1, "15:10", ("15:00", "截止"), "15:00"),
    "today after the afternoon's 16:30 cut-off": (0, "16:45", ("当日挂号", "截止"), "closed"),
}


@pytest.mark.parametrize("case", WINDOW)
def test_outside_the_booking_window_says_when(kiosk: Any, case: str) -> None:
    days, at, zh, en = WINDOW[case]
    patient = kiosk.fresh_patient()
    day = dt.date.fromisoformat(_clock(kiosk)[:10]) + dt.timedelta(days=days)
    department, doctor = _open_on(kiosk, day)
    chosen = _to_slots(kiosk, {"patient_id": patient["id"]}, department=_containing(department["name"]),
                       doctor=doctor, date=_containing(_day_label(day)))
    message = _text(_refused_at_hold(kiosk, patient["id"], chosen, _at(at)), "error_message")
    assert all(words in message for words in zh), message
    assert en in _english(kiosk)


LIMITS = {
    # rule: (bookings another channel makes first: (department index, days from today), Chinese words, English words)
    "SAME_DEPARTMENT_DOCTOR_LIMIT": (((0, 0),), "同一科室同一天只能预约1位医生", "one a day"),
    "DAILY_DEPARTMENT_LIMIT": (((1, 0), (2, 0)), "同一天最多预约2个科室", "At most 2 departments a day"),
    "WEEKLY_LIMIT": (((1, 0), (1, 1), (1, 2)), "7天内最多预约3次", "At most 3 bookings in 7 days"),
}


@pytest.mark.parametrize("rule", LIMITS)
def test_a_booking_limit_is_said_with_what_to_do(kiosk: Any, rule: str) -> None:
    before, zh, en = LIMITS[rule]
    patient = kiosk.fresh_patient()
    today = dt.date.fromisoformat(_clock(kiosk)[:10])
    leaves = _leaves(kiosk)
    for index, days in before:
        _book_elsewhere(kiosk, patient["id"], leaves[index], today + dt.timedelta(days=days))
    chosen = _to_slots(kiosk, {"patient_id": patient["id"]}, department=_containing(leaves[0]["name"]),
                       date=_containing(_day_label(today)))
    message = _text(_refused_at_hold(kiosk, patient["id"], chosen), "error_message")
    assert zh in message
    if rule == "WEEKLY_LIMIT":
        assert en in _english(kiosk)


def test_a_no_show_ban_shows_its_end_date(kiosk: Any) -> None:
    banned = next(p for p in kiosk.fixtures()["patients"]
                  if "banned" in p["tags"] and p["id"] not in kiosk.used_patients)
    kiosk.used_patients.add(banned["id"])
    chosen = _to_slots(kiosk, {"patient_id": banned["id"]})
    message = _text(_refused_at_hold(kiosk, banned["id"], chosen), "error_message")
    until = re.search(r"\d{4}-\d{2}-\d{2}", message)
    assert "爽约" in message and "人工窗口" in message and until
    assert dt.date.fromisoformat(until.group(0)) > chosen.day
    assert until.group(0) in _english(kiosk) and "no-shows" in _english(kiosk)


def test_first_visit_record_from_the_id_card_then_one_expert_a_week(kiosk: Any) -> None:
    """实名建档: nobody in the HIS has the card's number; the record is the card's, never invented; a first
    visit then books one expert a week (the first made by phone, the second refused at the kiosk)."""
    card = TEST_CARDS["female"]
    assert not any(p["id_number"] == card.id_number for p in kiosk.fixtures()["patients"])
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", test_card="female")
    shown = kiosk.wait("departments")
    assert "建立就诊档案" in _text(shown, "hello")
    created = [p for p in kiosk.fixtures()["patients"] if p["id_number"] == card.id_number]
    assert len(created) == 1
    record = created[0]
    birth = dt.date(int(card.birth[:4]), int(card.birth[4:6]), int(card.birth[6:]))
    assert (record["name"], record["sex"], record["birth_date"]) == (card.name, "female", birth.isoformat())
    assert record["first_visit"] and record["address"] == card.appended_address  # the newest, from the reverse
    kiosk.used_patients.add(record["id"])
    kiosk.tap(id="home")
    kiosk.wait("home")
    kiosk.sim("idcard/remove")

    experts = ("副主任医师", "主任医师", "知名专家")
    leaves = _leaves(kiosk)
    _book_elsewhere(kiosk, record["id"], leaves[0], dt.date.fromisoformat(_clock(kiosk)[:10]) + dt.timedelta(days=1),
                    experts)
    chosen = _to_slots(kiosk, {"test_card": "female"}, department=_containing(leaves[1]["name"]),
                       doctor=_containing("主任医师"))
    message = _text(_refused_at_hold(kiosk, record["id"], chosen), "error_message")
    assert "初诊专家号" in message and "主治医师或普通号" in message
    assert len([p for p in kiosk.fixtures()["patients"] if p["id_number"] == card.id_number]) == 1


@pytest.mark.parametrize(("card", "zh", "en"), [
    ("damaged", "无法读取卡片，请重新放置或更换证件", "could not be read"),  # a wrong check digit: the kiosk's reader refuses it
    ("inconsistent", "无法建立就诊档案，请到人工窗口办理", "staffed window"),  # the HIS refuses the record: VALIDATION
])
def test_a_card_no_record_can_be_made_from_is_refused_and_nothing_invented(kiosk: Any, card: str, zh: str,
                                                                           en: str) -> None:
    patients = len(kiosk.fixtures()["patients"])
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", test_card=card)
    error = kiosk.wait("error")
    assert zh in _text(error, "error_message")
    assert en in _english(kiosk)
    assert len(kiosk.fixtures()["patients"]) == patients


# --- the HIS failing mid-booking, and identification ----------------------------------------------------------
def test_his_down_at_confirm_says_try_again_and_retry_books_once(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    _to_slots(kiosk, {"patient_id": patient["id"]})
    kiosk.tap(id="item-0")
    kiosk.wait("confirm")
    kiosk.sim("his/faults", down=True)
    try:
        kiosk.tap(id="primary")
        error = kiosk.wait("error")
        assert "医院系统暂时无法连接，请稍后再试" in _text(error, "error_message")
        assert "unreachable" in _english(kiosk)
    finally:
        kiosk.sim("his/faults")
    kiosk.tap(id="retry")  # the slot is still held: trying again can work
    _booked(kiosk)
    assert len(_appointments(kiosk, patient["id"])) == 1


def test_his_error_on_the_hold_is_plain_words_and_holds_nothing(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    chosen = _to_slots(kiosk, {"patient_id": patient["id"]})
    free = chosen.free(kiosk)
    kiosk.sim("his/faults", error_rate=1.0)
    try:
        kiosk.tap(id="item-0")
        error = kiosk.wait("error")
    finally:
        kiosk.sim("his/faults")
    message = _text(error, "error_message")
    assert "医院系统" in message and "Traceback" not in message and "500" not in message
    assert chosen.free(kiosk) == free and _appointments(kiosk, patient["id"]) == []
    kiosk.tap(id="back")
    kiosk.wait("slots")


def test_an_unknown_code_at_identification_is_not_found_and_creates_nothing(kiosk: Any) -> None:
    patients = len(kiosk.fixtures()["patients"])
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    for _ in range(20):  # held to the scanner until read: a code scanned before the scanner waits is dropped
        kiosk.sim("scanner/scan", value="ZZ-NOBODY-0001")
        if wait_for(lambda: kiosk.screen()["screen"] != "identify", 0.5):
            break
    error = kiosk.wait("error")
    assert "未找到您的就诊信息" in _text(error, "error_message")
    assert "No record found" in _english(kiosk)
    assert len(kiosk.fixtures()["patients"]) == patients


# --- leaving, the hold, elder mode ---------------------------------------------------------------------------
def _elder_patient(kiosk: Any) -> dict[str, Any]:
    """A patient 65 or older with nothing booked, no other test has used."""
    today = dt.date.fromisoformat(_clock(kiosk)[:10])
    booked = {a["patient_id"] for a in kiosk.fixtures()["appointments"]}
    for patient in kiosk.fixtures()["patients"]:
        if (patient["id"] not in booked and patient["id"] not in kiosk.used_patients
                and "banned" not in patient["tags"] and age_on(dt.date.fromisoformat(patient["birth_date"]), today) >= 65):
            kiosk.used_patients.add(patient["id"])
            return patient
    raise AssertionError("no unused patient of 65 or older in the seed")


def test_leaving_by_back_or_home_gives_the_hold_back_elder_mode_by_itself(kiosk: Any) -> None:
    patient = _elder_patient(kiosk)
    try:
        chosen = _to_slots(kiosk, {"patient_id": patient["id"]})
        assert kiosk.screen()["mode"] == "elder"  # the ID card says 65 or older
        free = chosen.free(kiosk)
        for leave in ("back", "home"):
            kiosk.tap(id="item-0")
            confirm = kiosk.wait("confirm")
            countdown = _text(confirm, "hold_countdown")
            assert re.search(r"1[45]:\d\d", countdown), countdown  # the 15 minutes, counting down
            assert len(chosen.free(kiosk)) == len(free) - 1
            kiosk.tap(id=leave)
            assert wait_for(lambda: chosen.free(kiosk) == free, 10), f"{leave} kept the hold"
        kiosk.wait("home")
        assert _appointments(kiosk, patient["id"]) == []
    finally:
        kiosk.kiosk.view(mode="normal")

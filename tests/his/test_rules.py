"""Every booking rule of SPEC.md at its boundary (the clock is set to the second), on SQLite and on
PostgreSQL: the rules are checked by the same code on both, but the queries that feed them are not."""

from __future__ import annotations

import datetime as dt

import pytest

from simulators.his import models as m
from simulators.his.rules import Rules, Title
from simulators.his.testing import TODAY, His, at, error_code

EXPERTS = (Title.ASSOCIATE_CHIEF, Title.CHIEF, Title.EXPERT)
JUNIORS = (Title.RESIDENT, Title.ATTENDING)
FIRST_VISIT = "P000001"  # seeded first-visit patients: n % 5 < 2
RETURNING = ("P000003", "P000004", "P000007", "P000008", "P000009", "P000012", "P000013")


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def his(his_any: His) -> His:
    """Every test of this file runs on both databases."""
    return his_any


def refused(response: object, code: str) -> dict:
    assert response.status_code == 409, response.text  # type: ignore[attr-defined]
    assert error_code(response) == code, response.text  # type: ignore[attr-defined]
    return response.json()["error"]["details"]  # type: ignore[attr-defined]


# --- the booking window ----------------------------------------------------------------------------
def test_booking_for_tomorrow_closes_at_15(his: His) -> None:
    slot, _ = his.free_slot(day(1), titles=JUNIORS)
    other, _ = his.free_slot(day(1), titles=JUNIORS, nth=1)
    his.set_now(at(0, "14:59:59"))
    assert his.hold(slot, RETURNING[0]).status_code == 201
    his.set_now(at(0, "15:00:00"))
    details = refused(his.hold(other, RETURNING[1]), "OUTSIDE_BOOKING_WINDOW")
    assert details["reason"] == "tomorrow_closed"
    shown = his.get("/schedules", date=day(1).isoformat()).json()["schedules"]
    assert {s["state"] for s in shown} <= {"closed", "stopped", "suspended"}


def test_a_hold_lasts_15_minutes(his: His) -> None:
    first, _ = his.free_slot(day(1), titles=JUNIORS)
    second, _ = his.free_slot(day(1), titles=JUNIORS, nth=1)
    his.set_now(at(0, "14:59:00"))
    h1 = his.hold(first, RETURNING[0]).json()
    h2 = his.hold(second, RETURNING[1]).json()
    assert h1["expires_at"] == at(0, "15:14:00").isoformat() + "+08:00"
    # Held at 14:59 (inside the window): still bookable at 15:01, after booking for tomorrow closed.
    his.set_now(at(0, "15:01:00"))
    r = his.post("/appointments", {"hold_id": h1["hold_id"], "pay_now": False})
    assert r.status_code == 201, r.text
    appt = r.json()["appointment"]
    assert len(appt["booking_code"]) == 8 and appt["booking_code"].isdigit()
    assert appt["status"] == "booked" and appt["patient_id"] == RETURNING[0]
    his.set_now(at(0, "15:14:00"))
    refused(his.post("/appointments", {"hold_id": h2["hold_id"], "pay_now": True}), "HOLD_EXPIRED")
    with his.hub.db.read() as s:
        slot = s.get(m.Slot, second)
        assert slot is not None and slot.appointment_id is None


def test_expired_hold_returns_the_slot_to_the_pool(his: His) -> None:
    slot, _ = his.free_slot(day(2), titles=JUNIORS)
    his.set_now(at(0, "09:00:00"))
    assert his.hold(slot, RETURNING[0]).status_code == 201
    refused(his.hold(slot, RETURNING[1]), "SLOT_TAKEN")
    his.set_now(at(0, "09:14:59"))
    refused(his.hold(slot, RETURNING[1]), "SLOT_TAKEN")
    his.set_now(at(0, "09:15:00"))
    assert his.hold(slot, RETURNING[1]).status_code == 201


def test_the_last_day_opens_at_release_time(his: His) -> None:
    window = his.hub.rules.booking_window_days
    slot, _ = his.free_slot(day(window), titles=JUNIORS)
    his.set_now(at(0, "08:29:59"))
    assert refused(his.hold(slot, RETURNING[0]), "OUTSIDE_BOOKING_WINDOW")["reason"] == "not_released"
    his.set_now(at(0, "08:30:00"))
    assert his.hold(slot, RETURNING[0]).status_code == 201
    beyond, _ = his.free_slot(day(window + 1), titles=JUNIORS)
    assert refused(his.hold(beyond, RETURNING[1]), "OUTSIDE_BOOKING_WINDOW")["reason"] == "too_far"


@pytest.mark.parametrize(("period", "cutoff"), [("am", "11:00:00"), ("pm", "16:30:00")])
def test_same_day_registration_until_the_cutoff(his: His, period: str, cutoff: str) -> None:
    slot, _ = his.free_slot(day(0), period=period, titles=JUNIORS, latest=True)
    other, _ = his.free_slot(day(0), period=period, titles=JUNIORS, latest=True, nth=1)
    before = (dt.datetime.combine(TODAY, dt.time.fromisoformat(cutoff)) - dt.timedelta(seconds=1)).time()
    his.set_now(at(0, before.isoformat()))
    assert his.hold(slot, RETURNING[0]).status_code == 201
    his.set_now(at(0, cutoff))
    assert refused(his.hold(other, RETURNING[1]), "OUTSIDE_BOOKING_WINDOW")["reason"] == "same_day_cutoff"


def test_a_slot_that_is_over_cannot_be_held(his: His) -> None:
    slot, _ = his.free_slot(day(0), period="am", titles=JUNIORS)  # the first slot, 08:00-08:15
    his.set_now(at(0, "08:15:00"))
    assert refused(his.hold(slot, RETURNING[0]), "OUTSIDE_BOOKING_WINDOW")["reason"] == "slot_over"


# --- per-patient limits -------------------------------------------------------------------------
def test_two_departments_a_day_and_one_booking_per_department(his: His) -> None:
    p = RETURNING[0]
    a, dep_a = his.free_slot(day(2), period="am", titles=JUNIORS)
    b, dep_b = his.free_slot(day(2), period="pm", titles=JUNIORS, exclude_departments=(dep_a,))
    c, _ = his.free_slot(day(2), titles=JUNIORS, exclude_departments=(dep_a, dep_b))
    same_general, _ = his.free_slot(day(2), general=True, department=dep_a)
    assert his.book(a, p).status_code == 201
    refused(his.hold(same_general, p), "SAME_DEPARTMENT_DOCTOR_LIMIT")  # the general clinic counts too
    assert his.book(b, p).status_code == 201
    refused(his.hold(c, p), "DAILY_DEPARTMENT_LIMIT")
    assert his.count(m.Hold, m.Hold.patient_id == p, m.Hold.status == "live") == 0


def test_three_bookings_in_seven_days_the_fourth_is_refused(his: His) -> None:
    p = RETURNING[0]
    used: list[str] = []
    for n in (1, 2, 3):
        slot, dep = his.free_slot(day(n), titles=JUNIORS, exclude_departments=tuple(used))
        used.append(dep)
        assert his.book(slot, p).status_code == 201, n
    fourth, _ = his.free_slot(day(6), titles=JUNIORS, exclude_departments=tuple(used))
    details = refused(his.hold(fourth, p), "WEEKLY_LIMIT")
    assert details["limit"] == 3


def test_live_holds_count_toward_the_limits_and_released_ones_do_not(his: His) -> None:
    p = RETURNING[1]
    a, dep_a = his.free_slot(day(3), titles=JUNIORS)
    b, dep_b = his.free_slot(day(3), titles=JUNIORS, exclude_departments=(dep_a,))
    c, _ = his.free_slot(day(3), titles=JUNIORS, exclude_departments=(dep_a, dep_b))
    ha = his.hold(a, p).json()["hold_id"]
    assert his.hold(b, p).status_code == 201
    refused(his.hold(c, p), "DAILY_DEPARTMENT_LIMIT")
    r = his.delete(f"/holds/{ha}")
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert his.hold(c, p).status_code == 201
    assert his.hold(a, RETURNING[2]).status_code == 201  # the released slot is free again


def test_first_visit_patients_get_one_expert_booking_a_week(his: His) -> None:
    e1, dep1 = his.free_slot(day(1), titles=EXPERTS)
    e2, _ = his.free_slot(day(4), titles=EXPERTS, exclude_departments=(dep1,))
    junior, _ = his.free_slot(day(4), titles=JUNIORS, exclude_departments=(dep1,))
    assert his.patient(FIRST_VISIT).first_visit
    assert his.book(e1, FIRST_VISIT).status_code == 201
    refused(his.hold(e2, FIRST_VISIT), "FIRST_VISIT_EXPERT_LIMIT")
    assert his.book(junior, FIRST_VISIT).status_code == 201
    # A returning patient has no such limit.
    r1, dep_r = his.free_slot(day(1), titles=EXPERTS)
    r2, _ = his.free_slot(day(4), titles=EXPERTS, exclude_departments=(dep_r,))
    assert his.book(r1, RETURNING[3]).status_code == 201
    assert his.book(r2, RETURNING[3]).status_code == 201


# --- schedule states ----------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["suspended", "stopped", "closed"])
def test_closed_schedules_refuse(his: His, state: str) -> None:
    slot, _ = his.free_slot(day(2), state=state)
    refused(his.hold(slot, RETURNING[0]), "SCHEDULE_CLOSED")
    listed = his.get("/schedules", date=day(2).isoformat()).json()["schedules"]
    assert state in {s["state"] for s in listed}


def test_a_session_suspended_after_it_was_listed_refuses_holds_until_reopened(his: His) -> None:
    """Test mode: PUT /_test/schedules/{id}/state, the desk's 停诊 while a patient looks at the slots."""
    slot, _ = his.free_slot(day(2))
    with his.hub.db.read() as s:
        schedule_id = s.get(m.Slot, slot).schedule_id  # type: ignore[union-attr]
    put = his.client.put(f"/api/v1/_test/schedules/{schedule_id}/state", json={"state": "suspended"})
    assert put.status_code == 200 and put.json() == {"id": schedule_id, "state": "suspended", "previous": "open"}
    refused(his.hold(slot, RETURNING[0]), "SCHEDULE_CLOSED")
    his.client.put(f"/api/v1/_test/schedules/{schedule_id}/state", json={"state": "open"})
    assert his.hold(slot, RETURNING[0]).status_code == 201
    missing = his.client.put("/api/v1/_test/schedules/nope/state", json={"state": "open"})
    assert missing.status_code == 404 and error_code(missing) == "NOT_FOUND"
    assert his.client.put(f"/api/v1/_test/schedules/{schedule_id}/state", json={"state": "full"}).status_code == 422


def test_substituted_schedule_books_the_substitute(his: His) -> None:
    slot, _ = his.free_slot(day(2), state="substituted")
    r = his.book(slot, RETURNING[0])
    assert r.status_code == 201, r.text
    appt = r.json()["appointment"]
    with his.hub.db.read() as s:
        sl = s.get(m.Slot, slot)
        sched = s.get(m.Schedule, sl.schedule_id)  # type: ignore[union-attr]
        assert sched is not None and appt["doctor"]["id"] == sched.substitute_doctor_id
        doc = s.get(m.Doctor, sched.substitute_doctor_id)
    assert appt["fee_fen"] == his.hub.rules.fee_for(Title(doc.title))  # type: ignore[union-attr]


def test_follow_up_reserve_is_not_public(his: His) -> None:
    with his.hub.db.read() as s:
        slot = (
            s.query(m.Slot)
            .join(m.Schedule)
            .filter(m.Slot.reserved_followup.is_(True), m.Schedule.date == day(2), m.Schedule.state == "open")
            .first()
        )
        assert slot is not None
        total = s.query(m.Slot).filter(m.Slot.schedule_id == slot.schedule_id).count()
        reserved = (
            s.query(m.Slot).filter(m.Slot.schedule_id == slot.schedule_id, m.Slot.reserved_followup).count()
        )
    assert reserved * 100 <= total * his.hub.rules.followup_reserve_percent
    assert refused(his.hold(slot.id, RETURNING[0]), "SLOT_TAKEN")["reason"] == "reserved_for_followup"
    shown = {x["id"]: x for x in his.get(f"/schedules/{slot.schedule_id}/slots").json()["slots"]}
    assert shown[slot.id]["available"] is False


# --- collection ---------------------------------------------------------------------------------
def _todays_booked(his: His, period: str) -> dict:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    return next(
        a
        for a in fixtures["appointments"]
        if a["date"] == TODAY.isoformat() and a["status"] == "booked" and a["period"] == period
    )


def test_collection_window_and_identity(his: His) -> None:
    appt = _todays_booked(his, "am")
    his.set_now(at(0, "07:29:59"))
    details = refused(
        his.post(f"/appointments/{appt['id']}/collect", {"patient_id": appt["patient_id"]}),
        "OUTSIDE_COLLECTION_WINDOW",
    )
    assert details["window_start"] == f"{TODAY}T07:30:00+08:00"
    assert details["window_end"] == f"{TODAY}T10:30:00+08:00"
    his.set_now(at(0, "07:30:00"))
    refused(his.post(f"/appointments/{appt['id']}/collect", {"patient_id": "P000002"}), "IDENTITY_MISMATCH")
    r = his.post(f"/appointments/{appt['id']}/collect", {"patient_id": appt["patient_id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["queue_number"] and body["room"] and body["floor"]
    assert body["appointment"]["status"] == "collected"
    assert isinstance(body["fee_due_fen"], int)
    again = his.post(f"/appointments/{appt['id']}/collect", {"patient_id": appt["patient_id"]})
    assert again.json()["queue_number"] == body["queue_number"]
    r = his.post("/queue/checkin", {"appointment_id": appt["id"]})
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert ticket["queue_number"] == body["queue_number"] and ticket["ahead"] >= 0
    q = his.get(f"/queue/{ticket['department_id']}").json()
    assert q["now_serving"] is not None and q["waiting"] >= 0


def test_after_the_window_the_booking_is_a_no_show(his: His) -> None:
    appt = _todays_booked(his, "am")
    his.set_now(at(0, "10:29:59"))
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    assert next(a for a in fixtures["appointments"] if a["id"] == appt["id"])["status"] == "booked"
    his.set_now(at(0, "10:30:00"))
    refused(
        his.post(f"/appointments/{appt['id']}/collect", {"patient_id": appt["patient_id"]}),
        "OUTSIDE_COLLECTION_WINDOW",
    )
    listed = his.get("/appointments", patient_id=appt["patient_id"], date=TODAY.isoformat()).json()[
        "appointments"
    ]
    assert next(a for a in listed if a["id"] == appt["id"])["status"] == "no_show"


def test_a_missed_booking_is_recorded_as_a_no_show_when_the_patient_books_again(his: His) -> None:
    appt = _todays_booked(his, "am")
    his.set_now(at(1, "09:00:00"))  # the next day: yesterday's morning window has closed
    assert his.count(m.Appointment, m.Appointment.id == appt["id"], m.Appointment.status == "booked") == 1
    slot = his.free_slot(day(3), titles=JUNIORS)[0]
    r = his.hold(slot, appt["patient_id"])
    assert r.status_code == 201, r.text
    assert his.count(m.Appointment, m.Appointment.id == appt["id"], m.Appointment.status == "no_show") == 1


def test_collection_at_least_n_minutes_before_the_slot_when_configured(db_url: str) -> None:
    his = His(db_url, rules=Rules(collect_min_before_slot=30))
    try:
        appt = _todays_booked(his, "am")
        start = dt.datetime.fromisoformat(appt["start"]).replace(tzinfo=None)
        his.set_now(start - dt.timedelta(minutes=30))
        details = refused(
            his.post(f"/appointments/{appt['id']}/collect", {"patient_id": appt["patient_id"]}),
            "OUTSIDE_COLLECTION_WINDOW",
        )
        assert details["window_end"] == (start - dt.timedelta(minutes=30)).isoformat() + "+08:00"
    finally:
        his.close()


def test_the_fee_at_collection_time_applies(his: His) -> None:
    slot, _ = his.free_slot(day(0), period="pm", titles=(Title.ATTENDING,), latest=True)
    r = his.book(slot, RETURNING[0])
    appt = r.json()["appointment"]
    assert appt["fee_fen"] == his.hub.rules.fee_for(Title.ATTENDING)
    promoted = his.client.put(
        f"/api/v1/_test/doctors/{appt['doctor']['id']}/title", json={"title": "主任医师"}
    )
    assert promoted.status_code == 200
    his.set_now(at(0, "13:30:00"))
    r = his.post(f"/appointments/{appt['id']}/collect", {"patient_id": RETURNING[0]})
    assert r.status_code == 200, r.text
    assert r.json()["fee_due_fen"] == his.hub.rules.fee_for(Title.CHIEF)


def test_checkin_needs_collection_first(his: His) -> None:
    appt = _todays_booked(his, "pm")
    refused(his.post("/queue/checkin", {"appointment_id": appt["id"]}), "NOT_COLLECTED")
    assert his.post("/queue/checkin", {"appointment_id": "NOPE"}).status_code == 404


# --- cancellation -------------------------------------------------------------------------------
def test_cancel_until_1430_the_day_before(his: His) -> None:
    a, dep = his.free_slot(day(2), titles=JUNIORS)
    b, _ = his.free_slot(day(2), titles=JUNIORS, exclude_departments=(dep,))
    first = his.book(a, RETURNING[0]).json()["appointment"]
    second = his.book(b, RETURNING[1]).json()["appointment"]
    his.set_now(at(1, "14:29:59"))
    r = his.post(f"/appointments/{first['id']}/cancel", {})
    assert r.status_code == 200 and r.json()["appointment"]["status"] == "cancelled"
    assert his.hold(a, RETURNING[2]).status_code == 201  # the slot is back in the pool
    his.set_now(at(1, "14:30:00"))
    details = refused(his.post(f"/appointments/{second['id']}/cancel", {}), "CANCEL_DEADLINE_PASSED")
    assert details["deadline"] == f"{day(1)}T14:30:00+08:00"


def test_a_slot_cancelled_at_night_comes_back_at_six(his: His) -> None:
    slot, _ = his.free_slot(day(3), titles=JUNIORS)
    appt = his.book(slot, RETURNING[0]).json()["appointment"]
    his.set_now(at(0, "23:30:00"))
    assert his.post(f"/appointments/{appt['id']}/cancel").status_code == 200
    his.set_now(at(1, "05:59:59"))
    refused(his.hold(slot, RETURNING[1]), "SLOT_TAKEN")
    his.set_now(at(1, "06:00:00"))
    assert his.hold(slot, RETURNING[1]).status_code == 201


# --- no-shows -----------------------------------------------------------------------------------
def test_a_banned_patient_cannot_book(his: His) -> None:
    slot, _ = his.free_slot(day(2), titles=JUNIORS)
    details = refused(his.hold(slot, "P000050"), "NO_SHOW_BANNED")
    assert details["banned_until"] == (TODAY - dt.timedelta(days=10) + dt.timedelta(days=180)).isoformat()


def test_the_third_no_show_bans_for_180_days(his: His) -> None:
    p = "P000060"  # two no-shows already
    today_pm, dep = his.free_slot(day(0), period="pm", titles=JUNIORS, latest=True)
    later, _ = his.free_slot(day(3), titles=JUNIORS, exclude_departments=(dep,))
    assert his.book(today_pm, p).status_code == 201
    his.set_now(at(0, "16:29:59"))
    assert his.hold(later, p).status_code == 201  # not banned yet (and releases below)
    his.set_now(at(0, "16:45:00"))
    details = refused(his.hold(later, p), "NO_SHOW_BANNED")
    assert details["banned_until"] == (TODAY + dt.timedelta(days=180)).isoformat()

"""Holds and bookings, the hot path: statements built and compiled once, one query per fact needed.

The rules are booking.py's; this module only fetches what they need with few round trips, and runs the
statements on the driver's cursor (fastsql.py): the ORM's per-object overhead, then SQLAlchemy's
per-execution machinery, were most of a booking's cost. A slot is still taken by one conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    String,
    and_,
    bindparam,
    case,
    cast,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from simulators.his import booking, views
from simulators.his import models as m
from simulators.his.context import Ctx, new_id
from simulators.his.errors import ApiError
from simulators.his.fastsql import Prepared
from simulators.his.rules import Title

Answer = tuple[int, dict[str, Any]]
_slots, _scheds, _docs, _deps = (
    m.Slot.__table__,
    m.Schedule.__table__,
    m.Doctor.__table__,
    m.Department.__table__,
)
_patients, _holds, _appts = (m.Patient.__table__, m.Hold.__table__, m.Appointment.__table__)

# The doctor who sees the patients of a schedule: the substitute when the schedule says so.
_effective_doctor = case(
    (_scheds.c.state == "substituted", _scheds.c.substitute_doctor_id), else_=_scheds.c.doctor_id
)
_SESSION_COLUMNS = (
    _scheds.c.id.label("schedule_id"),
    _scheds.c.state,
    _scheds.c.date,
    _scheds.c.period,
    _scheds.c.department_id,
    _effective_doctor.label("doctor_id"),
    _docs.c.title.label("doctor_title"),
)

# What views.department_and_doctor reads from a row that joins an appointment's department and doctor.
PLACE_COLUMNS = (
    _docs.c.name.label("doctor_name"),
    _docs.c.specialty.label("doctor_specialty"),
    _docs.c.department_id.label("doctor_department_id"),
    _deps.c.name.label("department_name"),
    _deps.c.name_en.label("department_name_en"),
    _deps.c.floor.label("department_floor"),
    _deps.c.room.label("department_room"),
    _deps.c.parent.label("department_parent"),
)

_PATIENT_LOCKED = Prepared(  # serialises one patient's bookings (PostgreSQL)
    select(_patients.c.id, _patients.c.first_visit)
    .where(_patients.c.id == bindparam("patient_id"))
    .with_for_update()
)
_SLOT = Prepared(
    select(_slots.c.id, _slots.c.end, _slots.c.reserved_followup, *_SESSION_COLUMNS)
    .join(_scheds, _scheds.c.id == _slots.c.schedule_id)
    .outerjoin(_docs, _docs.c.id == _effective_doctor)
    .where(_slots.c.id == bindparam("slot_id"))
)
_HOLD_OWNER_LOCKED = Prepared(  # the hold's patient, locked as above, in one round trip
    select(_patients.c.id, _patients.c.first_visit)
    .where(
        _patients.c.id
        == select(_holds.c.patient_id).where(_holds.c.id == bindparam("hold_id")).scalar_subquery()
    )
    .with_for_update()
)
_HOLD = Prepared(
    select(
        _holds.c.id,
        _holds.c.status,
        _holds.c.expires_at,
        _holds.c.first_visit_expert,
        _slots.c.id.label("slot_id"),
        _slots.c.start,
        _slots.c.end,
        *_SESSION_COLUMNS,
        *PLACE_COLUMNS,
    )
    .join(_slots, _slots.c.id == _holds.c.slot_id)
    .join(_scheds, _scheds.c.id == _slots.c.schedule_id)
    .join(_deps, _deps.c.id == _scheds.c.department_id)
    .outerjoin(_docs, _docs.c.id == _effective_doctor)
    .where(_holds.c.id == bindparam("hold_id"))
)
# Everything the rules need in one round trip: the appointments that can matter (bans look back
# `since`, limits around the day), any booking left "booked" after its day (to be recorded as a no-show),
# and the live holds around the day (status "hold").
_HISTORY = Prepared(
    union_all(
        select(
            _appts.c.status,
            _appts.c.date,
            _appts.c.period,
            _appts.c.start,
            _appts.c.department_id,
            _appts.c.first_visit_expert,
        ).where(
            _appts.c.patient_id == bindparam("patient_id"),
            or_(
                and_(
                    _appts.c.date >= bindparam("since"),
                    # no IN-list: fastsql has no expanding parameters
                    or_(*(_appts.c.status == status for status in ("no_show", *m.ACTIVE_STATUSES))),
                ),
                and_(_appts.c.status == "booked", _appts.c.date < bindparam("today")),
            ),
        ),
        select(
            literal("hold").label("status"),
            _holds.c.date,
            cast(null(), String).label("period"),
            cast(null(), DateTime).label("start"),
            _holds.c.department_id,
            _holds.c.first_visit_expert,
        ).where(
            _holds.c.patient_id == bindparam("patient_id"),
            _holds.c.status == "live",
            _holds.c.expires_at > bindparam("now"),
            _holds.c.date.between(bindparam("lo"), bindparam("hi")),
            _holds.c.id != bindparam("exclude_hold"),
        ),
    )
)
_TAKE_FOR_HOLD = Prepared(
    update(_slots)
    .where(
        _slots.c.id == bindparam("slot_id"),
        _slots.c.appointment_id.is_(None),
        _slots.c.reserved_followup.is_(False),
        or_(_slots.c.held_until.is_(None), _slots.c.held_until <= bindparam("now")),
        or_(_slots.c.available_from.is_(None), _slots.c.available_from <= bindparam("now")),
    )
    .values(hold_id=bindparam("new_hold_id"), held_until=bindparam("expires"))
)
_TAKE_FOR_BOOKING = Prepared(
    update(_slots)
    .where(
        _slots.c.id == bindparam("slot_id"),
        _slots.c.hold_id == bindparam("b_hold_id"),
        _slots.c.held_until > bindparam("now"),
        _slots.c.appointment_id.is_(None),
    )
    .values(appointment_id=bindparam("b_appointment_id"), hold_id=None, held_until=None)
)
_HOLD_COLUMNS = (
    "id", "slot_id", "patient_id", "kiosk_id", "department_id", "date", "first_visit_expert", "created_at",
    "expires_at", "status",
)  # fmt: skip
_APPOINTMENT_COLUMNS = (
    "id", "booking_code", "patient_id", "slot_id", "schedule_id", "department_id", "doctor_id", "date",
    "period", "start", "end", "fee_fen", "paid_fen", "pay_now", "status", "first_visit_expert", "queue_seq",
    "queue_number", "kiosk_id", "created_at",
)  # fmt: skip
_INSERT_HOLD = Prepared(insert(_holds).values({c: bindparam(c) for c in _HOLD_COLUMNS}))
_INSERT_APPOINTMENT = Prepared(insert(_appts).values({c: bindparam(c) for c in _APPOINTMENT_COLUMNS}))
_HOLD_BOOKED = Prepared(update(_holds).where(_holds.c.id == bindparam("hold_id")).values(status="booked"))
_SWEEP_BEFORE_TODAY = Prepared(
    update(_appts)
    .where(
        _appts.c.patient_id == bindparam("b_patient_id"),
        _appts.c.status == "booked",
        _appts.c.date < bindparam("today"),
    )
    .values(status="no_show")
)
_SWEEP_WITH_TODAY = Prepared(
    update(_appts)
    .where(
        _appts.c.patient_id == bindparam("b_patient_id"),
        _appts.c.status == "booked",
        or_(
            _appts.c.date < bindparam("today"),
            and_(
                _appts.c.date == bindparam("today"),
                _appts.c.period.in_([bindparam("late_1"), bindparam("late_2")]),
            ),
        ),
    )
    .values(status="no_show")
)


def _sweep_no_shows(conn: Connection, ctx: Ctx, patient_id: str) -> None:
    """booking.sweep_no_shows in Core: record as no-shows the bookings whose collection window closed."""
    rules = ctx.rules
    late = [p for p in ("am", "pm") if ctx.now.time() >= rules.collection_window(p)[1]]
    if late and rules.collect_min_before_slot is None:
        params = {"b_patient_id": patient_id, "today": ctx.today, "late_1": late[0], "late_2": late[-1]}
        _SWEEP_WITH_TODAY.write(conn, params)
    else:
        _SWEEP_BEFORE_TODAY.write(conn, {"b_patient_id": patient_id, "today": ctx.today})


def _check_patient(
    conn: Connection,
    ctx: Ctx,
    patient_id: str,
    department_id: str,
    day: dt.date,
    fv_expert: bool,
    exclude_hold: str = "",
) -> None:
    """booking.check_rules over the patient's history and live holds, read in one query.

    Bookings whose collection window closed are recorded as no-shows first, when the history shows any
    (the sweep's UPDATE changes nothing otherwise, and is skipped).
    """
    rules = ctx.rules
    since = ctx.today - dt.timedelta(days=rules.no_show_window_days + rules.no_show_ban_days)
    lo, hi = booking.limits_span(ctx, day)
    no_shows: list[dt.date] = []
    existing: list[booking.Booked] = []
    stale = False
    params = {
        "patient_id": patient_id,
        "since": min(since, lo),
        "today": ctx.today,
        "now": ctx.now,
        "lo": lo,
        "hi": hi,
        "exclude_hold": exclude_hold,
    }
    for a in _HISTORY.run(conn, params):
        if a.status == "hold":
            existing.append(booking.Booked(a.date, a.department_id, a.first_visit_expert))
            continue
        status = booking.effective_status(a, ctx)
        if status == "no_show":
            stale |= a.status == "booked"
            if a.date >= since:
                no_shows.append(a.date)
        elif lo <= a.date <= hi:
            existing.append(booking.Booked(a.date, a.department_id, a.first_visit_expert))
    if stale:
        _sweep_no_shows(conn, ctx, patient_id)
    booking.check_rules(ctx, booking.ban_end(ctx, no_shows), existing, department_id, day, fv_expert)


def _title(row: Any) -> Title | None:
    return Title(row.doctor_title) if row.doctor_id is not None and row.doctor_title is not None else None


def create_hold(s: Session, ctx: Ctx, slot_id: str, patient_id: str) -> Answer:
    conn = s.connection()
    patient = _PATIENT_LOCKED.run(conn, {"patient_id": patient_id}).first()
    if patient is None:
        raise ApiError("NOT_FOUND", {"resource": "patients", "id": patient_id})
    slot = _SLOT.run(conn, {"slot_id": slot_id}).first()
    if slot is None:
        raise ApiError("NOT_FOUND", {"resource": "slots", "id": slot_id})
    booking.schedule_open(slot.state, slot.schedule_id)
    refusal = booking.booking_window_refusal(ctx, slot.date, slot.period, slot.end)
    if refusal is not None:
        raise refusal
    if slot.reserved_followup:
        raise ApiError("SLOT_TAKEN", {"slot_id": slot_id, "reason": "reserved_for_followup"})
    fv_expert = bool(patient.first_visit) and ctx.rules.is_expert(_title(slot))
    _check_patient(conn, ctx, patient_id, slot.department_id, slot.date, fv_expert)
    hold_id = new_id("H")
    expires = ctx.now + dt.timedelta(minutes=ctx.rules.hold_minutes)
    # The slot is taken by this one conditional UPDATE, never by read-then-write.
    params = {"slot_id": slot_id, "now": ctx.now, "new_hold_id": hold_id, "expires": expires}
    if _TAKE_FOR_HOLD.write(conn, params) != 1:
        raise ApiError("SLOT_TAKEN", {"slot_id": slot_id})
    _INSERT_HOLD.write(
        conn,
        {
            "id": hold_id,
            "slot_id": slot_id,
            "patient_id": patient_id,
            "kiosk_id": ctx.kiosk_id,
            "department_id": slot.department_id,
            "date": slot.date,
            "first_visit_expert": fv_expert,
            "created_at": ctx.now,
            "expires_at": expires,
            "status": "live",
        },
    )
    return 201, {
        "hold_id": hold_id,
        "expires_at": ctx.iso(expires),
        "slot_id": slot_id,
        "patient_id": patient_id,
    }


def book(s: Session, ctx: Ctx, hold_id: str, pay_now: bool) -> Answer:
    conn = s.connection()
    owner = _HOLD_OWNER_LOCKED.run(conn, {"hold_id": hold_id}).first()
    if owner is None:  # no such hold (a hold's patient always exists)
        raise ApiError("NOT_FOUND", {"resource": "holds", "id": hold_id})
    patient_id = owner.id
    hold = _HOLD.run(conn, {"hold_id": hold_id}).one()  # read under the patient's lock
    if hold.status == "booked":
        return booking.rebook(s, ctx, hold_id)  # a retry without a key: the booking it made
    if hold.status != "live" or hold.expires_at <= ctx.now:
        raise ApiError("HOLD_EXPIRED", {"hold_id": hold_id})
    booking.schedule_open(hold.state, hold.schedule_id)
    # The time window was judged when the slot was held; limits and bans are checked again now.
    _check_patient(
        conn, ctx, patient_id, hold.department_id, hold.date, hold.first_visit_expert, exclude_hold=hold_id
    )
    appt_id = new_id("A")
    params = {"slot_id": hold.slot_id, "b_hold_id": hold_id, "now": ctx.now, "b_appointment_id": appt_id}
    if _TAKE_FOR_BOOKING.write(conn, params) != 1:
        raise ApiError("HOLD_EXPIRED", {"hold_id": hold_id})
    title = _title(hold)
    row = {
        "id": appt_id,
        # Unique by index: a clash (1 in 10^8 a pair) raises IntegrityError, and the write is run again.
        "booking_code": booking.random_booking_code(),
        "patient_id": patient_id,
        "slot_id": hold.slot_id,
        "schedule_id": hold.schedule_id,
        "department_id": hold.department_id,
        "doctor_id": hold.doctor_id,
        "date": hold.date,
        "period": hold.period,
        "start": hold.start,
        "end": hold.end,
        "fee_fen": ctx.rules.fee_for(title),
        "paid_fen": 0,
        "pay_now": pay_now,
        "status": "booked",
        "first_visit_expert": hold.first_visit_expert,
        "queue_seq": None,
        "queue_number": None,
        "kiosk_id": ctx.kiosk_id,
        "created_at": ctx.now,
    }
    _INSERT_APPOINTMENT.write(conn, row)
    _HOLD_BOOKED.write(conn, {"hold_id": hold_id})
    department, doctor = views.department_and_doctor(hold)
    return 201, {"appointment": views.appointment_fields(row, ctx, "booked", department, doctor)}

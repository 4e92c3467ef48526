"""Holds and bookings, the hot path: statements built and compiled once, one query per fact needed.

The rules are booking.py's; this module only fetches what they need with few round trips, and runs the
statements on the driver's cursor (fastsql.py): the ORM's per-object overhead, then SQLAlchemy's
per-execution machinery, were most of a booking's cost. A slot is still taken by one conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    DateTime,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)

from simulators.his import booking, views
from simulators.his import models as m
from simulators.his.context import Ctx, new_id
from simulators.his.errors import ApiError
from simulators.his.fastsql import Call, Flow, Prepared, Result, row_values, step
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
    select(
        _slots.c.id,
        _slots.c.end,
        _slots.c.reserved_followup,
        _slots.c.appointment_id,
        _slots.c.held_until,
        _slots.c.available_from,
        *_SESSION_COLUMNS,
    )
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


def _history(by_hold: bool) -> Prepared:
    """Everything the rules need about a patient in one query: the appointments that can matter (bans
    look back `since`, limits around the day), any booking left "booked" after its day (to be recorded
    as a no-show), and the live holds (status "hold"). It needs no slot, so it goes with the first reads.

    The patient is `patient_id`, or (`by_hold`) the owner of `hold_id`, found by a join: with a scalar
    subquery in its place SQLite scanned the whole appointments table.
    """
    owner = _holds.alias("owner")

    def rows_of(table: Any) -> tuple[Any, Any]:
        if by_hold:
            joined = table.join(owner, owner.c.patient_id == table.c.patient_id)
            return joined, owner.c.id == bindparam("hold_id")
        return table, table.c.patient_id == bindparam("patient_id")

    appointments, of_appointments = rows_of(_appts)
    live_holds, of_holds = rows_of(_holds)
    return Prepared(
        union_all(
            select(
                _appts.c.status,
                _appts.c.date,
                _appts.c.period,
                _appts.c.start,
                _appts.c.department_id,
                _appts.c.first_visit_expert,
            )
            .select_from(appointments)
            .where(
                of_appointments,
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
            )
            .select_from(live_holds)
            .where(
                of_holds,
                _holds.c.status == "live",
                _holds.c.expires_at > bindparam("now"),
                _holds.c.id != bindparam("exclude_hold"),
            ),
        )
    )


_HISTORY = _history(by_hold=False)
_HOLD_OWNER_HISTORY = _history(by_hold=True)
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


# The writes after the slot's UPDATE happen only where it took the slot (it now names this hold or
# appointment), so a booking's writes are right to commit whether or not it won the slot.
_INSERT_HOLD = Prepared(
    insert(_holds).from_select(
        _HOLD_COLUMNS,
        row_values(_holds, _HOLD_COLUMNS).where(
            exists().where(_slots.c.id == bindparam("slot_id"), _slots.c.hold_id == bindparam("id"))
        ),
    )
)
_SLOT_BOOKED = exists().where(
    _slots.c.id == bindparam("slot_id"), _slots.c.appointment_id == bindparam("b_appointment_id")
)
_INSERT_APPOINTMENT = Prepared(
    insert(_appts).from_select(
        _APPOINTMENT_COLUMNS, row_values(_appts, _APPOINTMENT_COLUMNS).where(_SLOT_BOOKED)
    )
)
_HOLD_BOOKED = Prepared(
    update(_holds).where(_holds.c.id == bindparam("hold_id"), _SLOT_BOOKED).values(status="booked")
)
# A hold booked before (a retry without a key): the appointment it made, as the booking answered it.
_REBOOKED = Prepared(
    select(
        *(_appts.c[c] for c in _APPOINTMENT_COLUMNS),
        _docs.c.title.label("doctor_title"),
        *PLACE_COLUMNS,
    )
    .join(_holds, and_(_holds.c.slot_id == _appts.c.slot_id, _holds.c.patient_id == _appts.c.patient_id))
    .join(_deps, _deps.c.id == _appts.c.department_id)
    .outerjoin(_docs, _docs.c.id == _appts.c.doctor_id)
    .where(_holds.c.id == bindparam("hold_id"))
    .order_by(_appts.c.created_at.desc())
    .limit(1)
)
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


def _sweep_no_shows(ctx: Ctx, patient_id: str) -> Call:
    """booking.sweep_no_shows in Core: record as no-shows the bookings whose collection window closed."""
    rules = ctx.rules
    late = [p for p in ("am", "pm") if ctx.now.time() >= rules.collection_window(p)[1]]
    if late and rules.collect_min_before_slot is None:
        return _SWEEP_WITH_TODAY(b_patient_id=patient_id, today=ctx.today, late_1=late[0], late_2=late[-1])
    return _SWEEP_BEFORE_TODAY(b_patient_id=patient_id, today=ctx.today)


def _history_params(ctx: Ctx, exclude_hold: str = "") -> dict[str, Any]:
    """The history query's parameters: reaching back far enough for any day the rules may judge."""
    earliest, _ = booking.limits_span(ctx, ctx.today)
    return {
        "since": min(booking.no_show_since(ctx), earliest),
        "today": ctx.today,
        "now": ctx.now,
        "exclude_hold": exclude_hold,
    }


def _check_patient(
    ctx: Ctx,
    history: Result,
    patient_id: str,
    department_id: str,
    day: dt.date,
    fv_expert: bool,
) -> tuple[Call, ...]:
    """booking.check_rules over the patient's history and live holds (read by _history).

    Returns the write that records as no-shows the bookings whose collection window closed, when the
    history shows any (it would change nothing otherwise), to go with the booking's own writes.
    """
    since = booking.no_show_since(ctx)
    lo, hi = booking.limits_span(ctx, day)
    no_shows: list[dt.date] = []
    existing: list[booking.Booked] = []
    stale = False
    for a in history.rows:
        if a.status == "hold":
            if lo <= a.date <= hi:
                existing.append(booking.Booked(a.date, a.department_id, a.first_visit_expert))
            continue
        status = booking.effective_status(a, ctx)
        if status == "no_show":
            stale |= a.status == "booked"
            if a.date >= since:
                no_shows.append(a.date)
        elif lo <= a.date <= hi:
            existing.append(booking.Booked(a.date, a.department_id, a.first_visit_expert))
    booking.check_rules(ctx, booking.ban_end(ctx, no_shows), existing, department_id, day, fv_expert)
    return (_sweep_no_shows(ctx, patient_id),) if stale else ()


def _title(row: Any) -> Title | None:
    return Title(row.doctor_title) if row.doctor_id is not None and row.doctor_title is not None else None


def create_hold(ctx: Ctx, slot_id: str, patient_id: str) -> Flow[Answer]:
    """POST /holds: the patient (locked), the slot and the history in one step, the writes in another."""
    found = yield step(
        _PATIENT_LOCKED(patient_id=patient_id),
        _SLOT(slot_id=slot_id),
        _HISTORY(patient_id=patient_id, **_history_params(ctx)),
    )
    patient, slot, history = found[0].first(), found[1].first(), found[2]
    if patient is None:
        raise ApiError("NOT_FOUND", {"resource": "patients", "id": patient_id})
    if slot is None:
        raise ApiError("NOT_FOUND", {"resource": "slots", "id": slot_id})
    booking.schedule_open(slot.state, slot.schedule_id)
    refusal = booking.booking_window_refusal(ctx, slot.date, slot.period, slot.end)
    if refusal is not None:
        raise refusal
    if slot.reserved_followup:
        raise ApiError("SLOT_TAKEN", {"slot_id": slot_id, "reason": "reserved_for_followup"})
    fv_expert = bool(patient.first_visit) and ctx.rules.is_expert(_title(slot))
    sweep = _check_patient(ctx, history, patient_id, slot.department_id, slot.date, fv_expert)
    if not booking.slot_free(slot, ctx.now):
        # Taken as the slot was read: refused without the writes (at the release time most of the
        # holds are for slots already gone). A slot that looks free is still taken only by the UPDATE.
        raise ApiError("SLOT_TAKEN", {"slot_id": slot_id})
    hold_id = new_id("H")
    expires = ctx.now + dt.timedelta(minutes=ctx.rules.hold_minutes)
    # The slot is taken by one conditional UPDATE, never by read-then-write; the hold row is written
    # only where that UPDATE took the slot.
    written = yield step(
        *sweep,
        _TAKE_FOR_HOLD(slot_id=slot_id, now=ctx.now, new_hold_id=hold_id, expires=expires),
        _INSERT_HOLD(
            id=hold_id,
            slot_id=slot_id,
            patient_id=patient_id,
            kiosk_id=ctx.kiosk_id,
            department_id=slot.department_id,
            date=slot.date,
            first_visit_expert=fv_expert,
            created_at=ctx.now,
            expires_at=expires,
            status="live",
        ),
        last=True,
    )
    if written[len(sweep)].rowcount != 1:
        raise ApiError("SLOT_TAKEN", {"slot_id": slot_id})
    return 201, {
        "hold_id": hold_id,
        "expires_at": ctx.iso(expires),
        "slot_id": slot_id,
        "patient_id": patient_id,
    }


def book(ctx: Ctx, hold_id: str, pay_now: bool) -> Flow[Answer]:
    """POST /appointments: the hold's patient (locked), the hold and the history in one step (each
    read after the lock, so current), the writes in another."""
    found = yield step(
        _HOLD_OWNER_LOCKED(hold_id=hold_id),
        _HOLD(hold_id=hold_id),
        _HOLD_OWNER_HISTORY(hold_id=hold_id, **_history_params(ctx, exclude_hold=hold_id)),
    )
    owner, hold, history = found[0].first(), found[1].first(), found[2]
    if owner is None or hold is None:  # no such hold (a hold's patient always exists)
        raise ApiError("NOT_FOUND", {"resource": "holds", "id": hold_id})
    if hold.status == "booked":  # a retry without a key: the booking it made
        (rebooked,) = yield step(_REBOOKED(hold_id=hold_id))
        return _rebooked(ctx, hold_id, rebooked.first())
    if hold.status != "live" or hold.expires_at <= ctx.now:
        raise ApiError("HOLD_EXPIRED", {"hold_id": hold_id})
    booking.schedule_open(hold.state, hold.schedule_id)
    # The time window was judged when the slot was held; limits and bans are checked again now.
    sweep = _check_patient(ctx, history, owner.id, hold.department_id, hold.date, hold.first_visit_expert)
    appt_id = new_id("A")
    row = {
        "id": appt_id,
        # Unique by index: a clash (1 in 10^8 a pair) fails the transaction, and the write is run again.
        "booking_code": booking.random_booking_code(),
        "patient_id": owner.id,
        "slot_id": hold.slot_id,
        "schedule_id": hold.schedule_id,
        "department_id": hold.department_id,
        "doctor_id": hold.doctor_id,
        "date": hold.date,
        "period": hold.period,
        "start": hold.start,
        "end": hold.end,
        "fee_fen": ctx.rules.fee_for(_title(hold)),
        "paid_fen": 0,
        "pay_now": pay_now,
        "status": "booked",
        "first_visit_expert": hold.first_visit_expert,
        "queue_seq": None,
        "queue_number": None,
        "kiosk_id": ctx.kiosk_id,
        "created_at": ctx.now,
    }
    taken = {"slot_id": hold.slot_id, "b_appointment_id": appt_id}
    written = yield step(
        *sweep,
        _TAKE_FOR_BOOKING(b_hold_id=hold_id, now=ctx.now, **taken),
        _INSERT_APPOINTMENT(**row, b_appointment_id=appt_id),
        _HOLD_BOOKED(hold_id=hold_id, **taken),
        last=True,
    )
    if written[len(sweep)].rowcount != 1:
        raise ApiError("HOLD_EXPIRED", {"hold_id": hold_id})
    department, doctor = views.department_and_doctor(hold)
    return 201, {"appointment": views.appointment_fields(row, ctx, "booked", department, doctor)}


def _rebooked(ctx: Ctx, hold_id: str, a: Any | None) -> Answer:
    if a is None:
        raise ApiError("HOLD_EXPIRED", {"hold_id": hold_id})
    department, doctor = views.department_and_doctor(a)
    status = booking.effective_status(a, ctx)
    return 200, {"appointment": views.appointment_fields(a._asdict(), ctx, status, department, doctor)}

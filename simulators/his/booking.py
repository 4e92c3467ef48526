"""Schedules, holds, appointments, collection and the queue: every booking rule of SPEC.md."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his import views
from simulators.his.context import Ctx, get_or_404
from simulators.his.errors import ApiError
from simulators.his.rules import Title

Answer = tuple[int, dict[str, Any]]
_CLOSED_STATES = ("closed", "stopped", "suspended")
_code_rng = random.SystemRandom()


# --- time rules ---------------------------------------------------------------------------------
def effective_status(a: m.Appointment | Any, ctx: Ctx) -> str:
    """A booked appointment whose collection window has closed is void: a no-show (爽约)."""
    if a.status == "booked" and ctx.now >= ctx.rules.collection_times(a.date, a.period, a.start)[1]:
        return "no_show"
    return a.status


def booking_window_refusal(
    ctx: Ctx, day: dt.date, period: str, slot_end: dt.datetime | None
) -> ApiError | None:
    """Why a session cannot be booked now (OUTSIDE_BOOKING_WINDOW), or None when it can."""
    rules, now, today = ctx.rules, ctx.now, ctx.today
    days = (day - today).days

    def refuse(reason: str, **details: Any) -> ApiError:
        return ApiError("OUTSIDE_BOOKING_WINDOW", {"reason": reason, "date": day.isoformat(), **details})

    if days < 0:
        return refuse("past")
    if days == 0:
        cutoff = dt.datetime.combine(day, rules.same_day_cutoff(period))
        if now >= cutoff:
            return refuse("same_day_cutoff", closes_at=ctx.iso(cutoff))
        if slot_end is not None and slot_end <= now:
            return refuse("slot_over")
        return None
    if days == 1 and now.time() >= rules.tomorrow_closes:
        return refuse("tomorrow_closed", closes_at=ctx.iso(dt.datetime.combine(today, rules.tomorrow_closes)))
    if days > rules.booking_window_days:
        return refuse("too_far", last_day=(today + dt.timedelta(days=rules.booking_window_days)).isoformat())
    if days == rules.booking_window_days and now.time() < rules.release_time:
        return refuse("not_released", opens_at=ctx.iso(dt.datetime.combine(today, rules.release_time)))
    return None


def slot_free(slot: m.Slot | Any, now: dt.datetime) -> bool:
    """The slot can be taken now: no appointment, no live hold, public, released (_slot_free in Python)."""
    return (
        slot.appointment_id is None
        and not slot.reserved_followup
        and (slot.held_until is None or slot.held_until <= now)
        and (slot.available_from is None or slot.available_from <= now)
    )


def _slot_free(now: dt.datetime) -> Any:
    """SQL condition: the slot can be taken now (no appointment, no live hold, public, released)."""
    return and_(
        m.Slot.appointment_id.is_(None),
        m.Slot.reserved_followup.is_(False),
        or_(m.Slot.held_until.is_(None), m.Slot.held_until <= now),
        or_(m.Slot.available_from.is_(None), m.Slot.available_from <= now),
    )


# --- fees ---------------------------------------------------------------------------------------
def effective_doctor_id(sched: m.Schedule) -> str | None:
    return sched.substitute_doctor_id if sched.state == "substituted" else sched.doctor_id


def title_of(s: Session, doctor_id: str | None) -> Title | None:
    if doctor_id is None:
        return None
    doc = s.get(m.Doctor, doctor_id)
    return Title(doc.title) if doc else None


# --- catalogue reads ----------------------------------------------------------------------------
def list_departments(s: Session, ctx: Ctx) -> Answer:
    rows = s.execute(select(m.Department).order_by(m.Department.id)).scalars()
    return 200, {"departments": [views.department(d) for d in rows]}


def list_doctors(s: Session, ctx: Ctx, department_id: str | None) -> Answer:
    stmt = select(m.Doctor).order_by(m.Doctor.id)
    if department_id is not None:
        stmt = stmt.where(m.Doctor.department_id == department_id)
    return 200, {"doctors": [views.doctor(d) for d in s.execute(stmt).scalars()]}


def list_schedules(s: Session, ctx: Ctx, department_id: str | None, day: dt.date | None) -> Answer:
    stmt = select(m.Schedule).order_by(m.Schedule.date, m.Schedule.period, m.Schedule.id)
    if department_id is not None:
        stmt = stmt.where(m.Schedule.department_id == department_id)
    if day is not None:
        stmt = stmt.where(m.Schedule.date == day)
    schedules = list(s.execute(stmt).scalars())
    counts: dict[str, int] = {}
    if schedules:
        ids = [x.id for x in schedules]
        free = and_(_slot_free(ctx.now), m.Slot.end > ctx.now)
        for sid, n in s.execute(
            select(m.Slot.schedule_id, func.count())
            .where(m.Slot.schedule_id.in_(ids), free)
            .group_by(m.Slot.schedule_id)
        ):
            counts[sid] = n
    out = []
    for sc in schedules:
        available = counts.get(sc.id, 0)
        out.append(
            {
                "id": sc.id,
                "department_id": sc.department_id,
                "doctor_id": sc.doctor_id,
                "date": sc.date.isoformat(),
                "period": sc.period,
                "state": _shown_state(sc, ctx, available),
                "substitute_doctor_id": sc.substitute_doctor_id,
                "fee_fen": ctx.rules.fee_for(title_of(s, effective_doctor_id(sc))),
                "available": available,
            }
        )
    return 200, {"schedules": out}


def _shown_state(sc: m.Schedule, ctx: Ctx, available: int) -> str:
    if sc.state in _CLOSED_STATES:
        return sc.state
    if booking_window_refusal(ctx, sc.date, sc.period, None) is not None:
        return "closed"  # 截止: outside the booking window right now
    if available == 0:
        return "full"
    return sc.state


def list_slots(s: Session, ctx: Ctx, schedule_id: str) -> Answer:
    sched = get_or_404(s, m.Schedule, schedule_id)
    assert isinstance(sched, m.Schedule)
    bookable = sched.state not in _CLOSED_STATES
    slots = s.execute(
        select(m.Slot).where(m.Slot.schedule_id == schedule_id).order_by(m.Slot.start)
    ).scalars()
    out = []
    for sl in slots:
        free = bookable and slot_free(sl, ctx.now) and sl.end > ctx.now
        view = views.slot(sl, ctx, free)
        if sl.reserved_followup:
            view["reserved"] = "followup"
        out.append(view)
    return 200, {"slots": out}


# --- the per-patient rules ----------------------------------------------------------------------
@dataclass(frozen=True)
class Booked:
    """An appointment or live hold of the patient, as the limits see it."""

    date: dt.date
    department_id: str
    first_visit_expert: bool


def ban_end(ctx: Ctx, no_shows: list[dt.date]) -> dt.date | None:
    """The end of a no-show ban: `no_show_limit` no-shows within `no_show_window_days` bar bookings."""
    rules = ctx.rules
    dates = sorted(no_shows)
    until: dt.date | None = None
    k = rules.no_show_limit
    for i in range(k - 1, len(dates)):
        if (dates[i] - dates[i - k + 1]).days < rules.no_show_window_days:
            end = dates[i] + dt.timedelta(days=rules.no_show_ban_days)
            until = end if until is None or end > until else until
    return until if until is not None and until > ctx.today else None


def no_show_since(ctx: Ctx) -> dt.date:
    """The earliest no-show that can still count toward a ban today."""
    return ctx.today - dt.timedelta(days=ctx.rules.no_show_window_days + ctx.rules.no_show_ban_days)


def banned_until(s: Session, ctx: Ctx, patient_id: str) -> dt.date | None:
    """The patient's no-show ban end (see ban_end), or None."""
    since = no_show_since(ctx)
    rows = s.execute(
        select(m.Appointment).where(
            m.Appointment.patient_id == patient_id,
            m.Appointment.date >= since,
            m.Appointment.status.in_(("booked", "no_show")),
        )
    ).scalars()
    return ban_end(ctx, [a.date for a in rows if effective_status(a, ctx) == "no_show"])


def limits_span(ctx: Ctx, day: dt.date) -> tuple[dt.date, dt.date]:
    """The dates around `day` whose bookings can count toward a limit on `day`."""
    span = max(ctx.rules.bookings_window_days, ctx.rules.first_visit_expert_window_days)
    return day - dt.timedelta(days=span), day + dt.timedelta(days=span)


def _max_in_window(bookings: list[Booked], day: dt.date, width: int) -> int:
    """The most bookings in any `width`-day window that contains `day` (the new one not counted)."""
    best = 0
    for k in range(width):
        start = day - dt.timedelta(days=width - 1 - k)
        end = start + dt.timedelta(days=width)
        best = max(best, sum(1 for b in bookings if start <= b.date < end))
    return best


def check_rules(
    ctx: Ctx,
    banned: dt.date | None,
    existing: list[Booked],
    department_id: str,
    day: dt.date,
    fv_expert: bool,
) -> None:
    """Raise the first rule the patient's new booking would break, given their ban and bookings."""
    rules = ctx.rules
    if banned is not None:
        raise ApiError("NO_SHOW_BANNED", {"banned_until": banned.isoformat()})
    same_day = [b for b in existing if b.date == day]
    if sum(1 for b in same_day if b.department_id == department_id) >= rules.max_per_department_per_day:
        raise ApiError(
            "SAME_DEPARTMENT_DOCTOR_LIMIT", {"date": day.isoformat(), "department_id": department_id}
        )
    if len({b.department_id for b in same_day} | {department_id}) > rules.max_departments_per_day:
        raise ApiError(
            "DAILY_DEPARTMENT_LIMIT", {"date": day.isoformat(), "limit": rules.max_departments_per_day}
        )
    if _max_in_window(existing, day, rules.bookings_window_days) >= rules.max_bookings_per_window:
        raise ApiError(
            "WEEKLY_LIMIT", {"limit": rules.max_bookings_per_window, "days": rules.bookings_window_days}
        )
    if fv_expert:
        experts = [b for b in existing if b.first_visit_expert]
        if _max_in_window(experts, day, rules.first_visit_expert_window_days) >= rules.max_first_visit_expert:
            raise ApiError("FIRST_VISIT_EXPERT_LIMIT", {"limit": rules.max_first_visit_expert})


def schedule_open(state: str, schedule_id: str) -> None:
    if state in _CLOSED_STATES:
        raise ApiError("SCHEDULE_CLOSED", {"state": state, "schedule_id": schedule_id})


# --- holds and bookings (the hot path is holds.py) ----------------------------------------------
def release_hold(s: Session, ctx: Ctx, hold_id: str) -> Answer:
    hold = get_or_404(s, m.Hold, hold_id, lock=True)
    assert isinstance(hold, m.Hold)
    status = hold.status
    if status == "live":
        if hold.expires_at <= ctx.now:
            status = "expired"
        else:
            s.execute(
                update(m.Slot)
                .where(m.Slot.id == hold.slot_id, m.Slot.hold_id == hold.id)
                .values(hold_id=None, held_until=None)
            )
            status = "released"
        hold.status = "released"
    return 200, {"hold_id": hold.id, "status": status}


def random_booking_code() -> str:
    return f"{_code_rng.randrange(10**7, 10**8)}"


def list_appointments(s: Session, ctx: Ctx, patient_id: str, day: dt.date | None) -> Answer:
    stmt = select(m.Appointment).where(m.Appointment.patient_id == patient_id).order_by(m.Appointment.start)
    if day is not None:
        stmt = stmt.where(m.Appointment.date == day)
    rows = list(s.execute(stmt).scalars())
    return 200, {"appointments": [views.appointment(s, a, ctx, effective_status(a, ctx)) for a in rows]}


def _quiet_release(ctx: Ctx) -> dt.datetime | None:
    """When a slot cancelled now returns to the pool: at once, or at the end of the quiet hours."""
    start, end, t = ctx.rules.quiet_start, ctx.rules.quiet_end, ctx.now.time()
    if t >= start:
        return dt.datetime.combine(ctx.today + dt.timedelta(days=1), end)
    if t < end:
        return dt.datetime.combine(ctx.today, end)
    return None


def cancel(s: Session, ctx: Ctx, appointment_id: str) -> Answer:
    appt = get_or_404(s, m.Appointment, appointment_id)
    assert isinstance(appt, m.Appointment)
    get_or_404(s, m.Patient, appt.patient_id, lock=True)
    s.refresh(appt)
    status = effective_status(appt, ctx)
    if status == "cancelled":
        return 200, {"appointment": views.appointment(s, appt, ctx, status), "refund_fen": appt.paid_fen}
    if status != "booked":
        raise ApiError("NOT_CANCELLABLE", {"status": status})
    deadline = dt.datetime.combine(appt.date - dt.timedelta(days=1), ctx.rules.cancel_deadline)
    # A booking that was to be paid at once and never was is given back at any time (the kiosk's
    # patient left the payment): no money moved, the slot returns to the pool.
    unpaid_pay_now = appt.pay_now and appt.paid_fen == 0
    if ctx.now >= deadline and not unpaid_pay_now:
        raise ApiError("CANCEL_DEADLINE_PASSED", {"deadline": ctx.iso(deadline)})
    appt.status = "cancelled"
    appt.cancelled_at = ctx.now
    if appt.slot_id is not None:
        s.execute(
            update(m.Slot)
            .where(m.Slot.id == appt.slot_id, m.Slot.appointment_id == appt.id)
            .values(appointment_id=None, available_from=_quiet_release(ctx))
        )
    return 200, {"appointment": views.appointment(s, appt, ctx, "cancelled"), "refund_fen": appt.paid_fen}


# --- the queue (collection, 取号, is collection.py) --------------------------------------------
def current_fee(s: Session, ctx: Ctx, appt: m.Appointment) -> int:
    """The fee by the doctor's title now: a title changed after booking changes the fee at collection."""
    return ctx.rules.fee_for(title_of(s, appt.doctor_id))


def _ticket(s: Session, ctx: Ctx, appt: m.Appointment) -> dict[str, Any]:
    dep = s.get(m.Department, appt.department_id)
    assert dep is not None
    ahead = s.execute(
        select(func.count()).where(
            m.Appointment.department_id == appt.department_id,
            m.Appointment.date == appt.date,
            m.Appointment.status == "checked_in",
            m.Appointment.queue_seq < (appt.queue_seq or 0),
        )
    ).scalar_one()
    return {
        "ticket": {
            "queue_number": appt.queue_number,
            "department": dep.name,
            "department_en": dep.name_en,
            "department_id": dep.id,
            "room": dep.room,
            "floor": dep.floor,
            "ahead": ahead,
            "estimated_wait_min": ahead * ctx.rules.minutes_per_patient,
            "appointment_id": appt.id,
        }
    }


def checkin(s: Session, ctx: Ctx, appointment_id: str) -> Answer:
    appt = get_or_404(s, m.Appointment, appointment_id)
    assert isinstance(appt, m.Appointment)
    get_or_404(s, m.Patient, appt.patient_id, lock=True)
    s.refresh(appt)
    if appt.status == "checked_in":
        return 200, _ticket(s, ctx, appt)
    if appt.status != "collected":
        raise ApiError("NOT_COLLECTED", {"status": effective_status(appt, ctx)})
    appt.status = "checked_in"
    appt.checked_in_at = ctx.now
    s.flush()
    return 200, _ticket(s, ctx, appt)


def queue(s: Session, ctx: Ctx, department_id: str) -> Answer:
    dep = get_or_404(s, m.Department, department_id)
    assert isinstance(dep, m.Department)
    waiting = list(
        s.execute(
            select(m.Appointment.queue_number)
            .where(
                m.Appointment.department_id == department_id,
                m.Appointment.date == ctx.today,
                m.Appointment.status == "checked_in",
            )
            .order_by(m.Appointment.queue_seq)
        ).scalars()
    )
    return 200, {
        "department_id": dep.id,
        "department": dep.name,
        "now_serving": waiting[0] if waiting else None,
        "waiting": max(0, len(waiting) - 1),
        "estimated_wait_min": max(0, len(waiting) - 1) * ctx.rules.minutes_per_patient,
    }

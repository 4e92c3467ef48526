"""取号 (collecting a booked appointment) on the hot path: a flow (fastsql.py) of two steps, where the
ORM took eight round trips.

The appointment's patient is locked first (as every change to a patient's bookings does); in the same
step the appointment is read with its department and doctor — after the lock, so it is current — and
the department's per-day queue counter is bumped if the appointment is still to be collected (a refusal
rolls the bump back; the day's first 取号 creates the row, context.counter). The second step changes
the appointment by one UPDATE, with the COMMIT.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from simulators.his import booking, views
from simulators.his import models as m
from simulators.his.context import Ctx, counter
from simulators.his.errors import ApiError
from simulators.his.fastsql import Flow, Prepared, step
from simulators.his.holds import PLACE_COLUMNS
from simulators.his.rules import Title

Answer = tuple[int, dict[str, Any]]
_patients, _appts = m.Patient.__table__, m.Appointment.__table__
_deps, _docs = m.Department.__table__, m.Doctor.__table__

_OWNER_LOCKED = Prepared(
    select(_patients.c.id)
    .where(
        _patients.c.id
        == select(_appts.c.patient_id).where(_appts.c.id == bindparam("appointment_id")).scalar_subquery()
    )
    .with_for_update()
)
_APPOINTMENT_COLUMNS = (
    "id", "booking_code", "patient_id", "slot_id", "schedule_id", "department_id", "doctor_id", "date",
    "period", "start", "end", "fee_fen", "paid_fen", "status", "queue_number",
)  # fmt: skip
_APPOINTMENT = Prepared(
    select(
        *(_appts.c[name] for name in _APPOINTMENT_COLUMNS),
        *PLACE_COLUMNS,
        _deps.c.queue_prefix,
        _docs.c.title.label("doctor_title"),
    )
    .join(_deps, _deps.c.id == _appts.c.department_id)
    .outerjoin(_docs, _docs.c.id == _appts.c.doctor_id)
    .where(_appts.c.id == bindparam("appointment_id"))
)
_counters = m.QueueCounter.__table__


def _of_booked(column: Any) -> Any:
    """The appointment's `column`, while the appointment is still to be collected (status booked)."""
    return (
        select(column)
        .where(_appts.c.id == bindparam("appointment_id"), _appts.c.status == "booked")
        .scalar_subquery()
    )


# The department's queue number for the day taken with the first reads (one round trip fewer): it
# counts only for an appointment still to be collected, and a refusal's rollback gives it back.
_QUEUE_NEXT = Prepared(
    update(_counters)
    .where(
        _counters.c.department_id == _of_booked(_appts.c.department_id),
        _counters.c.date == _of_booked(_appts.c.date),
    )
    .values(last=_counters.c.last + 1)
    .returning(_counters.c.last)
)
_COLLECTED = Prepared(
    update(_appts)
    .where(_appts.c.id == bindparam("appointment_id"))
    .values(
        status="collected",
        queue_seq=bindparam("queue_seq"),
        queue_number=bindparam("queue_number"),
        collected_at=bindparam("collected_at"),
        fee_fen=bindparam("fee_fen"),
    )
)


def _answer(ctx: Ctx, a: Any, row: dict[str, Any]) -> dict[str, Any]:
    """The 取号 answer: the appointment as it is now (`row`), where to go and the fee still due."""
    department, doctor = views.department_and_doctor(a)
    return {
        "appointment": views.appointment_fields(row, ctx, row["status"], department, doctor),
        "queue_number": row["queue_number"],
        "room": a.department_room,
        "floor": a.department_floor,
        "fee_due_fen": max(0, row["fee_fen"] - row["paid_fen"]),
    }


def collect_appointment(ctx: Ctx, appointment_id: str, patient_id: str) -> Flow[Answer]:
    owner, found, queued = yield step(
        _OWNER_LOCKED(appointment_id=appointment_id),
        _APPOINTMENT(appointment_id=appointment_id),
        _QUEUE_NEXT(appointment_id=appointment_id),
    )
    if owner.first() is None:
        raise ApiError("NOT_FOUND", {"resource": "appointments", "id": appointment_id})
    a = found.one()
    row = a._asdict()
    if patient_id != a.patient_id:
        raise ApiError("IDENTITY_MISMATCH", {"appointment_id": appointment_id})
    if a.status in ("collected", "checked_in"):
        return 200, _answer(ctx, a, row)  # collected before: the same slip again
    if a.status == "cancelled":
        raise ApiError("NOT_CANCELLABLE", {"status": "cancelled"}, message="该预约已取消")
    begin, end = ctx.rules.collection_times(a.date, a.period, a.start)
    if not begin <= ctx.now < end:
        raise ApiError(
            "OUTSIDE_COLLECTION_WINDOW",
            {
                "window_start": ctx.iso(begin),
                "window_end": ctx.iso(end),
                "status": booking.effective_status(a, ctx),
            },
        )
    bumped = queued.first()
    # No counter row yet: the department's first 取号 of the day creates it.
    seq = bumped.last if bumped is not None else (yield from counter(a.department_id, a.date))
    # The fee by the doctor's title now: a title changed after booking changes the fee at collection.
    title = Title(a.doctor_title) if a.doctor_title is not None else None
    row.update(
        status="collected", queue_seq=seq, queue_number=f"{a.queue_prefix}{seq:03d}",
        collected_at=ctx.now, fee_fen=ctx.rules.fee_for(title),
    )  # fmt: skip
    yield step(_COLLECTED(appointment_id=appointment_id, **row), last=True)
    return 200, _answer(ctx, a, row)

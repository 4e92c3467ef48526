"""Test-mode views (--test-mode only): the seeded data as it is now, for tests and the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.booking import banned_until, effective_status
from simulators.his.context import Ctx
from simulators.his.errors import ApiError
from simulators.his.qrorders import payment_code


def fixtures(s: Session, ctx: Ctx) -> dict[str, Any]:
    appointments = list(s.execute(select(m.Appointment).order_by(m.Appointment.id)).scalars())
    bills = list(s.execute(select(m.Bill).order_by(m.Bill.id)).scalars())
    today_active: dict[str, int] = {}
    no_show_patients: set[str] = set()
    appt_out = []
    for a in appointments:
        status = effective_status(a, ctx)
        if a.date == ctx.today and status in m.ACTIVE_STATUSES:
            today_active[a.patient_id] = today_active.get(a.patient_id, 0) + 1
        if status == "no_show":
            no_show_patients.add(a.patient_id)
        appt_out.append(
            {
                "id": a.id,
                "patient_id": a.patient_id,
                "date": a.date.isoformat(),
                "period": a.period,
                "start": ctx.iso(a.start),
                "booking_code": a.booking_code,
                "status": status,
                "department_id": a.department_id,
                "doctor_id": a.doctor_id,
                "fee_fen": a.fee_fen,
                "paid_fen": a.paid_fen,
                "queue_number": a.queue_number,
            }
        )
    unpaid = {b.patient_id for b in bills if b.status == "unpaid"}
    with_any_appt = {a.patient_id for a in appointments}
    patients_out = []
    for p in s.execute(select(m.Patient).order_by(m.Patient.id)).scalars():
        tags = []
        if p.id not in with_any_appt and p.id not in unpaid:
            tags.append("clean")
        if today_active.get(p.id):
            tags.append("appointments_today")
        if p.id in unpaid:
            tags.append("unpaid_bills")
        if p.id in no_show_patients and banned_until(s, ctx, p.id) is not None:
            tags.append("banned")
        if p.insurance_card is None:
            tags.append("no_insurance")
        elif p.insurance_valid_to is not None and p.insurance_valid_to < ctx.today:
            tags.append("insurance_expired")
        if p.id_valid_to is not None and p.id_valid_to < ctx.today:
            tags.append("id_card_expired")
        if p.first_visit:
            tags.append("first_visit")
        patients_out.append(
            {
                "id": p.id,
                "name": p.name,
                "id_number": p.id_number,
                "insurance_card": p.insurance_card,
                "qr": p.qr,
                "visit_card": p.visit_card,
                "sex": p.sex,
                "birth_date": p.birth_date.isoformat(),
                "ethnicity": p.ethnicity,
                "address": p.address,
                "id_valid_to": p.id_valid_to.isoformat() if p.id_valid_to else None,
                "insurance_valid_to": p.insurance_valid_to.isoformat() if p.insurance_valid_to else None,
                "account_balance_fen": p.account_balance_fen,
                "first_visit": p.first_visit,
                "payment_code": payment_code(p.id),
                "tags": tags,
            }
        )
    return {
        "today": ctx.today.isoformat(),
        "now": ctx.iso(ctx.now),
        "patients": patients_out,
        "appointments": appt_out,
        "bills": [
            {
                "id": b.id,
                "patient_id": b.patient_id,
                "amount_fen": b.amount_fen,
                "kind": b.kind,
                "status": b.status,
                "order_no": b.order_no,
            }
            for b in bills
        ],
        "presettlements": [
            {"id": ps.id, "patient_id": ps.patient_id, "kiosk_id": ps.kiosk_id, "status": ps.status,
             "self_pay_fen": ps.self_pay_fen}
            for ps in s.execute(select(m.Presettlement).order_by(m.Presettlement.id)).scalars()
        ],
    }


def set_schedule_state(s: Session, schedule_id: str, state: str) -> tuple[int, dict[str, Any]]:
    """A session's state as the hospital's scheduling desk sets it; the answer keeps the previous one,
    so a test can put it back."""
    schedule = s.get(m.Schedule, schedule_id)
    if schedule is None:
        raise ApiError("NOT_FOUND", {"resource": "schedules", "id": schedule_id})
    previous, schedule.state = schedule.state, state
    return 200, {"id": schedule.id, "state": state, "previous": previous}

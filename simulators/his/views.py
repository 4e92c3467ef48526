"""Rows to the JSON the contract fixes (HIS-API.md): one function per resource."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.context import Ctx
from simulators.his.residentid import masked
from simulators.his.rules import Title


def patient(p: m.Patient, ctx: Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "sex": p.sex,
        "birth_date": p.birth_date.isoformat(),
        "id_number_masked": masked(p.id_number),
        "visit_card": p.visit_card,
        "first_visit": p.first_visit,
    }
    if p.insurance_card:
        out["insurance_card"] = p.insurance_card
        out["insurance_card_expired"] = p.insurance_valid_to is not None and p.insurance_valid_to < ctx.today
    return out


def department(d: m.Department) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "name_en": d.name_en,
        "floor": d.floor,
        "room": d.room,
        "parent": d.parent,
    }


def doctor(d: m.Doctor) -> dict[str, Any]:
    return doctor_fields(d.id, d.name, Title(d.title), d.specialty, d.department_id)


def doctor_fields(
    doctor_id: str, name: str, title: Title, specialty: str, department_id: str
) -> dict[str, Any]:
    return {
        "id": doctor_id,
        "name": name,
        "title": title.value,
        "title_en": title.english,
        "specialty": specialty,
        "department_id": department_id,
    }


def department_and_doctor(row: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The views of an appointment's department and doctor from one joined row: department_id,
    doctor_id, doctor_title and the columns of holds.PLACE_COLUMNS (the doctor None when there is none)."""
    department = {
        "id": row.department_id,
        "name": row.department_name,
        "name_en": row.department_name_en,
        "floor": row.department_floor,
        "room": row.department_room,
        "parent": row.department_parent,
    }
    if row.doctor_id is None or row.doctor_title is None:
        return department, None
    doctor = doctor_fields(
        row.doctor_id,
        row.doctor_name,
        Title(row.doctor_title),
        row.doctor_specialty,
        row.doctor_department_id,
    )
    return department, doctor


def slot(sl: m.Slot, ctx: Ctx, available: bool) -> dict[str, Any]:
    return {"id": sl.id, "start": ctx.iso(sl.start), "end": ctx.iso(sl.end), "available": available}


def appointment(s: Session, a: m.Appointment, ctx: Ctx, status: str) -> dict[str, Any]:
    dep = s.get(m.Department, a.department_id)
    doc = s.get(m.Doctor, a.doctor_id) if a.doctor_id else None
    fields = {
        "id": a.id,
        "booking_code": a.booking_code,
        "patient_id": a.patient_id,
        "date": a.date,
        "period": a.period,
        "start": a.start,
        "end": a.end,
        "slot_id": a.slot_id,
        "schedule_id": a.schedule_id,
        "department_id": a.department_id,
        "doctor_id": a.doctor_id,
        "fee_fen": a.fee_fen,
        "paid_fen": a.paid_fen,
        "queue_number": a.queue_number,
    }
    return appointment_fields(
        fields, ctx, status, department(dep) if dep else None, doctor(doc) if doc else None
    )


def appointment_fields(
    a: dict[str, Any], ctx: Ctx, status: str, dep: dict[str, Any] | None, doc: dict[str, Any] | None
) -> dict[str, Any]:
    """An appointment from its column values and the views of its department and doctor."""
    start, end = ctx.iso(a["start"]), ctx.iso(a["end"])
    collect_from, collect_until = ctx.rules.collection_times(a["date"], a["period"], a["start"])
    return {
        "id": a["id"],
        "booking_code": a["booking_code"],
        "patient_id": a["patient_id"],
        "date": a["date"].isoformat(),
        "period": a["period"],
        "start": start,
        "end": end,
        "slot": {"id": a["slot_id"], "start": start, "end": end, "period": a["period"]},
        "schedule_id": a["schedule_id"],
        "department_id": a["department_id"],
        "department": dep,
        "doctor_id": a["doctor_id"],
        "doctor": doc,
        "fee_fen": a["fee_fen"],
        "paid_fen": a["paid_fen"],
        "status": status,
        "queue_number": a["queue_number"],
        "collect_from": ctx.iso(collect_from),
        "collect_until": ctx.iso(collect_until),
        "collectable": status == "booked" and collect_from <= ctx.now < collect_until,
    }


def bill(b: m.Bill, items: list[m.BillItem]) -> dict[str, Any]:
    return {
        "id": b.id,
        "order_no": b.order_no,
        "kind": b.kind,
        "items": [
            {
                "name": i.name,
                "quantity": i.quantity,
                "unit_price_fen": i.unit_price_fen,
                "amount_fen": i.amount_fen,
                "category": i.category,
            }
            for i in items
        ],
        "amount_fen": b.amount_fen,
        "next_step": b.next_step,
        "status": b.status,
    }


def presettlement(p: m.Presettlement) -> dict[str, Any]:
    return {
        "presettlement_id": p.id,
        "patient_id": p.patient_id,
        "bill_ids": json.loads(p.bill_ids),
        "total_fen": p.total_fen,
        "fund_fen": p.fund_fen,
        "account_fen": p.account_fen,
        "self_pay_fen": p.self_pay_fen,
        "status": p.status,
    }


def payment(p: m.Payment, ctx: Ctx) -> dict[str, Any]:
    return {
        "id": p.id,
        "status": p.status,
        "amount_fen": p.amount_fen,
        "total_fen": p.total_fen,
        "fund_fen": p.fund_fen,
        "account_fen": p.account_fen,
        "paid_at": ctx.iso(p.paid_at),
        "reversed_at": ctx.iso(p.reversed_at),
        "receipt_no": p.receipt_no,
        "method": p.method,
        "terminal_ref": p.terminal_ref,
        "patient_id": p.patient_id,
        "bill_ids": json.loads(p.bill_ids),
        "appointment_id": p.appointment_id,
        "presettlement_id": p.presettlement_id,
        "kiosk_id": p.kiosk_id,
    }

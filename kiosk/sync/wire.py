"""HIS API v1 JSON <-> domain objects. Raises ValueError/KeyError/TypeError on a malformed answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.domain.appointment import Appointment, AppointmentStatus, Collected
from kiosk.domain.idnumber import Sex
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, Patient
from kiosk.domain.payment import (
    Bill,
    BillItem,
    InsuranceSplit,
    PaymentRecord,
    QrOrder,
    QrStatus,
    RefundRecord,
)
from kiosk.domain.schedule import (
    Department,
    Doctor,
    Hold,
    Period,
    QueueStatus,
    QueueTicket,
    Schedule,
    ScheduleState,
    Slot,
)

Json = dict[str, Any]


def _id(value: Any) -> str:
    """Ids are opaque: integers or strings on the wire, always str in the kiosk."""
    if value is None or isinstance(value, (bool, dict, list)):
        raise ValueError(f"not an id: {value!r}")
    return str(value)


def _opt_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _opt_bool(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def money(value: Any) -> Money:
    # Money refuses float and bool itself; a fractional fen on the wire is a broken server.
    if type(value) is not int:
        raise ValueError(f"a *_fen field must be an integer, got {value!r}")
    return Money(value)


def timestamp(value: Any) -> dt.datetime:
    """An ISO 8601 time WITH offset; a naive time is refused (the hospital's zone is not ours to guess)."""
    parsed = dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time without an offset: {value!r}")
    return parsed


def date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value))


def unwrap_list(body: Any, key: str) -> list[Json]:
    """`{"appointments": [...]}` -> the list (HIS-API: a list answers an object with the plural noun)."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise TypeError(f"expected an object with a '{key}' list")
    return body[key]


def unwrap(body: Any, key: str) -> Json:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise TypeError(f"expected an object with a '{key}' object")
    return body[key]


def patient(data: Json) -> Patient:
    return Patient(
        id=_id(data["id"]),
        name=str(data["name"]),
        sex=Sex(data["sex"]),
        birth_date=date(data["birth_date"]),
        id_number_masked=str(data["id_number_masked"]),
        visit_card=str(data.get("visit_card") or ""),
        insurance_card=_opt_str(data.get("insurance_card")),
        first_visit=bool(data.get("first_visit", False)),
    )


def new_patient_body(card: IdCardData) -> Json:
    """The body of POST /patients (实名建档) from an ID card read."""
    return {
        "id_number": card.id_number.value,
        "name": card.name,
        "sex": card.sex.value,
        "birth_date": card.birth_date.isoformat(),
        "ethnicity": card.ethnicity,
        "address": card.address,
        "valid_to": card.valid_to.isoformat() if card.valid_to else None,
    }


def _named(value: Any, id_key: Any) -> tuple[str, str | None, Json]:
    """A nested object {id, name, ...} or a bare name: (name, id, the object or {})."""
    if isinstance(value, dict):
        return str(value.get("name", "")), _opt_id(value.get("id", id_key)), value
    return ("" if value is None else str(value)), _opt_id(id_key), {}


def appointment(data: Json) -> Appointment:
    """An appointment; `slot`, `doctor` and `department` may be nested objects or flat fields."""
    slot = data.get("slot")
    times = slot if isinstance(slot, dict) else data
    start, end = timestamp(times["start"]), timestamp(times["end"])
    department, department_id, department_fields = _named(data.get("department"), data.get("department_id"))
    doctor_name, _, doctor = _named(data.get("doctor"), data.get("doctor_id"))
    title = doctor.get("title", data.get("doctor_title"))
    collect_from, collect_until = data.get("collect_from"), data.get("collect_until")
    period = data.get("period") or (slot.get("period") if isinstance(slot, dict) else None)
    return Appointment(
        id=_id(data["id"]),
        booking_code=str(data.get("booking_code") or ""),
        patient_id=_id(data["patient_id"]),
        date=date(data["date"]) if data.get("date") else start.date(),
        period=str(period or (Period.AM.value if start.hour < 12 else Period.PM.value)),
        start=start,
        end=end,
        department_id=department_id or "",
        department=department,
        doctor=doctor_name or None,
        doctor_title=_opt_str(title),
        fee=money(data["fee_fen"]),
        status=AppointmentStatus(data["status"]),
        department_en=str(department_fields.get("name_en") or data.get("department_en") or ""),
        doctor_title_en=str(doctor.get("title_en") or ""),
        collect_from=timestamp(collect_from) if collect_from else None,
        collect_until=timestamp(collect_until) if collect_until else None,
        window_open=_opt_bool(data.get("collectable")),
        queue_number=_opt_str(data.get("queue_number")),
        floor=str(department_fields.get("floor") or ""),
        room=str(department_fields.get("room") or ""),
        paid=money(data.get("paid_fen", 0)),
    )


def collected(data: Json) -> Collected:
    return Collected(
        appointment=appointment(unwrap(data, "appointment")),
        queue_number=str(data["queue_number"]),
        room=str(data.get("room") or ""),
        floor=str(data.get("floor") or ""),
        fee_due=money(data.get("fee_due_fen", 0)),
    )


def department(data: Json) -> Department:
    return Department(
        id=_id(data["id"]),
        name=str(data["name"]),
        name_en=str(data.get("name_en") or ""),
        floor=str(data.get("floor") or ""),
        room=str(data.get("room") or ""),
        parent=_opt_id(data.get("parent")),
    )


def doctor(data: Json) -> Doctor:
    return Doctor(
        id=_id(data["id"]),
        name=str(data["name"]),
        title=str(data.get("title") or ""),
        title_en=str(data.get("title_en") or ""),
        specialty=str(data.get("specialty") or ""),
        department_id=_id(data["department_id"]),
    )


def schedule(data: Json) -> Schedule:
    available = data.get("available", 0)
    if type(available) is not int:
        raise ValueError(f"a schedule's available is a count, got {available!r}")
    return Schedule(
        id=_id(data["id"]),
        doctor_id=_opt_id(data.get("doctor_id")),
        date=date(data["date"]),
        period=Period(data["period"]),
        state=ScheduleState(data["state"]),
        substitute_doctor_id=_opt_id(data.get("substitute_doctor_id")),
        fee=money(data["fee_fen"]),
        available=available,
    )


def slot(data: Json) -> Slot:
    available = data["available"]
    if not isinstance(available, bool):
        raise TypeError(f"a slot's available is a boolean, got {available!r}")
    return Slot(
        id=_id(data["id"]), start=timestamp(data["start"]), end=timestamp(data["end"]), available=available
    )


def hold(data: Json) -> Hold:
    return Hold(id=_id(data["hold_id"]), expires_at=timestamp(data["expires_at"]))


def queue_ticket(data: Json) -> QueueTicket:
    department_name, _, _ = _named(data.get("department"), None)
    return QueueTicket(
        queue_number=str(data["queue_number"]),
        department=department_name,
        room=str(data.get("room") or ""),
        floor=str(data.get("floor") or ""),
        ahead=int(data.get("ahead", 0)),
        estimated_wait_min=int(data.get("estimated_wait_min", 0)),
    )


def queue_status(department_id: str, data: Json) -> QueueStatus:
    return QueueStatus(
        department_id=department_id,
        now_serving=_opt_str(data.get("now_serving")),
        waiting=int(data.get("waiting", data.get("waiting_count", 0))),
    )


def bill(data: Json) -> Bill:
    items = tuple(
        BillItem(str(i["name"]), int(i["quantity"]), money(i["unit_price_fen"]), money(i["amount_fen"]))
        for i in data["items"]
    )
    return Bill(
        id=_id(data["id"]),
        order_no=str(data.get("order_no") or ""),
        kind=str(data.get("kind") or ""),
        items=items,
        amount=money(data["amount_fen"]),
        next_step=str(data.get("next_step") or ""),
    )


def insurance_split(data: Json) -> InsuranceSplit:
    return InsuranceSplit(
        presettlement_id=_id(data["presettlement_id"]),
        total=money(data["total_fen"]),
        fund=money(data["fund_fen"]),
        account=money(data["account_fen"]),
        self_pay=money(data["self_pay_fen"]),
    )


def payment_record(data: Json) -> PaymentRecord:
    return PaymentRecord(
        id=_id(data["id"]),
        status=str(data["status"]),
        amount=money(data["amount_fen"]),
        paid_at=timestamp(data["paid_at"]),
        receipt_no=str(data.get("receipt_no") or ""),
        method=str(data.get("method") or ""),
        terminal_ref=_opt_str(data.get("terminal_ref")),
        appointment_id=_opt_id(data.get("appointment_id")),
    )


def refund_record(data: Json) -> RefundRecord:
    return RefundRecord(
        id=_id(data["id"]),
        payment_id=_id(data["payment_id"]),
        amount=money(data["amount_fen"]),
        method=str(data.get("method") or ""),
        refunded_at=timestamp(data["refunded_at"]),
        terminal_ref=_opt_str(data.get("terminal_ref")),
    )


def qr_order(data: Json) -> QrOrder:
    paid = data.get("payment")
    return QrOrder(
        id=_id(data["id"]),
        status=QrStatus(data["status"]),
        amount=money(data["amount_fen"]),
        qr_content=_opt_str(data.get("qr_content")),
        expires_at=timestamp(data["expires_at"]) if data.get("expires_at") else None,
        payment=payment_record(paid) if isinstance(paid, dict) else None,
    )

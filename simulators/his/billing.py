"""Bills, insurance pre-settlement (deterministic split) and payments with reversal (冲正)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his import views
from simulators.his.booking import current_fee, effective_status
from simulators.his.context import Ctx, get_or_404, new_id, next_counter
from simulators.his.errors import ApiError
from simulators.his.schemas import BillItemRequest, InsuranceKind, PaymentRequest, PayMethod, PresettleRequest

Answer = tuple[int, dict[str, Any]]


def list_bills(s: Session, ctx: Ctx, patient_id: str) -> Answer:
    bills = list(
        s.execute(
            select(m.Bill)
            .where(m.Bill.patient_id == patient_id, m.Bill.status == "unpaid")
            .order_by(m.Bill.id)
        ).scalars()
    )
    return 200, {"bills": [views.bill(b, _items(s, b.id)) for b in bills]}


def _items(s: Session, bill_id: str) -> list[m.BillItem]:
    return list(
        s.execute(select(m.BillItem).where(m.BillItem.bill_id == bill_id).order_by(m.BillItem.id)).scalars()
    )


def _patient_bills(s: Session, patient_id: str, bill_ids: list[str]) -> list[m.Bill]:
    """The bills, all the patient's (another patient's bill answers 404, like an unknown one)."""
    wanted = sorted(set(bill_ids))
    bills = list(s.execute(select(m.Bill).where(m.Bill.id.in_(wanted)).with_for_update()).scalars())
    found = {b.id for b in bills if b.patient_id == patient_id}
    missing = [b for b in wanted if b not in found]
    if missing:
        raise ApiError("NOT_FOUND", {"resource": "bills", "ids": missing})
    paid = [b.id for b in bills if b.status != "unpaid"]
    if paid:
        raise ApiError("ALREADY_PAID", {"bill_ids": paid})
    return sorted(bills, key=lambda b: b.id)


def split(ctx: Ctx, items: list[m.BillItem], account_balance_fen: int) -> tuple[int, int, int, int]:
    """(total, fund, account, self-pay): the fund pays its share per item category (rounded down to
    the fen), the personal account pays the co-pay up to its balance, the patient the rest."""
    total = sum(i.amount_fen for i in items)
    fund = sum(i.amount_fen * ctx.rules.fund_percent.get(i.category, 0) // 100 for i in items)
    copay = total - fund
    account = min(copay, max(0, account_balance_fen))
    return total, fund, account, copay - account


def add_item(s: Session, ctx: Ctx, bill_id: str, req: BillItemRequest) -> Answer:
    """Test mode: an item added to an unpaid order after the patient saw it (the bill changed)."""
    bill = get_or_404(s, m.Bill, bill_id, lock=True)
    assert isinstance(bill, m.Bill)
    if bill.status != "unpaid":
        raise ApiError("ALREADY_PAID", {"bill_ids": [bill.id]})
    s.add(m.BillItem(bill_id=bill.id, name=req.name, quantity=1, unit_price_fen=req.unit_price_fen,
                     amount_fen=req.unit_price_fen, category="c"))
    bill.amount_fen += req.unit_price_fen
    s.flush()
    return 200, views.bill(bill, _items(s, bill.id))


def presettle(s: Session, ctx: Ctx, req: PresettleRequest) -> Answer:
    patient = get_or_404(s, m.Patient, req.patient_id, lock=True)
    assert isinstance(patient, m.Patient)
    bills = _patient_bills(s, patient.id, req.bill_ids)
    if req.insurance.kind is InsuranceKind.CARD:
        if patient.insurance_card is None or req.insurance.value.strip() != patient.insurance_card:
            raise ApiError("IDENTITY_MISMATCH", {"insurance": "card"})
        if patient.insurance_valid_to is not None and patient.insurance_valid_to < ctx.today:
            raise ApiError("CARD_EXPIRED", {"valid_to": patient.insurance_valid_to.isoformat()})
    elif req.insurance.value.strip() != patient.qr:
        raise ApiError("IDENTITY_MISMATCH", {"insurance": "e_voucher"})
    items = [i for b in bills for i in _items(s, b.id)]
    total, fund, account, self_pay = split(ctx, items, patient.account_balance_fen)
    ps = m.Presettlement(
        id=new_id("PS"),
        patient_id=patient.id,
        kiosk_id=ctx.kiosk_id,
        bill_ids=json.dumps([b.id for b in bills]),
        insurance_kind=req.insurance.kind.value,
        total_fen=total,
        fund_fen=fund,
        account_fen=account,
        self_pay_fen=self_pay,
        status="active",
        created_at=ctx.now,
    )
    s.add(ps)
    s.flush()
    return 201, views.presettlement(ps)


def cancel_presettlement(s: Session, ctx: Ctx, presettlement_id: str) -> Answer:
    ps = get_or_404(s, m.Presettlement, presettlement_id, lock=True)
    assert isinstance(ps, m.Presettlement)
    if ps.status == "used":
        raise ApiError(
            "PRESETTLEMENT_INVALID", {"status": ps.status}, message="该预结算已完成缴费，请办理冲正"
        )
    ps.status = "cancelled"
    return 200, views.presettlement(ps)


def pay(s: Session, ctx: Ctx, req: PaymentRequest) -> Answer:
    if (req.bill_ids is None) == (req.appointment_id is None):
        raise ApiError("VALIDATION", {"reason": "give either bill_ids or appointment_id"})
    patient = get_or_404(s, m.Patient, req.patient_id, lock=True)
    assert isinstance(patient, m.Patient)
    fund = account = 0
    if req.bill_ids is not None:
        bills = _patient_bills(s, patient.id, req.bill_ids)
        total = sum(b.amount_fen for b in bills)
        ps = None
        if req.presettlement_id is not None:
            ps = get_or_404(s, m.Presettlement, req.presettlement_id, lock=True)
            assert isinstance(ps, m.Presettlement)
            if (
                ps.status != "active"
                or ps.patient_id != patient.id
                or json.loads(ps.bill_ids) != [b.id for b in bills]
            ):
                raise ApiError("PRESETTLEMENT_INVALID", {"presettlement_id": ps.id, "status": ps.status})
            expected, fund, account = ps.self_pay_fen, ps.fund_fen, ps.account_fen
        elif req.method is PayMethod.INSURANCE_ONLY:
            raise ApiError("PRESETTLEMENT_INVALID", {"reason": "insurance_only needs a presettlement_id"})
        else:
            expected = total
        if req.amount_fen != expected:
            raise ApiError("AMOUNT_MISMATCH", {"expected_fen": expected, "amount_fen": req.amount_fen})
        if req.method is PayMethod.INSURANCE_ONLY and expected != 0:
            raise ApiError(
                "AMOUNT_MISMATCH", {"expected_fen": expected, "reason": "self-pay part is not zero"}
            )
        bill_ids = [b.id for b in bills]
        appointment_id = None
    else:
        assert req.appointment_id is not None
        appt = get_or_404(s, m.Appointment, req.appointment_id)
        assert isinstance(appt, m.Appointment)
        if appt.patient_id != patient.id:
            raise ApiError("IDENTITY_MISMATCH", {"appointment_id": appt.id})
        status = effective_status(appt, ctx)
        if status in ("cancelled", "no_show"):
            raise ApiError("NOT_CANCELLABLE", {"status": status}, message="该预约已失效，无法缴费")
        if req.presettlement_id is not None:
            raise ApiError(
                "PRESETTLEMENT_INVALID", {"reason": "registration fees are paid without presettlement"}
            )
        fee = current_fee(s, ctx, appt) if status == "booked" else appt.fee_fen
        expected = fee - appt.paid_fen
        if expected <= 0:
            raise ApiError("ALREADY_PAID", {"appointment_id": appt.id})
        if req.amount_fen != expected:
            raise ApiError("AMOUNT_MISMATCH", {"expected_fen": expected, "amount_fen": req.amount_fen})
        total, bills, ps, bill_ids, appointment_id = fee, [], None, [], appt.id
        appt.paid_fen += req.amount_fen
    payment_id = new_id("PAY")
    receipt = f"R{ctx.today:%Y%m%d}{next_counter(s, '_receipt', ctx.today):06d}"
    for b in bills:
        b.status, b.payment_id = "paid", payment_id
    if ps is not None:
        ps.status = "used"
        patient.account_balance_fen -= ps.account_fen
    p = m.Payment(
        id=payment_id,
        patient_id=patient.id,
        kiosk_id=ctx.kiosk_id,
        bill_ids=json.dumps(bill_ids),
        appointment_id=appointment_id,
        presettlement_id=req.presettlement_id,
        amount_fen=req.amount_fen,
        total_fen=total,
        fund_fen=fund,
        account_fen=account,
        method=req.method.value,
        terminal_ref=req.terminal_ref,
        status="paid",
        receipt_no=receipt,
        date=ctx.today,
        paid_at=ctx.now,
    )
    s.add(p)
    s.flush()
    return 201, {"payment": views.payment(p, ctx)}


def reverse(s: Session, ctx: Ctx, payment_id: str) -> Answer:
    p = get_or_404(s, m.Payment, payment_id, lock=True)
    assert isinstance(p, m.Payment)
    if p.status == "reversed":
        return 200, {"payment": views.payment(p, ctx)}
    patient = get_or_404(s, m.Patient, p.patient_id, lock=True)
    assert isinstance(patient, m.Patient)
    for b in s.execute(select(m.Bill).where(m.Bill.payment_id == p.id)).scalars():
        b.status, b.payment_id = "unpaid", None
    if p.presettlement_id is not None:
        ps = s.get(m.Presettlement, p.presettlement_id)
        if ps is not None:
            ps.status = "cancelled"
            patient.account_balance_fen += ps.account_fen
    if p.appointment_id is not None:
        appt = s.get(m.Appointment, p.appointment_id)
        if appt is not None:
            appt.paid_fen = max(0, appt.paid_fen - p.amount_fen)
    p.status = "reversed"
    p.reversed_at = ctx.now
    return 200, {"payment": views.payment(p, ctx)}


def list_payments(
    s: Session, ctx: Ctx, day: dt.date, kiosk_id: str | None, patient_id: str | None = None
) -> Answer:
    """The calling kiosk's payments that day (`kiosk_id=all`: every kiosk's); with `patient_id`, that
    patient's payments that day wherever they were made (查询补打 of the identified patient)."""
    stmt = select(m.Payment).where(m.Payment.date == day).order_by(m.Payment.paid_at, m.Payment.id)
    if patient_id is not None:
        stmt = stmt.where(m.Payment.patient_id == patient_id)
    elif kiosk_id != "all":
        stmt = stmt.where(m.Payment.kiosk_id == (kiosk_id or ctx.kiosk_id))
    return 200, {"payments": [views.payment(p, ctx) for p in s.execute(stmt).scalars()]}

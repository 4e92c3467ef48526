"""Refunds of registration fees after 退号 (an extension of HIS-API.md).

`POST /payments/{id}/refund` records that a paid registration fee goes back to the patient, once: the
HIS is the one ledger every channel (kiosks, the cashier's window) asks, so a second refund of the same
payment under another key is refused with ALREADY_REFUNDED. The money itself goes back by the way it
came: a QR payment through the hospital's payment platform (done here), the insurance parts to the fund
and the personal account (done here), a bank-card payment on the kiosk's terminal (the kiosk voids or
refunds the sale; this only records it). Only the fee of a cancelled appointment is refundable here;
clinic bills are refunded at the cashier's window (NOT_REFUNDABLE).

`GET /appointments/{id}/payments` lists what was paid for an appointment (the kiosk asks before 退号),
`GET /refunds?date=` the refunds of a day for reconciliation (对账).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulators.his import models as m
from simulators.his import views
from simulators.his.booking import effective_status
from simulators.his.context import Ctx, get_or_404, new_id
from simulators.his.errors import ApiError
from simulators.his.schemas import Body, Fen

Answer = tuple[int, dict[str, Any]]
QR_METHODS = frozenset({"wechat", "alipay", "unionpay_qr"})


class Refund(m.Base):
    """One refunded payment (at most one per payment: full refunds only)."""

    __tablename__ = "refunds"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String, unique=True)
    kiosk_id: Mapped[str] = mapped_column(String, index=True)
    patient_id: Mapped[str] = mapped_column(String)
    appointment_id: Mapped[str | None] = mapped_column(String, nullable=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    fund_fen: Mapped[int] = mapped_column(Integer, default=0)
    account_fen: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String)
    terminal_ref: Mapped[str | None] = mapped_column(String, nullable=True)
    """The original sale's REF (a card payment): the kiosk voids or refunds that sale."""
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    refunded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class RefundRequest(Body):
    """The whole self-paid amount of the payment (partial refunds are the cashier's)."""

    amount_fen: Fen


def view(r: Refund, ctx: Ctx) -> dict[str, Any]:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "status": "refunded",
        "amount_fen": r.amount_fen,
        "fund_fen": r.fund_fen,
        "account_fen": r.account_fen,
        "method": r.method,
        "terminal_ref": r.terminal_ref,
        "appointment_id": r.appointment_id,
        "patient_id": r.patient_id,
        "kiosk_id": r.kiosk_id,
        "refunded_at": ctx.iso(r.refunded_at),
    }


def refund(s: Session, ctx: Ctx, payment_id: str, req: RefundRequest) -> Answer:
    p = get_or_404(s, m.Payment, payment_id, lock=True)
    assert isinstance(p, m.Payment)
    done = s.execute(select(Refund).where(Refund.payment_id == p.id)).scalar_one_or_none()
    if done is not None:
        raise ApiError("ALREADY_REFUNDED", {"payment_id": p.id, "refund_id": done.id})
    if p.status != "paid":
        raise ApiError("NOT_REFUNDABLE", {"payment_id": p.id, "status": p.status})
    if p.appointment_id is None:
        raise ApiError("NOT_REFUNDABLE", {"payment_id": p.id, "reason": "clinic bills are refunded at the window"})
    appt = get_or_404(s, m.Appointment, p.appointment_id)
    assert isinstance(appt, m.Appointment)
    status = effective_status(appt, ctx)
    if status != "cancelled":
        raise ApiError("NOT_REFUNDABLE", {"payment_id": p.id, "appointment_status": status})
    if req.amount_fen != p.amount_fen:
        raise ApiError("AMOUNT_MISMATCH", {"expected_fen": p.amount_fen, "amount_fen": req.amount_fen})
    patient = get_or_404(s, m.Patient, p.patient_id, lock=True)
    assert isinstance(patient, m.Patient)
    patient.account_balance_fen += p.account_fen  # the fund's part goes back to the fund with the claim
    appt.paid_fen = max(0, appt.paid_fen - p.amount_fen)
    p.status = "refunded"
    r = Refund(
        id=new_id("RF"), payment_id=p.id, kiosk_id=ctx.kiosk_id, patient_id=p.patient_id,
        appointment_id=p.appointment_id, amount_fen=p.amount_fen, fund_fen=p.fund_fen, account_fen=p.account_fen,
        method=p.method, terminal_ref=p.terminal_ref, date=ctx.today, refunded_at=ctx.now,
    )
    s.add(r)
    s.flush()
    return 201, {"refund": view(r, ctx), "payment": views.payment(p, ctx)}


def appointment_payments(s: Session, ctx: Ctx, appointment_id: str) -> Answer:
    get_or_404(s, m.Appointment, appointment_id)
    stmt = select(m.Payment).where(m.Payment.appointment_id == appointment_id).order_by(m.Payment.paid_at)
    return 200, {"payments": [views.payment(p, ctx) for p in s.execute(stmt).scalars()]}


def list_refunds(s: Session, ctx: Ctx, day: dt.date, kiosk_id: str | None) -> Answer:
    """The calling kiosk's refunds that day (`kiosk_id=all`: every kiosk's)."""
    stmt = select(Refund).where(Refund.date == day).order_by(Refund.refunded_at, Refund.id)
    if kiosk_id != "all":
        stmt = stmt.where(Refund.kiosk_id == (kiosk_id or ctx.kiosk_id))
    return 200, {"refunds": [view(r, ctx) for r in s.execute(stmt).scalars()]}

"""QR payments through the hospital's payment platform (POST /qr-orders), as the reference HIS plays it.

show mode: the order is `pending` with a `qr_content` for the patient's phone until the patient pays
(test mode: POST /_test/qr-orders/{id}/pay), the kiosk cancels it, or it expires.
scan mode: the kiosk read the patient's payment code (付款码, 18 digits): ending 0000 → 409
PAYMENT_DECLINED; ending 9999 → `pending`, paid CONFIRM_S later by the server's clock (the patient
confirming on the phone); any other code → paid at once.
A paid order is an ordinary payment (GET /payments lists it) whose method is the channel and whose
`terminal_ref` is the order id. The payment's rules (amount, already paid, pre-settlement) are those of
POST /payments, checked when the order is made and again when it is paid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from sqlalchemy.orm import Session

from simulators.his import billing, views
from simulators.his import models as m
from simulators.his.context import Ctx, get_or_404, new_id
from simulators.his.errors import ApiError
from simulators.his.schemas import QrMode, QrOrderRequest

Answer = tuple[int, dict[str, Any]]

EXPIRES_S = 300
"""A shown QR is good for five minutes."""
CONFIRM_S = 5
"""A payment code ending 9999 waits this long for the patient's confirmation."""
DECLINED_TAIL, CONFIRM_TAIL = "0000", "9999"


def payment_code(patient_id: str) -> str:
    """The patient's payment code (付款码) in the fixtures: 18 digits, paid at once (never 0000/9999)."""
    digits = int(hashlib.sha256(patient_id.encode()).hexdigest(), 16) % 10**16
    code = f"28{digits:016d}"
    if code.endswith((DECLINED_TAIL, CONFIRM_TAIL)):
        code = code[:-1] + "1"
    return code


def create(s: Session, ctx: Ctx, req: QrOrderRequest) -> Answer:
    order_id = new_id("QR")
    _dry_run(s, ctx, req, order_id)
    order = m.QrOrder(
        id=order_id,
        kiosk_id=ctx.kiosk_id,
        patient_id=req.patient_id,
        request=req.model_dump_json(),
        amount_fen=req.amount_fen,
        channel=req.channel.value,
        mode=req.mode.value,
        status="pending",
        qr_content=f"{req.channel.value}://pay/{order_id}" if req.mode is QrMode.SHOW else None,
        created_at=ctx.now,
        expires_at=ctx.now + dt.timedelta(seconds=EXPIRES_S),
    )
    s.add(order)
    if req.mode is QrMode.SCAN:
        assert req.auth_code is not None
        if req.auth_code.endswith(DECLINED_TAIL):
            raise ApiError("PAYMENT_DECLINED", {"channel": req.channel.value})
        if req.auth_code.endswith(CONFIRM_TAIL):
            order.confirm_at = ctx.now + dt.timedelta(seconds=CONFIRM_S)
        else:
            _pay(s, ctx, order)
    s.flush()
    return 201, {"order": _view(s, ctx, order)}


def get(s: Session, ctx: Ctx, order_id: str) -> Answer:
    order = _order(s, ctx, order_id)
    return 200, {"order": _view(s, ctx, order)}


def cancel(s: Session, ctx: Ctx, order_id: str) -> Answer:
    order = _order(s, ctx, order_id)
    if order.status == "paid":
        raise ApiError("ALREADY_PAID", {"order_id": order.id, "payment_id": order.payment_id})
    if order.status == "pending":
        order.status = "cancelled"
    return 200, {"order": _view(s, ctx, order)}


def patient_pays(s: Session, ctx: Ctx, order_id: str) -> Answer:
    """Test mode: the patient pays a shown QR from the phone (not a kiosk: the order's kiosk is its owner)."""
    found = get_or_404(s, m.QrOrder, order_id)
    assert isinstance(found, m.QrOrder)
    ctx = dataclasses.replace(ctx, kiosk_id=found.kiosk_id)
    order = _order(s, ctx, order_id)
    if order.status == "paid":
        raise ApiError("ALREADY_PAID", {"order_id": order.id})
    if order.status == "expired":
        raise ApiError("ORDER_EXPIRED", {"order_id": order.id})
    if order.status != "pending":
        raise ApiError("PAYMENT_DECLINED", {"order_id": order.id, "status": order.status})
    _pay(s, ctx, order)
    return 200, {"order": _view(s, ctx, order)}


def _order(s: Session, ctx: Ctx, order_id: str) -> m.QrOrder:
    """The order as it is now: a confirmation that came in meanwhile is paid, a lapsed one expired."""
    order = get_or_404(s, m.QrOrder, order_id, lock=True)
    assert isinstance(order, m.QrOrder)
    if order.kiosk_id != ctx.kiosk_id:
        raise ApiError("NOT_FOUND", {"resource": "qr_orders", "id": order_id})
    if order.status == "pending" and order.confirm_at is not None and order.confirm_at <= ctx.now:
        _pay(s, ctx, order)
    elif order.status == "pending" and order.expires_at <= ctx.now:
        order.status = "expired"
    return order


def _request(order: m.QrOrder) -> QrOrderRequest:
    return QrOrderRequest.model_validate_json(order.request)


def _dry_run(s: Session, ctx: Ctx, req: QrOrderRequest, order_id: str) -> None:
    """Would POST /payments accept this payment now? The same rules, its effects rolled back."""
    savepoint = s.begin_nested()
    try:
        billing.pay(s, ctx, req.payment(order_id))
    finally:
        savepoint.rollback()


def _pay(s: Session, ctx: Ctx, order: m.QrOrder) -> None:
    """The platform took the money: record it as a payment. Bills paid meanwhile fail the order."""
    savepoint = s.begin_nested()
    try:
        _, body = billing.pay(s, ctx, _request(order).payment(order.id))
    except ApiError:
        savepoint.rollback()
        order.status = "failed"
        return
    savepoint.commit()
    order.status, order.payment_id, order.confirm_at = "paid", body["payment"]["id"], None


def _view(s: Session, ctx: Ctx, order: m.QrOrder) -> dict[str, Any]:
    payment = s.get(m.Payment, order.payment_id) if order.payment_id else None
    return {
        "id": order.id,
        "status": order.status,
        "amount_fen": order.amount_fen,
        "channel": order.channel,
        "mode": order.mode,
        "qr_content": order.qr_content,
        "expires_at": ctx.iso(order.expires_at),
        "payment": views.payment(payment, ctx) if payment is not None else None,
    }

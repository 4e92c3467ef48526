"""预约挂号 with its fee, end to end through the automation port: confirm → pay_method → the terminal,
the payment code or a QR for the phone (or pay later) → the 缴费凭条 and the 挂号凭条 → result.

Each test checks what the patient sees, the terminal's ledger (GET /payment/ledger), the printer's jobs
(GET /printer/jobs) and the HIS's record of the booking (paid to the fen, or still due).
"""

from __future__ import annotations

import time
from typing import Any

from kiosk.domain.money import Money

WAIT_S = 30.0


def _text(screen: dict[str, Any], element_id: str) -> str:
    return next(e["text"] for e in screen["elements"] if e["id"] == element_id)


def _to_fee(kiosk: Any, patient: dict[str, Any]) -> dict[str, Any]:
    """预约挂号 with the ID card: the first department, doctor, day and time, 确认挂号: on `pay_method`."""
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", patient_id=patient["id"])
    for screen in ("departments", "doctors", "dates", "slots"):
        kiosk.wait(screen)
        kiosk.tap(id="item-0")
    kiosk.wait("confirm")
    kiosk.tap(id="primary")
    return kiosk.wait("pay_method")


def _booking(kiosk: Any, patient: dict[str, Any]) -> dict[str, Any]:
    [booking] = kiosk.his("GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    return dict(booking)


def _new(before: list[Any], after: list[Any]) -> list[Any]:
    return after[len(before):]


def _paid(kiosk: Any, patient: dict[str, Any], jobs: list[Any], method: str) -> dict[str, Any]:
    """On the result: the HIS has the booking paid in full by `method`, and the printer gave the 缴费凭条
    then the 挂号凭条 naming the method. Returns the HIS's payment."""
    result = kiosk.wait("result", WAIT_S)
    booking = _booking(kiosk, patient)
    fee = booking["fee_fen"]
    assert booking["paid_fen"] == fee and booking["status"] == "booked"
    payment = next(p for p in kiosk.his_payments() if str(p["appointment_id"]) == str(booking["id"]))
    assert payment["amount_fen"] == fee and payment["method"] == method and payment["status"] == "paid"
    receipt, slip = _new(jobs, kiosk.jobs())
    assert "缴费凭条" in receipt["text"] and str(Money(fee)) in receipt["text"]
    assert "挂号凭条" in slip["text"] and booking["booking_code"] in slip["text"]
    assert "已缴挂号费" in " ".join(e["text"] for e in result["elements"])
    return payment


def test_book_and_pay_by_card(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    methods = _to_fee(kiosk, patient)
    fee = _booking(kiosk, patient)["fee_fen"]
    assert str(Money(fee)) in _text(methods, "amount") and kiosk.element("pay-later") is not None
    kiosk.tap(id="pay-card")
    payment = _paid(kiosk, patient, jobs, "bank_card")
    [sale] = _new(ledger, kiosk.ledger())
    assert sale["type"] == "sale" and sale["result"] == "approved" and sale["amount_fen"] == fee
    assert payment["terminal_ref"] == sale["ref"]
    assert "支付方式：银行卡" in kiosk.jobs()[-1]["text"]


def test_book_and_pay_by_scanned_code(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    _to_fee(kiosk, patient)
    kiosk.tap(id="pay-scan")
    kiosk.wait("scan_payment")
    deadline = time.monotonic() + WAIT_S
    while kiosk.screen()["screen"] == "scan_payment" and time.monotonic() < deadline:
        kiosk.sim("scanner/scan", value=patient["payment_code"])  # until the waiting scanner reads it
        time.sleep(0.3)
    _paid(kiosk, patient, jobs, "alipay" if patient["payment_code"].startswith("2") else "wechat")
    assert _new(ledger, kiosk.ledger()) == []  # the wallet paid: the card terminal did nothing


def test_book_and_pay_by_shown_qr(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    jobs = kiosk.jobs()
    _to_fee(kiosk, patient)
    kiosk.tap(id="pay-show-qr")
    kiosk.wait("qr_payment")
    deadline = time.monotonic() + WAIT_S
    while not (kiosk.element("qr_order") or {}).get("text") and time.monotonic() < deadline:
        time.sleep(0.1)  # the order is being made
    order_id = _text(kiosk.screen(), "qr_order").split()[-1]
    kiosk.his("POST", f"/_test/qr-orders/{order_id}/pay")
    _paid(kiosk, patient, jobs, "wechat")


def test_book_declined_then_paid_another_way(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    _to_fee(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour="decline")
    kiosk.tap(id="pay-card")
    error = kiosk.wait("error", WAIT_S)
    assert "卡内未扣款" in _text(error, "error_message") and _text(error, "retry") == "换一种方式支付"
    [declined] = _new(ledger, kiosk.ledger())
    assert declined["result"] == "declined"
    assert _booking(kiosk, patient)["paid_fen"] == 0
    kiosk.sim("payment/behaviour", behaviour="approve")
    kiosk.tap(id="retry")
    kiosk.wait("pay_method")
    kiosk.tap(id="pay-card")
    payment = _paid(kiosk, patient, jobs, "bank_card")
    approved = _new(ledger, kiosk.ledger())[-1]
    assert approved["result"] == "approved" and payment["terminal_ref"] == approved["ref"]


def test_book_and_pay_later(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    _to_fee(kiosk, patient)
    assert _text(kiosk.screen(), "pay-later") == "取号时再缴费"
    kiosk.tap(id="pay-later")
    result = kiosk.wait("result", WAIT_S)
    booking = _booking(kiosk, patient)
    assert booking["paid_fen"] == 0 and booking["status"] == "booked"
    assert "取号时缴纳" in " ".join(e["text"] for e in result["elements"])
    assert _new(ledger, kiosk.ledger()) == []
    [slip] = _new(jobs, kiosk.jobs())
    assert "挂号凭条" in slip["text"] and booking["booking_code"] in slip["text"]

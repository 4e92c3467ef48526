"""退号 of a paid booking end to end, through the automation port: the booking is cancelled first, then its
fee goes back the way it came — the card sale voided on the terminal (paid today), a wallet payment
through the HIS's platform — with a 退费凭条; too late to cancel still sends the patient to the window
and moves no money. Checked on the screen, the terminal's ledger, the printer's jobs and the HIS."""

from __future__ import annotations

import time
from typing import Any

from kiosk.domain.money import Money

WAIT_S = 30.0


def _text(screen: dict[str, Any]) -> str:
    return " ".join(e["text"] for e in screen["elements"])


def _book_last_day_and_pay(kiosk: Any, patient: dict[str, Any], method: str) -> dict[str, Any]:
    """预约挂号 of the last day offered (cancellable today), the fee paid by `method`; back home."""
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", patient_id=patient["id"])
    for screen in ("departments", "doctors"):
        kiosk.wait(screen)
        kiosk.tap(id="item-0")
    dates = [e for e in kiosk.wait("dates")["elements"] if e["role"] == "item"]
    kiosk.tap(id=dates[-1]["id"])
    kiosk.wait("slots")
    kiosk.tap(id="item-0")
    kiosk.wait("confirm")
    kiosk.tap(id="primary")
    kiosk.wait("pay_method")
    kiosk.tap(id=method)
    if method == "pay-scan":
        kiosk.wait("scan_payment")
        deadline = time.monotonic() + WAIT_S
        while kiosk.screen()["screen"] == "scan_payment" and time.monotonic() < deadline:
            kiosk.sim("scanner/scan", value=patient["payment_code"])
            time.sleep(0.3)
    kiosk.wait("result", WAIT_S)
    kiosk.finish()
    kiosk.sim("idcard/remove")
    [booking] = kiosk.his("GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    assert booking["paid_fen"] == booking["fee_fen"] > 0
    return dict(booking)


def _cancel(kiosk: Any, patient: dict[str, Any], booking: dict[str, Any]) -> dict[str, Any]:
    """查询补打 → the booking → 退号 → 确认退号: the screen that answers."""
    kiosk.tap(id="task-records")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", patient_id=patient["id"])
    records = kiosk.wait("records")
    item = next(e for e in records["elements"] if e["role"] == "item" and booking["date"] in e["text"]
                and "待取号" in e["text"] and "收据号" not in e["text"])
    kiosk.tap(id=item["id"])
    kiosk.tap(id="cancel-booking")
    confirm = kiosk.wait("confirm")
    assert "原路退回" in _text(confirm)  # the patient is told before confirming
    kiosk.tap(id="primary")
    for _ in range(200):
        shown = kiosk.screen()
        if shown["screen"] in ("result", "error") and not shown["busy"]:
            return shown
        time.sleep(0.1)
    raise AssertionError("退号 did not finish")


def _new(before: list[Any], after: list[Any]) -> list[Any]:
    return after[len(before):]


def test_cancel_a_booking_paid_by_card_voids_the_sale_and_prints_the_refund_slip(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    booking = _book_last_day_and_pay(kiosk, patient, "pay-card")
    sale = next(t for t in reversed(kiosk.ledger()) if t["type"] == "sale")
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    result = _cancel(kiosk, patient, booking)
    assert result["screen"] == "result", _text(result)
    fee = Money(booking["fee_fen"])
    assert f"挂号费 {fee} 已原路退回" in _text(result)

    [void] = _new(ledger, kiosk.ledger())
    assert void["type"] == "void" and void["result"] == "approved" and void["original_ref"] == sale["ref"]
    [slip] = _new(jobs, kiosk.jobs())
    assert "退费凭条" in slip["text"] and str(fee) in slip["text"] and void["ref"] in slip["text"]
    assert patient["name"] not in slip["text"]
    [after] = kiosk.his("GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    assert after["status"] == "cancelled" and after["paid_fen"] == 0
    [payment] = kiosk.his("GET", f"/appointments/{booking['id']}/payments")["payments"]
    assert payment["status"] == "refunded" and payment["terminal_ref"] == sale["ref"]
    [refund] = [r for r in kiosk.his("GET", "/refunds")["refunds"] if r["payment_id"] == payment["id"]]
    assert refund["amount_fen"] == booking["fee_fen"]


def test_cancel_a_booking_paid_by_payment_code_refunds_through_the_his(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    booking = _book_last_day_and_pay(kiosk, patient, "pay-scan")
    ledger = kiosk.ledger()
    result = _cancel(kiosk, patient, booking)
    assert result["screen"] == "result" and "已原路退回" in _text(result)
    assert _new(ledger, kiosk.ledger()) == []  # a wallet payment: the card terminal has nothing to do
    [payment] = kiosk.his("GET", f"/appointments/{booking['id']}/payments")["payments"]
    assert payment["status"] == "refunded"
    assert "退费凭条" in kiosk.jobs()[-1]["text"]


def test_too_late_to_cancel_a_paid_booking_sends_to_the_window_and_moves_no_money(kiosk: Any) -> None:
    patient, booking = kiosk.patient_with_booking()  # today's, prepaid: past the 退号 deadline
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    shown = _cancel(kiosk, patient, booking)
    assert shown["screen"] == "error" and "人工窗口" in _text(shown)
    assert _new(ledger, kiosk.ledger()) == [] and _new(jobs, kiosk.jobs()) == []
    [after] = [a for a in kiosk.his("GET", f"/appointments?patient_id={patient['id']}")["appointments"]
               if a["id"] == booking["id"]]
    assert after["status"] == "booked" and after["paid_fen"] == after["fee_fen"]

"""门诊缴费 and the fee at 取号 end to end, through the automation port: the real window offscreen, the
real drivers on the simulators (the ECR terminal on a pty, the printer on TCP, the scanner, the
insurance card under pcscd), the reference HIS in its own process.

Each test drives what a patient does and checks what the patient sees AND what the devices and the HIS
did, as an auditor would: the terminal's ledger (GET /payment/ledger), the printer's jobs (GET
/printer/jobs) and the HIS's payments (GET /payments) — every amount to the fen.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from kiosk.domain.money import Money

WAIT_S = 30.0


def _text(screen: dict[str, Any], element_id: str) -> str:
    return next(e["text"] for e in screen["elements"] if e["id"] == element_id)


def _yuan(fen: int) -> str:
    return str(Money(fen))


def _open_bills(kiosk: Any, patient: dict[str, Any], by: str = "idcard") -> dict[str, Any]:
    kiosk.tap(id="task-pay")
    kiosk.wait("identify")
    kiosk.sim(f"{by}/insert", patient_id=patient["id"])
    shown = kiosk.wait("bills")
    if by == "insurance":
        kiosk.sim("insurance/remove")  # read already: the card comes back out
    return shown


def _scan_until_read(kiosk: Any, code: str) -> None:
    """Hold the payment code to the scanner until the kiosk has read it (a code scanned before the
    scanner waits is dropped, as a real scanner's would be)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        kiosk.sim("scanner/scan", value=code)
        screen = kiosk.screen()
        if screen["screen"] != "scan_payment" or "付款码" not in _text(screen, "status"):
            return
        time.sleep(0.3)
    raise AssertionError("the payment code was never read")


def _collect_to_the_fee(kiosk: Any, patient: dict[str, Any]) -> dict[str, Any]:
    """预约取号 with the ID card of a patient whose one booking has its fee due: on to the ways to pay."""
    kiosk.collect_with_id_card(patient)
    return kiosk.wait("pay_method")


def _to_methods(kiosk: Any, patient: dict[str, Any]) -> dict[str, Any]:
    """门诊缴费 with the ID card, every bill chosen: on to the ways to pay."""
    _open_bills(kiosk, patient)
    kiosk.tap(id="primary")
    return kiosk.wait("pay_method")


def _new(before: list[Any], after: list[Any]) -> list[Any]:
    """What the terminal or the printer did since `before` (their logs only grow, in order)."""
    return after[len(before):]


def _new_payments(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The HIS's payments recorded since `before` (its list is ordered by time, not by arrival)."""
    seen = {p["id"] for p in before}
    return [p for p in after if p["id"] not in seen]


def test_bills_by_card_all_chosen_by_default_then_some(kiosk: Any) -> None:
    patient, bills = kiosk.patient_with_bills(insured=False)
    ledger, jobs, payments = kiosk.ledger(), kiosk.jobs(), kiosk.his_payments()
    shown = _open_bills(kiosk, patient)
    items = [e for e in shown["elements"] if e["role"] == "item"]
    total = sum(b["amount_fen"] for b in bills)
    assert len(items) == len(bills) and _yuan(total) in _text(shown, "total")
    assert all(b["order_no"] in item["text"] for b, item in zip(bills, items, strict=True))
    kiosk.tap(id="select-all")  # none now
    assert not kiosk.element("primary")["enabled"]
    kiosk.tap(id="item-0")  # only the first order
    chosen = bills[0]["amount_fen"]
    assert _yuan(chosen) in _text(kiosk.screen(), "total")
    kiosk.tap(id="primary")
    method = kiosk.wait("pay_method")
    assert _yuan(chosen) in _text(method, "amount")
    kiosk.tap(id="pay-card")
    result = kiosk.wait("result", WAIT_S)
    assert _yuan(chosen) in _text(result, "paid_amount") and "银行卡" in _text(result, "paid_amount")

    [sale] = _new(ledger, kiosk.ledger())
    assert sale["type"] == "sale" and sale["result"] == "approved" and sale["amount_fen"] == chosen
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["amount_fen"] == chosen and payment["terminal_ref"] == sale["ref"]
    assert payment["method"] == "bank_card" and payment["bill_ids"] == [bills[0]["id"]]
    [receipt] = _new(jobs, kiosk.jobs())
    assert receipt["cut"] and "缴费凭条" in receipt["text"] and sale["ref"] in receipt["text"]
    assert f"合计：{_yuan(chosen)}" in receipt["text"] and bills[0]["order_no"] in receipt["text"]
    assert payment["receipt_no"] in receipt["text"] and payment["receipt_no"] in _text(result, "receipt_no")
    assert patient["name"] not in receipt["text"] and patient["id_number"] not in receipt["text"]
    still_unpaid = {b["id"] for b in kiosk.fixtures()["bills"] if b["status"] == "unpaid"}
    assert bills[0]["id"] not in still_unpaid and {b["id"] for b in bills[1:]} <= still_unpaid


def test_insurance_split_then_payment_code(kiosk: Any) -> None:
    patient, bills = kiosk.patient_with_bills(insured=True)
    ledger, jobs, payments = kiosk.ledger(), kiosk.jobs(), kiosk.his_payments()
    _open_bills(kiosk, patient, by="insurance")
    kiosk.tap(id="primary")
    split = kiosk.wait("split")
    parts = {p: Money.parse_yuan(_text(split, f"split-{p}").lstrip("¥")).fen
             for p in ("total", "fund", "account", "self_pay")}
    assert parts["total"] == sum(b["amount_fen"] for b in bills)
    assert parts["fund"] + parts["account"] + parts["self_pay"] == parts["total"] and parts["self_pay"] > 0
    kiosk.tap(id="primary")
    assert _yuan(parts["self_pay"]) in _text(kiosk.wait("pay_method"), "amount")
    kiosk.tap(id="pay-scan")
    kiosk.wait("scan_payment")
    _scan_until_read(kiosk, patient["payment_code"])
    result = kiosk.wait("result", WAIT_S)
    assert _yuan(parts["self_pay"]) in _text(result, "paid_amount")

    assert _new(ledger, kiosk.ledger()) == []  # the wallet paid: the card terminal did nothing
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["amount_fen"] == parts["self_pay"] and payment["method"] == "alipay"
    assert payment["fund_fen"] == parts["fund"] and payment["account_fen"] == parts["account"]
    [receipt] = _new(jobs, kiosk.jobs())
    for caption, part in (("医保统筹", "fund"), ("个人账户", "account"), ("个人自付", "self_pay")):
        assert f"{caption}：{_yuan(parts[part])}" in receipt["text"]


def test_shown_qr_paid_from_the_phone(kiosk: Any) -> None:
    patient, bills = kiosk.patient_with_bills(insured=False)
    total = sum(b["amount_fen"] for b in bills)
    payments = kiosk.his_payments()
    _to_methods(kiosk, patient)
    kiosk.tap(id="pay-show-qr")
    shown = kiosk.wait("qr_payment")
    deadline = time.monotonic() + WAIT_S
    while not (kiosk.element("qr_order") or {}).get("text") and time.monotonic() < deadline:
        time.sleep(0.1)  # the order is being made
    shown = kiosk.screen()
    assert any(e["id"] == "qr" and e["role"] == "image" for e in shown["elements"])
    assert _yuan(total) in _text(shown, "amount") and "秒后失效" in _text(shown, "status")
    order_id = _text(shown, "qr_order").split()[-1]
    kiosk.his("POST", f"/_test/qr-orders/{order_id}/pay")
    result = kiosk.wait("result", WAIT_S)
    assert _yuan(total) in _text(result, "paid_amount")
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["amount_fen"] == total and payment["method"] == "wechat"


def test_all_covered_by_insurance_needs_no_terminal(kiosk: Any) -> None:
    patient, bills = kiosk.patient_with_bills(insured=True, covered=True)
    ledger, payments = kiosk.ledger(), kiosk.his_payments()
    _open_bills(kiosk, patient, by="insurance")
    kiosk.tap(id="primary")
    split = kiosk.wait("split")
    assert _text(split, "split-self_pay") == "¥0.00" and "无需刷卡" in " ".join(e["text"] for e in split["elements"])
    kiosk.tap(id="primary")
    kiosk.wait("result", WAIT_S)
    assert _new(ledger, kiosk.ledger()) == []
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["amount_fen"] == 0 and payment["method"] == "insurance_only"
    assert payment["fund_fen"] + payment["account_fen"] == sum(b["amount_fen"] for b in bills)


def test_fee_at_collection_paid_by_card(kiosk: Any) -> None:
    patient, booking = kiosk.patient_with_booking(fee_due=True)
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    method = _collect_to_the_fee(kiosk, patient)
    fee = booking["fee_fen"]
    assert _yuan(fee) in _text(method, "amount") and kiosk.element("pay-later") is not None
    kiosk.tap(id="pay-card")
    result = kiosk.wait("result", WAIT_S)
    queue = _text(result, "queue_number")

    [sale] = _new(ledger, kiosk.ledger())
    assert sale["amount_fen"] == fee and sale["result"] == "approved"
    receipt, slip = _new(jobs, kiosk.jobs())
    assert "缴费凭条" in receipt["text"] and sale["ref"] in receipt["text"] and _yuan(fee) in receipt["text"]
    assert queue in slip["text"] and "支付方式：银行卡" in slip["text"] and "收费窗口" not in slip["text"]
    payment = next(p for p in kiosk.his_payments() if p["terminal_ref"] == sale["ref"])
    assert payment["amount_fen"] == fee and str(payment["appointment_id"]) == str(booking["id"])


def test_fee_at_collection_left_for_the_window(kiosk: Any) -> None:
    patient, _booking = kiosk.patient_with_booking(fee_due=True)
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    _collect_to_the_fee(kiosk, patient)
    kiosk.tap(id="pay-later")
    kiosk.wait("result", WAIT_S)
    assert _new(ledger, kiosk.ledger()) == []
    [slip] = _new(jobs, kiosk.jobs())
    assert "请到收费窗口缴费" in slip["text"]


@pytest.mark.parametrize(("behaviour", "words", "result"), [
    ("decline", "卡内未扣款", "declined"),
    ("cancelled", "支付已取消，未扣款", "cancelled"),
])
def test_card_refused_charges_nothing_and_offers_another_way(kiosk: Any, behaviour: str, words: str,
                                                            result: str) -> None:
    patient, bills = kiosk.patient_with_bills(insured=False)
    ledger, payments = kiosk.ledger(), kiosk.his_payments()
    _to_methods(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour=behaviour)
    kiosk.tap(id="pay-card")
    error = kiosk.wait("error", WAIT_S)
    assert words in _text(error, "error_message") and _text(error, "retry") == "换一种方式支付"
    [sale] = _new(ledger, kiosk.ledger())
    assert sale["result"] == result
    assert _new_payments(payments, kiosk.his_payments()) == []
    kiosk.sim("payment/behaviour", behaviour="approve")
    kiosk.tap(id="retry")
    kiosk.wait("pay_method")
    kiosk.tap(id="pay-card")
    kiosk.wait("result", WAIT_S)
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["amount_fen"] == sum(b["amount_fen"] for b in bills)


def test_lost_terminal_answer_is_queried_then_recorded(kiosk: Any) -> None:
    patient, _bills = kiosk.patient_with_bills(insured=False)
    ledger, payments = kiosk.ledger(), kiosk.his_payments()
    _to_methods(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour="approved_but_response_lost")
    kiosk.tap(id="pay-card")
    kiosk.wait("result", WAIT_S)
    [sale] = [t for t in _new(ledger, kiosk.ledger()) if t["type"] == "sale"]
    assert sale["result"] == "approved"
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["terminal_ref"] == sale["ref"] and payment["amount_fen"] == sale["amount_fen"]


def test_printer_out_after_payment_keeps_it_paid_and_reprints(kiosk: Any) -> None:
    patient, _bills = kiosk.patient_with_bills(insured=False)
    jobs, payments = kiosk.jobs(), kiosk.his_payments()
    _to_methods(kiosk, patient)
    kiosk.sim("printer/fault", fault="paper_out")
    kiosk.tap(id="pay-card")
    result = kiosk.wait("result", WAIT_S)
    assert "凭条未能打印" in _text(result, "take_notice")
    [payment] = _new_payments(payments, kiosk.his_payments())
    assert payment["status"] == "paid"
    kiosk.sim("printer/fault", fault="ok")
    kiosk.tap(id="reprint")
    result = kiosk.wait("result", WAIT_S)
    assert kiosk.element("reprint") is None and "请取走凭条" in _text(result, "take_notice")
    [receipt] = _new(jobs, kiosk.jobs())
    assert payment["receipt_no"] in receipt["text"]


def test_bill_changed_meanwhile_relists_and_charges_nothing(kiosk: Any) -> None:
    patient, bills = kiosk.patient_with_bills(insured=False)
    ledger = kiosk.ledger()
    _open_bills(kiosk, patient)
    kiosk.his("POST", f"/_test/bills/{bills[0]['id']}/items", {"name": "复方甘草片", "unit_price_fen": 850})
    kiosk.tap(id="primary")
    error = kiosk.wait("error", WAIT_S)
    assert "账单已变更，未扣款" in _text(error, "error_message") and _text(error, "retry") == "重新查看账单"
    kiosk.tap(id="retry")
    shown = kiosk.wait("bills")
    total = sum(b["amount_fen"] for b in bills) + 850
    assert _yuan(total) in _text(shown, "total") and "复方甘草片" in _text(shown, "item-0")
    assert _new(ledger, kiosk.ledger()) == []


def test_idle_countdown_holds_while_the_terminal_works(kiosk: Any) -> None:
    patient, _bills = kiosk.patient_with_bills(insured=False)
    _to_methods(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour="approve", card_s=1.0, pin_s=2.0, host_s=0.5)
    kiosk.tap(id="pay-card")
    first = kiosk.screen()
    time.sleep(1.5)
    second = kiosk.screen()
    assert first["screen"] == second["screen"] == "card_payment"
    assert second["idle_countdown_s"] == first["idle_countdown_s"]
    assert not kiosk.element("home")["enabled"] and not kiosk.element("back")["enabled"]
    kiosk.wait("result", WAIT_S)
    assert kiosk.element("home")["enabled"]


def test_his_down_after_the_charge_voids_it(kiosk: Any) -> None:
    patient, _bills = kiosk.patient_with_bills(insured=False)
    ledger, _payments = kiosk.ledger(), kiosk.his_payments()
    _to_methods(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour="approve", card_s=0.0, pin_s=1.5, host_s=0.0)
    kiosk.tap(id="pay-card")
    _wait_for_status(kiosk, "密码")
    kiosk.sim("his/faults", down=True)  # the card is being charged; the HIS goes away
    error = kiosk.wait("error", 90)
    assert "扣款已撤销" in _text(error, "error_message")
    kiosk.sim("his/faults")
    sale, void = _new(ledger, kiosk.ledger())[:2]
    assert sale["result"] == void["result"] == "approved" and void["type"] == "void"
    assert void["original_ref"] == sale["ref"]
    assert not any(p["terminal_ref"] == sale["ref"] and p["status"] == "paid" for p in kiosk.his_payments())


def test_charge_neither_recorded_nor_voided_prints_the_manual_slip(kiosk: Any) -> None:
    """The HIS is down after the charge and the terminal refuses the void: the 请到人工窗口处理 slip;
    recovery records the charge (replaying the record with its own key) once the HIS answers."""
    patient, _ = kiosk.patient_with_bills(insured=False)
    ledger, jobs = kiosk.ledger(), kiosk.jobs()
    _to_methods(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour="approve", card_s=0.0, pin_s=1.5, host_s=0.0)
    kiosk.tap(id="pay-card")
    _wait_for_status(kiosk, "密码")
    kiosk.sim("his/faults", down=True)
    kiosk.sim("payment/behaviour", behaviour="decline")  # the sale in progress still goes through
    error = kiosk.wait("error", 90)
    assert "人工窗口" in _text(error, "error_message") and kiosk.element("retry") is None
    sale = _new(ledger, kiosk.ledger())[0]
    assert sale["result"] == "approved"
    [slip] = _new(jobs, kiosk.jobs())
    assert "请到人工窗口处理" in slip["text"] and sale["ref"] in slip["text"]
    assert _yuan(sale["amount_fen"]) in slip["text"] and "K01" in slip["text"]

    kiosk.tap(id="home")
    kiosk.sim("his/faults")
    kiosk.sim("payment/behaviour", behaviour="approve", card_s=0, pin_s=0, host_s=0)
    recorded = _eventually(lambda: [p for p in kiosk.his_payments() if p["terminal_ref"] == sale["ref"]])
    assert [(p["status"], p["amount_fen"]) for p in recorded] == [("paid", sale["amount_fen"])]
    assert not any(t["type"] == "void" and t["result"] == "approved" for t in _new(ledger, kiosk.ledger()))


def test_unsettled_charge_closes_payments_until_the_terminal_answers(kiosk: Any) -> None:
    """The terminal's answer is lost and the terminal goes offline before it can be asked: the patient
    is told the result is being checked; 门诊缴费 closes with its reason (other tasks go on) until
    recovery can ask the terminal, then the charge, never recorded, is voided and payments reopen."""
    patient, _ = kiosk.patient_with_bills(insured=False)
    ledger, payments = kiosk.ledger(), kiosk.his_payments()
    _to_methods(kiosk, patient)
    kiosk.sim("payment/behaviour", behaviour="approved_but_response_lost")
    kiosk.tap(id="pay-card")
    _wait_for_status(kiosk, "取回")
    kiosk.sim("unplug", device="payment")
    try:
        error = kiosk.wait("error", 90)
        assert "系统会自动核实" in _text(error, "error_message") and kiosk.element("retry") is None
        kiosk.tap(id="home")
        home = _wait_tile(kiosk, enabled=False)
        assert "自助缴费暂停" in _text(home, "task-pay-note")
        assert next(e for e in home["elements"] if e["id"] == "task-collect")["enabled"]
    finally:
        kiosk.sim("replug", device="payment")
    kiosk.sim("payment/behaviour", behaviour="approve", card_s=0, pin_s=0, host_s=0)
    _wait_tile(kiosk, enabled=True)
    sale, void = _new(ledger, kiosk.ledger())[:2]
    assert sale["result"] == "approved" and (void["type"], void["result"]) == ("void", "approved")
    assert void["original_ref"] == sale["ref"]
    assert not any(p["terminal_ref"] == sale["ref"] for p in _new_payments(payments, kiosk.his_payments()))


def _eventually(probe: Any, timeout_s: float = 60.0) -> Any:
    """`probe()` once it answers something (recovery settles in the background)."""
    deadline = time.monotonic() + timeout_s
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("recovery did not settle the charge")
        time.sleep(0.5)
    return found


def _wait_for_status(kiosk: Any, words: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = kiosk.element("status")
        if status is not None and words in status["text"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the terminal never asked for '{words}'")


def _wait_tile(kiosk: Any, enabled: bool, timeout_s: float = 120.0) -> dict[str, Any]:
    """The home screen once 门诊缴费 is open (or closed), as recovery's passes decide."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        screen = kiosk.wait("home")
        tile = next(e for e in screen["elements"] if e["id"] == "task-pay")
        if tile["enabled"] == enabled:
            return screen
        time.sleep(1.0)
    raise AssertionError(f"门诊缴费 never became {'open' if enabled else 'closed'}")

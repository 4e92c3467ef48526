"""The payment engine against a fake HIS and a fake terminal: every path, and the money agrees to the fen.

GIVEN a patient with unpaid bills (or a fee due) WHEN they pay by card, QR or insurance, or something
fails on the way THEN the HIS, the terminal and the receipt agree to the fen, every journal entry is
settled or deliberately left open for recovery, and the patient is told in plain words what to do.
"""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import FakeTerminal, create_bill, create_pay_his, create_services

from kiosk.domain.errors import HisRefused, PaperOut
from kiosk.domain.messages import text
from kiosk.domain.money import Money
from kiosk.domain.payment import Insurance, InsuranceKind, PayMethod, QrMode
from kiosk.flows.payment import Charge, EngineTiming, PaymentEngine, PaymentFailed, PaymentView, Phase
from kiosk.sync.journal import EntryState, Journal

FAST = EngineTiming(record_retries=2, retry_pause_s=0.0, query_retries=2, qr_poll_s=0.001, qr_timeout_s=5)


@pytest.fixture
def kiosk(tmp_path):
    his = create_pay_his()
    services = create_services(his)
    terminal = FakeTerminal()
    services = dataclasses.replace(services, payment=terminal, journal=Journal(tmp_path / "j.db"))
    yield services, his, terminal
    services.journal.close()


def _run(services, his, bill_ids=("B1", "B2")):
    patient = his.patients["P1"]
    charge = Charge.for_bills(patient, tuple(his.bills_by_id[b] for b in bill_ids))
    return PaymentEngine(services, FAST).start(charge)


def _open(services) -> list[str]:
    return [e.kind for e in services.journal.open_entries()]


def _receipt_text(paid) -> str:
    return paid.receipt.plain_text()


def test_card_payment_agrees_to_the_fen_everywhere(kiosk) -> None:
    services, his, terminal = kiosk
    views: list[PaymentView] = []
    run = _run(services, his)
    run.check()
    paid = run.pay(PayMethod.BANK_CARD, views.append)

    assert run.charge.amount == Money(12345 + 6789)
    assert terminal.charged_fen() == his.recorded_fen() == paid.record.amount.fen == 19134
    [payment] = his.payments.values()
    assert payment["terminal_ref"] == paid.terminal.ref and payment["method"] == "bank_card"
    receipt = _receipt_text(paid)
    assert "合计：¥191.34" in receipt and "银行卡  ¥191.34" in receipt
    assert "阿莫西林胶囊 x2  ¥46.90" in receipt and paid.terminal.rrn in receipt and paid.record.receipt_no in receipt
    assert "请到一楼西药房取药" in receipt and "请到三楼检验科抽血" in receipt
    assert services.printer.printed == [paid.receipt] and paid.printed
    steps = [v.terminal_step.value for v in views if v.terminal_step]
    assert steps == ["INSERT_CARD", "ENTER_PIN", "PROCESSING", "REMOVE_CARD"]
    assert views[-1].phase is Phase.DONE and text(views[-1].message_key).startswith("缴费成功")
    assert _open(services) == []


def test_insurance_split_then_card_for_the_self_pay_part(kiosk) -> None:
    services, his, terminal = kiosk
    run = _run(services, his)
    split = run.presettle(Insurance(InsuranceKind.CARD, "A12345678"))
    assert split.fund + split.account + split.self_pay == run.charge.amount
    paid = run.pay(PayMethod.BANK_CARD)
    assert terminal.charged_fen() == his.recorded_fen() == split.self_pay.fen == paid.record.amount.fen
    assert his.presettlements[split.presettlement_id]["status"] == "used"
    receipt = _receipt_text(paid)
    assert f"医保统筹：{split.fund}" in receipt and f"个人账户：{split.account}" in receipt
    assert f"个人自付：{split.self_pay}" in receipt and _open(services) == []


def test_all_covered_by_insurance_needs_no_terminal(kiosk) -> None:
    services, his, terminal = kiosk
    his.fund_percent, his.account_fen = 90, 10_000
    run = _run(services, his)
    split = run.presettle(Insurance(InsuranceKind.E_VOUCHER, "QR-P1"))
    assert split.self_pay == Money(0)
    paid = run.pay(PayMethod.BANK_CARD)
    assert paid.method is PayMethod.INSURANCE_ONLY and terminal.log == {}
    assert "医保结算" in _receipt_text(paid) and his.paid_bills == {"B1", "B2"}


@pytest.mark.parametrize(("script", "message"), [("decline", "payment.declined"), ("cancel", "payment.cancelled")])
def test_declined_or_cancelled_at_the_pin_pad_charges_nothing(kiosk, script, message) -> None:
    services, his, terminal = kiosk
    terminal.script = [script]
    run = _run(services, his)
    split = run.presettle(Insurance(InsuranceKind.CARD, "A12345678"))
    views: list[PaymentView] = []
    with pytest.raises(PaymentFailed) as failed:
        run.pay(PayMethod.BANK_CARD, views.append)
    assert failed.value.message_key == message and "未扣款" in text(message)
    assert views[-1].phase is Phase.FAILED and views[-1].message_key == message
    assert terminal.charged_fen() == 0 and his.recorded_fen() == 0
    assert his.presettlements[split.presettlement_id]["status"] == "cancelled"
    assert _open(services) == []
    states = {e.kind: e.state for e in services.journal.entries()}
    assert states["payment"] is EntryState.FAILED and states["payment.sale"] is EntryState.FAILED
    assert states["payment.presettle_cancel"] is EntryState.CONFIRMED


def test_lost_terminal_answer_is_queried_then_the_payment_goes_on(kiosk) -> None:
    services, his, terminal = kiosk
    terminal.script = ["lost"]
    paid = _run(services, his).pay(PayMethod.BANK_CARD)
    assert terminal.charged_fen() == his.recorded_fen() == paid.record.amount.fen == 19134
    [sale] = services.journal.entries("payment.sale")
    assert sale.state is EntryState.CONFIRMED and sale.outcome["queried"] == "yes"


def test_lost_answer_of_a_sale_never_made_is_nothing_charged(kiosk) -> None:
    services, his, terminal = kiosk
    terminal.script = ["lost_uncharged"]
    with pytest.raises(PaymentFailed) as failed:
        _run(services, his).pay(PayMethod.BANK_CARD)
    assert failed.value.message_key == "payment.declined"
    assert terminal.charged_fen() == his.recorded_fen() == 0 and _open(services) == []


def test_unanswerable_sale_stays_open_for_recovery(kiosk) -> None:
    services, his, terminal = kiosk
    terminal.script = ["lost"]
    terminal.query_fails = True
    run = _run(services, his)
    with pytest.raises(PaymentFailed) as failed:
        run.pay(PayMethod.BANK_CARD)
    assert failed.value.message_key == "payment.pending" and "自动" in text("payment.pending")
    assert sorted(_open(services)) == ["payment", "payment.sale"]
    run.abandon()  # the patient walks away: the charge nobody could confirm stays recovery's
    assert sorted(_open(services)) == ["payment", "payment.sale"]


def test_his_down_after_the_charge_voids_it(kiosk) -> None:
    services, his, terminal = kiosk
    his.record_down = True
    with pytest.raises(PaymentFailed) as failed:
        _run(services, his).pay(PayMethod.BANK_CARD)
    assert failed.value.message_key == "payment.not_recorded" and not failed.value.charged
    assert terminal.charged_fen() == 0 and his.recorded_fen() == 0
    assert his.calls.count("record_payment") == 3  # the first try and two replays with the same key
    # the record's outcome is unknown: open (never assumed failed) until recovery asks the HIS again
    assert sorted(_open(services)) == ["payment", "payment.record"]


def test_his_and_void_impossible_prints_a_slip_for_the_staffed_window(kiosk) -> None:
    services, his, terminal = kiosk
    his.record_down = True
    terminal.void_fails = True
    with pytest.raises(PaymentFailed) as failed:
        _run(services, his).pay(PayMethod.BANK_CARD)
    assert failed.value.message_key == "payment.manual" and failed.value.charged
    [slip] = services.printer.printed
    body = slip.plain_text()
    [sale] = services.journal.entries("payment.sale")
    assert "请到人工窗口处理" in body and sale.payload["ref"] in body and "¥191.34" in body
    assert "终端号：K01" in body and "医院系统无响应" in body and "打印时间：2026-11-23 08:15" in body
    assert terminal.charged_fen() == 19134 and "payment" in _open(services)


def test_printer_out_after_payment_keeps_the_payment_and_offers_a_reprint(kiosk) -> None:
    services, his, terminal = kiosk
    services.printer.fail_with = PaperOut("paper out")
    views: list[PaymentView] = []
    run = _run(services, his)
    paid = run.pay(PayMethod.BANK_CARD, views.append)
    assert not paid.printed and his.recorded_fen() == terminal.charged_fen() == 19134
    assert views[-1].phase is Phase.DONE and views[-1].message_key == "payment.done_not_printed"
    services.printer.fail_with = None
    assert run.reprint().printed and services.printer.printed == [paid.receipt]
    assert _open(services) == []


def test_a_changed_bill_is_caught_before_anything_is_charged(kiosk) -> None:
    services, his, terminal = kiosk
    run = _run(services, his)
    his.bills_by_id["B1"] = create_bill("B1", 22345)
    with pytest.raises(HisRefused) as refused:
        run.check()
    assert refused.value.code == "AMOUNT_MISMATCH" and "未扣款" in text("his.AMOUNT_MISMATCH")
    assert terminal.log == {}


def test_a_bill_changed_during_the_card_payment_is_voided(kiosk) -> None:
    services, his, terminal = kiosk
    run = _run(services, his)
    his.bills_by_id["B1"] = create_bill("B1", 22345)
    with pytest.raises(PaymentFailed) as failed:
        run.pay(PayMethod.BANK_CARD)
    assert failed.value.message_key == "payment.bill_changed"
    assert terminal.charged_fen() == his.recorded_fen() == 0 and _open(services) == []


def test_shown_qr_paid_from_the_phone(kiosk) -> None:
    services, his, terminal = kiosk
    views: list[PaymentView] = []

    def on_view(view: PaymentView) -> None:
        views.append(view)
        if view.phase is Phase.QR_SHOWN and len([v for v in views if v.phase is Phase.QR_SHOWN]) == 2:
            his.patient_pays("QR1")

    paid = _run(services, his).pay(PayMethod.WECHAT, on_view)
    shown = next(v for v in views if v.phase is Phase.QR_SHOWN)
    assert shown.qr_content == "weixin://pay/QR1" and shown.seconds_left and shown.seconds_left > 0
    assert paid.qr_order_id == "QR1" and his.recorded_fen() == paid.record.amount.fen == 19134
    assert "微信支付  ¥191.34" in _receipt_text(paid) and terminal.log == {} and _open(services) == []


def test_shown_qr_abandoned_is_cancelled(kiosk) -> None:
    services, his, _ = kiosk
    run = _run(services, his)
    split = run.presettle(Insurance(InsuranceKind.CARD, "A12345678"))

    def on_view(view: PaymentView) -> None:
        if view.phase is Phase.QR_SHOWN:
            run.request_qr_cancel()

    with pytest.raises(PaymentFailed) as failed:
        run.pay(PayMethod.ALIPAY, on_view)
    assert failed.value.message_key == "payment.qr_cancelled"
    assert his.qr_orders["QR1"]["status"] == "cancelled" and his.recorded_fen() == 0
    assert his.presettlements[split.presettlement_id]["status"] == "cancelled" and _open(services) == []


def test_shown_qr_paid_while_it_was_being_cancelled_counts_as_paid(kiosk) -> None:
    services, his, _ = kiosk
    run = _run(services, his)

    def on_view(view: PaymentView) -> None:
        if view.phase is Phase.QR_SHOWN:
            his.patient_pays("QR1")  # the patient pays just as the kiosk gives up
            run.request_qr_cancel()

    paid = run.pay(PayMethod.WECHAT, on_view)
    assert paid.record.amount == Money(19134) and his.calls.count("cancel_qr_order") == 1
    assert _open(services) == []


def test_payment_code_scanned(kiosk) -> None:
    services, his, _ = kiosk
    paid = _run(services, his).pay(PayMethod.ALIPAY, mode=QrMode.SCAN, auth_code="280000000000001234")
    assert his.recorded_fen() == paid.record.amount.fen == 19134 and _open(services) == []


def test_payment_code_declined(kiosk) -> None:
    services, his, _ = kiosk
    with pytest.raises(PaymentFailed) as failed:
        _run(services, his).pay(PayMethod.ALIPAY, mode=QrMode.SCAN, auth_code="280000000000000000")
    assert failed.value.message_key == "his.PAYMENT_DECLINED" and his.recorded_fen() == 0
    assert _open(services) == []


def test_registration_fee_by_card(kiosk) -> None:
    services, his, terminal = kiosk
    appointment = his.appointments[0]
    charge = Charge.for_appointment(his.patients["P1"], appointment.id, appointment.fee, "挂号费 心血管内科")
    paid = PaymentEngine(services, FAST).start(charge).pay(PayMethod.BANK_CARD)
    assert terminal.charged_fen() == his.recorded_fen() == appointment.fee.fen == paid.record.amount.fen
    assert "挂号费 心血管内科  ¥50.00" in _receipt_text(paid)


def test_record_in_progress_then_answered_is_recorded_once(kiosk) -> None:
    """IDEMPOTENCY_IN_PROGRESS is an unknown outcome: the record is replayed with its key, never failed."""
    services, his, terminal = kiosk
    original = his.record_payment
    answers = iter([HisRefused("IDEMPOTENCY_IN_PROGRESS", "处理中", "in progress")])

    def busy_once(body, key):
        for refusal in answers:
            original(body, key)  # the first copy is still running on the HIS
            raise refusal
        return original(body, key)

    his.record_payment = busy_once
    paid = _run(services, his).pay(PayMethod.BANK_CARD)
    assert len(his.payments) == 1 and his.recorded_fen() == terminal.charged_fen() == paid.record.amount.fen
    [record] = services.journal.entries("payment.record")
    assert record.state is EntryState.CONFIRMED and record.outcome["unknown"] == "HisRefused"


def test_each_payment_taken_reaches_the_metrics_by_method_and_fen(kiosk) -> None:
    """GIVEN the kiosk's metrics WHEN a card payment goes through THEN one bank_card payment is counted
    with its amount in fen."""
    from kiosk.sync.metrics import KioskMetrics

    services, his, _terminal = kiosk
    services = dataclasses.replace(services, metrics=KioskMetrics("K01"))
    run = _run(services, his)
    run.check()
    run.pay(PayMethod.BANK_CARD)
    value = services.metrics.registry.get_sample_value
    assert value("kiosk_payments_total", {"kiosk": "K01", "method": "bank_card"}) == 1
    assert value("kiosk_payments_fen_total", {"kiosk": "K01", "method": "bank_card"}) == 19134

"""对账 matching (kiosk.flows.reconcile) and its report: every kind of line, the totals, the report a
cashier reads and the CSV a spreadsheet opens, and when the daily run is due."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from kiosk.config import parse
from kiosk.devices.ports import PaymentResult, Settlement
from kiosk.domain.errors import ConfigError
from kiosk.domain.money import Money
from kiosk.domain.payment import PaymentRecord, RefundRecord
from kiosk.flows.payment_steps import QR, SALE, VOID
from kiosk.flows.reconcile import UNANSWERED, Asked, Status, reconcile, refs_to_ask
from kiosk.flows.reconcile_report import CSV_COLUMNS, csv_text, html
from kiosk.flows.reconcile_run import daily_due, report_paths
from kiosk.flows.refund import CARD_REFUND as REFUND_CARD
from kiosk.flows.refund import VOID as REFUND_VOID
from kiosk.sync.journal import Entry, EntryState

DAY = dt.date(2026, 11, 23)
PAID_AT = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _entry(kind: str, payload: dict, state: EntryState = EntryState.CONFIRMED, outcome: dict | None = None,
           minute: int = 0) -> Entry:
    at = f"2026-11-23T01:{minute:02d}:00.000+00:00"
    return Entry(f"key-{kind}-{payload.get('ref', minute)}", kind, state, payload, outcome or {}, at, at, "o", "g")


def _sale(ref: str, fen: int, minute: int = 0) -> Entry:
    return _entry(SALE, {"ref": ref, "amount_fen": fen}, minute=minute)


def _void(ref: str, orig: str) -> Entry:
    return _entry(VOID, {"ref": ref, "orig_ref": orig})


def _result(ref: str, fen: int, rc: str = "00", command: str = "01") -> PaymentResult:
    return PaymentResult(command, rc, ref, Money(fen), "622202******1234", "123456", "261123000001", "000001",
                         "20261123093000", "交易成功" if rc == "00" else "交易拒绝")


def _payment(pid: str, fen: int, ref: str | None, method: str = "bank_card", status: str = "paid") -> PaymentRecord:
    return PaymentRecord(pid, status, Money(fen), PAID_AT, f"R{pid}", method, ref)


def _one(entries, terminal, payments, settlement=None):
    rec = reconcile(DAY, "K01", entries, terminal, payments, settlement)
    return rec, {line.reference: line for line in rec.lines}


def test_a_charged_and_recorded_sale_matches_and_counts_for_the_card_total() -> None:
    rec, lines = _one([_sale("S1", 1250)], {"S1": Asked(_result("S1", 1250))}, [_payment("P1", 1250, "S1")],
                      Settlement("00", 1, Money(1250), "000001", "结算成功"))
    assert lines["S1"].status is Status.MATCHED
    assert lines["S1"].terminal_amount == lines["S1"].his_amount == Money(1250)
    assert rec.mismatches == [] and rec.terminal_charged == Money(1250) and rec.settlement_agrees is True


def test_a_declined_sale_took_nothing_and_needs_nothing() -> None:
    rec, lines = _one([_sale("S1", 1250)], {"S1": Asked(_result("S1", 1250, rc="05"))}, [])
    assert lines["S1"].status is Status.DECLINED and lines["S1"].detail == "交易拒绝"
    assert rec.mismatches == [] and rec.terminal_charged == Money.zero()


def test_a_sale_never_seen_by_the_terminal_is_declined() -> None:
    _, lines = _one([_sale("S1", 1250)], {"S1": Asked(None)}, [])
    assert lines["S1"].status is Status.DECLINED


def test_a_voided_sale_without_a_record_is_settled() -> None:
    rec, lines = _one([_sale("S1", 1250), _void("V1", "S1")],
                      {"S1": Asked(_result("S1", 1250)), "V1": Asked(_result("V1", 1250, command="02"))}, [])
    assert lines["S1"].status is Status.VOIDED and rec.mismatches == [] and rec.terminal_charged == Money.zero()


def test_charged_but_not_recorded_says_record_or_refund() -> None:
    rec, lines = _one([_sale("S1", 1250)], {"S1": Asked(_result("S1", 1250))}, [])
    line = lines["S1"]
    assert line.status is Status.CHARGED_NOT_RECORDED and rec.mismatches == [line]
    assert "补录" in line.status.action and "退款" in line.status.action
    assert rec.terminal_charged == Money(1250)


def test_recorded_but_not_charged_says_reverse() -> None:
    # The HIS names a REF the journal has no sale for, and the terminal never saw it.
    _, lines = _one([], {"S9": Asked(None)}, [_payment("P9", 800, "S9")])
    assert lines["S9"].status is Status.RECORDED_NOT_CHARGED and "冲正" in lines["S9"].status.action
    assert lines["S9"].his_amount == Money(800) and lines["S9"].terminal_amount is None


def test_a_record_that_outlived_its_voided_sale_is_recorded_not_charged() -> None:
    _, lines = _one([_sale("S1", 1250), _void("V1", "S1")],
                    {"S1": Asked(_result("S1", 1250)), "V1": Asked(_result("V1", 1250, command="02"))},
                    [_payment("P1", 1250, "S1")])
    assert lines["S1"].status is Status.RECORDED_NOT_CHARGED


def test_a_void_that_did_not_go_through_is_its_own_mismatch() -> None:
    rec, lines = _one([_sale("S1", 1250), _void("V1", "S1")],
                      {"S1": Asked(_result("S1", 1250)), "V1": Asked(_result("V1", 1250, rc="05", command="02"))}, [])
    assert lines["S1"].status is Status.VOID_NOT_DONE and "退货" in lines["S1"].status.action
    assert rec.terminal_charged == Money(1250)


def test_amounts_that_differ_are_a_mismatch() -> None:
    _, lines = _one([_sale("S1", 1250)], {"S1": Asked(_result("S1", 1250))}, [_payment("P1", 1200, "S1")])
    assert lines["S1"].status is Status.AMOUNT_MISMATCH


def test_two_records_of_one_sale_are_recorded_twice() -> None:
    _, lines = _one([_sale("S1", 1250)], {"S1": Asked(_result("S1", 1250))},
                    [_payment("P1", 1250, "S1"), _payment("P2", 1250, "S1")])
    assert lines["S1"].status is Status.RECORDED_TWICE and lines["S1"].payment_ids == ("P1", "P2")


def test_a_reversed_record_does_not_count() -> None:
    rec, lines = _one([_sale("S1", 1250), _void("V1", "S1")],
                      {"S1": Asked(_result("S1", 1250)), "V1": Asked(_result("V1", 1250, command="02"))},
                      [_payment("P1", 1250, "S1", status="reversed")])
    assert lines["S1"].status is Status.VOIDED and rec.totals == []


def test_a_terminal_that_does_not_answer_leaves_the_sale_unverified() -> None:
    rec, lines = _one([_sale("S1", 1250)], {"S1": UNANSWERED}, [_payment("P1", 1250, "S1")])
    assert lines["S1"].status is Status.UNVERIFIED and rec.mismatches == [lines["S1"]]


def test_qr_payments_match_the_journal_orders_and_strangers_are_flagged() -> None:
    known = _entry(QR, {"body": {}}, outcome={"order_id": "QR1", "payment_id": "P1"})
    rec, lines = _one([known], {}, [_payment("P1", 600, "QR1", method="wechat"),
                                    _payment("P2", 700, "QR2", method="alipay")])
    assert lines["QR1"].status is Status.MATCHED and lines["QR2"].status is Status.NOT_IN_JOURNAL
    assert {t.method: (t.count, t.amount) for t in rec.totals} == {"wechat": (1, Money(600)),
                                                                   "alipay": (1, Money(700))}


def test_totals_by_method_and_a_settlement_that_disagrees() -> None:
    payments = [_payment("P1", 1250, "S1"), _payment("P2", 300, "S2"), _payment("P3", 0, None, "insurance_only")]
    rec = reconcile(DAY, "K01", [_sale("S1", 1250), _sale("S2", 300)],
                    {"S1": Asked(_result("S1", 1250)), "S2": Asked(_result("S2", 300))}, payments,
                    Settlement("00", 1, Money(1250), "000001", ""))
    assert [(t.label, t.count, t.amount) for t in rec.totals] == [("银行卡", 2, Money(1550)),
                                                                  ("医保结算", 1, Money.zero())]
    assert rec.settlement_agrees is False and rec.terminal_charged == Money(1550)


def test_refs_to_ask_are_the_journals_sales_and_voids_and_the_his_card_refs() -> None:
    entries = [_sale("S1", 100), _void("V1", "S1")]
    payments = [_payment("P1", 100, "S1"), _payment("P2", 5, "S7"), _payment("P3", 9, "QR1", method="wechat")]
    assert refs_to_ask(entries, payments) == ["S1", "V1", "S7"]


def test_lines_are_in_time_order() -> None:
    rec, _ = _one([_sale("S2", 100, minute=5), _sale("S1", 100, minute=1)],
                  {"S1": Asked(_result("S1", 100)), "S2": Asked(_result("S2", 100))},
                  [_payment("P1", 100, "S1"), _payment("P2", 100, "S2")])
    assert [line.reference for line in rec.lines] == ["S1", "S2"]


def test_the_report_lists_each_mismatch_with_what_to_do_and_escapes_what_it_shows() -> None:
    rec, _ = _one([_sale("S1", 1250), _sale("<S2>", 500)],
                  {"S1": Asked(_result("S1", 1250)), "<S2>": Asked(_result("<S2>", 500))},
                  [_payment("P2", 500, "<S2>")])
    page = html(rec, "示范医院")
    assert "示范医院 自助机对账报告" in page and "发现 1 笔不一致" in page
    assert Status.CHARGED_NOT_RECORDED.action in page and "12.50" in page
    assert "&lt;S2&gt;" in page and "<S2>" not in page
    assert "@page { size: A4" in page


def test_an_all_matched_report_says_so() -> None:
    rec, _ = _one([_sale("S1", 1250)], {"S1": Asked(_result("S1", 1250))}, [_payment("P1", 1250, "S1")])
    assert "全部一致：1 笔交易" in html(rec, "示范医院")


def test_the_csv_has_one_row_per_transaction_and_opens_with_its_bom() -> None:
    rec, _ = _one([_sale("S1", 1250), _sale("S2", 300)],
                  {"S1": Asked(_result("S1", 1250)), "S2": Asked(None)}, [_payment("P1", 1250, "S1")])
    text = csv_text(rec)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == list(CSV_COLUMNS)
    assert [(r[2], r[3], r[4], r[7]) for r in rows[1:]] == [("S1", "12.50", "12.50", "一致"),
                                                            ("S2", "", "", "未扣款（拒绝/取消）")]


def test_the_daily_run_is_due_after_its_time_until_todays_report_exists(tmp_path) -> None:
    at = dt.time(23, 30)
    evening = dt.datetime(2026, 11, 23, 23, 31)
    assert not daily_due(dt.datetime(2026, 11, 23, 23, 29), at, tmp_path, "K01")
    assert daily_due(evening, at, tmp_path, "K01")
    html_path, _ = report_paths(tmp_path, evening.date(), "K01")
    html_path.write_text("done")
    assert not daily_due(evening, at, tmp_path, "K01")
    assert not daily_due(evening, None, tmp_path, "K01")


def test_the_daily_time_is_validated_and_can_be_switched_off() -> None:
    assert parse('[reconcile]\ndaily_at = "22:05"\n').reconcile.time() == dt.time(22, 5)
    assert parse('[reconcile]\ndaily_at = ""\n').reconcile.time() is None
    with pytest.raises(ConfigError, match="reconcile.daily_at"):
        parse('[reconcile]\ndaily_at = "half past eleven"\n')


# --- refunds after 退号: sales − voids − refunds on the terminal against the HIS's refund records ------------
def _given_back(kind: str, ref: str, orig: str, fen: int, payment_id: str) -> Entry:
    return _entry(kind, {"ref": ref, "orig_ref": orig, "amount_fen": fen, "payment_id": payment_id})


def _refund(payment_id: str, fen: int, method: str = "bank_card") -> RefundRecord:
    return RefundRecord(f"RF-{payment_id}", payment_id, Money(fen), method, PAID_AT, None)


def test_a_fee_paid_and_refunded_today_by_a_void_needs_nothing() -> None:
    entries = [_sale("S1", 1250), _given_back(REFUND_VOID, "V1", "S1", 1250, "P1")]
    rec = reconcile(DAY, "K01", entries, {"S1": Asked(_result("S1", 1250)), "V1": Asked(_result("V1", 1250, command="02"))},
                    [_payment("P1", 1250, "S1", status="refunded")], Settlement("00", 2, Money.zero(), "000001", ""),
                    [_refund("P1", 1250)])
    [line] = rec.lines
    assert line.status is Status.REFUNDED and rec.mismatches == [] and rec.settlement_agrees is True


def test_an_earlier_days_fee_refunded_today_counts_against_the_batch() -> None:
    entries = [_sale("S2", 300), _given_back(REFUND_CARD, "R1", "S0", 1250, "P0")]
    rec, lines = _one(entries, {"S2": Asked(_result("S2", 300)), "R1": Asked(_result("R1", 1250, command="03"))},
                      [_payment("P2", 300, "S2")], Settlement("00", 2, Money(300 - 1250), "000001", ""))
    assert lines["R1"].status is Status.REFUND_NOT_RECORDED  # the HIS has no refund of P0 yet
    rec = reconcile(DAY, "K01", entries, {"S2": Asked(_result("S2", 300)), "R1": Asked(_result("R1", 1250, command="03"))},
                    [_payment("P2", 300, "S2")], Settlement("00", 2, Money(300 - 1250), "000001", ""),
                    [_refund("P0", 1250)])
    lines = {line.reference: line for line in rec.lines}
    assert lines["R1"].status is Status.REFUNDED and lines["R1"].terminal_amount == Money(-1250)
    assert rec.mismatches == [] and rec.settlement_agrees is True and rec.terminal_charged == Money(300 - 1250)


def test_a_refund_the_his_recorded_but_the_terminal_never_gave_says_refund_the_patient() -> None:
    rec = reconcile(DAY, "K01", [], {}, [], None, [_refund("P0", 1250), _refund("P9", 600, "wechat")])
    lines = {line.reference: line for line in rec.lines}
    assert lines["RF-P0"].status is Status.REFUND_NOT_GIVEN and "退款" in lines["RF-P0"].status.action
    assert lines["RF-P9"].status is Status.REFUNDED  # a wallet refund is the platform's own


def test_refs_to_ask_include_the_refunds() -> None:
    entries = [_sale("S1", 100), _given_back(REFUND_VOID, "V1", "S1", 100, "P1"),
               _given_back(REFUND_CARD, "R2", "S0", 50, "P0")]
    assert refs_to_ask(entries, []) == ["S1", "V1", "R2"]

"""门诊缴费 against fake ports and a fake HIS: identify → bills → (insurance split) → pay → receipt."""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import (
    FakeTerminal,
    create_bill,
    create_id_card,
    create_insurance_card,
    create_pay_his,
    create_services,
)

from kiosk.domain.messages import message_for
from kiosk.domain.money import Money
from kiosk.domain.payment import PayMethod
from kiosk.flows.pay import PayFlow, PayStep
from kiosk.flows.payment import EngineTiming, PaymentEngine
from kiosk.sync.journal import Journal

FAST = EngineTiming(record_retries=1, retry_pause_s=0.0, query_retries=1, qr_poll_s=0.001, qr_timeout_s=5)


@pytest.fixture
def parts(tmp_path):
    his = create_pay_his()
    terminal = FakeTerminal()
    services = dataclasses.replace(create_services(his, cards=[create_id_card()]), payment=terminal,
                                   journal=Journal(tmp_path / "j.db"))
    yield services, his, terminal, PayFlow(services, PaymentEngine(services, FAST))
    services.journal.close()


def test_id_card_lists_every_bill_chosen_and_pays_them_all(parts) -> None:
    _services, his, terminal, flow = parts
    state = flow.identify_id_card(flow.start(), create_id_card())
    assert state.step is PayStep.CHOOSE_BILLS and [b.order_no for b in state.bills] == ["RXB1", "RXB2"]
    assert state.chosen == {"B1", "B2"} and state.total == Money(19134) and state.insurance is None
    state = flow.confirm(state)
    assert state.step is PayStep.CHOOSE_METHOD and state.to_pay == Money(19134)
    state = flow.pay(state, PayMethod.BANK_CARD)
    assert state.step is PayStep.DONE and state.paid.printed
    assert terminal.charged_fen() == his.recorded_fen() == 19134


def test_insurance_card_pre_settles_and_the_patient_pays_some_bills(parts) -> None:
    _services, his, terminal, flow = parts
    state = flow.identify_insurance_card(flow.start(), create_insurance_card())
    state = flow.toggle(state, "B2")  # pay only the prescription today
    state = flow.confirm(state)
    split = state.split
    assert split is not None and split.total == Money(12345) == split.fund + split.account + split.self_pay
    state = flow.pay(state, PayMethod.BANK_CARD)
    assert terminal.charged_fen() == his.recorded_fen() == split.self_pay.fen
    assert his.paid_bills == {"B1"}


def test_a_changed_bill_relists_and_nothing_is_charged(parts) -> None:
    _services, his, terminal, flow = parts
    state = flow.identify_id_card(flow.start(), create_id_card())
    his.bills_by_id["B2"] = create_bill("B2", 7000)
    state = flow.confirm(state)
    assert state.step is PayStep.ERROR and state.failed_at is PayStep.CHOOSE_BILLS
    assert message_for(state.error) == "账单已变更，未扣款。请重新查看账单后再缴费。"
    assert state.total == Money(12345 + 7000) and terminal.log == {}


def test_leaving_after_pre_settlement_cancels_it(parts) -> None:
    services, his, _terminal, flow = parts
    state = flow.confirm(flow.identify_insurance_card(flow.start(), create_insurance_card()))
    flow.end(state)
    assert [p["status"] for p in his.presettlements.values()] == ["cancelled"]
    assert services.journal.open_entries() == []


def test_payments_closed_while_recovery_cannot_settle_a_charge(parts) -> None:
    services, _, _, _ = parts
    closed = dataclasses.replace(services, closed_tasks=lambda: frozenset({"payment"}))
    assert not PayFlow(closed).open and PayFlow(services).open


def test_fee_due_at_collection_is_paid_here_and_the_slip_says_how(parts) -> None:
    """GIVEN a booking not paid at once (fee due at 取号) WHEN the patient pays it at the kiosk by card
    THEN the HIS, the terminal and the slip agree, and the slip names the method instead of the window."""
    from kiosk.flows.collect import CollectFlow, CollectStep

    services, his, terminal, _ = parts
    his.fee_due_fen = 5000
    flow = CollectFlow(services, engine=PaymentEngine(services, FAST))
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    assert state.can_pay_fee and "请到收费窗口缴费" in state.slip.plain_text()
    state = flow.pay_fee(state, PayMethod.BANK_CARD)
    assert state.step is CollectStep.PRINTING and not state.can_pay_fee
    assert terminal.charged_fen() == his.recorded_fen() == state.fee_paid.record.amount.fen == 5000
    slip = state.slip.plain_text()
    assert "支付方式：银行卡" in slip and "收费窗口" not in slip
    assert "挂号费 心血管内科  ¥50.00" in services.printer.printed[-1].plain_text()

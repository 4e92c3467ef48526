"""The refund transaction after 退号 with an in-memory HIS and terminal: every outcome of every step —
done, refused, unknown — and what the patient is told; what a session leaves open recovery finishes,
and the patient is never refunded twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import pytest
from kiosk_test_fakes import TODAY, FakeTerminal, create_appointment, create_his, create_services

from kiosk.domain.errors import HisRefused, HisUnavailable
from kiosk.domain.money import Money
from kiosk.domain.payment import PaymentRecord, RefundRecord
from kiosk.flows.refund import Given, RefundEngine
from kiosk.flows.refund_recovery import RefundSettler
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.sync.journal import EntryState, Journal
from kiosk.sync.recovery import Recovery

FEE = Money(5000)
PAID = dt.datetime.combine(TODAY, dt.time(8, 0), tzinfo=HOSPITAL_TZ)


@dataclass
class RefundHis:
    """The HIS's refund part: a cancellation, the booking's payments, one refund per payment."""

    method: str = "bank_card"
    claim: str = "ok"
    """"ok", "down" (no answer), "already" (the window refunded it), "refused" (NOT_REFUNDABLE)."""
    cancel_refused: bool = False
    paid_at: dt.datetime = PAID
    cancelled: list[str] = field(default_factory=list)
    refunds: dict[str, RefundRecord] = field(default_factory=dict)
    """Idempotency key -> the refund it made."""

    def appointment_payments(self, appointment_id: str) -> list[PaymentRecord]:
        return [PaymentRecord("PAY1", "paid", FEE, self.paid_at, "R1", self.method,
                              "K01-S1" if self.method == "bank_card" else None, appointment_id)]

    def cancel_appointment(self, appointment_id: str, idempotency_key: str) -> Money:
        if self.cancel_refused:
            raise HisRefused("CANCEL_DEADLINE_PASSED", "已过退号时间", "too late")
        self.cancelled.append(idempotency_key)
        return FEE

    def refund_payment(self, payment_id: str, amount: Money, idempotency_key: str) -> RefundRecord:
        if idempotency_key in self.refunds:
            return self.refunds[idempotency_key]
        if self.claim == "down":
            raise HisUnavailable("POST /payments/PAY1/refund: no answer")
        if self.claim == "already" or self.refunds:
            raise HisRefused("ALREADY_REFUNDED", "已退款", "refunded")
        if self.claim == "refused":
            raise HisRefused("NOT_REFUNDABLE", "不能退款", "not refundable")
        self.refunds[idempotency_key] = RefundRecord("RF1", payment_id, amount, self.method, PAID, "K01-S1")
        return self.refunds[idempotency_key]


@pytest.fixture
def kiosk(tmp_path):
    his, terminal = RefundHis(), FakeTerminal()
    terminal.log["K01-S1"] = terminal._result("01", "K01-S1", FEE, "00")
    services = dataclasses.replace(create_services(), his=his, payment=terminal, journal=Journal(tmp_path / "j.db"))
    return services, his, terminal


def _cancel(services, key: str = "T1"):
    engine = RefundEngine(services, query_retries=1, retry_pause_s=0)
    appointment = dataclasses.replace(create_appointment(fee_fen=FEE.fen), paid=FEE)
    patient = create_his().patients["P1"]
    return engine.cancel_and_refund(patient, appointment, engine.dues(appointment), key, services.journal.session())


def _recover(services, terminal) -> None:
    journal = Journal(services.journal.path)  # the next process
    report = Recovery(journal, [RefundSettler(journal, services.his, terminal, "K01", lambda: TODAY)]).run()
    assert report.pending == [] and journal.open_entries() == []


def _given_back(terminal: FakeTerminal) -> list[str]:
    return [r.command for r in terminal.log.values() if r.command in ("02", "03") and r.approved]


def test_a_card_payment_of_today_is_voided_and_the_slip_printed(kiosk) -> None:
    services, his, terminal = kiosk
    refunded = _cancel(services)
    assert [p.given for p in refunded.result.payments] == [Given.BACK] and refunded.result.message_key == "refund.done"
    assert _given_back(terminal) == ["02"] and his.cancelled and refunded.printed
    assert "退费凭条" in services.printer.printed[-1].plain_text()
    assert services.journal.open_entries() == []


def test_the_cancellation_refused_moves_no_money(kiosk) -> None:
    services, his, terminal = kiosk
    his.cancel_refused = True
    with pytest.raises(HisRefused):
        _cancel(services)
    assert his.refunds == {} and _given_back(terminal) == []
    assert services.journal.open_entries() == []


def test_his_silent_on_the_claim_leaves_it_open_and_recovery_refunds_once(kiosk) -> None:
    services, his, terminal = kiosk
    his.claim = "down"
    refunded = _cancel(services)
    assert refunded.result.message_key == "refund.pending" and not refunded.result.closed
    assert _given_back(terminal) == []  # the HIS must know of the refund before the terminal gives it
    assert services.journal.get("T1").state is EntryState.INTENT
    services.journal.release(services.journal.get("T1").owner)
    his.claim = "ok"
    _recover(services, terminal)
    assert len(his.refunds) == 1 and _given_back(terminal) == ["02"]


def test_refunded_at_the_window_already_gives_nothing_twice(kiosk) -> None:
    services, his, terminal = kiosk
    his.claim = "already"
    refunded = _cancel(services)
    assert [p.given for p in refunded.result.payments] == [Given.ELSEWHERE]
    assert _given_back(terminal) == [] and services.journal.open_entries() == []


def test_not_refundable_here_sends_the_patient_to_the_cashier(kiosk) -> None:
    services, his, terminal = kiosk
    his.claim = "refused"
    refunded = _cancel(services)
    assert refunded.result.message_key == "refund.manual" and _given_back(terminal) == []
    assert "收费窗口" in services.printer.printed[-1].plain_text()


def test_a_terminal_that_refuses_is_asked_again_by_recovery_and_pays_back_once(kiosk) -> None:
    services, his, terminal = kiosk
    his.paid_at = PAID - dt.timedelta(days=1)  # an earlier day's sale: refunded (03), not voided
    terminal.refund_script = ["decline", "decline"]
    refunded = _cancel(services)
    assert refunded.result.message_key == "refund.pending" and _given_back(terminal) == []
    assert "退款处理中" in services.printer.printed[-1].plain_text()
    services.journal.release(services.journal.get("T1").owner)
    _recover(services, terminal)
    assert _given_back(terminal) == ["03"] and len(his.refunds) == 1


def test_a_lost_refund_answer_that_cannot_be_asked_is_never_repeated(kiosk) -> None:
    services, his, terminal = kiosk
    his.paid_at = PAID - dt.timedelta(days=1)
    terminal.refund_script = ["lost"]
    terminal.query_fails = True
    refunded = _cancel(services)
    assert refunded.result.message_key == "refund.pending"
    refunds = [r for r in terminal.log.values() if r.command == "03"]
    assert len(refunds) == 1  # no second attempt while the first one's outcome is unknown
    services.journal.release(services.journal.get("T1").owner)
    terminal.query_fails = False
    _recover(services, terminal)
    assert _given_back(terminal) == ["03"]  # the lost one was approved: recovery found it by its REF


def test_a_terminal_offline_gets_one_attempt_and_the_void_later(kiosk) -> None:
    services, _his, terminal = kiosk
    terminal.void_fails = True  # unplugged: the void never reaches it
    refunded = _cancel(services)
    assert refunded.result.message_key == "refund.pending"
    assert len(services.journal.entries("refund.void")) == 1  # not a string of attempts
    services.journal.release(services.journal.get("T1").owner)
    terminal.void_fails = False
    _recover(services, terminal)
    assert _given_back(terminal) == ["02"]  # still the day of the sale: voided, not refunded


def test_a_wallet_payment_goes_back_through_the_his_alone(kiosk) -> None:
    services, his, terminal = kiosk
    his.method = "wechat"
    refunded = _cancel(services)
    assert refunded.result.message_key == "refund.done" and len(his.refunds) == 1 and _given_back(terminal) == []

"""Recovery of payments a kiosk left half-done: every open transaction is settled by asking, then
completed or undone; an entry nobody can answer closes payments (not the other tasks) until it can.

The crash is a `Killed` raised inside a device or HIS call: nothing after it runs, like kill -9, and
the journal is then reopened as the next process would.
"""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import FakeTerminal, create_pay_his, create_services

from kiosk.domain.payment import Insurance, InsuranceKind, PayMethod
from kiosk.flows.collect_recovery import CollectSettler
from kiosk.flows.payment import Charge, EngineTiming, PaymentEngine, PaymentFailed, PaymentView, Phase
from kiosk.flows.payment_recovery import PaymentSettler
from kiosk.sync.journal import EntryState, Journal
from kiosk.sync.recovery import Recovery

FAST = EngineTiming(record_retries=1, retry_pause_s=0.0, query_retries=1, qr_poll_s=0.001, qr_timeout_s=5)


class Killed(BaseException):
    """The process died here."""


@pytest.fixture
def kiosk(tmp_path):
    his = create_pay_his()
    terminal = FakeTerminal()
    services = dataclasses.replace(create_services(his), payment=terminal, journal=Journal(tmp_path / "j.db"))
    yield services, his, terminal, tmp_path / "j.db"


def _restart(services, his, terminal, path) -> tuple[Journal, Recovery]:
    services.journal.close()
    journal = Journal(path)
    return journal, Recovery(journal, [CollectSettler(journal, his), PaymentSettler(journal, his, terminal, "K01")])


def _pay(services, his, method=PayMethod.BANK_CARD, insurance=False, bill_ids=("B1", "B2"), **kwargs):
    bills = tuple(his.bills_by_id[b] for b in bill_ids)
    run = PaymentEngine(services, FAST).start(Charge.for_bills(his.patients["P1"], bills))
    if insurance:
        run.presettle(Insurance(InsuranceKind.CARD, "A12345678"))
    return run.pay(method, **kwargs)


def _crash_in(obj, name: str, before: bool = True) -> None:
    """Kill the kiosk inside `obj.name`: before its effect, or after it (the answer never seen)."""
    original = getattr(obj, name)

    def dying(*args, **kwargs):
        if not before:
            original(*args, **kwargs)
        raise Killed(name)

    setattr(obj, name, dying)
    return original


def test_charged_and_crashed_before_the_record_was_journaled_is_voided(kiosk) -> None:
    services, his, terminal, path = kiosk
    record = services.journal.record

    def dying_before_the_record(kind, *args, **kwargs):
        if kind == "payment.record":
            raise Killed(kind)
        return record(kind, *args, **kwargs)

    services.journal.record = dying_before_the_record
    with pytest.raises(Killed):
        _pay(services, his, insurance=True)
    assert terminal.charged_fen() > 0
    journal, recovery = _restart(services, his, terminal, path)
    report = recovery.run()
    assert report.pending == [] and len(report.failed) == 1 and recovery.blocked == frozenset()
    assert terminal.charged_fen() == his.recorded_fen() == 0
    assert [p["status"] for p in his.presettlements.values()] == ["cancelled"]
    assert journal.open_entries() == []


@pytest.mark.parametrize("before", [True, False], ids=["record-not-yet-sent", "record-answer-lost"])
def test_a_journaled_record_is_replayed_and_completed(kiosk, before) -> None:
    services, his, terminal, path = kiosk
    original = _crash_in(his, "record_payment", before=before)
    with pytest.raises(Killed):
        _pay(services, his)
    his.record_payment = original
    journal, recovery = _restart(services, his, terminal, path)
    report = recovery.run()
    assert len(report.confirmed) == 1 and journal.open_entries() == []
    assert terminal.charged_fen() == his.recorded_fen() == 19134 and len(his.payments) == 1


def test_crash_mid_sale_with_the_terminal_offline_closes_payments_until_it_answers(kiosk) -> None:
    services, his, terminal, path = kiosk
    _crash_in(terminal, "sale", before=False)
    with pytest.raises(Killed):
        _pay(services, his)
    terminal.offline = True
    journal, recovery = _restart(services, his, terminal, path)
    report = recovery.run()
    assert report.pending and recovery.blocked == frozenset({"payment"})
    terminal.offline = False
    report = recovery.run()
    assert recovery.blocked == frozenset() and journal.open_entries() == []
    assert terminal.charged_fen() == his.recorded_fen() == 0


def test_void_then_his_back_reverses_what_it_recorded_late(kiosk) -> None:
    services, his, terminal, path = kiosk
    his.record_down = True
    with pytest.raises(PaymentFailed):
        _pay(services, his)
    his.record_down = False
    journal, recovery = _restart(services, his, terminal, path)
    recovery.run()
    # the replayed record took effect now; its sale was voided, so recovery reversed it
    assert [p["status"] for p in his.payments.values()] == ["reversed"]
    assert terminal.charged_fen() == his.recorded_fen() == 0 and journal.open_entries() == []


def crash_when_shown(view: PaymentView) -> None:
    if view.phase is Phase.QR_SHOWN:
        raise Killed("shown")


def test_pending_qr_at_the_crash_is_cancelled(kiosk) -> None:
    services, his, terminal, path = kiosk

    with pytest.raises(Killed):
        _pay(services, his, PayMethod.WECHAT, on_view=crash_when_shown)
    journal, recovery = _restart(services, his, terminal, path)
    recovery.run()
    assert his.qr_orders["QR1"]["status"] == "cancelled" and his.recorded_fen() == 0
    assert journal.open_entries() == []


def test_qr_paid_after_the_crash_is_completed(kiosk) -> None:
    services, his, terminal, path = kiosk

    with pytest.raises(Killed):
        _pay(services, his, PayMethod.WECHAT, on_view=crash_when_shown)
    his.patient_pays("QR1")
    journal, recovery = _restart(services, his, terminal, path)
    report = recovery.run()
    assert len(report.confirmed) == 1 and his.recorded_fen() == 19134 and journal.open_entries() == []


def test_a_live_payment_is_left_to_its_session(kiosk) -> None:
    services, his, terminal, _ = kiosk
    seen: list[list] = []
    recovery = Recovery(services.journal, [PaymentSettler(services.journal, his, terminal, "K01")])

    def drain_while_the_card_is_in(view: PaymentView) -> None:
        if view.terminal_step is not None and not seen:
            report = recovery.run()
            seen.append(report.confirmed + report.failed + report.pending)

    paid = _pay(services, his, on_view=drain_while_the_card_is_in)
    assert seen == [[]] and paid.record.amount.fen == terminal.charged_fen() == his.recorded_fen()


def test_one_hundred_open_transactions_are_all_settled(kiosk) -> None:
    """GIVEN 100 payments cut at different steps WHEN the kiosk restarts THEN recovery leaves nothing open
    and the terminal and the HIS agree to the fen."""
    services, his, terminal, path = kiosk
    for n in range(100):
        his.bills_by_id[f"C{n}"] = dataclasses.replace(his.bills_by_id["B1"], id=f"C{n}")
        where = ("sale", "record_before", "record_after")[n % 3]
        target, name, before = {"sale": (terminal, "sale", False), "record_before": (his, "record_payment", True),
                                "record_after": (his, "record_payment", False)}[where]
        original = _crash_in(target, name, before)
        with pytest.raises(Killed):
            _pay(services, his, bill_ids=(f"C{n}",))
        setattr(target, name, original)
    journal, recovery = _restart(services, his, terminal, path)
    assert journal.backlog() >= 200
    report = recovery.run()
    assert journal.open_entries() == [] and report.pending == []
    # cut in the sale: voided; cut around the journaled record: replayed with its key, completed
    assert len(report.confirmed) == 66 and len(report.failed) == 34
    assert terminal.charged_fen() == his.recorded_fen() == 66 * 12345
    assert all(e.state is not EntryState.INTENT for e in journal.entries())

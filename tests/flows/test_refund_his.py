"""退号 of a paid booking against the reference HIS and the real ECR driver on the terminal simulator:
cancel first, then the fee back the way it came — a card sale voided the day it was made, refunded
(03 with ORIG_REF) on a later day or once its batch was settled, a QR payment through the HIS's
platform — with the 退费凭条, the HIS's refund record and nothing left open in the journal. Then every
refund journal step as a kill point: the process dies right after that write, recovery finishes it,
and the patient is refunded exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kiosk_test_fakes import create_id_card, create_services

from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.domain.appointment import AppointmentStatus
from kiosk.domain.money import Money
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.flows.book import BookFlow, BookState
from kiosk.flows.lookup import LookupFlow
from kiosk.flows.payment import EngineTiming, PaymentEngine
from kiosk.flows.reconcile import Asked, Reconciliation, reconcile, refs_to_ask
from kiosk.flows.records import LookupState, LookupStep
from kiosk.flows.refund import KINDS, TXN
from kiosk.flows.refund_recovery import RefundSettler
from kiosk.flows.services import HOSPITAL_TZ, Services
from kiosk.sync.client import HisClient
from kiosk.sync.journal import EntryState, Journal
from kiosk.sync.recovery import Recovery
from simulators.his.clock import Clock
from simulators.his.qrorders import payment_code
from simulators.his.server import start_in_thread
from simulators.payment import Behaviour, PaymentTerminalSimulator, TerminalTiming

NOW = dt.datetime(2026, 11, 23, 8, 40)
TOKEN = "demo-kiosk-token"
FAST = EngineTiming(record_retries=1, retry_pause_s=0.05, query_retries=2, qr_poll_s=0.05, qr_timeout_s=60)


class Killed(BaseException):
    """The process died right after a durable journal write (as KIOSK_FAULT_KILL_AT's SIGKILL)."""


@dataclasses.dataclass
class Rig:
    services: Services
    handle: Any
    sim: PaymentTerminalSimulator
    driver: EcrPaymentTerminal
    journal_path: Any
    his_clock: Clock
    kill_at: list[str] = dataclasses.field(default_factory=list)

    def his(self, path: str, **params: str) -> Any:
        return requests.get(f"{self.handle.url}{path}", params=params, timeout=10,
                            headers={"Authorization": f"Bearer {TOKEN}"}).json()

    def at_day(self, days: int) -> Services:
        """The kiosk's clock `days` after the booking day (the HIS's stays)."""
        later = (NOW + dt.timedelta(days=days)).replace(tzinfo=HOSPITAL_TZ)
        return dataclasses.replace(self.services, clock=lambda: later)

    def restart(self) -> Journal:
        """A new process: a new journal instance on the same file (the dead one's entries are claimable)."""
        return Journal(self.journal_path)


@pytest.fixture
def rig(tmp_path) -> Iterator[Rig]:
    sim = PaymentTerminalSimulator(ack_timeout_s=0.2, timing=TerminalTiming.instant())
    sim.start()
    driver = EcrPaymentTerminal(sim.path, t1_s=0.2, t2_s=2.0, t4_s=10.0, reconnect_interval_s=0.05)
    driver.open()
    sim.behaviour = Behaviour.APPROVE
    kill_at: list[str] = []

    def die_at(kind: str, state: EntryState) -> None:
        if f"{kind}:{state.value}" in kill_at:
            kill_at.clear()
            raise Killed(f"{kind}:{state.value}")

    journal_path = tmp_path / "journal.db"
    his_clock = Clock("Asia/Shanghai", NOW)
    with start_in_thread(f"sqlite:///{tmp_path / 'his.db'}", seed=1, clock=his_clock) as handle:
        client = HisClient(handle.url, TOKEN, "K01", timeout_s=10)
        services = dataclasses.replace(
            create_services(), his=client, payment=driver, clock=lambda: NOW.replace(tzinfo=HOSPITAL_TZ),
            journal=Journal(journal_path, on_write=die_at),
        )
        yield Rig(services, handle, sim, driver, journal_path, his_clock, kill_at)
        client.close()
    driver.close()
    sim.stop()


def _paid_booking(rig: Rig, name: str, id17: str, method: PayMethod = PayMethod.BANK_CARD) -> BookState:
    """A first visit books the last day of the window (cancellable today) and pays the fee now."""
    flow = BookFlow(rig.services, engine=PaymentEngine(rig.services, FAST))
    state = flow.identify_id_card(flow.start(), create_id_card(name, id17))
    state = flow.choose_department(state, state.shown_departments[0].id)
    state = flow.choose_doctor(state, state.choices[0].key)
    state = flow.choose_date(state, state.dates[-1])
    state = flow.book(flow.choose_slot(state, state.slots[0].slot.id))
    if method is PayMethod.BANK_CARD:
        state = flow.pay_fee(state, method)
    else:
        state = flow.pay_fee(state, method, mode=QrMode.SCAN, auth_code=payment_code(state.patient.id))
    assert state.paid is not None, state.error
    return flow.print_slip(state)


def _to_cancel(services: Services, booked: BookState, name: str, id17: str) -> tuple[LookupFlow, LookupState]:
    lookup = LookupFlow(services)
    records = lookup.identify_id_card(lookup.start(), create_id_card(name, id17))
    assert booked.appointment is not None
    [record] = [a for a in records.records if a.id == booked.appointment.id]
    assert record.paid == record.fee
    return lookup, lookup.ask_cancel(lookup.select(records, record.id))


def _reconcile(rig: Rig, day: dt.date, refund_day: bool = False) -> Reconciliation:
    """对账 of `day` with the batch settled (05). The journal's entries carry the machine's real time, not
    this test's hospital day: the refund day takes only the refund journal's (as `entries_of` would)."""
    entries = [e for e in rig.services.journal.entries() if not refund_day or e.kind in KINDS]
    payments, refunds = rig.services.his.payments(day), rig.services.his.refunds(day)
    answers = {ref: Asked(rig.driver.query(ref)) for ref in refs_to_ask(entries, payments)}
    return reconcile(day, "K01", entries, answers, payments, rig.driver.settle(), refunds)


def _ledger(rig: Rig) -> list[tuple[str, str, int, bool]]:
    return [(t.command, t.orig_ref, t.amount_fen, t.approved) for t in rig.sim.transactions]


def _refunded_at_the_his(rig: Rig, booked: BookState) -> dict:
    assert booked.appointment is not None and booked.patient is not None
    [after] = rig.services.his.list_appointments(booked.patient.id, None)
    assert after.status is AppointmentStatus.CANCELLED and after.paid == Money.zero()
    [refund] = [r for r in rig.his("/refunds")["refunds"] if r["appointment_id"] == booked.appointment.id]
    assert refund["amount_fen"] == booked.appointment.fee.fen
    return refund


def test_a_card_fee_paid_today_is_voided_on_the_terminal(rig: Rig) -> None:
    booked = _paid_booking(rig, "赵一", "11010519800101123")
    lookup, asked = _to_cancel(rig.services, booked, "赵一", "11010519800101123")
    done = lookup.cancel(asked)
    assert done.step is LookupStep.DONE and done.refunded is not None
    assert done.refunded.result.message_key == "refund.done" and done.refund == booked.appointment.fee
    sale_ref = booked.paid.terminal.ref
    assert _ledger(rig)[-1] == ("02", sale_ref, booked.appointment.fee.fen, True)
    assert rig.sim.charged_total() == Money.zero()  # sale voided: nothing taken
    assert _refunded_at_the_his(rig, booked)["terminal_ref"] == sale_ref
    slip = rig.services.printer.printed[-1].plain_text()
    assert "退费凭条" in slip and str(booked.appointment.fee) in slip and sale_ref in slip and "已原路退回" in slip
    assert "赵一" not in slip
    assert rig.services.journal.open_entries() == []
    # 对账 at the end of the day: the batch holds the sale and its void (0), as the HIS sees it
    rec = _reconcile(rig, NOW.date())
    assert rec.mismatches == [] and rec.settlement_agrees is True and rec.settlement.total == Money.zero()
    assert [line.status.value for line in rec.lines if line.reference == sale_ref] == ["refunded"]


def test_a_card_fee_paid_on_an_earlier_day_is_refunded_with_orig_ref(rig: Rig) -> None:
    booked = _paid_booking(rig, "钱二", "11010519810101123")
    rig.driver.settle()  # that day's batch was settled at its end
    rig.his_clock.set(NOW + dt.timedelta(days=1))
    lookup, asked = _to_cancel(rig.at_day(1), booked, "钱二", "11010519810101123")
    done = lookup.cancel(asked)
    assert done.step is LookupStep.DONE and done.refunded.result.message_key == "refund.done"
    assert _ledger(rig)[-1] == ("03", booked.paid.terminal.ref, booked.appointment.fee.fen, True)
    _refunded_at_the_his(rig, booked)
    assert rig.services.journal.open_entries() == []
    # 对账 of the refund's day: the batch is − the fee (sales − voids − refunds), the HIS's refund agrees
    rec = _reconcile(rig, (NOW + dt.timedelta(days=1)).date(), refund_day=True)
    assert rec.settlement.total == -booked.appointment.fee and rec.settlement_agrees is True
    assert rec.mismatches == [] and [line.status.value for line in rec.lines] == ["refunded"]


def test_a_void_refused_after_the_batch_was_settled_becomes_a_refund(rig: Rig) -> None:
    booked = _paid_booking(rig, "孙三", "11010519820101123")
    rig.driver.settle()  # 对账 closed the batch: the sale can no longer be voided
    lookup, asked = _to_cancel(rig.services, booked, "孙三", "11010519820101123")
    done = lookup.cancel(asked)
    assert done.step is LookupStep.DONE and done.refunded.result.message_key == "refund.done"
    commands = [(c, ok) for c, orig, _fen, ok in _ledger(rig) if orig == booked.paid.terminal.ref]
    assert commands == [("03", True)]  # the void never reached the ledger (refused: not in the batch)
    assert rig.sim.charged_total() == Money.zero()
    assert rig.services.journal.open_entries() == []


def test_a_scanned_code_payment_is_refunded_through_the_his(rig: Rig) -> None:
    booked = _paid_booking(rig, "李四", "11010519830101123", PayMethod.WECHAT)
    before = _ledger(rig)
    lookup, asked = _to_cancel(rig.services, booked, "李四", "11010519830101123")
    done = lookup.cancel(asked)
    assert done.step is LookupStep.DONE and done.refunded.result.message_key == "refund.done"
    assert _ledger(rig) == before  # the terminal has nothing to do with a wallet payment
    assert _refunded_at_the_his(rig, booked)["method"] == booked.paid.record.method


def test_too_late_to_cancel_moves_no_money(rig: Rig) -> None:
    booked = _paid_booking(rig, "周五", "11010519840101123")
    late = booked.appointment.date - dt.timedelta(days=1)
    rig.his_clock.set(dt.datetime.combine(late, dt.time(15, 0)))  # past 14:30 the day before
    lookup, asked = _to_cancel(rig.services, booked, "周五", "11010519840101123")
    before = _ledger(rig)
    done = lookup.cancel(asked)
    assert done.step is LookupStep.ERROR and done.error.code == "CANCEL_DEADLINE_PASSED"
    assert _ledger(rig) == before and rig.his("/refunds")["refunds"] == []
    [txn] = rig.services.journal.entries(TXN)
    assert txn.state is EntryState.FAILED and rig.services.journal.open_entries() == []


KILL_POINTS = [
    "refund:intent", "refund.cancel:intent", "refund.cancel:confirmed", "refund.claim:intent",
    "refund.claim:confirmed", "refund.void:intent", "refund.void:confirmed", "refund:confirmed",
]


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_killed_at_each_refund_step_recovery_refunds_exactly_once(rig: Rig, kill_at: str) -> None:
    booked = _paid_booking(rig, "吴六", "11010519850101123")
    lookup, asked = _to_cancel(rig.services, booked, "吴六", "11010519850101123")
    rig.kill_at.append(kill_at)
    with pytest.raises(Killed):
        lookup.cancel(asked)
    journal = rig.restart()
    recovery = Recovery(journal, [RefundSettler(journal, rig.services.his, rig.driver, "K01",
                                                lambda: NOW.date())])
    report = recovery.run()
    assert report.pending == [] and journal.open_entries() == []
    sale_ref = booked.paid.terminal.ref
    gave_back = [(c, ok) for c, orig, _fen, ok in _ledger(rig) if orig == sale_ref and ok]
    assert gave_back == [("02", True)]  # voided exactly once
    assert rig.sim.charged_total() == Money.zero()
    _refunded_at_the_his(rig, booked)
    assert {e.kind for e in journal.entries()} & KINDS


def test_a_lost_terminal_answer_is_asked_by_ref_never_repeated(rig: Rig) -> None:
    booked = _paid_booking(rig, "郑七", "11010519860101123")
    lookup, asked = _to_cancel(rig.services, booked, "郑七", "11010519860101123")
    rig.sim.behaviour = Behaviour.APPROVED_BUT_RESPONSE_LOST
    done = lookup.cancel(asked)
    assert done.step is LookupStep.DONE and done.refunded.result.message_key == "refund.done"
    voids = [t for t in rig.sim.transactions if t.orig_ref == booked.paid.terminal.ref]
    assert [(t.command, t.approved) for t in voids] == [("02", True)]
    assert rig.services.journal.open_entries() == []

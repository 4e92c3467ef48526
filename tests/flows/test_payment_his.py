"""The payment engine for real: the reference HIS over HTTP and the production ECR driver on the terminal
simulator over a pty. Every amount agrees to the fen across the HIS, the terminal's ledger and the receipt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
import requests
from kiosk_test_fakes import create_services

from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.domain.payment import Insurance, InsuranceKind, PayMethod, QrMode
from kiosk.flows.collect_recovery import CollectSettler
from kiosk.flows.payment import Charge, EngineTiming, PaymentEngine, PaymentFailed, PaymentView, Phase
from kiosk.flows.payment_recovery import PaymentSettler
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.sync.client import HisClient
from kiosk.sync.journal import Journal
from kiosk.sync.recovery import Recovery
from simulators.his.clock import Clock
from simulators.his.server import ServerHandle, start_in_thread
from simulators.payment import Behaviour, PaymentTerminalSimulator, TerminalTiming

NOW = dt.datetime(2026, 11, 23, 8, 10)
TOKEN = "demo-kiosk-token"
FAST = EngineTiming(record_retries=1, retry_pause_s=0.05, query_retries=2, qr_poll_s=0.05, qr_timeout_s=60)


@pytest.fixture(scope="module")
def his(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, Iterator[dict]]]:
    db = tmp_path_factory.mktemp("his") / "his.db"
    with start_in_thread(f"sqlite:///{db}", seed=1, clock=Clock("Asia/Shanghai", NOW)) as handle:
        fixtures = requests.get(f"{handle.url}/_test/fixtures", timeout=10).json()
        payers = (p for p in fixtures["patients"]
                  if "unpaid_bills" in p["tags"] and p["insurance_card"] and "insurance_expired" not in p["tags"])
        yield handle, payers


@pytest.fixture(scope="module")
def terminal_sim() -> Iterator[PaymentTerminalSimulator]:
    sim = PaymentTerminalSimulator(ack_timeout_s=0.2, timing=TerminalTiming.instant())
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def kiosk(his, terminal_sim, tmp_path):
    handle, payers = his
    client = HisClient(handle.url, TOKEN, "K01", timeout_s=5, retry_pause_s=0.05)
    driver = EcrPaymentTerminal(terminal_sim.path, t1_s=0.2, t2_s=2.0, t4_s=10.0, reconnect_interval_s=0.05)
    driver.open()
    terminal_sim.behaviour = Behaviour.APPROVE
    services = dataclasses.replace(create_services(), his=client, payment=driver, journal=Journal(tmp_path / "j.db"),
                                   clock=lambda: NOW.replace(tzinfo=HOSPITAL_TZ))
    yield services, handle, terminal_sim, next(payers), payers
    requests.post(f"{handle.url}/_test/faults", json={"down": False}, timeout=10)
    services.journal.close()
    driver.close()
    client.close()


def _charge(services, patient_row: dict) -> Charge:
    patient = services.his.resolve_patient(_identity(patient_row))
    return Charge.for_bills(patient, tuple(services.his.bills(patient.id)))


def _identity(row: dict):
    from kiosk.domain.patient import Identity, IdentityKind

    return Identity(IdentityKind.VISIT_CARD, row["visit_card"])


def _his_payments(handle: ServerHandle) -> list[dict]:
    r = requests.get(f"{handle.url}/payments", params={"date": NOW.date().isoformat()},
                     headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    return r.json()["payments"]


def _ledger(sim: PaymentTerminalSimulator) -> dict[str, int]:
    """Approved, unvoided sales by REF, in fen: what the cards were charged."""
    return {t.ref: t.amount_fen for t in sim.transactions if t.command == "01" and t.approved and not t.voided}


def test_card_payment_with_insurance_agrees_to_the_fen(kiosk) -> None:
    services, handle, sim, row, payers = kiosk
    for _ in range(50):  # a patient whose personal account does not cover the co-pay: a self-pay part
        run = PaymentEngine(services, FAST).start(_charge(services, row))
        run.check()
        split = run.presettle(Insurance(InsuranceKind.CARD, row["insurance_card"]))
        if split.self_pay:
            break
        run.abandon()
        row = next(payers)
    views: list[PaymentView] = []
    paid = run.pay(PayMethod.BANK_CARD, views.append)
    [payment] = [p for p in _his_payments(handle) if p["terminal_ref"] == paid.terminal.ref]
    assert _ledger(sim)[paid.terminal.ref] == payment["amount_fen"] == split.self_pay.fen == paid.record.amount.fen
    assert payment["fund_fen"] == split.fund.fen and payment["account_fen"] == split.account.fen
    assert payment["total_fen"] == run.charge.amount.fen
    receipt = paid.receipt.plain_text()
    assert f"个人自付：{split.self_pay}" in receipt and f"合计：{run.charge.amount}" in receipt
    assert [v.terminal_step.value for v in views if v.terminal_step] == [
        "INSERT_CARD", "ENTER_PIN", "PROCESSING", "REMOVE_CARD"]
    assert services.his.bills(run.charge.patient.id) == [] and services.journal.open_entries() == []


def test_lost_terminal_answer_is_queried_and_recorded_once(kiosk) -> None:
    services, handle, sim, row, _ = kiosk
    sim.behaviour = Behaviour.APPROVED_BUT_RESPONSE_LOST
    paid = PaymentEngine(services, FAST).start(_charge(services, row)).pay(PayMethod.BANK_CARD)
    matching = [p for p in _his_payments(handle) if p["terminal_ref"] == paid.terminal.ref]
    assert len(matching) == 1 and matching[0]["amount_fen"] == _ledger(sim)[paid.terminal.ref]


def test_declined_card_charges_nothing(kiosk) -> None:
    services, _handle, sim, row, _ = kiosk
    sim.behaviour = Behaviour.DECLINE
    before = dict(_ledger(sim))
    with pytest.raises(PaymentFailed) as failed:
        PaymentEngine(services, FAST).start(_charge(services, row)).pay(PayMethod.BANK_CARD)
    assert failed.value.message_key == "payment.declined" and _ledger(sim) == before
    assert services.journal.open_entries() == []


def test_his_down_after_the_charge_voids_then_recovery_settles(kiosk) -> None:
    services, handle, sim, row, _ = kiosk

    def his_goes_down(view: PaymentView) -> None:
        if view.terminal_step is not None and view.terminal_step.value == "REMOVE_CARD":
            requests.post(f"{handle.url}/_test/faults", json={"down": True}, timeout=10)

    before = dict(_ledger(sim))
    charge = _charge(services, row)
    with pytest.raises(PaymentFailed) as failed:
        PaymentEngine(services, FAST).start(charge).pay(PayMethod.BANK_CARD, his_goes_down)
    assert failed.value.message_key == "payment.not_recorded"
    assert _ledger(sim) == before  # voided on the terminal
    requests.post(f"{handle.url}/_test/faults", json={"down": False}, timeout=10)
    services.journal.release(services.journal.open_entries()[0].owner)
    recovery = Recovery(services.journal, [CollectSettler(services.journal, services.his),
                                           PaymentSettler(services.journal, services.his, services.payment, "K01")])
    recovery.run()
    assert services.journal.open_entries() == [] and recovery.blocked == frozenset()
    # whatever the HIS recorded for the voided sale is reversed: the bills are unpaid again
    assert sum(b.amount.fen for b in services.his.bills(charge.patient.id)) == charge.amount.fen


def test_shown_qr_paid_from_the_phone(kiosk) -> None:
    services, handle, _sim, row, _ = kiosk
    shown: list[PaymentView] = []

    def phone_pays(view: PaymentView) -> None:
        if view.phase is Phase.QR_SHOWN and not shown:
            shown.append(view)
            order_id = view.qr_content.rsplit("/", 1)[-1]
            requests.post(f"{handle.url}/_test/qr-orders/{order_id}/pay", timeout=10)

    charge = _charge(services, row)
    paid = PaymentEngine(services, FAST).start(charge).pay(PayMethod.WECHAT, phone_pays)
    [payment] = [p for p in _his_payments(handle) if p["terminal_ref"] == paid.qr_order_id]
    assert payment["amount_fen"] == charge.amount.fen == paid.record.amount.fen and payment["method"] == "wechat"
    assert f"微信支付  {charge.amount}" in paid.receipt.plain_text() and services.journal.open_entries() == []


def test_payment_code_confirmed_on_the_phone(kiosk) -> None:
    services, handle, _sim, row, _ = kiosk
    ticks = itertools.count()

    def time_passes(view: PaymentView) -> None:
        if view.phase is Phase.WAITING_CONFIRMATION and next(ticks) == 0:
            now = dt.datetime.fromisoformat(requests.get(f"{handle.url}/_test/clock", timeout=10).json()["now"])
            requests.put(f"{handle.url}/_test/clock", json={"now": (now + dt.timedelta(seconds=6)).isoformat()},
                         timeout=10)

    charge = _charge(services, row)
    paid = PaymentEngine(services, FAST).start(charge).pay(
        PayMethod.ALIPAY, time_passes, mode=QrMode.SCAN, auth_code="281234567890129999")
    assert paid.record.amount == charge.amount and services.his.bills(charge.patient.id) == []


def test_payment_code_declined(kiosk) -> None:
    services, _handle, _sim, row, _ = kiosk
    charge = _charge(services, row)
    with pytest.raises(PaymentFailed) as failed:
        PaymentEngine(services, FAST).start(charge).pay(PayMethod.ALIPAY, mode=QrMode.SCAN,
                                                         auth_code="281234567890120000")
    assert failed.value.message_key == "his.PAYMENT_DECLINED"
    assert len(services.his.bills(charge.patient.id)) == len(charge.bills)


def test_fee_due_at_collection_paid_by_card_for_real(his, terminal_sim, tmp_path) -> None:
    """GIVEN a morning booking not paid at once WHEN the patient collects it and pays the fee on the
    terminal THEN the HIS's payment, the terminal's ledger and the slip agree to the fen."""
    from kiosk.flows.collect import CollectFlow, CollectStep

    handle, _ = his
    fixtures = requests.get(f"{handle.url}/_test/fixtures", timeout=10).json()
    unpaid = next(a for a in fixtures["appointments"] if a["date"] == NOW.date().isoformat()
                  and a["period"] == "am" and a["status"] == "booked" and a["fee_fen"] > a["paid_fen"])
    row = next(p for p in fixtures["patients"] if p["id"] == unpaid["patient_id"])
    client = HisClient(handle.url, TOKEN, "K01", timeout_s=5)
    driver = EcrPaymentTerminal(terminal_sim.path, t1_s=0.2, t2_s=2.0, t4_s=10.0)
    driver.open()
    terminal_sim.behaviour = Behaviour.APPROVE
    services = dataclasses.replace(create_services(), his=client, payment=driver, journal=Journal(tmp_path / "j.db"),
                                   clock=lambda: NOW.replace(tzinfo=HOSPITAL_TZ))
    try:
        flow = CollectFlow(services, engine=PaymentEngine(services, FAST))
        state = flow.identify_scan(flow.start(), row["visit_card"])
        state = flow.collect(flow.select(state, unpaid["id"]))
        assert state.can_pay_fee
        due = state.collected.fee_due
        state = flow.pay_fee(state, PayMethod.BANK_CARD)
        assert state.step is CollectStep.PRINTING
        ref = state.fee_paid.terminal.ref
        [payment] = [p for p in _his_payments(handle) if p["terminal_ref"] == ref]
        assert payment["amount_fen"] == _ledger(terminal_sim)[ref] == due.fen == state.fee_paid.record.amount.fen
        assert payment["appointment_id"] == unpaid["id"] and "支付方式：银行卡" in state.slip.plain_text()
        assert services.journal.open_entries() == []
    finally:
        services.journal.close()
        driver.close()
        client.close()

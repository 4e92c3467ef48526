"""对账 for real: the reference HIS, the terminal simulator on a pty with the production ECR driver, a
real journal; payments made by the payment engine, one charge the HIS never got, then `kiosk
reconcile`'s run writes the report the cashier's office reads."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator

import pytest
import requests
from kiosk_test_fakes import create_services

from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.domain.money import Money
from kiosk.domain.patient import Identity, IdentityKind
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.flows.payment import Charge, EngineTiming, PaymentEngine
from kiosk.flows.payment_steps import Steps
from kiosk.flows.reconcile import Status
from kiosk.flows.reconcile_run import run_reconciliation
from kiosk.flows.services import HOSPITAL_TZ, hospital_now
from kiosk.sync.client import HisClient
from kiosk.sync.journal import Journal
from simulators.his.clock import Clock
from simulators.his.server import start_in_thread
from simulators.payment import PaymentTerminalSimulator, TerminalTiming

TOKEN = "demo-kiosk-token"


@pytest.fixture
def parts(tmp_path) -> Iterator[tuple]:
    now = hospital_now().replace(tzinfo=None)
    sim = PaymentTerminalSimulator(ack_timeout_s=0.2, timing=TerminalTiming.instant())
    sim.start()
    terminal = EcrPaymentTerminal(sim.path, t1_s=0.2, t2_s=2.0, t4_s=3.0, reconnect_interval_s=0.05)
    terminal.open()
    journal = Journal(tmp_path / "data" / "journal.db")
    with start_in_thread(f"sqlite:///{tmp_path / 'his.db'}", seed=1, clock=Clock("Asia/Shanghai", now)) as handle:
        his = HisClient(handle.url, TOKEN, "K01", timeout_s=10)
        fixtures = requests.get(f"{handle.url}/_test/fixtures", headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=30).json()
        services = dataclasses.replace(create_services(), his=his, payment=terminal, journal=journal,
                                       clock=lambda: dt.datetime.now(HOSPITAL_TZ))
        yield services, handle, fixtures, sim
        his.close()
    terminal.close()
    journal.close()
    sim.stop()


def _bills_of(services, fixtures, skip: int):
    patients = [p for p in fixtures["patients"] if "unpaid_bills" in p["tags"]]
    patient = services.his.resolve_patient(Identity(IdentityKind.VISIT_CARD, patients[skip]["visit_card"]))
    return patient, tuple(services.his.bills(patient.id))


def test_a_day_of_card_and_qr_payments_and_one_unrecorded_charge_reconciles_to_one_mismatch(parts, tmp_path) -> None:
    services, handle, fixtures, sim = parts
    engine = PaymentEngine(services, EngineTiming(retry_pause_s=0.05, qr_poll_s=0.1, qr_timeout_s=20))
    # GIVEN a card payment and a QR payment made by the engine
    patient, bills = _bills_of(services, fixtures, 0)
    card = engine.start(Charge.for_bills(patient, bills)).pay(PayMethod.BANK_CARD)
    patient2, bills2 = _bills_of(services, fixtures, 1)
    run = engine.start(Charge.for_bills(patient2, bills2))

    def pay_from_phone(view) -> None:
        if view.qr_content and not getattr(pay_from_phone, "done", False):
            pay_from_phone.done = True
            order_id = view.qr_content.rsplit("/", 1)[-1]
            requests.post(f"{handle.url}/_test/qr-orders/{order_id}/pay",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).raise_for_status()

    qr = run.pay(PayMethod.WECHAT, pay_from_phone, mode=QrMode.SHOW)
    # AND a charge the kiosk journaled and the terminal approved, but the HIS never heard of (a crash)
    stray = Steps(services.journal, services.his, services.payment, "o", "g-stray", "K01").sale(Money(4321), None, None)
    # WHEN the day is reconciled, the batch settled
    out = tmp_path / "reconcile"
    day = hospital_now().date()
    report = run_reconciliation(services.journal, services.payment, services.his, kiosk_id="K01", hospital="示范医院",
                                day=day, out_dir=out, settle=True, now=hospital_now)
    rec = report.reconciliation
    by_ref = {line.reference: line for line in rec.lines}
    # THEN the card payment and the QR payment match, the stray charge says record or refund
    assert by_ref[card.terminal.ref].status is Status.MATCHED
    assert by_ref[card.terminal.ref].receipt_nos == (card.record.receipt_no,)
    assert by_ref[qr.qr_order_id].status is Status.MATCHED
    assert [(m.reference, m.status) for m in rec.mismatches] == [(stray.ref, Status.CHARGED_NOT_RECORDED)]
    # AND the batch the terminal settled holds both charges, the HIS's card total only the recorded one
    assert rec.settlement is not None and rec.settlement.total == card.terminal.amount + Money(4321)
    assert rec.settlement_agrees is False and rec.terminal_charged == rec.settlement.total
    assert {t.method for t in rec.totals} == {"bank_card", "wechat"}
    # AND both files are there for the cashier: the page with the action, the CSV with every line
    page = report.html_path.read_text(encoding="utf-8")
    assert report.html_path.parent == out and "发现 1 笔不一致" in page and stray.ref in page
    assert Status.CHARGED_NOT_RECORDED.action in page
    rows = list(csv.reader(io.StringIO(report.csv_path.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert len(rows) == 1 + len(rec.lines) == 4
    assert sim.charged_total() == rec.terminal_charged


def test_kiosk_reconcile_writes_the_report_into_data_dir_and_says_what_it_found(parts, tmp_path, capsys) -> None:
    from kiosk.__main__ import main

    services, handle, fixtures, sim = parts
    engine = PaymentEngine(services, EngineTiming(retry_pause_s=0.05))
    patient, bills = _bills_of(services, fixtures, 2)
    paid = engine.start(Charge.for_bills(patient, bills)).pay(PayMethod.BANK_CARD)
    services.payment.close()  # the command opens the terminal itself, as with the kiosk app stopped
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\nid = "K01"\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[his]\nurl = "{handle.url}"\ntoken = "{TOKEN}"\n'
                      f'[devices.payment]\ndriver = "ecr-serial"\ndevice = "{sim.path}"\n', encoding="utf-8")
    day = hospital_now().date()
    assert main(["--config", str(config), "reconcile", "--no-settle"]) == 0
    out = capsys.readouterr().out
    assert f"kiosk reconcile {day}: 1 transactions, 0 mismatches" in out
    page = (tmp_path / "data" / "reconcile" / f"reconcile-{day}-K01.html").read_text(encoding="utf-8")
    assert "全部一致：1 笔交易" in page and paid.terminal.ref in page and "本次未结算" in page

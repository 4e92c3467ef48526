"""The booking, check-in and lookup flows against the reference HIS (simulators.his), fake printer."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from kiosk_test_fakes import create_id_card, create_services

from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.domain.appointment import AppointmentStatus
from kiosk.domain.payment import PayMethod
from kiosk.flows import department_search
from kiosk.flows.book import BookFlow, BookStep
from kiosk.flows.lookup import LookupFlow
from kiosk.flows.payment import EngineTiming, PaymentEngine
from kiosk.flows.records import LookupStep
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.sync.client import HisClient
from kiosk.sync.journal import EntryState, Journal
from simulators.his.clock import Clock
from simulators.his.server import start_in_thread
from simulators.payment import Behaviour, PaymentTerminalSimulator, TerminalTiming

NOW = dt.datetime(2026, 11, 23, 8, 40)
TOKEN = "demo-kiosk-token"
FAST = EngineTiming(record_retries=1, retry_pause_s=0.05, query_retries=2, qr_poll_s=0.05, qr_timeout_s=60)


@pytest.fixture
def services(tmp_path) -> Iterator:
    with start_in_thread(f"sqlite:///{tmp_path / 'his.db'}", seed=1, clock=Clock("Asia/Shanghai", NOW)) as handle:
        client = HisClient(handle.url, TOKEN, "K01", timeout_s=10)
        yield dataclasses.replace(
            create_services(), his=client, clock=lambda: NOW.replace(tzinfo=HOSPITAL_TZ),
            journal=Journal(tmp_path / "j.db"),
        ), handle
        client.close()


def test_first_visit_books_the_first_free_slot_and_cancels_it_before_the_deadline(services) -> None:
    services, _ = services
    flow = BookFlow(services)
    state = flow.identify_id_card(flow.start(), create_id_card("新病人", "11010519800101123"))
    assert state.step is BookStep.DEPARTMENTS and state.created  # 实名建档 from the card
    state = flow.choose_department(state, state.shown_departments[0].id)
    state = flow.choose_doctor(state, state.choices[0].key)
    state = flow.choose_date(state, state.dates[-1])  # the last day of the window: cancellable today
    state = flow.choose_slot(state, state.slots[0].slot.id)
    assert state.step is BookStep.CONFIRM and state.hold is not None
    state = flow.book(state)
    assert state.step is BookStep.PAYING and state.appointment is not None  # pay now, or later: allowed
    assert services.journal.get(state.book_key).state is EntryState.CONFIRMED
    state = flow.pay_later(state)
    state = flow.print_slip(state)
    assert state.step is BookStep.DONE and "挂号凭条" in services.printer.printed[-1].plain_text()

    lookup = LookupFlow(services)
    records = lookup.identify_id_card(lookup.start(), create_id_card("新病人", "11010519800101123"))
    records = lookup.select(records, state.appointment.id)
    done = lookup.cancel(lookup.ask_cancel(records))
    assert done.step is LookupStep.DONE
    after = services.his.list_appointments(state.patient.id, None)
    assert [a.status for a in after] == [AppointmentStatus.CANCELLED]


def test_leaving_the_confirm_step_releases_the_hold(services) -> None:
    services, _ = services
    flow = BookFlow(services)
    state = flow.identify_id_card(flow.start(), create_id_card("李四", "11010519700101123"))
    state = flow.choose_department(state, state.shown_departments[0].id)
    state = flow.choose_doctor(state, state.choices[0].key)
    state = flow.choose_date(state, state.dates[0])
    first = state.slots[0].slot.id
    held = flow.choose_slot(state, first)
    back = flow.back(held)
    assert back.step is BookStep.SLOTS and back.hold is None
    assert back.slots[0].slot.id == first  # free again


def test_department_search_by_name_initials_and_symptom() -> None:
    from kiosk.domain.schedule import Department

    departments = [Department("G1", "内科", "Internal", "2F", ""), Department("D1", "神经内科", "Neurology", "2F", "204", "G1"),
                   Department("D2", "心血管内科", "Cardiology", "2F", "201", "G1")]
    assert [d.id for d in department_search.search(departments, "头痛")] == ["D1"]
    assert [d.id for d in department_search.search(departments, "xxg")] == ["D2"]
    assert [d.id for d in department_search.search(departments, "心血管")] == ["D2"]
    assert [d.id for d in department_search.search(departments, "")] == ["D1", "D2"]  # groups are headings


@pytest.fixture
def terminal(services) -> Iterator:
    sim = PaymentTerminalSimulator(ack_timeout_s=0.2, timing=TerminalTiming.instant())
    sim.start()
    driver = EcrPaymentTerminal(sim.path, t1_s=0.2, t2_s=2.0, t4_s=10.0, reconnect_interval_s=0.05)
    driver.open()
    sim.behaviour = Behaviour.APPROVE
    yield sim, driver
    driver.close()
    sim.stop()


def test_a_hospital_that_wants_the_fee_at_once_takes_it_on_the_terminal(services, terminal) -> None:
    """GIVEN registration_pay_later = false WHEN a patient books and pays by card THEN the HIS's payment,
    the terminal's ledger and the slip agree to the fen, and the booking is paid."""
    services, handle = services
    sim, driver = terminal
    config = services.config
    services = dataclasses.replace(
        services, payment=driver,
        config=dataclasses.replace(config, kiosk=dataclasses.replace(config.kiosk, registration_pay_later=False)),
    )
    flow = BookFlow(services, engine=PaymentEngine(services, FAST))
    state = flow.identify_id_card(flow.start(), create_id_card("钱七", "11010519750101123"))
    state = flow.choose_department(state, state.shown_departments[0].id)
    state = flow.choose_doctor(state, state.choices[0].key)
    state = flow.choose_date(state, state.dates[-1])
    state = flow.choose_slot(state, state.slots[0].slot.id)
    state = flow.book(state)
    assert state.step is BookStep.PAYING
    state = flow.pay_fee(state, PayMethod.BANK_CARD)
    assert state.step is BookStep.PRINTING
    fee = state.appointment.fee
    ref = state.paid.terminal.ref
    payments = requests.get(f"{handle.url}/payments", params={"date": NOW.date().isoformat()},
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()["payments"]
    [payment] = [p for p in payments if p["terminal_ref"] == ref]
    charged = {t.ref: t.amount_fen for t in sim.transactions if t.command == "01" and t.approved and not t.voided}
    assert payment["amount_fen"] == charged[ref] == fee.fen and payment["appointment_id"] == state.appointment.id
    assert "支付方式：银行卡" in state.slip.plain_text()
    [booked] = services.his.list_appointments(state.patient.id, None)
    assert booked.paid == fee
    assert services.journal.open_entries() == []

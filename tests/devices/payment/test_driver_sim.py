"""EcrPaymentTerminal (production driver) against the payment terminal simulator over a real pty."""

from __future__ import annotations

import threading

import pytest
from kiosk_test_support import wait_for

from kiosk.config import PaymentSection
from kiosk.devices.base import Cancel, Capability, Detail, DeviceState, DeviceStatus
from kiosk.devices.payment import EcrPaymentTerminal, new_reference
from kiosk.devices.ports import PaymentStep
from kiosk.domain.errors import (
    DeviceBusy,
    DeviceError,
    DeviceOffline,
    PaymentCancelled,
    PaymentDeclined,
    PaymentLinkFailed,
    PaymentOutcomeUnknown,
    UserCancelled,
)
from kiosk.domain.money import Money
from simulators.payment import Behaviour, PaymentTerminalSimulator

ALL_STEPS = [PaymentStep.INSERT_CARD, PaymentStep.ENTER_PIN, PaymentStep.PROCESSING, PaymentStep.REMOVE_CARD]


# --- sales --------------------------------------------------------------------------------------
def test_approved_sale_delivers_progress_and_result(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator, events: list[DeviceStatus]
) -> None:
    steps: list[tuple[PaymentStep, str]] = []
    result = terminal.sale("K01-S1", Money(1250), on_progress=lambda step, msg: steps.append((step, msg)))
    assert result.approved and result.command == "01" and result.ref == "K01-S1"
    assert result.amount == Money(1250)
    assert result.card.startswith("622202") and "*" in result.card
    assert len(result.auth) == 6 and len(result.rrn) == 12 and len(result.trace) == 6
    assert result.message == "交易成功"
    assert [step for step, _ in steps] == ALL_STEPS
    assert steps[1][1] == "请输入密码"
    assert sim.charged_total() == Money(1250)
    # GIVEN a sale, the device went BUSY then back ONLINE
    states = [e.state for e in events]
    assert DeviceState.BUSY in states and states[-1] is DeviceState.ONLINE


@pytest.mark.parametrize("rc", ["05", "51", "55", "54", "91"])
def test_declines_raise_payment_declined_with_the_code(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator, rc: str
) -> None:
    sim.behaviour = Behaviour.DECLINE
    sim.decline_rc = rc
    with pytest.raises(PaymentDeclined) as caught:
        terminal.sale(f"K01-D{rc}", Money(800))
    assert caught.value.response_code == rc
    assert sim.charged_total() == Money(0)
    queried = terminal.query(f"K01-D{rc}")
    assert queried is not None and queried.rc == rc and not queried.approved


def test_pin_timeout_is_an_unknown_outcome_settled_by_query(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.behaviour = Behaviour.PIN_TIMEOUT
    steps: list[PaymentStep] = []
    with pytest.raises(PaymentOutcomeUnknown, match="TO"):
        terminal.sale("K01-T1", Money(800), on_progress=lambda step, _msg: steps.append(step))
    assert steps == [PaymentStep.INSERT_CARD, PaymentStep.ENTER_PIN]
    queried = terminal.query("K01-T1")
    assert queried is not None and queried.rc == "TO"


@pytest.mark.parametrize("behaviour", [Behaviour.CANCELLED, Behaviour.CARD_REMOVED])
def test_cardholder_cancel_raises_payment_cancelled(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator, behaviour: Behaviour
) -> None:
    sim.behaviour = behaviour
    with pytest.raises(PaymentCancelled):
        terminal.sale("K01-C1", Money(800))
    assert sim.charged_total() == Money(0)
    assert terminal.status().state is DeviceState.ONLINE


def test_response_lost_is_unknown_and_query_finds_it_approved(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.behaviour = Behaviour.APPROVED_BUT_RESPONSE_LOST
    steps: list[PaymentStep] = []
    with pytest.raises(PaymentOutcomeUnknown):
        terminal.sale("K01-L1", Money(3000), on_progress=lambda step, _msg: steps.append(step))
    assert steps == ALL_STEPS  # progress came, so T2 was met and T4 ran out
    assert sim.charged_total() == Money(3000)  # the card WAS charged: the driver must not say otherwise
    found = terminal.query("K01-L1")
    assert found is not None and found.approved and found.amount == Money(3000) and found.command == "04"


def test_no_answer_at_all_is_unknown_after_t2(sim: PaymentTerminalSimulator) -> None:
    # GIVEN a terminal that ACKs the request but then says nothing (first frame later than T2)
    driver = EcrPaymentTerminal(sim.path, t1_s=0.2, t2_s=0.4, t4_s=30.0)
    driver.open()
    sim.latency_s = 1.2
    steps: list[PaymentStep] = []
    try:
        with pytest.raises(PaymentOutcomeUnknown):
            driver.sale("K01-N1", Money(100), on_progress=lambda step, _msg: steps.append(step))
        assert steps == []  # it gave up on T2: waiting for T4 would have seen the progress frames
    finally:
        driver.close()


def test_duplicate_reference_queries_and_returns_the_earlier_result(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.behaviour = Behaviour.APPROVED_BUT_RESPONSE_LOST
    with pytest.raises(PaymentOutcomeUnknown):
        terminal.sale("K01-DU", Money(4200))
    # WHEN the kiosk retries the same REF (e.g. after a restart)
    sim.behaviour = Behaviour.APPROVE
    result = terminal.sale("K01-DU", Money(4200))
    # THEN the terminal refused it as a duplicate, the driver queried, and nothing was charged twice
    assert result.approved and result.ref == "K01-DU" and result.command == "04"
    assert sim.stats.requests[-3:] == ["01", "01", "04"]
    assert sim.charged_total() == Money(4200)


def test_duplicate_of_a_declined_reference_is_declined(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.behaviour = Behaviour.DECLINE
    sim.decline_rc = "51"
    with pytest.raises(PaymentDeclined):
        terminal.sale("K01-DD", Money(900))
    sim.behaviour = Behaviour.APPROVE
    with pytest.raises(PaymentDeclined) as caught:
        terminal.sale("K01-DD", Money(900))
    assert caught.value.response_code == "51"


def test_reused_reference_with_another_amount_is_refused(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    terminal.sale("K01-RU", Money(900))
    with pytest.raises(DeviceError, match="already used") as caught:
        terminal.sale("K01-RU", Money(1900))
    assert not isinstance(caught.value, PaymentOutcomeUnknown)
    assert sim.charged_total() == Money(900)


# --- the link ----------------------------------------------------------------------------------
def test_nak_makes_the_driver_resend(terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator) -> None:
    sim.behaviour = Behaviour.NAK_NEXT_FRAME
    before = sim.stats.frames_received
    result = terminal.sale("K01-NK", Money(500))
    assert result.approved
    assert sim.stats.naks_sent == 1
    assert sim.stats.frames_received - before == 2  # the NAKed sale and its repeat
    assert sim.stats.requests.count("01") == 1  # ... processed once
    assert sim.charged_total() == Money(500)


def test_garbled_frame_is_naked_and_resent(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.behaviour = Behaviour.GARBLE_NEXT_FRAME
    steps: list[PaymentStep] = []
    result = terminal.sale("K01-GB", Money(700), on_progress=lambda step, _msg: steps.append(step))
    assert result.approved
    assert sim.stats.naks_received == 1 and sim.stats.resends == 1
    assert steps == ALL_STEPS  # the garbled INSERT_CARD arrived once, after its resend


def test_no_ack_fails_the_link_after_three_repeats(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator, events: list[DeviceStatus]
) -> None:
    sim.behaviour = Behaviour.NO_ACK
    with pytest.raises(PaymentLinkFailed):
        terminal.sale("K01-NA", Money(500))
    assert sim.stats.frames_ignored == 4  # 1 send + 3 repeats
    assert sim.charged_total() == Money(0)
    assert events[-1].state is DeviceState.OFFLINE and events[-1].detail is Detail.LINK_LOST
    # WHEN the terminal answers again THEN the monitor brings the status back
    sim.behaviour = Behaviour.APPROVE
    assert wait_for(lambda: terminal.status().state is DeviceState.ONLINE)


def test_link_lost_mid_transaction_then_query_after_relink(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator, events: list[DeviceStatus]
) -> None:
    sim.behaviour = Behaviour.LINK_LOST_MID_TRANSACTION
    with pytest.raises(PaymentOutcomeUnknown):
        terminal.sale("K01-LL", Money(6600))
    assert terminal.status().state in (DeviceState.OFFLINE, DeviceState.NO_DEVICE)
    with pytest.raises(DeviceOffline):
        terminal.query("K01-LL")  # the cable is still out
    sim.behaviour = Behaviour.APPROVE
    sim.replug()
    assert wait_for(lambda: terminal.status().state is DeviceState.ONLINE)
    found = terminal.query("K01-LL")
    assert found is not None and found.approved and found.amount == Money(6600)
    assert any(e.state is DeviceState.OFFLINE for e in events)


def test_unplug_while_idle_is_noticed_and_replug_recovers(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.unplug()
    assert wait_for(lambda: not terminal.status().state.usable)
    with pytest.raises(DeviceOffline):
        terminal.sale("K01-UP", Money(100))  # nothing was sent, so nothing is unknown
    sim.replug()
    assert wait_for(lambda: terminal.status().state is DeviceState.ONLINE)
    assert terminal.sale("K01-UP", Money(100)).approved


def test_open_on_a_missing_port_does_not_raise() -> None:
    driver = EcrPaymentTerminal("/nonexistent/kiosk-payment", t1_s=0.05, reconnect_interval_s=10)
    driver.open()
    try:
        assert driver.status().state is DeviceState.NO_DEVICE
        assert not driver.self_test().ok
    finally:
        driver.close()


# --- cancel and concurrency ----------------------------------------------------------------------
def test_cancel_before_sending_sends_nothing(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    cancel = Cancel()
    cancel.cancel()
    with pytest.raises(UserCancelled):
        terminal.sale("K01-CX", Money(100), cancel=cancel)
    assert "01" not in sim.stats.requests


def test_cancel_while_running_is_unknown_and_late_answer_is_not_mistaken(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.latency_s = 0.05
    cancel = Cancel()
    with pytest.raises(PaymentOutcomeUnknown):
        terminal.sale("K01-CY", Money(100), on_progress=lambda _s, _m: cancel.cancel(), cancel=cancel)
    # The terminal finishes the sale on its own; its late frames must not confuse the next exchange.
    assert wait_for(lambda: any(t.ref == "K01-CY" for t in sim.transactions))
    found = terminal.query("K01-CY")
    assert found is not None and found.approved
    assert terminal.terminal_state() == "READY"


def test_second_operation_while_one_runs_is_busy(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    sim.latency_s = 0.1
    started = threading.Event()
    outcome: list[object] = []

    def run() -> None:
        outcome.append(terminal.sale("K01-BZ", Money(100), on_progress=lambda _s, _m: started.set()))

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(5)
    with pytest.raises(DeviceBusy):
        terminal.terminal_state()
    worker.join(10)
    assert outcome and getattr(outcome[0], "approved", False)


# --- other commands ------------------------------------------------------------------------------
def test_void_refund_and_settlement_totals(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    terminal.sale("K01-A", Money(1000))
    terminal.sale("K01-B", Money(2500))
    void = terminal.void("K01-A-V", "K01-A")
    assert void.approved and void.command == "02" and void.amount == Money(1000)
    refund = terminal.refund("K01-B-R", Money(500), "K01-B")
    assert refund.approved and refund.command == "03" and refund.amount == Money(500)
    assert sim.charged_total() == Money(2000)
    with pytest.raises(DeviceError):
        terminal.refund("K01-B-R2", Money(2001), "K01-B")  # more than is left of the sale
    with pytest.raises(DeviceError):
        terminal.void("K01-A-V2", "K01-A")  # already voided
    settlement = terminal.settle()
    assert (settlement.count, settlement.total) == (4, Money(2000))  # 1000 + 2500 - 1000 - 500
    again = terminal.settle()
    assert (again.count, again.total) == (0, Money(0)) and again.batch != settlement.batch
    with pytest.raises(DeviceError):
        terminal.void("K01-B-V", "K01-B")  # voids only within the batch


def test_a_refunded_sale_cannot_be_voided_and_a_refund_is_queried_by_its_ref(
    terminal: EcrPaymentTerminal, sim: PaymentTerminalSimulator
) -> None:
    """PROTOCOLS.md 02/03/04 as a refund after 退号 uses them: a partly refunded sale is never voided too
    (that would give the refunded part back twice), a whole refund with ORIG_REF takes the rest, and
    the refund's own REF answers a query (04) like a sale's."""
    terminal.sale("K01-C", Money(1200))
    terminal.refund("K01-C-R1", Money(200), "K01-C")
    with pytest.raises(DeviceError):
        terminal.void("K01-C-V", "K01-C")
    rest = terminal.refund("K01-C-R2", Money(1000), "K01-C")
    assert rest.approved and sim.charged_total() == Money.zero()
    asked = terminal.query("K01-C-R2")
    assert asked is not None and asked.approved and asked.amount == Money(1000)
    with pytest.raises(DeviceError):
        terminal.refund("K01-C-R3", Money(1), "K01-C")  # nothing left to give back


def test_query_of_an_unknown_reference_is_none(terminal: EcrPaymentTerminal) -> None:
    assert terminal.query("K01-NEVER") is None


@pytest.mark.parametrize(
    ("behaviour", "state", "detail"),
    [
        (Behaviour.PAPER_OUT, "PAPER_OUT", Detail.PAPER_OUT),
        (Behaviour.SIGN_IN, "SIGN_IN", Detail.NEEDS_SIGN_IN),
    ],
)
def test_terminal_states_show_in_status(
    terminal: EcrPaymentTerminal,
    sim: PaymentTerminalSimulator,
    behaviour: Behaviour,
    state: str,
    detail: Detail,
) -> None:
    sim.behaviour = behaviour
    assert terminal.terminal_state() == state
    assert terminal.status().state is DeviceState.USER_ERROR and terminal.status().detail is detail
    assert not terminal.self_test().ok
    with pytest.raises(DeviceError) as caught:
        terminal.sale("K01-PO", Money(100))
    assert type(caught.value) is DeviceError  # a terminal error, not a decline or an unknown outcome
    assert sim.charged_total() == Money(0)
    sim.behaviour = Behaviour.APPROVE
    assert wait_for(lambda: terminal.status().state is DeviceState.ONLINE)  # the monitor re-asks
    result = terminal.self_test()
    assert result.ok and any("READY" in line for line in result.lines)


def test_capabilities_and_from_config(sim: PaymentTerminalSimulator) -> None:
    section = PaymentSection(
        driver="ecr-serial", device=sim.path, baudrate=19200, t1_s=0.3, t2_s=2.0, t4_s=60.0
    )
    driver = EcrPaymentTerminal.from_config(section)
    assert (driver.device, driver.baudrate, driver.t1_s, driver.t2_s, driver.t4_s) == (
        sim.path,
        19200,
        0.3,
        2.0,
        60.0,
    )
    assert {
        Capability.VOID,
        Capability.REFUND,
        Capability.QUERY,
        Capability.SETTLEMENT,
    } <= driver.capabilities()
    with pytest.raises(DeviceOffline):
        driver.sale("K01-X", Money(1))  # not opened


def test_new_reference_is_short_printable_and_unique() -> None:
    refs = {new_reference("K01") for _ in range(2000)}
    assert len(refs) == 2000
    long_one = new_reference("HOSPITAL-NORTH-WING-KIOSK-0001 中")
    for ref in [*list(refs)[:5], long_one]:
        assert 1 <= len(ref) <= 32 and all(0x21 <= ord(c) <= 0x7E for c in ref)
    assert next(iter(refs)).startswith("K01-")

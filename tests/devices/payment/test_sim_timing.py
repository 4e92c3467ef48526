"""The terminal simulator takes a real terminal's time (card, PIN, host), so a kill or an unplug can
land mid-transaction: the cardholder's steps arrive as progress frames, and a link cut during the PIN
leaves nothing charged and an unknown outcome the kiosk settles by query."""

from __future__ import annotations

import threading

import pytest
from kiosk_test_support import wait_for

from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.devices.ports import PaymentStep
from kiosk.domain.errors import PaymentOutcomeUnknown
from kiosk.domain.money import Money
from simulators.payment import PaymentTerminalSimulator, TerminalTiming


def test_default_timing_is_about_three_seconds() -> None:
    assert TerminalTiming().total_s == pytest.approx(3.0)
    assert TerminalTiming.instant().total_s == 0


def test_unplugged_while_the_pin_is_typed_charges_nothing() -> None:
    sim = PaymentTerminalSimulator(ack_timeout_s=0.2, timing=TerminalTiming(card_s=0.0, pin_s=30.0, host_s=0.0))
    sim.start()
    driver = EcrPaymentTerminal(sim.path, t1_s=0.2, t2_s=1.0, t4_s=60.0, reconnect_interval_s=0.05)
    driver.open()
    steps: list[PaymentStep] = []
    outcome: list[BaseException] = []

    def pay() -> None:
        try:
            driver.sale("K01-PIN", Money(2500), on_progress=lambda step, _msg: steps.append(step))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=pay)
    worker.start()
    try:
        assert wait_for(lambda: PaymentStep.ENTER_PIN in steps, timeout_s=10)
        sim.unplug()  # the kiosk's cable is pulled while the cardholder types the PIN
        worker.join(timeout=30)
        assert isinstance(outcome[0], PaymentOutcomeUnknown)
        sim.replug()
        assert wait_for(lambda: driver.status().state.usable, timeout_s=10)
        assert driver.query("K01-PIN") is None  # the terminal never finished it: nothing charged
        assert sim.charged_total() == Money(0)
    finally:
        worker.join(timeout=30)
        driver.close()
        sim.stop()

"""Fixtures: the payment terminal simulator on a pty and the production driver opened on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.devices.base import DeviceStatus
from kiosk.devices.payment import EcrPaymentTerminal
from simulators.payment import PaymentTerminalSimulator, TerminalTiming

# Short protocol timers keep the suite fast; the logic is the same as with 0.5 / 5 / 120 s.
T1_S = 0.2
T2_S = 1.0
T4_S = 1.5


@pytest.fixture
def sim() -> Iterator[PaymentTerminalSimulator]:
    simulator = PaymentTerminalSimulator(ack_timeout_s=T1_S, timing=TerminalTiming.instant())
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def events() -> list[DeviceStatus]:
    return []


@pytest.fixture
def terminal(sim: PaymentTerminalSimulator, events: list[DeviceStatus]) -> Iterator[EcrPaymentTerminal]:
    driver = EcrPaymentTerminal(sim.path, t1_s=T1_S, t2_s=T2_S, t4_s=T4_S, reconnect_interval_s=0.05)
    driver.subscribe(lambda _name, status: events.append(status))
    driver.open()
    yield driver
    driver.close()

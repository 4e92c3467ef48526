"""Fixtures for the insurance-card tests: a pcscd with vpcd for the session, a card simulator, a reader.

The tests use vpcd's second slot ("Virtual PCD 00 01", TCP 35964) so that a demo or another suite
using the default first slot does not share the card with them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.devices.insurance import PcscInsuranceReader
from simulators.insurance import InsuranceCardSimulator
from simulators.pcscd import PcscdHandle, ensure_pcscd, slot_lock, wait_slot_empty

READER = "Virtual PCD 00 01"
PORT = 35964


class PcscdBox:
    """The session's pcscd handle; a restart replaces it, so tests share the box, not the handle."""

    def __init__(self, handle: PcscdHandle) -> None:
        self.handle = handle


@pytest.fixture(scope="session")
def pcscd() -> Iterator[PcscdBox]:
    with slot_lock(PORT):  # another test session using this slot waits for ours, and ours for it
        box = PcscdBox(ensure_pcscd())
        yield box
        box.handle.stop()


@pytest.fixture
def sim(pcscd: PcscdBox) -> Iterator[InsuranceCardSimulator]:
    simulator = InsuranceCardSimulator(port=PORT)
    yield simulator
    simulator.stop()
    # No card is left in the slot for the next test, as pcscd sees it too.
    assert wait_slot_empty(READER), "pcscd still sees a card after the simulator removed it"


@pytest.fixture
def reader(pcscd: PcscdBox) -> Iterator[PcscInsuranceReader]:
    device = PcscInsuranceReader(READER, poll_interval_s=0.1)
    device.open()
    yield device
    device.close()

"""PcscInsuranceReader against the simulated card through the real stack: pyscard -> pcscd -> vpcd."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import replace

import pytest
from kiosk_test_support import wait_for

from kiosk.config import InsuranceSection
from kiosk.devices.base import Cancel, Capability, Detail, DeviceState, DeviceStatus
from kiosk.devices.insurance import PcscInsuranceReader
from kiosk.domain.errors import CardRemoved, CardUnreadable, DeviceOffline, NoCard, UserCancelled
from kiosk.domain.idnumber import Sex
from simulators.insurance import (
    InsuranceCardSimulator,
    SimInsuranceCard,
    expired_card,
    non_social_security_card,
    normal_card,
    vanishing_card,
)

from .conftest import READER, PcscdBox

SELECT_SSSE = "00a404000f7378312e73682ec9e7bbe1b1a3d5cf"


def record_statuses(reader: PcscInsuranceReader) -> list[DeviceStatus]:
    seen: list[DeviceStatus] = []
    reader.subscribe(lambda _name, status: seen.append(status))
    return seen


def test_reads_number_name_id_region_validity(reader: PcscInsuranceReader, sim: InsuranceCardSimulator,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """GIVEN a normal card in the slot WHEN it is read THEN every field comes back, by the golden APDUs."""
    statuses = record_statuses(reader)
    sim.insert(normal_card())
    with caplog.at_level(logging.DEBUG):
        data = reader.read_card(timeout_s=5)
    assert data.card_number == "A00000019"
    assert data.name == "张三"
    assert data.id_number == "11010519491231002X"
    assert data.sex is Sex.FEMALE
    assert data.region == "110100"
    assert (data.issued, data.expires) == (dt.date(2021, 12, 3), dt.date(2031, 12, 2))
    assert not data.is_expired(dt.date(2025, 1, 1))
    assert [a.hex() for a in sim.apdus] == [
        SELECT_SSSE, "00b2012c12", "00b2052c06", "00b2062c06", "00b2072c0b",
        "00b2083414", "00b2093420", "00b20a3403",
    ]
    assert (DeviceState.BUSY, Detail.CARD_PRESENT) in [(s.state, s.detail) for s in statuses]
    assert (reader.status().state, reader.status().detail) == (DeviceState.ONLINE, Detail.CARD_PRESENT)
    assert "张三" not in caplog.text and "11010519491231002X" not in caplog.text


def test_no_card_times_out(reader: PcscInsuranceReader, sim: InsuranceCardSimulator) -> None:
    with pytest.raises(NoCard):
        reader.read_card(timeout_s=0.6)
    with pytest.raises(NoCard):
        reader.read_card(timeout_s=0)  # a single look at the slot
    assert (reader.status().state, reader.status().detail) == (DeviceState.ONLINE, Detail.NONE)


def test_cancel_stops_the_wait(reader: PcscInsuranceReader, sim: InsuranceCardSimulator) -> None:
    cancel = Cancel()
    timer = threading.Timer(0.3, cancel.cancel)
    timer.start()
    try:
        with pytest.raises(UserCancelled):
            reader.read_card(timeout_s=30, cancel=cancel)
    finally:
        timer.cancel()


def test_card_inserted_while_waiting_is_read(reader: PcscInsuranceReader, sim: InsuranceCardSimulator) -> None:
    timer = threading.Timer(0.3, sim.insert, args=(expired_card(),))
    timer.start()
    try:
        data = reader.read_card(timeout_s=10)
    finally:
        timer.join()
    assert data.name == "李四"  # padded with spaces on this card


def test_expired_card_is_read_and_reported_expired(reader: PcscInsuranceReader,
                                                   sim: InsuranceCardSimulator) -> None:
    sim.insert(expired_card())
    data = reader.read_card(timeout_s=5)
    assert data.expires == dt.date(2020, 10, 1)
    assert data.is_expired(dt.date(2024, 6, 1))
    assert data.region == "440300"


def test_card_removed_mid_read(reader: PcscInsuranceReader, sim: InsuranceCardSimulator) -> None:
    sim.insert(vanishing_card(after_apdus=3))
    with pytest.raises(CardRemoved):
        reader.read_card(timeout_s=5)
    assert len(sim.apdus) == 3
    assert wait_for(lambda: reader.status().detail is Detail.NONE)
    assert reader.status().state is DeviceState.ONLINE


def test_removal_fault_on_an_inserted_card(reader: PcscInsuranceReader, sim: InsuranceCardSimulator) -> None:
    sim.insert(normal_card())
    sim.remove_mid_read_after_apdus(6)
    with pytest.raises(CardRemoved):
        reader.read_card(timeout_s=5)
    # A fresh card afterwards reads normally: nothing stale is left in the driver.
    sim.insert(normal_card())
    assert reader.read_card(timeout_s=5).card_number == "A00000019"


def test_non_social_security_card_is_unreadable(reader: PcscInsuranceReader,
                                                sim: InsuranceCardSimulator) -> None:
    sim.insert(non_social_security_card())
    with pytest.raises(CardUnreadable):
        reader.read_card(timeout_s=5)
    assert [a.hex() for a in sim.apdus] == [SELECT_SSSE]
    assert reader.status().state is DeviceState.ONLINE


@pytest.mark.parametrize(
    "card",
    [
        replace(normal_card(), select_via_get_response=True),
        replace(normal_card(), sfi_reads=False),
    ],
    ids=["t0-get-response", "ef-select-first"],
)
def test_card_variants_through_pcsc(reader: PcscInsuranceReader, sim: InsuranceCardSimulator,
                                    card: SimInsuranceCard) -> None:
    sim.insert(card)
    assert reader.read_card(timeout_s=5).id_number == "11010519491231002X"
    sent = [a.hex() for a in sim.apdus]
    if card.select_via_get_response:
        assert sent[1].startswith("00c00000")
    else:
        assert "00a4000002ef05" in sent and "00a4000002ef06" in sent


def test_self_test_and_capabilities(reader: PcscInsuranceReader, sim: InsuranceCardSimulator) -> None:
    sim.insert(normal_card())
    assert wait_for(lambda: reader.status().detail is Detail.CARD_PRESENT)
    result = reader.self_test()
    assert result.ok
    assert f"using reader: {READER}" in result.lines
    assert any(line.startswith("card: present, ATR 3B6D") for line in result.lines)
    assert reader.capabilities() == frozenset({Capability.CONTACT})


def test_missing_reader_is_no_device(pcscd: PcscdBox) -> None:
    device = PcscInsuranceReader.from_config(InsuranceSection(driver="pcsc", reader="No Such Reader"))
    with pytest.raises(DeviceOffline):
        device.read_card(timeout_s=0.1)  # not open yet
    device.open()
    try:
        assert (device.status().state, device.status().detail) == (DeviceState.NO_DEVICE, Detail.NO_READER)
        with pytest.raises(DeviceOffline):
            device.read_card(timeout_s=0.5)
        assert not device.self_test().ok
    finally:
        device.close()
    assert device.status().state is DeviceState.OFFLINE


def test_recovers_after_pcscd_restart(pcscd: PcscdBox, reader: PcscInsuranceReader,
                                      sim: InsuranceCardSimulator) -> None:
    """GIVEN a reader that has read a card WHEN pcscd restarts THEN it reports NO_DEVICE, then reads again."""
    if not pcscd.handle.owned:
        pytest.skip("the running pcscd was not started by simulators.pcscd, so it may not be restarted")
    statuses = record_statuses(reader)
    sim.insert(normal_card())
    assert reader.read_card(timeout_s=5).card_number == "A00000019"
    pcscd.handle = pcscd.handle.restart()
    assert wait_for(lambda: reader.status().state is DeviceState.ONLINE, timeout_s=10)
    assert DeviceState.NO_DEVICE in [s.state for s in statuses]
    assert sim.connected.wait(5)  # the card is still in the slot and plugs back into the new vpcd
    assert reader.read_card(timeout_s=10).name == "张三"

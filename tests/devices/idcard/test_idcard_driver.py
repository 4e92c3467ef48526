"""Ga467Reader against the pty simulator: the production driver over a real serial transport."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kiosk_test_support import wait_for

from kiosk.config import IdCardSection
from kiosk.devices.base import FAULT_STATES, Cancel, Capability, Detail, DeviceState
from kiosk.devices.ga467 import CardType
from kiosk.devices.idcard import Ga467Reader
from kiosk.domain.errors import (
    CardRemoved,
    CardUnreadable,
    DeviceError,
    DeviceOffline,
    NoCard,
    ProtocolError,
    UserCancelled,
)
from kiosk.domain.idnumber import Sex, check_char
from simulators.idcard import TEST_CARDS, CardState, IdCardSimulator, SimIdCard

FIND = bytes.fromhex("AAAAAA96690003200122")
SELECT = bytes.fromhex("AAAAAA96690003200221")
READ = bytes.fromhex("AAAAAA96690003300132")
SAM_STATUS = bytes.fromhex("AAAAAA9669000311FFED")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[IdCardSimulator]:
    simulator = IdCardSimulator(link_path=str(tmp_path / "kiosk-idcard"))
    simulator.start()
    yield simulator
    simulator.stop()


def make_reader(path: str, **kwargs: float) -> Ga467Reader:
    options: dict[str, float] = {
        "poll_interval_s": 0.02,
        "reconnect_interval_s": 0.05,
        "health_interval_s": 0.1,
        "reply_timeout_s": 0.3,
    }
    options.update(kwargs)
    return Ga467Reader(path, **options)  # type: ignore[arg-type]


@pytest.fixture
def reader(sim: IdCardSimulator) -> Iterator[Ga467Reader]:
    driver = make_reader(sim.path)
    driver.open()
    yield driver
    driver.close()


def test_open_checks_the_sam_and_goes_online(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    assert reader.status().state is DeviceState.ONLINE
    assert sim.received[0] == SAM_STATUS  # the golden frame, byte for byte
    assert reader.sam_id == sim.sam_id.hex().upper()
    assert reader.capabilities() == {Capability.CONTACTLESS, Capability.APPENDED_ADDRESS}


def test_reads_a_present_card(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    """GIVEN the normal test card on the reader WHEN read_card THEN its data, via find/select/read."""
    sim.insert_card(TEST_CARDS["normal"])
    sim.received.clear()
    card = reader.read_card(timeout_s=2)
    assert card.name == "张三"
    assert card.sex is Sex.MALE
    assert card.ethnicity == "汉"
    assert card.birth_date == dt.date(1980, 1, 1)
    assert card.id_number.value == TEST_CARDS["normal"].id_number
    assert card.address == "北京市东城区示范路1号"
    assert card.valid_to == dt.date(2035, 1, 1)
    assert sim.received[:3] == [FIND, SELECT, READ]
    assert reader.status().state is DeviceState.ONLINE
    assert reader.last_card_type is CardType.RESIDENT


def test_card_inserted_while_waiting(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    timer = threading.Timer(0.1, sim.insert_card, (TEST_CARDS["female"],))
    timer.start()
    try:
        card = reader.read_card(timeout_s=5)
    finally:
        timer.cancel()
    assert card.sex is Sex.FEMALE
    assert card.ethnicity == "回"
    assert card.address == "上海市浦东新区新址路8号"  # the appended (current) address wins


def test_no_card_raises_nocard_after_the_timeout(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    with pytest.raises(NoCard):
        reader.read_card(timeout_s=0.2)
    assert sim.received.count(FIND) >= 2  # it polled, not just asked once
    assert reader.status().state is DeviceState.ONLINE


def test_card_already_read_is_not_read_twice(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    """After a read the reader answers 80 until the card is lifted and put back."""
    sim.insert_card(TEST_CARDS["normal"])
    reader.read_card(timeout_s=2)
    with pytest.raises(NoCard):
        reader.read_card(timeout_s=0.2)
    sim.remove_card()
    sim.insert_card(TEST_CARDS["normal"])
    assert reader.read_card(timeout_s=2).name == "张三"


def test_cancel_stops_the_wait(reader: Ga467Reader) -> None:
    cancel = Cancel()
    threading.Timer(0.1, cancel.cancel).start()
    with pytest.raises(UserCancelled):
        reader.read_card(timeout_s=30, cancel=cancel)
    assert reader.status().state is DeviceState.ONLINE


def test_card_pulled_mid_read_is_card_removed(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    sim.insert_card(TEST_CARDS["normal"])
    sim.remove_card_mid_read = True
    with pytest.raises(CardRemoved):
        reader.read_card(timeout_s=2)
    assert sim.state is CardState.NO_CARD
    assert reader.status().state is DeviceState.ONLINE


def test_card_pulled_during_the_transfer_is_card_removed(sim: IdCardSimulator) -> None:
    """GIVEN the reply is cut off (the card left mid-transfer) THEN the reply times out, the probe finds no
    card, and the driver says CardRemoved — and the next read works on a clean stream."""
    driver = make_reader(sim.path, read_timeout_s=0.3)
    driver.open()
    try:
        sim.insert_card(TEST_CARDS["normal"])
        sim.truncate_next_read = True
        with pytest.raises(CardRemoved):
            driver.read_card(timeout_s=2)
        sim.insert_card(TEST_CARDS["normal"])
        assert driver.read_card(timeout_s=2).name == "张三"
    finally:
        driver.close()


@pytest.mark.parametrize("name", ["unreadable", "damaged"])
def test_broken_cards_are_unreadable(sim: IdCardSimulator, reader: Ga467Reader, name: str) -> None:
    sim.insert_card(TEST_CARDS[name])
    with pytest.raises(CardUnreadable):
        reader.read_card(timeout_s=2)


def test_expired_card_is_returned_for_the_flow_to_judge(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    sim.insert_card(TEST_CARDS["expired"])
    card = reader.read_card(timeout_s=2)
    assert card.is_expired(dt.date.today())


def test_long_term_and_foreign_cards(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    sim.insert_card(TEST_CARDS["long_term"])
    card = reader.read_card(timeout_s=2)
    assert card.valid_to is None
    assert card.sex is Sex.FEMALE
    assert card.ethnicity == "蒙古"
    sim.insert_card(TEST_CARDS["foreign"])
    card = reader.read_card(timeout_s=2)
    assert reader.last_card_type is CardType.FOREIGN_PERMANENT
    assert card.id_number.value.startswith("9")


def test_card_for_any_person(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    first17 = "11010120000229002"
    good = first17 + check_char(first17)
    bad = first17 + ("0" if good[-1] != "0" else "1")
    sim.insert_card(SimIdCard.for_person("欧阳修", bad, valid_to="长期"))
    with pytest.raises(CardUnreadable):
        reader.read_card(timeout_s=2)
    sim.insert_card(SimIdCard.for_person("欧阳修", good))
    card = reader.read_card(timeout_s=2)
    assert (card.name, card.birth_date, card.sex) == ("欧阳修", dt.date(2000, 2, 29), Sex.FEMALE)


def test_garbled_reply_is_resent_and_recovers(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    sim.insert_card(TEST_CARDS["normal"])
    sim.received.clear()
    sim.garble_next_frame = True
    assert reader.read_card(timeout_s=2).name == "张三"
    assert sim.received[:2] == [FIND, FIND]  # the garbled answer to find was asked again


def test_garbled_reply_without_retries_is_a_clear_protocol_error(sim: IdCardSimulator) -> None:
    driver = make_reader(sim.path, retries=0)
    driver.open()
    try:
        sim.insert_card(TEST_CARDS["normal"])
        sim.garble_next_frame = True
        with pytest.raises(ProtocolError, match="FIND_CARD.*checksum"):
            driver.read_card(timeout_s=2)
        assert driver.read_card(timeout_s=2).name == "张三"  # the link is still usable
    finally:
        driver.close()


def test_sam_fault_is_a_hardware_error(sim: IdCardSimulator) -> None:
    sim.sam_fault = True
    driver = make_reader(sim.path)
    driver.open()
    try:
        assert driver.status().state is DeviceState.HARDWARE_ERROR
        assert driver.status().detail is Detail.SAM_FAULT
        assert not driver.self_test().ok
        with pytest.raises(DeviceError, match="SAM"):
            driver.read_card(timeout_s=1)
        sim.sam_fault = False
        result = driver.self_test()
        assert result.ok, result.lines
        assert driver.status().state is DeviceState.ONLINE
    finally:
        driver.close()


def test_unplug_then_replug(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    """GIVEN an online reader WHEN the cable is pulled THEN DeviceOffline and a fault status;
    WHEN it is plugged back (new pty behind the same link) THEN online again and reads cards."""
    sim.insert_card(TEST_CARDS["normal"])
    sim.unplug()
    with pytest.raises(DeviceOffline):
        reader.read_card(timeout_s=1)
    assert reader.status().state in FAULT_STATES
    assert wait_for(lambda: reader.status().state is DeviceState.NO_DEVICE)
    with pytest.raises(DeviceOffline):
        reader.read_card(timeout_s=1)
    sim.replug()
    assert wait_for(lambda: reader.status().state is DeviceState.ONLINE)
    assert reader.read_card(timeout_s=2).name == "张三"


def test_unplug_while_idle_is_noticed_by_the_health_check(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    seen: list[DeviceState] = []
    reader.subscribe(lambda _name, status: seen.append(status.state))
    sim.unplug()
    assert wait_for(lambda: reader.status().state in FAULT_STATES)
    sim.replug()
    assert wait_for(lambda: reader.status().state is DeviceState.ONLINE)
    assert DeviceState.ONLINE in seen and any(state in FAULT_STATES for state in seen)


def test_open_without_the_device_does_not_raise_and_connects_later(tmp_path: Path) -> None:
    link = str(tmp_path / "later")
    driver = make_reader(link)
    driver.open()
    sim = IdCardSimulator(link_path=link)
    try:
        assert driver.status().state is DeviceState.NO_DEVICE
        with pytest.raises(DeviceOffline):
            driver.read_card(timeout_s=0.1)
        sim.start()
        assert wait_for(lambda: driver.status().state is DeviceState.ONLINE)
    finally:
        driver.close()
        sim.stop()


def test_a_silent_device_is_offline(sim: IdCardSimulator, reader: Ga467Reader) -> None:
    sim.latency_ms = 600  # slower than the 0.3 s reply timeout
    with pytest.raises(DeviceOffline, match="does not answer"):
        reader.read_card(timeout_s=1)
    assert reader.status().state is DeviceState.OFFLINE
    sim.latency_ms = 0
    assert wait_for(lambda: reader.status().state is DeviceState.ONLINE)


def test_logs_never_hold_the_name_or_id_number(
    sim: IdCardSimulator, reader: Ga467Reader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.insert_card(TEST_CARDS["normal"])
    reader.read_card(timeout_s=2)
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert TEST_CARDS["normal"].id_number not in logged
    assert "张三" not in logged


def test_from_config() -> None:
    section = IdCardSection(
        driver="ga467-serial", device="/dev/kiosk-idcard", baudrate=9600, poll_interval_s=0.5
    )
    driver = Ga467Reader.from_config(section)
    assert driver.poll_interval_s == 0.5
    assert "9600" in driver.self_test().lines[0]

"""The simulator's device side, pinned to PROTOCOLS.md's golden frames with raw pyserial (no kiosk codec)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from simulators.idcard import TEST_CARDS, CardState, IdCardSimulator, SimIdCard

H = bytes.fromhex


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[IdCardSimulator, serial.Serial]]:
    sim = IdCardSimulator(link_path=str(tmp_path / "idc"))
    port = serial.Serial(sim.start(), 115200, timeout=1)
    yield sim, port
    port.close()
    sim.stop()


def ask(port: serial.Serial, frame: str, reply_len: int) -> bytes:
    port.write(H(frame))
    return port.read(reply_len)


def test_golden_exchanges(rig: tuple[IdCardSimulator, serial.Serial]) -> None:
    sim, port = rig
    assert ask(port, "AA AA AA 96 69 00 03 11 FF ED", 11) == H("AA AA AA 96 69 00 04 00 00 90 94")
    assert ask(port, "AA AA AA 96 69 00 03 20 01 22", 11) == H("AA AA AA 96 69 00 04 00 00 80 84")
    assert ask(port, "AA AA AA 96 69 00 03 20 02 21", 11) == H("AA AA AA 96 69 00 04 00 00 81 85")
    assert ask(port, "AA AA AA 96 69 00 03 30 01 32", 11) == H("AA AA AA 96 69 00 04 00 00 41 45")
    sim.insert_card(TEST_CARDS["normal"])
    assert ask(port, "AA AA AA 96 69 00 03 20 01 22", 15) == H("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
    assert ask(port, "AA AA AA 96 69 00 03 20 02 21", 19) == H(
        "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"
    )
    reply = ask(port, "AA AA AA 96 69 00 03 30 01 32", 1295)
    assert len(reply) == 1295
    assert reply[:14] == H("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")
    assert reply[14:44].decode("utf-16-le").rstrip() == "张三"
    assert sim.state is CardState.READ
    assert ask(port, "AA AA AA 96 69 00 03 20 01 22", 11) == H("AA AA AA 96 69 00 04 00 00 80 84")
    assert ask(port, "AA AA AA 96 69 00 03 30 03 30", 11) == H("AA AA AA 96 69 00 04 00 00 91 95")


def test_sam_id_and_errors(rig: tuple[IdCardSimulator, serial.Serial]) -> None:
    sim, port = rig
    reply = ask(port, "AA AA AA 96 69 00 03 12 FF EE", 27)
    assert reply[:10] == H("AA AA AA 96 69 00 14 00 00 90") and reply[10:26] == sim.sam_id
    assert ask(port, "AA AA AA 96 69 00 03 20 01 23", 11) == H("AA AA AA 96 69 00 04 00 00 10 14")  # bad CHK
    assert ask(port, "AA AA AA 96 69 00 03 77 01 75", 11) == H("AA AA AA 96 69 00 04 00 00 21 25")  # unknown
    sim.sam_fault = True
    assert ask(port, "AA AA AA 96 69 00 03 11 FF ED", 11) == H("AA AA AA 96 69 00 04 00 00 60 64")


def test_appended_address(rig: tuple[IdCardSimulator, serial.Serial]) -> None:
    sim, port = rig
    sim.insert_card(TEST_CARDS["female"])
    ask(port, "AA AA AA 96 69 00 03 20 01 22", 15)
    ask(port, "AA AA AA 96 69 00 03 20 02 21", 19)
    reply = ask(port, "AA AA AA 96 69 00 03 30 03 30", 81)
    assert reply[5:10] == H("00 4A 00 00 90")
    assert reply[10:80].decode("utf-16-le").rstrip() == "上海市浦东新区新址路8号"


def test_replug_repoints_the_stable_link(tmp_path: Path) -> None:
    link = tmp_path / "kiosk-idcard"
    sim = IdCardSimulator(link_path=str(link))
    try:
        assert sim.start() == str(link)
        sim.unplug()
        assert not os.path.lexists(link)
        sim.replug()
        assert os.readlink(link).startswith("/dev/pts/")
        with serial.Serial(str(link), 115200, timeout=1) as port:
            assert ask(port, "AA AA AA 96 69 00 03 11 FF ED", 11) == H("AA AA AA 96 69 00 04 00 00 90 94")
    finally:
        sim.stop()
    assert not os.path.lexists(link)


def test_default_link_lives_in_a_temp_dir() -> None:
    sim = IdCardSimulator()
    try:
        path = sim.start()
        assert os.path.basename(path) == "kiosk-idcard" and os.path.exists(path)
    finally:
        sim.stop()
    assert not os.path.exists(os.path.dirname(path))


def test_test_cards() -> None:
    assert {"normal", "expired", "long_term", "foreign", "damaged", "unreadable"} <= set(TEST_CARDS)
    assert TEST_CARDS["long_term"].valid_to == "长期"
    assert TEST_CARDS["foreign"].text_block()[220:222] == "I".encode("utf-16-le")
    person = SimIdCard.for_person("李雷", "110101199912310015")
    assert (person.sex_code, person.birth) == ("1", "19991231")
    with pytest.raises(TypeError):
        TEST_CARDS["x"] = person  # type: ignore[index]

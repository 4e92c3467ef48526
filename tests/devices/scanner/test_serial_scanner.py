"""SerialScanner against the pty scanner simulator; line splitting and decoding as pure functions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kiosk_test_support import wait_for

from kiosk.config import ScannerSection
from kiosk.devices.base import FAULT_STATES, Cancel, Capability, DeviceState
from kiosk.devices.scanner import MAX_CODE_LEN, SerialScanner, decode_code, take_line
from kiosk.domain.errors import DeviceOffline, DeviceTimeout, UserCancelled
from simulators.scanner import ScannerSimulator


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[ScannerSimulator]:
    simulator = ScannerSimulator(link_path=str(tmp_path / "kiosk-scanner"))
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def scanner(sim: ScannerSimulator) -> Iterator[SerialScanner]:
    driver = SerialScanner(sim.path, reconnect_interval_s=0.05)
    driver.open()
    yield driver
    driver.close()


def scan_when_waiting(driver: SerialScanner, sim: ScannerSimulator, *values: str) -> threading.Thread:
    """Scan once `read_code` is waiting (status BUSY), as a patient does when the screen asks."""

    def run() -> None:
        if wait_for(lambda: driver.status().state is DeviceState.BUSY):
            for value in values:
                sim.scan(value)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_take_line_handles_cr_crlf_and_partial_input() -> None:
    buf = bytearray(b"ABC\r\nDEF\rGH")
    assert take_line(buf) == b"ABC"
    assert take_line(buf) == b"DEF"
    assert take_line(buf) is None
    buf += b"I\n"
    assert take_line(buf) == b"GHI"
    noise = bytearray(b"x" * (MAX_CODE_LEN + 1))
    assert take_line(noise) is None and not noise


def test_decode_code_utf8_and_gb18030() -> None:
    assert decode_code("挂号:A123".encode()) == "挂号:A123"
    assert decode_code("挂号:A123".encode("gb18030")) == "挂号:A123"


def test_reads_a_scanned_code(sim: ScannerSimulator, scanner: SerialScanner) -> None:
    assert scanner.status().state is DeviceState.ONLINE
    thread = scan_when_waiting(scanner, sim, "KIOSK-QR-0001")
    assert scanner.read_code(timeout_s=5) == "KIOSK-QR-0001"
    thread.join(timeout=5)
    assert scanner.status().state is DeviceState.ONLINE
    assert Capability.QR in scanner.capabilities()


@pytest.mark.parametrize(("terminator", "encoding"), [(b"\r\n", "utf-8"), (b"\r", "gb18030")])
def test_terminators_and_encodings(sim: ScannerSimulator, scanner: SerialScanner, terminator: bytes,
                                   encoding: str) -> None:  # fmt: skip
    sim.terminator, sim.encoding = terminator, encoding
    thread = scan_when_waiting(scanner, sim, "就诊卡 123", "second")
    assert scanner.read_code(timeout_s=5) == "就诊卡 123"
    thread.join(timeout=5)


def test_stale_scans_are_dropped(sim: ScannerSimulator, scanner: SerialScanner) -> None:
    sim.scan("scanned-before-anyone-asked")
    thread = scan_when_waiting(scanner, sim, "fresh")
    assert scanner.read_code(timeout_s=5) == "fresh"
    thread.join(timeout=5)


def test_timeout_is_device_timeout(scanner: SerialScanner) -> None:
    with pytest.raises(DeviceTimeout):
        scanner.read_code(timeout_s=0.2)
    assert scanner.status().state is DeviceState.ONLINE


def test_cancel(scanner: SerialScanner) -> None:
    cancel = Cancel()
    threading.Timer(0.1, cancel.cancel).start()
    with pytest.raises(UserCancelled):
        scanner.read_code(timeout_s=30, cancel=cancel)


def test_unplug_while_waiting_then_replug(sim: ScannerSimulator, scanner: SerialScanner) -> None:
    def pull() -> None:
        if wait_for(lambda: scanner.status().state is DeviceState.BUSY):
            sim.unplug()

    threading.Thread(target=pull, daemon=True).start()
    with pytest.raises(DeviceOffline):
        scanner.read_code(timeout_s=5)
    assert scanner.status().state in FAULT_STATES
    assert wait_for(lambda: scanner.status().state is DeviceState.NO_DEVICE)
    with pytest.raises(DeviceOffline):
        scanner.read_code(timeout_s=0.2)
    sim.replug()
    assert wait_for(lambda: scanner.status().state is DeviceState.ONLINE)
    thread = scan_when_waiting(scanner, sim, "after-replug")
    assert scanner.read_code(timeout_s=5) == "after-replug"
    thread.join(timeout=5)


def test_unplug_while_idle_is_noticed(sim: ScannerSimulator, scanner: SerialScanner) -> None:
    sim.unplug()
    assert wait_for(lambda: scanner.status().state in FAULT_STATES)
    sim.replug()
    assert wait_for(lambda: scanner.status().state is DeviceState.ONLINE)


def test_absent_at_open_does_not_raise(tmp_path: Path) -> None:
    driver = SerialScanner(str(tmp_path / "none"), reconnect_interval_s=0.05)
    driver.open()
    try:
        assert driver.status().state is DeviceState.NO_DEVICE
        assert not driver.self_test().ok
    finally:
        driver.close()


def test_from_config() -> None:
    driver = SerialScanner.from_config(
        ScannerSection(driver="serial-scanner", device="/dev/x", baudrate=115200)
    )
    assert driver.self_test().lines[0].startswith("scanner: no-device")

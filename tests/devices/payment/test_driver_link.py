"""The driver's link layer against a scripted terminal on a bare pty: truncated frames, noise, late frames."""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from collections.abc import Iterator

import pytest

from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.domain.money import Money

STX, ETX, ACK, NAK, FS = b"\x02", b"\x03", b"\x06", b"\x15", b"\x1c"


def hand_frame(data: bytes) -> bytes:
    body = len(data).to_bytes(2, "big") + data + ETX
    check = 0
    for byte in body:
        check ^= byte
    return STX + body + bytes([check])


READY = hand_frame(b"06" + FS + b"00" + FS + b"READY" + FS)


class ScriptedTerminal:
    """The terminal end of a pty, driven step by step by the test."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.buf = b""

    def read(self, count: int, seconds: float = 3.0) -> bytes:
        end = time.monotonic() + seconds
        while len(self.buf) < count and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                self.buf += os.read(self.master, 4096)
        out, self.buf = self.buf[:count], self.buf[count:]
        return out

    def read_request(self) -> bytes:
        head = self.read(3)
        assert head[:1] == STX, head
        return self.read(int.from_bytes(head[1:3], "big") + 2)[:-2]

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def scripted() -> Iterator[ScriptedTerminal]:
    terminal = ScriptedTerminal()
    yield terminal
    terminal.close()


def opened_driver(scripted: ScriptedTerminal) -> EcrPaymentTerminal:
    """A driver opened on the script, its opening status question answered READY."""
    # A long monitor interval: the script must see only the test's own exchanges.
    driver = EcrPaymentTerminal(scripted.path, t1_s=0.2, t2_s=2.0, t4_s=3.0, reconnect_interval_s=60)
    opener = threading.Thread(target=driver.open)
    opener.start()
    assert scripted.read_request() == b"06"
    scripted.send(ACK + READY)
    assert scripted.read(1) == ACK
    opener.join(5)
    return driver


def test_truncated_frame_is_naked_and_the_resend_accepted(scripted: ScriptedTerminal) -> None:
    driver = opened_driver(scripted)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(driver.terminal_state()))
    worker.start()
    try:
        # answer with a frame cut short, then nothing
        assert scripted.read_request() == b"06"
        scripted.send(ACK + READY[:-3])
        assert scripted.read(1, seconds=2.0) == NAK  # the sender went quiet mid-frame: a length error
        scripted.send(READY)
        assert scripted.read(1) == ACK
        worker.join(5)
        assert result == ["READY"]
    finally:
        worker.join(5)
        driver.close()


def test_noise_and_stale_frames_before_a_request_do_not_become_its_answer(scripted: ScriptedTerminal) -> None:
    driver = opened_driver(scripted)
    # A late final answer of some earlier sale, plus line noise, waits in the buffer.
    stale = b"01" + FS + b"00" + FS + b"K01-OLD" + FS + b"000000009999" + FS * 5 + FS
    scripted.send(b"\x00\xffnoise" + hand_frame(stale))
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(driver.query("K01-NEW")))
    worker.start()
    try:
        # The stale frame is acknowledged (so the terminal stops resending) before or after the request
        # goes out, depending on whether the driver's pre-request drain already saw its bytes...
        acks, request = 0, b""
        while not request:
            byte = scripted.read(1)
            assert byte, "the driver sent nothing"
            if byte == ACK:
                acks += 1
            else:
                scripted.buf = byte + scripted.buf
                request = scripted.read_request()
        assert request == b"04" + FS + b"K01-NEW"
        scripted.send(ACK + hand_frame(b"04" + FS + b"NF" + FS + b"K01-NEW" + FS * 7))
        while acks < 2:  # the stale frame's and the answer's
            assert scripted.read(1) == ACK
            acks += 1
        worker.join(5)
        assert outcome == [None]  # ... and not taken for the answer
    finally:
        worker.join(5)
        driver.close()


def test_sale_answer_for_another_ref_is_ignored(scripted: ScriptedTerminal) -> None:
    driver = opened_driver(scripted)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(driver.sale("K01-MINE", Money(100))))
    worker.start()
    try:
        assert scripted.read_request().startswith(b"01" + FS + b"K01-MINE")
        scripted.send(ACK)
        tail = FS + b"000000000100" + FS + b"622202******1234" + FS + b"123456" + FS + b"261123000001"
        tail += FS + b"000001" + FS + b"20261123105541" + FS
        scripted.send(hand_frame(b"01" + FS + b"00" + FS + b"K01-OTHER" + tail))
        assert scripted.read(1) == ACK
        scripted.send(hand_frame(b"01" + FS + b"00" + FS + b"K01-MINE" + tail))
        assert scripted.read(1) == ACK
        worker.join(5)
        assert len(outcome) == 1 and getattr(outcome[0], "ref", None) == "K01-MINE"
    finally:
        worker.join(5)
        driver.close()

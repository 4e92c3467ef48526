"""The simulator's side of the protocol, pinned by hand-built bytes (no kiosk codec involved)."""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest

from simulators.payment import Behaviour, PaymentTerminalSimulator

STX, ETX, ACK, NAK, FS = b"\x02", b"\x03", b"\x06", b"\x15", b"\x1c"


def xor(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def hand_frame(data: bytes) -> bytes:
    length = len(data).to_bytes(2, "big")
    return STX + length + data + ETX + bytes([xor(length + data + ETX)])


class Wire:
    """The kiosk end of the cable, driven byte by byte."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.buf = b""

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read_exact(self, count: int, seconds: float = 3.0) -> bytes:
        end = time.monotonic() + seconds
        while len(self.buf) < count and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                self.buf += os.read(self.fd, 4096)
        out, self.buf = self.buf[:count], self.buf[count:]
        return out

    def read_frame(self) -> bytes:
        """One whole frame, checked here against the spec (not by the simulator's code)."""
        head = self.read_exact(3)
        assert head[:1] == STX, head
        length = int.from_bytes(head[1:3], "big")
        rest = self.read_exact(length + 2)
        assert rest[length : length + 1] == ETX
        assert rest[-1] == xor(head[1:3] + rest[:-1]), "LRC must be XOR of LEN, DATA and ETX"
        return rest[:length]

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def wire(sim: PaymentTerminalSimulator) -> Iterator[Wire]:
    end = Wire(sim.path)
    yield end
    end.close()


def test_status_golden_exchange(wire: Wire) -> None:
    wire.send(bytes.fromhex("02 0002 3036 03 07"))  # "06", LRC 00^02^30^36^03 = 07
    assert wire.read_exact(1) == ACK
    data = wire.read_frame()
    wire.send(ACK)
    assert data == b"06" + FS + b"00" + FS + b"READY" + FS + "终端正常".encode("gb18030")


def test_bad_lrc_is_naked(wire: Wire, sim: PaymentTerminalSimulator) -> None:
    wire.send(bytes.fromhex("02 0002 3036 03 08"))
    assert wire.read_exact(1) == NAK
    assert sim.stats.bad_frames_received == 1


def test_sale_exchange_on_the_wire(wire: Wire, sim: PaymentTerminalSimulator) -> None:
    wire.send(hand_frame(b"01" + FS + b"K01-0001" + FS + b"000000001250"))
    assert wire.read_exact(1) == ACK
    frames = []
    for _ in range(5):
        frames.append(wire.read_frame())
        wire.send(ACK)
    assert frames[0] == b"90" + FS + b"INSERT_CARD" + FS + "请插卡或挥卡".encode("gb18030")
    assert [f.split(FS)[1] for f in frames[:4]] == [
        b"INSERT_CARD",
        b"ENTER_PIN",
        b"PROCESSING",
        b"REMOVE_CARD",
    ]
    final = frames[4].split(FS)
    assert final[:4] == [b"01", b"00", b"K01-0001", b"000000001250"]
    card, auth, rrn, trace, when = final[4:9]
    assert len(card) == 16 and card[:6].isdigit() and card[-4:].isdigit() and b"*" in card
    assert len(auth) == 6 and len(rrn) == 12 and len(trace) == 6 and len(when) == 14
    assert final[9].decode("gb18030") == "交易成功"


def test_unacknowledged_frame_is_sent_four_times(wire: Wire, sim: PaymentTerminalSimulator) -> None:
    wire.send(hand_frame(b"05"))
    assert wire.read_exact(1) == ACK
    first = wire.read_frame()
    repeats = [wire.read_frame() for _ in range(3)]  # never ACKed
    assert repeats == [first, first, first]
    assert first.split(FS)[:4] == [b"05", b"00", b"0", b"000000000000"]
    assert sim.stats.resends == 3


def test_duplicate_and_unknown_query_codes(wire: Wire, sim: PaymentTerminalSimulator) -> None:
    def exchange(data: bytes) -> list[bytes]:
        wire.send(hand_frame(data))
        assert wire.read_exact(1) == ACK
        while True:
            frame = wire.read_frame()
            wire.send(ACK)
            if not frame.startswith(b"90"):
                return frame.split(FS)

    assert exchange(b"04" + FS + b"R1")[:3] == [b"04", b"NF", b"R1"]
    assert exchange(b"01" + FS + b"R1" + FS + b"000000000100")[:2] == [b"01", b"00"]
    assert exchange(b"01" + FS + b"R1" + FS + b"000000000100")[:3] == [b"01", b"DU", b"R1"]
    assert exchange(b"04" + FS + b"R1")[:4] == [b"04", b"00", b"R1", b"000000000100"]
    sim.behaviour = Behaviour.SIGN_IN
    assert exchange(b"06")[:3] == [b"06", b"00", b"SIGN_IN"]

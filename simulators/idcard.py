"""A GA 467 ID-card reader on a pty: the device side of the protocol, written apart from the driver's codec.

State machine per PROTOCOLS.md: NO_CARD -> PRESENT (find 9F) -> SELECTED (select 90) -> READ (read 90);
in READ, find answers 80 until the card is lifted and put back. Faults for tests and the tester panel:
`garble_next_frame`, `remove_card_mid_read`, `truncate_next_read`, `sam_fault`, `latency_ms`, `unplug()`/`replug()`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import threading
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Self

from simulators.serialsim import PtyPort

log = logging.getLogger(__name__)

HEADER = bytes((0xAA, 0xAA, 0xAA, 0x96, 0x69))
# An opaque stand-in for the WLT-compressed photo: real ones need the vendor decoder anyway.
PHOTO = bytes((0x57, 0x4C, 0x66, 0x00)) + bytes(range(256)) * 4
PHOTO = PHOTO[:1024]
DEFAULT_SAM_ID = bytes.fromhex("0501000000d407000011223344556677")

# SW3 codes the device answers with.
OK, FOUND, NO_CONTENT = 0x90, 0x9F, 0x91
BAD_CHECKSUM, BAD_LENGTH, BAD_COMMAND = 0x10, 0x11, 0x21
READ_FAILED, SAM_BROKEN, NOT_FOUND, NOT_SELECTED = 0x41, 0x60, 0x80, 0x81

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """GB 11643 check character, computed here so the simulator shares no code with the kiosk."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _ucs2_field(value: str, size: int) -> bytes:
    raw = value.encode("utf-16-le")[:size]
    return raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


@dataclass(frozen=True)
class SimIdCard:
    """The text a card carries, as the strings the chip holds (codes, YYYYMMDD dates, '长期')."""

    name: str
    sex_code: str
    nation_code: str
    birth: str
    address: str
    id_number: str
    authority: str = "示范市公安局"
    valid_from: str = "20150101"
    valid_to: str = "20350101"
    card_type: str = " "
    appended_address: str | None = None
    readable: bool = True
    """False: the RF read fails (SW3 41) however often it is tried — a cracked antenna."""
    photo: bytes = field(default=PHOTO, repr=False)

    @classmethod
    def for_person(
        cls,
        name: str,
        id_number: str,
        address: str = "北京市东城区示范路1号",
        valid_to: str = "20350101",
        **more: str | bool | None,
    ) -> SimIdCard:
        """A card whose sex and birth date come from the ID number, as on a real card."""
        sex_code = "1" if int(id_number[16]) % 2 else "2"
        return cls(
            name=name,
            sex_code=sex_code,
            nation_code=str(more.pop("nation_code", "01")),
            birth=id_number[6:14],
            address=address,
            id_number=id_number,
            valid_to=valid_to,
            **more,  # type: ignore[arg-type]
        )

    def text_block(self) -> bytes:
        """The 256-byte UCS-2LE text block: name 30, sex 2, nation 4, birth 16, address 70, id 36,
        authority 30, valid from 16, valid to 16, reserved 36 (card-type letter first)."""
        parts = (
            (self.name, 30), (self.sex_code, 2), (self.nation_code, 4), (self.birth, 16),
            (self.address, 70), (self.id_number, 36), (self.authority, 30), (self.valid_from, 16),
            (self.valid_to, 16), (self.card_type, 36),
        )  # fmt: skip
        block = b"".join(_ucs2_field(value, size) for value, size in parts)
        assert len(block) == 256
        return block


def _valid_id(region_birth_seq: str) -> str:
    return region_birth_seq + id_check_char(region_birth_seq)


def _years_ago(years: int) -> str:
    today = dt.date.today()
    return f"{today.year - years:04d}{today.month:02d}{min(today.day, 28):02d}"


TEST_CARDS: Mapping[str, SimIdCard] = types.MappingProxyType(
    {
        "normal": SimIdCard.for_person("张三", _valid_id("11010119800101001")),
        "female": SimIdCard.for_person(
            "李四",
            _valid_id("31010119920315002"),
            address="上海市黄浦区示范街2号",
            nation_code="03",
            appended_address="上海市浦东新区新址路8号",
        ),
        "expired": SimIdCard.for_person("王五", _valid_id("44010119700707003"), valid_to=_years_ago(1)),
        "long_term": SimIdCard.for_person(
            "赵六", _valid_id("11010119500505004"), valid_to="长期", nation_code="02"
        ),
        "foreign": SimIdCard.for_person(
            "史密斯", _valid_id("91184019850612001"), address="", card_type="I", nation_code=""
        ),
        "damaged": SimIdCard.for_person("钱七", "110101199001010010"),  # check digit should be 5
        # a valid number, but the birth date printed on the card is a day off: the HIS refuses the record
        "inconsistent": dataclasses.replace(
            SimIdCard.for_person("周九", _valid_id("11010119751212006")), birth="19751213"
        ),
        "unreadable": SimIdCard.for_person("孙八", _valid_id("11010119880808005"), readable=False),
    }
)


class CardState(Enum):
    NO_CARD = "no-card"
    PRESENT = "present"
    SELECTED = "selected"
    READ = "read"


class IdCardSimulator:
    """A GA 467 reader on a pty. Thread-safe controls; one server thread answers the driver."""

    def __init__(
        self, link_path: str | None = None, latency_ms: float = 0.0, sam_id: bytes = DEFAULT_SAM_ID
    ) -> None:
        self.port = PtyPort(link_path, name="kiosk-idcard")
        self.latency_ms = latency_ms
        self.sam_id = sam_id
        self.garble_next_frame = False
        """One-shot: corrupt the checksum of the next reply."""
        self.remove_card_mid_read = False
        """One-shot: the card leaves after a select, so the read fails with 41 and finds then say 80."""
        self.truncate_next_read = False
        """One-shot: the card leaves while the read answer is on the wire; only part of it is sent."""
        self.sam_fault = False
        """The SAM fails its self-check: every command answers 60."""
        self.received: list[bytes] = []
        """Every command frame received, for tests to check what the driver sent."""
        self._card: SimIdCard | None = None
        self._state = CardState.NO_CARD
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- controls -----------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.port.path

    @property
    def state(self) -> CardState:
        return self._state

    def start(self) -> str:
        """Open the pty and serve; returns the path the driver opens."""
        path = self.port.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="sim-idcard", daemon=True)
        self._thread.start()
        return path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.port.close()

    @property
    def card(self) -> SimIdCard | None:
        """The card on the reader, or None."""
        with self._lock:
            return self._card

    def insert_card(self, card: SimIdCard) -> None:
        with self._lock:
            self._card = card
            self._state = CardState.PRESENT

    def remove_card(self) -> None:
        with self._lock:
            self._card = None
            self._state = CardState.NO_CARD

    def unplug(self) -> None:
        self.port.unplug()

    def replug(self) -> str:
        return self.port.replug()

    # --- device side --------------------------------------------------------------------------
    def _serve(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            if not self.port.plugged:
                buf.clear()
                self._stop.wait(0.02)
                continue
            buf += self.port.read(4096, timeout_s=0.05)
            while (frame := self._take_frame(buf)) is not None:
                reply = self._answer(frame)
                if self.latency_ms:
                    time.sleep(self.latency_ms / 1000)
                self.port.write(reply)

    @staticmethod
    def _take_frame(buf: bytearray) -> bytes | None:
        """Cut one frame off the front of `buf` (skipping noise before a header); None if incomplete."""
        start = buf.find(HEADER)
        if start < 0:
            del buf[: max(0, len(buf) - 4)]
            return None
        del buf[:start]
        if len(buf) < 7:
            return None
        size = 7 + (buf[5] << 8 | buf[6])
        if size > 7 + 4096:  # a nonsense length: drop the header and look again
            del buf[:5]
            return b""
        if len(buf) < size:
            return None
        frame = bytes(buf[:size])
        del buf[:size]
        return frame

    def _reply(self, sw3: int, data: bytes = b"") -> bytes:
        body = bytes((0x00, 0x00, sw3)) + data
        length = len(body) + 1
        sized = bytes((length >> 8, length & 0xFF)) + body
        chk = 0
        for b in sized:
            chk ^= b
        frame = HEADER + sized + bytes((chk,))
        if self.garble_next_frame:
            self.garble_next_frame = False
            frame = frame[:-1] + bytes((frame[-1] ^ 0x5A,))
        return frame

    def _answer(self, frame: bytes) -> bytes:
        if len(frame) < 10:
            return self._reply(BAD_LENGTH)
        chk = 0
        for b in frame[5:-1]:
            chk ^= b
        if chk != frame[-1]:
            return self._reply(BAD_CHECKSUM)
        self.received.append(frame)
        with self._lock:
            return self._command(frame[7], frame[8])

    def _command(self, cmd: int, para: int) -> bytes:
        if self.sam_fault:
            return self._reply(SAM_BROKEN)
        match (cmd, para):
            case (0x10, 0xFF) | (0x11, 0xFF):
                return self._reply(OK)
            case (0x12, 0xFF):
                return self._reply(OK, self.sam_id)
            case (0x20, 0x01):
                if self._state is CardState.PRESENT:
                    return self._reply(FOUND, bytes(4))
                if self._state is CardState.SELECTED:  # asking again while selected: still there
                    return self._reply(FOUND, bytes(4))
                return self._reply(NOT_FOUND)
            case (0x20, 0x02):
                if self._state in (CardState.PRESENT, CardState.SELECTED):
                    self._state = CardState.SELECTED
                    return self._reply(OK, bytes(8))
                return self._reply(NOT_SELECTED)
            case (0x30, 0x01):
                return self._read_text_photo()
            case (0x30, 0x03):
                if self._card is None or self._state not in (CardState.SELECTED, CardState.READ):
                    return self._reply(READ_FAILED)
                if self._card.appended_address is None:
                    return self._reply(NO_CONTENT)
                return self._reply(OK, _ucs2_field(self._card.appended_address, 70))
        return self._reply(BAD_COMMAND)

    def _read_text_photo(self) -> bytes:
        if self.remove_card_mid_read and self._state is CardState.SELECTED:
            self.remove_card_mid_read = False
            self._card, self._state = None, CardState.NO_CARD
        card = self._card
        if card is None or self._state not in (CardState.SELECTED, CardState.READ):
            return self._reply(READ_FAILED)
        if not card.readable:
            self._state = CardState.PRESENT  # the card is still there; it needs a new select
            return self._reply(READ_FAILED)
        text, photo = card.text_block(), card.photo
        lengths = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
        reply = self._reply(OK, lengths + text + photo)
        if self.truncate_next_read:
            self.truncate_next_read = False
            self._card, self._state = None, CardState.NO_CARD
            return reply[:300]
        self._state = CardState.READ
        return reply

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - manual tool
    """`python -m simulators.idcard [LINK]`: serve with the normal test card inserted until Ctrl-C."""
    import sys

    sim = IdCardSimulator(sys.argv[1] if len(sys.argv) > 1 else None)
    print("ID-card reader at", sim.start(), "pid", os.getpid())
    sim.insert_card(TEST_CARDS["normal"])
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":  # pragma: no cover
    main()

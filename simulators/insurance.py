"""A social-security card (社保卡) that answers APDUs through vpcd, so pcscd and pyscard see a real reader.

The card is the vpcd TCP client: it connects to 127.0.0.1:35963 while "inserted" and closes the socket
when "removed". Every message is a 2-byte big-endian length + payload; a 1-byte payload is a control
byte (0 power off, 1 power on, 2 reset, 4 get ATR), anything longer is a command APDU. The card's
side of the APDUs is written here on its own, from PROTOCOLS.md, never from the kiosk's codec.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Self

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963

# "sx1.sh." + GBK "社会保障": the SSSE application's DF name.
SSSE_DF_NAME = b"sx1.sh." + "社会保障".encode("gbk")
SSSE_FCI = bytes.fromhex("6F12") + bytes([0x84, len(SSSE_DF_NAME) & 0xFF]) + SSSE_DF_NAME[:16]
FID_EF05 = 0xEF05
FID_EF06 = 0xEF06
SFI_EF05 = 5
SFI_EF06 = 6

# ATRs: T=0 only, so no TCK byte. Historical bytes of the social-security card shaped like the
# "卡复位信息" regional readers print (0081544C...).
SSCARD_ATR = bytes.fromhex("3B6D0000") + bytes.fromhex("0081544C9786843202AD932A48")
OTHER_ATR = bytes.fromhex("3B680000") + bytes.fromhex("0073C84012009000")

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_NOT_ALLOWED = b"\x69\x86"  # command not allowed: no current EF
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_RECORD_NOT_FOUND = b"\x6a\x83"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"

_CTRL_POWER_OFF = 0
_CTRL_POWER_ON = 1
_CTRL_RESET = 2
_CTRL_GET_ATR = 4


def _bcd(digits: str) -> bytes:
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError(f"BCD needs an even count of digits: {digits!r}")
    return bytes(int(digits[i:i + 2], 16) for i in range(0, len(digits), 2))


def _bcd_date(day: dt.date | None) -> bytes:
    return b"\x00" * 4 if day is None else _bcd(day.strftime("%Y%m%d"))


def _padded(value: bytes, size: int, pad: bytes) -> bytes:
    if len(value) > size:
        raise ValueError(f"{len(value)} bytes do not fit a {size}-byte record")
    return value + pad * (size - len(value))


@dataclass(frozen=True)
class SimInsuranceCard:
    """One card: its ATR, whether it holds the SSSE application, and its EF05/EF06 records.

    `ef05`/`ef06` map a record number to the record's value (without tag and length).
    """

    label: str
    atr: bytes = SSCARD_ATR
    has_ssse: bool = True
    ef05: dict[int, bytes] = field(default_factory=dict)
    ef06: dict[int, bytes] = field(default_factory=dict)
    select_via_get_response: bool = False
    """T=0 style: SELECT answers 61 xx and the FCI comes with GET RESPONSE."""
    sfi_reads: bool = True
    """False: READ RECORD by SFI is refused (6A82) until the EF is selected by its file id."""
    vanish_after_apdus: int | None = None
    """Fault: the card leaves the slot after answering this many APDUs."""

    @classmethod
    def for_person(
        cls,
        name: str,
        id_number: str,
        card_number: str,
        *,
        sex: str | None = None,
        region: str | None = None,
        birthplace: str | None = None,
        issued: dt.date | None = dt.date(2021, 12, 3),
        expires: dt.date | None = dt.date(2031, 12, 2),
        name_pad: bytes = b"\x00",
        label: str = "",
    ) -> SimInsuranceCard:
        """A third-generation card as a regional issuer writes it.

        Sex defaults to the ID number's, the issuing region to the ID number's first 6 digits.
        """
        region = region or id_number[:6]
        sex_char = sex if sex is not None else ("1" if int(id_number[16]) % 2 else "2")
        # 卡识别码: region (3 B BCD) + the MOHRSS RID D156000005 + issuer serial bytes.
        card_id_code = _bcd(region) + bytes.fromhex("D156000005") + bytes.fromhex("C38275EEFC9B9648")
        ef05 = {
            0x01: card_id_code,
            0x02: b"\x01",
            0x03: b"3.00",
            0x04: _padded(b"110100D15600", 12, b"\x00"),
            0x05: _bcd_date(issued),
            0x06: _bcd_date(expires),
            0x07: _padded(card_number.encode("ascii"), 9, b"\x00"),
        }
        ef06 = {
            0x08: _padded(id_number.encode("ascii"), 18, b"\x00"),
            0x09: _padded(name.encode("gbk"), 30, name_pad),
            0x0A: sex_char.encode("ascii"),
            0x0B: b"\x01",
            0x0C: _bcd(birthplace or id_number[:6]),
            0x0D: _bcd(id_number[6:14]),
        }
        return cls(label=label or f"card {card_number}", ef05=ef05, ef06=ef06)

    def records(self, sfi: int) -> dict[int, bytes] | None:
        return {SFI_EF05: self.ef05, SFI_EF06: self.ef06}.get(sfi)


# --- test cards -----------------------------------------------------------------------------------
def normal_card() -> SimInsuranceCard:
    return SimInsuranceCard.for_person(
        "张三", "11010519491231002X", "A00000019", region="110100", label="normal"
    )


def expired_card() -> SimInsuranceCard:
    return SimInsuranceCard.for_person(
        "李四", "440305198001010016", "B7K334774", region="440300",
        issued=dt.date(2010, 10, 1), expires=dt.date(2020, 10, 1), name_pad=b" ", label="expired",
    )


def non_social_security_card() -> SimInsuranceCard:
    """A card that is not a 社保卡 (e.g. a bank or transit card): SELECT SSSE fails with 6A82."""
    return SimInsuranceCard(label="not-ssse", atr=OTHER_ATR, has_ssse=False)


def vanishing_card(after_apdus: int = 3) -> SimInsuranceCard:
    """A normal card that is pulled out after `after_apdus` answers, in the middle of a read."""
    return replace(normal_card(), label="vanishing", vanish_after_apdus=after_apdus)


TEST_CARDS = {
    "normal": normal_card,
    "expired": expired_card,
    "not-ssse": non_social_security_card,
    "vanishing": vanishing_card,
}


# --- the card's APDU handling ---------------------------------------------------------------------
class CardApplet:
    """The card's state machine between resets: selected application and EF, pending GET RESPONSE."""

    def __init__(self, card: SimInsuranceCard) -> None:
        self.card = card
        self.in_ssse = False
        self.current_sfi: int | None = None
        self.pending = b""

    def reset(self) -> None:
        self.in_ssse = False
        self.current_sfi = None
        self.pending = b""

    def handle(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if cla != 0x00:
            return SW_CLA_NOT_SUPPORTED
        if ins == 0xC0:
            return self._get_response(body)
        self.pending = b""
        if ins == 0xA4:
            return self._select(p1, p2, body)
        if ins == 0xB2:
            return self._read_record(p1, p2, body)
        return SW_INS_NOT_SUPPORTED

    def _select(self, p1: int, p2: int, body: bytes) -> bytes:
        if not body or len(body) < 1 + body[0]:
            return SW_WRONG_LENGTH
        data = body[1:1 + body[0]]
        if p1 == 0x04:
            if not self.card.has_ssse or data != SSSE_DF_NAME:
                return SW_FILE_NOT_FOUND
            self.in_ssse = True
            self.current_sfi = None
            if self.card.select_via_get_response:
                self.pending = SSSE_FCI
                return bytes([0x61, len(SSSE_FCI)])
            return SW_OK
        if p1 in (0x00, 0x02) and len(data) == 2:
            fid = int.from_bytes(data, "big")
            sfi = {FID_EF05: SFI_EF05, FID_EF06: SFI_EF06}.get(fid)
            if not self.in_ssse or sfi is None:
                return SW_FILE_NOT_FOUND
            self.current_sfi = sfi
            return SW_OK
        return SW_WRONG_P1P2

    def _read_record(self, p1: int, p2: int, body: bytes) -> bytes:
        if p2 & 0x07 != 0x04 or len(body) > 1:
            return SW_WRONG_P1P2
        sfi = p2 >> 3
        if sfi == 0:
            if self.current_sfi is None:
                return SW_NOT_ALLOWED
            sfi = self.current_sfi
        elif not self.card.sfi_reads and sfi != self.current_sfi:
            return SW_FILE_NOT_FOUND
        records = self.card.records(sfi) if self.in_ssse else None
        if records is None:
            return SW_FILE_NOT_FOUND
        if p1 not in records:
            return SW_RECORD_NOT_FOUND
        value = records[p1]
        tlv = bytes([p1, len(value)]) + value
        le = body[0] if body else 0
        if le not in (0, len(tlv)):
            return bytes([0x6C, len(tlv)])
        return tlv + SW_OK

    def _get_response(self, body: bytes) -> bytes:
        if not self.pending:
            return SW_NO_PRECISE_DIAGNOSIS
        le = body[0] if len(body) == 1 else 0
        if le not in (0, len(self.pending)):
            return bytes([0x6C, len(self.pending)])
        data, self.pending = self.pending, b""
        return data + SW_OK


# --- the vpcd link -------------------------------------------------------------------------------
# When each vpcd port last lost a card, shared by all simulators in the process (a test's fresh
# simulator must still leave the slot empty long enough for pcscd to notice the previous card left).
_last_removal: dict[int, float] = {}

class InsuranceCardSimulator:
    """Inserts and removes simulated cards in vpcd's reader slot (one card at a time).

    While a card is inserted a thread keeps it connected to vpcd; if pcscd restarts, the card reconnects
    (it is still in the slot). `apdus` records every command APDU the card received, for tests.
    """

    REMOVAL_GAP_S = 0.6
    """A swapped card stays out at least this long: pcscd polls the slot every 0.4 s and must see it empty."""
    RECONNECT_INTERVAL_S = 0.1
    RECONNECT_ATTEMPTS = 600  # 60 s of pcscd being away, then the card gives up
    POLL_S = 0.1

    def __init__(self, host: str = VPCD_HOST, port: int = VPCD_PORT) -> None:
        self.host = host
        self.port = port
        self.apdus: list[bytes] = []
        self._card: SimInsuranceCard | None = None
        self._vanish_after: int | None = None
        self._answered = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.connected = threading.Event()

    @property
    def card(self) -> SimInsuranceCard | None:
        return self._card

    def insert(self, card: SimInsuranceCard) -> None:
        """Put `card` in the slot (removing any card there); returns once vpcd has accepted it."""
        self.remove()
        gap = _last_removal.get(self.port, 0.0) + self.REMOVAL_GAP_S - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        self._card = card
        self._vanish_after = card.vanish_after_apdus
        self._answered = 0
        self._stop.clear()
        self.connected.clear()
        self._thread = threading.Thread(target=self._run, name="sim-insurance", daemon=True)
        self._thread.start()
        if not self.connected.wait(5.0):
            self.remove()
            raise ConnectionError(f"vpcd at {self.host}:{self.port} did not accept the card (is pcscd up?)")

    def remove(self) -> None:
        """Take the card out of the slot (closes the vpcd connection)."""
        self._stop.set()
        self._close_socket()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
            _last_removal[self.port] = time.monotonic()
        self._card = None
        self.connected.clear()

    def stop(self) -> None:
        """Remove the card and end the simulator."""
        self.remove()

    def remove_mid_read_after_apdus(self, n: int) -> None:
        """Fault: the inserted card leaves the slot after answering `n` more APDUs."""
        with self._lock:
            self._vanish_after = self._answered + n

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- thread --
    def _close_socket(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _run(self) -> None:
        card = self._card
        assert card is not None
        applet = CardApplet(card)
        for _attempt in range(self.RECONNECT_ATTEMPTS):
            if self._stop.is_set():
                return
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                self._stop.wait(self.RECONNECT_INTERVAL_S)
                continue
            sock.settimeout(self.POLL_S)
            with self._lock:
                self._sock = sock
            self.connected.set()
            applet.reset()
            if self._serve(sock, applet) == "vanished":
                self._stop.set()
            self._close_socket()
        log.warning("sim card gave up reconnecting to vpcd", extra={"port": self.port})

    def _serve(self, sock: socket.socket, applet: CardApplet) -> str:
        """Answer vpcd until the link drops ("lost"), the card is removed or vanishes."""
        while not self._stop.is_set():
            try:
                payload = self._recv_message(sock)
            except TimeoutError:
                continue
            except OSError:
                return "lost"
            if payload is None:
                return "lost"
            answer = self._answer(payload, applet)
            if answer is None:
                continue
            try:
                sock.sendall(struct.pack(">H", len(answer)) + answer)
            except OSError:
                return "lost"
            if len(payload) > 1:
                with self._lock:
                    self._answered += 1
                    gone = self._vanish_after is not None and self._answered >= self._vanish_after
                if gone:
                    return "vanished"
        return "removed"

    def _recv_message(self, sock: socket.socket) -> bytes | None:
        header = self._recv_exact(sock, 2, first=True)
        if header is None:
            return None
        (size,) = struct.unpack(">H", header)
        return self._recv_exact(sock, size, first=False) if size else b""

    def _recv_exact(self, sock: socket.socket, size: int, first: bool) -> bytes | None:
        buf = b""
        # A poll timeout before a message starts is idle time; once a message has started, keep reading.
        for _ in range(100):
            try:
                chunk = sock.recv(size - len(buf))
            except TimeoutError:
                if first and not buf:
                    raise
                continue
            if not chunk:
                return None
            buf += chunk
            if len(buf) == size:
                return buf
        return None

    def _answer(self, payload: bytes, applet: CardApplet) -> bytes | None:
        if len(payload) == 1:
            control = payload[0]
            if control == _CTRL_GET_ATR:
                return applet.card.atr
            if control in (_CTRL_POWER_OFF, _CTRL_POWER_ON, _CTRL_RESET):
                applet.reset()
            return None
        self.apdus.append(payload)
        return applet.handle(payload)


def main(argv: list[str] | None = None) -> int:
    """`python -m simulators.insurance --card normal`: keep a test card in the slot for a while."""
    parser = argparse.ArgumentParser(prog="python -m simulators.insurance", description=main.__doc__)
    parser.add_argument("--card", choices=sorted(TEST_CARDS), default="normal")
    parser.add_argument("--port", type=int, default=VPCD_PORT)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the card stays inserted")
    args = parser.parse_args(argv)
    with InsuranceCardSimulator(port=args.port) as sim:
        sim.insert(TEST_CARDS[args.card]())
        print(f"card '{args.card}' inserted at vpcd port {args.port} for {args.seconds:g} s (Ctrl-C removes it)")
        try:
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

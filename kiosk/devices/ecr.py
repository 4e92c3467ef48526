"""The kiosk ECR protocol (PROTOCOLS.md): pure bytes <-> messages, no I/O, fuzzable.

Frame: `STX | LEN (2, big-endian, len of DATA) | DATA | ETX | LRC`, LRC = XOR of LEN, DATA and ETX.
DATA is ASCII fields separated by FS; the last field of a response (`MSG`) is GB18030 text.
Builders reject bad arguments with ValueError (a programming error); parsers and the frame reader
raise only `ProtocolError` on bad bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import reduce

from kiosk.devices.ports import PaymentResult, PaymentStep, Settlement
from kiosk.domain.errors import ProtocolError
from kiosk.domain.money import Money

STX = 0x02
ETX = 0x03
ACK = 0x06
NAK = 0x15
FS = 0x1C

MIN_DATA = 2
"""Every DATA starts with a 2-character command, so shorter frames are a length error."""
MAX_DATA = 1024
"""Longest DATA accepted; the longest real answer is ~150 bytes, so more means a garbled LEN."""
MAX_REF = 32
AMOUNT_DIGITS = 12
MAX_AMOUNT_FEN = 10**AMOUNT_DIGITS - 1
MSG_ENCODING = "gb18030"

# Patterns are used with fullmatch (`$` would let a trailing newline through); [0-9], not \d, which
# also matches non-ASCII digits.
_REF_RE = re.compile(r"[\x21-\x7e]{1,32}")
_RC_RE = re.compile(r"[0-9A-Z]{2}")
_AMOUNT_RE = re.compile(r"[0-9]{12}")
_TOTAL_RE = re.compile(r"[0-9]{12}|-[0-9]{11}")  # negative when refunds exceed sales
_CARD_RE = re.compile(r"[0-9*]{0,19}")
_AUTH_RE = re.compile(r"(?:[0-9A-Za-z]{6})?")
_RRN_RE = re.compile(r"(?:[0-9A-Za-z]{12})?")
_TRACE_RE = re.compile(r"(?:[0-9]{6})?")
_DATETIME_RE = re.compile(r"(?:[0-9]{14})?")
_COUNT_RE = re.compile(r"[0-9]{1,9}")
_BATCH_RE = re.compile(r"[0-9A-Za-z]{1,12}")


class Command(str, Enum):
    SALE = "01"
    VOID = "02"
    REFUND = "03"
    QUERY = "04"
    SETTLEMENT = "05"
    STATUS = "06"
    PROGRESS = "90"


TRANSACTION_COMMANDS = frozenset({Command.SALE, Command.VOID, Command.REFUND, Command.QUERY})


class ResponseCode(str, Enum):
    APPROVED = "00"
    DECLINED = "05"
    INSUFFICIENT_FUNDS = "51"
    WRONG_PIN = "55"
    CARD_EXPIRED = "54"
    ISSUER_UNAVAILABLE = "91"
    CANCELLED = "UC"
    TIMED_OUT = "TO"
    NOT_FOUND = "NF"
    DUPLICATE = "DU"
    TERMINAL_ERROR = "ER"

    @classmethod
    def lookup(cls, rc: str) -> ResponseCode | None:
        """The enum member for `rc`, or None for a code this protocol version does not list."""
        try:
            return cls(rc)
        except ValueError:
            return None


DECLINE_CODES = frozenset(
    {
        ResponseCode.DECLINED,
        ResponseCode.INSUFFICIENT_FUNDS,
        ResponseCode.WRONG_PIN,
        ResponseCode.CARD_EXPIRED,
        ResponseCode.ISSUER_UNAVAILABLE,
    }
)


class TerminalState(str, Enum):
    READY = "READY"
    BUSY = "BUSY"
    PAPER_OUT = "PAPER_OUT"
    SIGN_IN = "SIGN_IN"


class Control(Enum):
    """A single control byte seen between frames."""

    ACK = ACK
    NAK = NAK


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """The answer to command 06."""

    rc: str
    state: TerminalState
    message: str


@dataclass(frozen=True, slots=True)
class Progress:
    """A `90` frame: what the cardholder is asked to do now."""

    step: PaymentStep
    message: str


Response = PaymentResult | Settlement | StatusAnswer | Progress


# --- framing ------------------------------------------------------------------------------------
def lrc(data: bytes | bytearray) -> int:
    """XOR of all bytes (the caller passes LEN + DATA + ETX)."""
    return reduce(lambda acc, b: acc ^ b, data, 0)


def encode_frame(data: bytes) -> bytes:
    """Wrap DATA in STX/LEN/ETX/LRC."""
    if not MIN_DATA <= len(data) <= MAX_DATA:
        raise ValueError(f"DATA must be {MIN_DATA}..{MAX_DATA} bytes, got {len(data)}")
    body = len(data).to_bytes(2, "big") + data + bytes([ETX])
    return bytes([STX]) + body + bytes([lrc(body)])


def decode_frame(frame: bytes) -> bytes:
    """DATA of exactly one complete frame; ProtocolError for anything else."""
    reader = FrameReader()
    reader.feed(frame)
    event = reader.next_event()
    if not isinstance(event, bytes) or reader.buffered:
        raise ProtocolError("not exactly one frame")
    return event


class FrameReader:
    """Incremental reader: feed bytes as they arrive, take out ACK/NAK and whole frames' DATA.

    Bytes outside a frame that are not STX/ACK/NAK are line noise and skipped. A frame with a wrong
    LEN (too big, too small, or no ETX where LEN says) or a wrong LRC is discarded and reported by
    `next_event` raising ProtocolError; the reader then resynchronises on the next STX.
    """

    def __init__(self, max_data: int = MAX_DATA) -> None:
        self._buf = bytearray()
        self._max_data = max_data

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """True when a frame has started but is not complete yet."""
        return bool(self._buf) and self._buf[0] == STX

    def drop_partial(self) -> None:
        """Give up on an incomplete frame (its sender went quiet): resync after its STX."""
        if self.in_frame:
            del self._buf[0]

    def reset(self) -> None:
        self._buf.clear()

    def next_event(self) -> Control | bytes | None:
        """The next ACK/NAK or frame DATA; None if more bytes are needed; ProtocolError on a bad frame."""
        buf = self._buf
        while buf:
            first = buf[0]
            if first in (ACK, NAK):
                del buf[0]
                return Control(first)
            if first != STX:
                del buf[0]
                continue
            if len(buf) < 3:
                return None
            length = int.from_bytes(buf[1:3], "big")
            if not MIN_DATA <= length <= self._max_data:
                del buf[0]
                raise ProtocolError(f"bad frame length {length}")
            end = 3 + length  # index of ETX
            if len(buf) < end + 2:
                return None
            if buf[end] != ETX:
                del buf[0]
                raise ProtocolError("no ETX where LEN says the frame ends")
            if lrc(buf[1 : end + 1]) != buf[end + 1]:
                # The frame's shape was right, so skip all of it rather than rescanning its DATA.
                del buf[: end + 2]
                raise ProtocolError("bad LRC")
            data = bytes(buf[3:end])
            del buf[: end + 2]
            return data
        return None


# --- requests (kiosk -> terminal) ---------------------------------------------------------------
def _check_ref(ref: str) -> str:
    if not _REF_RE.fullmatch(ref):
        raise ValueError(f"REF must be 1..{MAX_REF} printable ASCII characters: {ref!r}")
    return ref


def format_amount(amount: Money) -> str:
    if not 0 <= amount.fen <= MAX_AMOUNT_FEN:
        raise ValueError(f"amount out of range for 12 digits: {amount.fen} fen")
    return f"{amount.fen:012d}"


def _join(*fields: str) -> bytes:
    return bytes([FS]).join(field.encode("ascii") for field in fields)


def build_sale(ref: str, amount: Money) -> bytes:
    if amount.fen <= 0:
        raise ValueError("a sale needs a positive amount")
    return _join(Command.SALE.value, _check_ref(ref), format_amount(amount))


def build_void(ref: str, orig_ref: str) -> bytes:
    return _join(Command.VOID.value, _check_ref(ref), _check_ref(orig_ref))


def build_refund(ref: str, amount: Money, orig_ref: str) -> bytes:
    if amount.fen <= 0:
        raise ValueError("a refund needs a positive amount")
    return _join(Command.REFUND.value, _check_ref(ref), format_amount(amount), _check_ref(orig_ref))


def build_query(ref: str) -> bytes:
    return _join(Command.QUERY.value, _check_ref(ref))


def build_settlement() -> bytes:
    return Command.SETTLEMENT.value.encode("ascii")


def build_status() -> bytes:
    return Command.STATUS.value.encode("ascii")


# --- responses (terminal -> kiosk) --------------------------------------------------------------
def _ascii(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"{what} is not ASCII") from None


def _field(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise ProtocolError(f"bad {what}: {value!r}")
    return value


def _msg(raw: bytes) -> str:
    try:
        return raw.decode(MSG_ENCODING)
    except UnicodeDecodeError:
        raise ProtocolError("MSG is not GB18030") from None


def _expect(fields: list[bytes], count: int, what: str) -> None:
    if len(fields) != count:
        raise ProtocolError(f"{what} needs {count} fields, got {len(fields)}")


def parse_response(data: bytes) -> Response:
    """Parse the DATA of a terminal frame into PaymentResult / Settlement / StatusAnswer / Progress."""
    fields = data.split(bytes([FS]))
    command = _ascii(fields[0], "CMD")
    if command == Command.PROGRESS.value:
        return _parse_progress(fields)
    if command == Command.SETTLEMENT.value:
        return _parse_settlement(fields)
    if command == Command.STATUS.value:
        return _parse_status(fields)
    if command in {c.value for c in TRANSACTION_COMMANDS}:
        return _parse_transaction(command, fields)
    raise ProtocolError(f"unknown response command {command!r}")


def _parse_transaction(command: str, fields: list[bytes]) -> PaymentResult:
    _expect(fields, 10, "a transaction response")
    rc, ref, amount, card, auth, rrn, trace, when = (_ascii(f, "field") for f in fields[1:9])
    _field(rc, _RC_RE, "RC")
    _field(ref, _REF_RE, "REF")
    # Answers without a transaction (NF, DU, ER) may leave the card fields and even AMOUNT empty.
    if amount:
        _field(amount, _AMOUNT_RE, "AMOUNT")
    fen = int(amount) if amount else 0
    return PaymentResult(
        command=command,
        rc=rc,
        ref=ref,
        amount=Money(fen),
        card=_field(card, _CARD_RE, "CARD"),
        auth=_field(auth, _AUTH_RE, "AUTH"),
        rrn=_field(rrn, _RRN_RE, "RRN"),
        trace=_field(trace, _TRACE_RE, "TRACE"),
        datetime=_field(when, _DATETIME_RE, "DATETIME"),
        message=_msg(fields[9]),
    )


def _parse_settlement(fields: list[bytes]) -> Settlement:
    _expect(fields, 6, "a settlement response")
    rc, count, total, batch = (_ascii(f, "field") for f in fields[1:5])
    _field(rc, _RC_RE, "RC")
    _field(count, _COUNT_RE, "COUNT")
    _field(total, _TOTAL_RE, "TOTAL")
    _field(batch, _BATCH_RE, "BATCH")
    return Settlement(rc=rc, count=int(count), total=Money(int(total)), batch=batch, message=_msg(fields[5]))


def _parse_status(fields: list[bytes]) -> StatusAnswer:
    _expect(fields, 4, "a status response")
    rc = _field(_ascii(fields[1], "RC"), _RC_RE, "RC")
    state = _ascii(fields[2], "STATE")
    try:
        terminal_state = TerminalState(state)
    except ValueError:
        raise ProtocolError(f"unknown STATE {state!r}") from None
    return StatusAnswer(rc=rc, state=terminal_state, message=_msg(fields[3]))


def _parse_progress(fields: list[bytes]) -> Progress:
    _expect(fields, 3, "a progress frame")
    step = _ascii(fields[1], "STEP")
    try:
        payment_step = PaymentStep(step)
    except ValueError:
        raise ProtocolError(f"unknown STEP {step!r}") from None
    return Progress(step=payment_step, message=_msg(fields[2]))

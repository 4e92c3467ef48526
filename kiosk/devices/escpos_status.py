"""ESC/POS real-time status codec: `DLE EOT n` requests and the one-byte replies (Epson ESC/POS spec).

Each reply byte has fixed bits: bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0 (mask 0x93, pattern 0x12).
A byte that breaks that pattern is not a status reply (a stale data byte, line noise): ProtocolError.

=====  ======================  ==================================================================
n      request                 bits of the reply that carry meaning
=====  ======================  ==================================================================
1      printer status          2 drawer-kick pin 3 high, 3 offline, 5 waiting for online recovery,
                               6 panel feed button pressed
2      offline cause           2 cover open, 3 paper fed by the feed button, 5 printing stopped by
                               paper end, 6 an error occurred
3      error cause             2 recoverable error, 3 autocutter error, 5 unrecoverable error,
                               6 auto-recoverable error (head temperature, voltage)
4      roll paper sensor       2-3 paper near end, 5-6 paper end (0x12 OK, 0x1E near end, 0x72 out)
=====  ======================  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from kiosk.domain.errors import ProtocolError

DLE = 0x10
EOT = 0x04

FIXED_MASK = 0x93
FIXED_PATTERN = 0x12


class StatusRequest(IntEnum):
    """The `n` of `DLE EOT n`."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER = 4

    def command(self) -> bytes:
        return bytes((DLE, EOT, self.value))


ALL_REQUESTS: tuple[StatusRequest, ...] = tuple(StatusRequest)


def request_all() -> bytes:
    """The four status requests in one write; the printer answers one byte each, in order."""
    return b"".join(r.command() for r in ALL_REQUESTS)


def _check(byte: int, what: StatusRequest) -> int:
    if not 0 <= byte <= 0xFF:
        raise ProtocolError(f"status byte out of range for {what.name}: {byte!r}")
    if byte & FIXED_MASK != FIXED_PATTERN:
        raise ProtocolError(f"not a {what.name} status byte: 0x{byte:02X}")
    return byte


def _bit(byte: int, n: int) -> bool:
    return bool(byte >> n & 1)


@dataclass(frozen=True, slots=True)
class PrinterByte:
    """Reply to `DLE EOT 1`."""

    drawer_pin_high: bool
    offline: bool
    waiting_recovery: bool
    feed_button: bool

    @classmethod
    def decode(cls, byte: int) -> PrinterByte:
        b = _check(byte, StatusRequest.PRINTER)
        return cls(_bit(b, 2), _bit(b, 3), _bit(b, 5), _bit(b, 6))


@dataclass(frozen=True, slots=True)
class OfflineCauseByte:
    """Reply to `DLE EOT 2`."""

    cover_open: bool
    feeding_by_button: bool
    paper_end_stop: bool
    error: bool

    @classmethod
    def decode(cls, byte: int) -> OfflineCauseByte:
        b = _check(byte, StatusRequest.OFFLINE_CAUSE)
        return cls(_bit(b, 2), _bit(b, 3), _bit(b, 5), _bit(b, 6))


@dataclass(frozen=True, slots=True)
class ErrorCauseByte:
    """Reply to `DLE EOT 3`."""

    recoverable: bool
    autocutter: bool
    unrecoverable: bool
    auto_recoverable: bool

    @classmethod
    def decode(cls, byte: int) -> ErrorCauseByte:
        b = _check(byte, StatusRequest.ERROR_CAUSE)
        return cls(_bit(b, 2), _bit(b, 3), _bit(b, 5), _bit(b, 6))


@dataclass(frozen=True, slots=True)
class PaperByte:
    """Reply to `DLE EOT 4`.

    The spec sets both bits of a pair together; some clones set only one, so either bit counts.
    """

    near_end: bool
    out: bool

    @classmethod
    def decode(cls, byte: int) -> PaperByte:
        b = _check(byte, StatusRequest.PAPER)
        return cls(near_end=bool(b & 0x0C), out=bool(b & 0x60))


@dataclass(frozen=True, slots=True)
class RealTimeStatus:
    """Everything the four status bytes say, flattened for the driver."""

    online: bool
    cover_open: bool
    paper_low: bool
    paper_out: bool
    error: bool
    autocutter_error: bool
    unrecoverable_error: bool
    auto_recoverable_error: bool
    recoverable_error: bool
    feed_button: bool
    drawer_pin_high: bool

    @property
    def clean(self) -> bool:
        """True when a print can start and a finished print counts as done (paper low is allowed)."""
        return self.online and not (self.cover_open or self.paper_out or self.error)


# GS r 1 is not real-time: the printer answers it when processing reaches it, after what came before
# it has printed. Sent after a print it marks "done"; stuck behind a paper-out it never comes.
TRANSMIT_PAPER_STATUS = b"\x1dr\x01"


def decode_transmitted_paper(byte: int) -> PaperByte:
    """Reply to GS r 1: bits 0-1 near end, 2-3 paper end; bits 4 and 7 are fixed 0."""
    if not 0 <= byte <= 0xFF or byte & 0x90:
        raise ProtocolError(f"not a GS r 1 status byte: {byte!r}")
    return PaperByte(near_end=bool(byte & 0x03), out=bool(byte & 0x0C))


def decode(reply: bytes) -> RealTimeStatus:
    """Decode the four reply bytes to `request_all()` (printer, offline cause, error cause, paper)."""
    if len(reply) != len(ALL_REQUESTS):
        raise ProtocolError(f"expected {len(ALL_REQUESTS)} status bytes, got {len(reply)}")
    printer = PrinterByte.decode(reply[0])
    offline = OfflineCauseByte.decode(reply[1])
    err = ErrorCauseByte.decode(reply[2])
    paper = PaperByte.decode(reply[3])
    paper_out = paper.out or offline.paper_end_stop
    return RealTimeStatus(
        online=not printer.offline,
        cover_open=offline.cover_open,
        paper_low=paper.near_end and not paper_out,
        paper_out=paper_out,
        error=offline.error or err.autocutter or err.unrecoverable or err.auto_recoverable or err.recoverable,
        autocutter_error=err.autocutter,
        unrecoverable_error=err.unrecoverable,
        auto_recoverable_error=err.auto_recoverable,
        recoverable_error=err.recoverable,
        feed_button=printer.feed_button,
        drawer_pin_high=printer.drawer_pin_high,
    )

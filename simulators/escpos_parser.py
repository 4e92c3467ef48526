"""The printer's side of ESC/POS: an incremental parser from a byte stream to printer commands.

Written from the Epson ESC/POS command reference, independently of the kiosk's driver. It is fed
whatever arrives (any chunking), never raises on bad input, and skips commands it does not know.
Every loop consumes at least one byte or stops, so no input can make it spin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

ESC, FS, GS, DLE = 0x1B, 0x1C, 0x1D, 0x10
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

# Longest payload kept in memory (QR data tops out at 7089 digits); longer ones are skipped.
MAX_KEPT_PAYLOAD = 8192
# Function A barcodes end with NUL; no barcode is longer than this.
MAX_BARCODE_A = 255


class Align(Enum):
    LEFT = 0
    CENTER = 1
    RIGHT = 2


# --- commands the parser emits ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Init:
    """ESC @: clear the buffer and reset every mode."""


@dataclass(frozen=True, slots=True)
class ChineseMode:
    """FS & (on) / FS . (off): double-byte GB18030 text."""

    on: bool


@dataclass(frozen=True, slots=True)
class CharSize:
    """GS !: magnification 1..8 each way."""

    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PrintMode:
    """ESC ! n: bit 3 bold, bit 4 double height, bit 5 double width (resets the others)."""

    bold: bool
    double_height: bool
    double_width: bool


@dataclass(frozen=True, slots=True)
class ChinesePrintMode:
    """FS ! n: bit 2 double width, bit 3 double height for double-byte characters."""

    double_width: bool
    double_height: bool


@dataclass(frozen=True, slots=True)
class Bold:
    on: bool


@dataclass(frozen=True, slots=True)
class Justify:
    align: Align


@dataclass(frozen=True, slots=True)
class TextBytes:
    """Printable bytes, still encoded (the mode at print time decides how to read them)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class LineFeed:
    """LF: print the buffered line."""


@dataclass(frozen=True, slots=True)
class FeedLines:
    """ESC d n: print the buffer and feed n lines."""

    lines: int


@dataclass(frozen=True, slots=True)
class QrModuleSize:
    dots: int


@dataclass(frozen=True, slots=True)
class QrErrorLevel:
    level: str


@dataclass(frozen=True, slots=True)
class QrStore:
    data: bytes


@dataclass(frozen=True, slots=True)
class QrPrint:
    """GS ( k fn 81: print the stored symbol."""


@dataclass(frozen=True, slots=True)
class BarcodeHeight:
    dots: int


@dataclass(frozen=True, slots=True)
class BarcodeModule:
    dots: int


@dataclass(frozen=True, slots=True)
class BarcodeHri:
    """GS H n: 0 none, 1 above, 2 below, 3 both."""

    position: int


@dataclass(frozen=True, slots=True)
class BarcodePrint:
    """GS k: symbology number m (function A 0..6, B 65..79) and its data."""

    symbology: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Cut:
    partial: bool
    feed_dots: int = 0


@dataclass(frozen=True, slots=True)
class StatusQuery:
    """DLE EOT n: the printer must answer one status byte now."""

    n: int


@dataclass(frozen=True, slots=True)
class TransmitStatus:
    """GS r n: answer one status byte when processing reaches it, i.e. after what came before printed."""

    n: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A command the printer ignores (unknown, unsupported or malformed); kept for diagnostics."""

    head: bytes


Command = (
    Init
    | ChineseMode
    | CharSize
    | PrintMode
    | ChinesePrintMode
    | Bold
    | Justify
    | TextBytes
    | LineFeed
    | FeedLines
    | QrModuleSize
    | QrErrorLevel
    | QrStore
    | QrPrint
    | BarcodeHeight
    | BarcodeModule
    | BarcodeHri
    | BarcodePrint
    | Cut
    | StatusQuery
    | TransmitStatus
    | Skipped
)

# ESC x with one parameter byte that we do not act on (underline, font, rotation, code page, ...).
_ESC_ONE_ARG_IGNORED = frozenset(b"-GMRVrt{U3J =")
_ESC_NO_ARG_IGNORED = frozenset(b"2<S")
_GS_ONE_ARG_IGNORED = frozenset(b"Bbfa:IP")
_FS_ONE_ARG_IGNORED = frozenset(b"-WC")
_QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}


def _align(n: int) -> Align:
    return {0: Align.LEFT, 1: Align.CENTER, 2: Align.RIGHT}.get(n % 48 if n >= 48 else n, Align.LEFT)


class EscposStreamParser:
    """Feed bytes in any chunks; get back the complete commands found so far."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip = 0  # bytes of a long, ignored payload still to throw away

    def feed(self, data: bytes) -> list[Command]:
        out: list[Command] = []
        self._buf += data
        pos = 0
        while pos < len(self._buf):
            if self._skip:
                take = min(self._skip, len(self._buf) - pos)
                self._skip -= take
                pos += take
                continue
            step = self._one(pos, out)
            if step == 0:  # incomplete command: wait for more bytes
                break
            pos += step
        del self._buf[:pos]
        return out

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a command."""
        return len(self._buf)

    # Each _one/_esc/_gs/... returns how many bytes it consumed, 0 if the command is incomplete.
    def _one(self, pos: int, out: list[Command]) -> int:
        b = self._buf[pos]
        if b == ESC:
            return self._esc(pos, out)
        if b == GS:
            return self._gs(pos, out)
        if b == FS:
            return self._fs(pos, out)
        if b == DLE:
            return self._dle(pos, out)
        if b == LF:
            out.append(LineFeed())
            return 1
        if b < 0x20 or b == 0x7F:
            return 1  # CR, HT, stray control bytes: nothing to print
        end = pos
        while end < len(self._buf) and (self._buf[end] >= 0x20 and self._buf[end] != 0x7F):
            end += 1
        out.append(TextBytes(bytes(self._buf[pos:end])))
        return end - pos

    def _need(self, pos: int, n: int) -> bool:
        return len(self._buf) - pos >= n

    def _esc(self, pos: int, out: list[Command]) -> int:
        if not self._need(pos, 2):
            return 0
        c = self._buf[pos + 1]
        if c == ord("@"):
            out.append(Init())
            return 2
        if c in _ESC_NO_ARG_IGNORED:
            out.append(Skipped(bytes(self._buf[pos : pos + 2])))
            return 2
        if c == ord("c"):  # ESC c 3 n / ESC c 4 n / ESC c 5 n: panel and sensor settings
            return self._fixed(pos, 4, out)
        if c in b"!Ead*$\\Dp" or c in _ESC_ONE_ARG_IGNORED:
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            if c == ord("!"):
                out.append(PrintMode(bool(n & 0x08), bool(n & 0x10), bool(n & 0x20)))
            elif c == ord("E"):
                out.append(Bold(bool(n & 1)))
            elif c == ord("a"):
                out.append(Justify(_align(n)))
            elif c == ord("d"):
                out.append(FeedLines(n))
            elif c == ord("p"):  # ESC p m t1 t2: drawer kick
                return self._fixed(pos, 5, out)
            elif c in b"$\\":  # ESC $ / ESC \ nL nH: print position
                return self._fixed(pos, 4, out)
            elif c == ord("*"):  # ESC * m nL nH d1..dk: bit image
                if not self._need(pos, 5):
                    return 0
                count = self._buf[pos + 3] | self._buf[pos + 4] << 8
                per_column = 3 if n in (32, 33) else 1
                return self._skip_payload(pos, 5, count * per_column, out)
            elif c == ord("D"):  # ESC D n1..nk NUL: tab stops
                return self._until_nul(pos, 2, 33, out)
            else:
                out.append(Skipped(bytes(self._buf[pos : pos + 3])))
            return 3
        out.append(Skipped(bytes(self._buf[pos : pos + 2])))
        return 2

    def _fs(self, pos: int, out: list[Command]) -> int:
        if not self._need(pos, 2):
            return 0
        c = self._buf[pos + 1]
        if c == ord("&"):
            out.append(ChineseMode(True))
            return 2
        if c == ord("."):
            out.append(ChineseMode(False))
            return 2
        if c == ord("!"):
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            out.append(ChinesePrintMode(bool(n & 0x04), bool(n & 0x08)))
            return 3
        if c in _FS_ONE_ARG_IGNORED:
            return self._fixed(pos, 3, out)
        out.append(Skipped(bytes(self._buf[pos : pos + 2])))
        return 2

    def _dle(self, pos: int, out: list[Command]) -> int:
        if not self._need(pos, 2):
            return 0
        c = self._buf[pos + 1]
        if c == 0x04:  # DLE EOT n
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            if n in (1, 2, 3, 4):
                out.append(StatusQuery(n))
                return 3
            if n in (7, 8, 18):  # ink / ASB variants take one more byte
                return self._fixed(pos, 4, out)
            out.append(Skipped(bytes(self._buf[pos : pos + 3])))
            return 3
        if c == 0x05:  # DLE ENQ n
            return self._fixed(pos, 3, out)
        if c == 0x14:  # DLE DC4 fn m t
            return self._fixed(pos, 5, out)
        out.append(Skipped(bytes(self._buf[pos : pos + 1])))
        return 1  # a lone DLE: drop it, the next byte is read afresh

    def _gs(self, pos: int, out: list[Command]) -> int:
        if not self._need(pos, 2):
            return 0
        c = self._buf[pos + 1]
        if c == ord("("):
            return self._gs_paren(pos, out)
        if c == ord("k"):
            return self._gs_barcode(pos, out)
        if c == ord("v"):  # GS v 0 m xL xH yL yH d1..dk: raster image
            if not self._need(pos, 8):
                return 0
            width = self._buf[pos + 4] | self._buf[pos + 5] << 8
            height = self._buf[pos + 6] | self._buf[pos + 7] << 8
            return self._skip_payload(pos, 8, width * height, out)
        if c == ord("V"):
            if not self._need(pos, 3):
                return 0
            m = self._buf[pos + 2]
            if m in (0, 1, 48, 49):
                out.append(Cut(partial=m in (1, 49)))
                return 3
            if m in (65, 66, 97, 98, 103, 104):
                if not self._need(pos, 4):
                    return 0
                out.append(Cut(partial=m in (66, 98, 104), feed_dots=self._buf[pos + 3]))
                return 4
            out.append(Skipped(bytes(self._buf[pos : pos + 3])))
            return 3
        if c in b"!hwHLW":
            if c in b"LW":  # GS L / GS W nL nH: margins
                return self._fixed(pos, 4, out)
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            if c == ord("!"):
                out.append(CharSize((n >> 4 & 0x07) + 1, (n & 0x07) + 1))
            elif c == ord("h"):
                out.append(BarcodeHeight(max(n, 1)))
            elif c == ord("w"):
                out.append(BarcodeModule(n))
            else:
                out.append(BarcodeHri(n % 48 if n >= 48 else n))
            return 3
        if c == ord("r"):
            if not self._need(pos, 3):
                return 0
            out.append(TransmitStatus(self._buf[pos + 2]))
            return 3
        if c in _GS_ONE_ARG_IGNORED:
            return self._fixed(pos, 3, out)
        out.append(Skipped(bytes(self._buf[pos : pos + 2])))
        return 2

    def _gs_paren(self, pos: int, out: list[Command]) -> int:
        # GS ( X pL pH <p bytes>: every GS ( function carries its own length.
        if not self._need(pos, 5):
            return 0
        fn_group = self._buf[pos + 2]
        length = self._buf[pos + 3] | self._buf[pos + 4] << 8
        if fn_group != ord("k") or length > MAX_KEPT_PAYLOAD:
            return self._skip_payload(pos, 5, length, out)
        if not self._need(pos, 5 + length):
            return 0
        body = bytes(self._buf[pos + 5 : pos + 5 + length])
        if len(body) >= 3 and body[0] == 49:  # cn 49 = QR Code
            fn, rest = body[1], body[2:]
            if fn == 67 and rest:
                out.append(QrModuleSize(rest[0]))
            elif fn == 69 and rest:
                out.append(QrErrorLevel(_QR_LEVELS.get(rest[0], "L")))
            elif fn == 80 and rest:
                out.append(QrStore(rest[1:]))  # rest[0] is m = 48
            elif fn == 81:
                out.append(QrPrint())
            else:
                out.append(Skipped(bytes(self._buf[pos : pos + 7])))
        else:
            out.append(Skipped(bytes(self._buf[pos : pos + 5])))
        return 5 + length

    def _gs_barcode(self, pos: int, out: list[Command]) -> int:
        if not self._need(pos, 3):
            return 0
        m = self._buf[pos + 2]
        if m <= 6:  # function A: data ends with NUL
            end = self._buf.find(0, pos + 3, pos + 3 + MAX_BARCODE_A + 1)
            if end < 0:
                if len(self._buf) - (pos + 3) > MAX_BARCODE_A:
                    out.append(Skipped(bytes(self._buf[pos : pos + 3])))
                    return 3  # no terminator in range: not a barcode after all
                return 0
            out.append(BarcodePrint(m, bytes(self._buf[pos + 3 : end])))
            return end + 1 - pos
        if 65 <= m <= 79:  # function B: GS k m n d1..dn
            if not self._need(pos, 4):
                return 0
            n = self._buf[pos + 3]
            if not self._need(pos, 4 + n):
                return 0
            out.append(BarcodePrint(m, bytes(self._buf[pos + 4 : pos + 4 + n])))
            return 4 + n
        out.append(Skipped(bytes(self._buf[pos : pos + 3])))
        return 3

    def _fixed(self, pos: int, size: int, out: list[Command]) -> int:
        if not self._need(pos, size):
            return 0
        out.append(Skipped(bytes(self._buf[pos : pos + min(size, 3)])))
        return size

    def _until_nul(self, pos: int, head: int, limit: int, out: list[Command]) -> int:
        end = self._buf.find(0, pos + head, pos + head + limit)
        if end < 0:
            if len(self._buf) - (pos + head) >= limit:
                out.append(Skipped(bytes(self._buf[pos : pos + head])))
                return head
            return 0
        out.append(Skipped(bytes(self._buf[pos : pos + head])))
        return end + 1 - pos

    def _skip_payload(self, pos: int, head: int, payload: int, out: list[Command]) -> int:
        """Consume a command's header now and throw away its payload as it streams in."""
        out.append(Skipped(bytes(self._buf[pos : pos + min(head, 3)])))
        have = len(self._buf) - (pos + head)
        if have >= payload:
            return head + payload
        self._skip = payload - have
        return len(self._buf) - pos

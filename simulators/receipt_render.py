"""The simulated print head: applies parsed ESC/POS commands to paper and renders receipts as text and PNG.

Geometry of an 80 mm, 203 dpi thermal printer: 576 dots across, font A cells 12x24 dots (half width) and
24x24 dots (double-byte characters), magnified by GS ! / ESC ! / FS !. Lines wrap at the paper edge as on
a real printer, so `Receipt.text` is what a person reads off the paper.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
import qrcode.constants
from barcode.codex import Code39, Code128
from barcode.ean import EAN8, EAN13
from barcode.errors import BarcodeError
from barcode.upc import UPCA
from PIL import Image, ImageDraw, ImageFont

from simulators import escpos_parser as p

PAPER_DOTS = 576
CELL_W = 12
CELL_H = 24
LINE_GAP = 6  # default line spacing 30 dots = 24 dot characters + 6
MARGIN = 16
FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_FACE = "Noto Sans Mono CJK SC"  # half-width Latin is exactly half an em: the printer's cell grid

_QR_EC = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_CODE128 = 73
# GS k symbology numbers (function A, function B) the simulated head can draw.
_SYMBOLOGIES = {0: UPCA, 65: UPCA, 2: EAN13, 67: EAN13, 3: EAN8, 68: EAN8, 4: Code39, 69: Code39, 73: Code128}


def _cells(ch: str) -> int:
    """Font-A cells a character takes. East Asian "ambiguous" ones (×, ±, …) are two-byte GB18030 characters
    that a Chinese printer, like the CJK font drawn here, prints full width; counting them as one cut off
    the end of any line that held one."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


# --- what ends up on paper ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    width: int
    height: int
    bold: bool

    @property
    def dots(self) -> int:
        return sum(_cells(c) for c in self.text) * CELL_W * self.width


@dataclass(frozen=True, slots=True)
class TextRow:
    segments: tuple[Segment, ...]
    align: p.Align

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).rstrip()


@dataclass(frozen=True, slots=True)
class QrRow:
    data: bytes
    module: int
    level: str
    align: p.Align

    @property
    def text(self) -> str:
        return f"[QR {self.data.decode('utf-8', 'replace')}]"


@dataclass(frozen=True, slots=True)
class BarcodeRow:
    readable: str
    modules: str  # "1" bar / "0" space, one char per module
    module_dots: int
    height: int
    hri: int
    align: p.Align

    @property
    def text(self) -> str:
        return f"[BARCODE {self.readable}]"


Row = TextRow | QrRow | BarcodeRow


@dataclass(frozen=True)
class Receipt:
    """One piece of paper, from the previous cut to this one."""

    rows: tuple[Row, ...]
    partial_cut: bool = False
    complete: bool = True  # False when the paper ran out before the cut

    @property
    def text(self) -> str:
        """Plain text as read off the paper: one line per printed line, codes as [QR ...]/[BARCODE ...]."""
        lines = [row.text for row in self.rows]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def image(self) -> Image.Image:
        """The receipt as a 576-dot-wide grayscale image (white paper, black print)."""
        pieces = [_render_row(row) for row in self.rows]
        height = MARGIN * 2 + sum(im.height for im in pieces)
        page = Image.new("L", (PAPER_DOTS, max(height, MARGIN * 2)), 255)
        y = MARGIN
        for im in pieces:
            page.paste(im, (0, y))
            y += im.height
        return page

    def png(self, path: str | Path) -> Path:
        out = Path(path)
        self.image().save(out, format="PNG")
        return out


# --- the print head -----------------------------------------------------------------------------
@dataclass
class _Mode:
    chinese: bool = False
    width: int = 1
    height: int = 1
    bold: bool = False
    align: p.Align = p.Align.LEFT
    qr_module: int = 3
    qr_level: str = "L"
    qr_data: bytes = b""
    bar_height: int = 162
    bar_module: int = 3
    bar_hri: int = 0


@dataclass
class PrintHead:
    """Applies commands to the paper. `apply` returns a finished Receipt when a cut happens."""

    chinese_by_default: bool = False
    mode: _Mode = field(init=False)
    _rows: list[Row] = field(default_factory=list, init=False)
    _line: list[Segment] = field(default_factory=list, init=False)
    _line_dots: int = field(default=0, init=False)
    _line_align: p.Align | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.mode = _Mode(chinese=self.chinese_by_default)

    @property
    def has_content(self) -> bool:
        return bool(self._rows or self._line)

    def apply(self, cmd: p.Command) -> Receipt | None:
        m = self.mode
        match cmd:
            case p.Init():
                self._line.clear()
                self._line_dots = 0
                self._line_align = None
                self.mode = _Mode(chinese=self.chinese_by_default)
            case p.ChineseMode(on=on):
                m.chinese = on
            case p.CharSize(width=w, height=h):
                m.width, m.height = w, h
            case p.PrintMode(bold=bold, double_height=dh, double_width=dw):
                m.bold, m.width, m.height = bold, 2 if dw else 1, 2 if dh else 1
            case p.ChinesePrintMode(double_width=dw, double_height=dh):
                m.width, m.height = 2 if dw else 1, 2 if dh else 1
            case p.Bold(on=on):
                m.bold = on
            case p.Justify(align=align):
                m.align = align
            case p.TextBytes(data=data):
                self._add_text(data.decode("gb18030" if m.chinese else "cp437", "replace"))
            case p.LineFeed():
                self._print_line()
            case p.FeedLines(lines=n):
                if n == 0:
                    self._flush_line()
                for _ in range(n):  # the first one prints the buffered line, the rest are blank
                    self._print_line()
            case p.QrModuleSize(dots=dots):
                m.qr_module = min(max(dots, 1), 16)
            case p.QrErrorLevel(level=level):
                m.qr_level = level
            case p.QrStore(data=data):
                m.qr_data = data
            case p.QrPrint():
                self._flush_line()
                if m.qr_data:
                    self._rows.append(QrRow(m.qr_data, m.qr_module, m.qr_level, m.align))
            case p.BarcodeHeight(dots=dots):
                m.bar_height = dots
            case p.BarcodeModule(dots=dots):
                m.bar_module = min(max(dots, 1), 6)
            case p.BarcodeHri(position=pos):
                m.bar_hri = pos
            case p.BarcodePrint(symbology=sym, data=data):
                self._flush_line()
                row = _barcode_row(sym, data, m)
                if row is not None:
                    self._rows.append(row)
            case p.Cut(partial=partial):
                self._flush_line()
                return self.take(partial_cut=partial)
            case _:
                pass
        return None

    def take(self, *, partial_cut: bool = False, complete: bool = True) -> Receipt:
        """Tear off what has been printed so far."""
        receipt = Receipt(tuple(self._rows), partial_cut, complete)
        self._rows = []
        self._line.clear()
        self._line_dots = 0
        self._line_align = None
        return receipt

    def _add_text(self, text: str) -> None:
        m = self.mode
        for ch in text:
            dots = _cells(ch) * CELL_W * m.width
            if self._line_dots + dots > PAPER_DOTS and self._line:
                self._flush_line()
            if self._line_align is None:
                self._line_align = m.align  # ESC a counts only at the start of a line
            last = self._line[-1] if self._line else None
            if last and (last.width, last.height, last.bold) == (m.width, m.height, m.bold):
                self._line[-1] = Segment(last.text + ch, m.width, m.height, m.bold)
            else:
                self._line.append(Segment(ch, m.width, m.height, m.bold))
            self._line_dots += dots

    def _flush_line(self) -> None:
        if self._line:
            self._print_line()

    def _print_line(self) -> None:
        self._rows.append(TextRow(tuple(self._line), self._line_align or self.mode.align))
        self._line.clear()
        self._line_dots = 0
        self._line_align = None


def _readable(sym: int, data: bytes) -> str:
    """Human-readable text of a barcode; CODE128 data carries {A/{B/{C code-set switches."""
    if sym != _CODE128:
        return data.decode("ascii", "replace")
    out: list[str] = []
    code_c = False
    i = 0
    while i < len(data):
        b = data[i]
        if b == ord("{") and i + 1 < len(data):
            nxt = data[i + 1]
            if nxt in b"ABC":
                code_c = nxt == ord("C")
                i += 2
                continue
            if nxt == ord("{"):
                out.append("{")
                i += 2
                continue
        out.append(f"{b:02d}" if code_c and b < 100 else chr(b) if 0x20 <= b < 0x7F else "")
        i += 1
    return "".join(out)


def _barcode_row(sym: int, data: bytes, m: _Mode) -> BarcodeRow | None:
    kind = _SYMBOLOGIES.get(sym)
    readable = _readable(sym, data)
    if kind is None or not readable:
        return None
    try:
        if kind is Code39:
            symbol = kind(readable, add_checksum=False)
        else:
            symbol = kind(readable)
        modules = symbol.build()[0]
    except (BarcodeError, ValueError, KeyError, IndexError, TypeError):
        return None  # a printer prints nothing for data its symbology cannot encode
    return BarcodeRow(readable, modules, m.bar_module, m.bar_height, m.bar_hri, m.align)


# --- drawing ------------------------------------------------------------------------------------
@functools.cache
def _font() -> ImageFont.FreeTypeFont:
    for index in range(16):
        font = ImageFont.truetype(FONT_PATH, CELL_H, index=index)
        if font.getname()[0] == FONT_FACE:
            return font
    return ImageFont.truetype(FONT_PATH, CELL_H)


def _x_for(align: p.Align, width: int) -> int:
    if align is p.Align.CENTER:
        return max((PAPER_DOTS - width) // 2, 0)
    if align is p.Align.RIGHT:
        return max(PAPER_DOTS - width, 0)
    return 0


def _render_segment(seg: Segment) -> Image.Image:
    base_w = max(sum(_cells(c) for c in seg.text) * CELL_W, 1)
    im = Image.new("L", (base_w, CELL_H), 255)
    draw = ImageDraw.Draw(im)
    font = _font()
    ascent_gap = font.getbbox("中")[1]  # the em box starts this far below the top of the line box
    draw.text((0, -ascent_gap), seg.text, font=font, fill=0, stroke_width=1 if seg.bold else 0, stroke_fill=0)
    if seg.width == 1 and seg.height == 1:
        return im
    return im.resize((base_w * seg.width, CELL_H * seg.height), Image.Resampling.NEAREST)


def _render_row(row: Row) -> Image.Image:
    if isinstance(row, TextRow):
        parts = [_render_segment(s) for s in row.segments]
        tall = max((im.height for im in parts), default=CELL_H)
        out = Image.new("L", (PAPER_DOTS, tall + LINE_GAP), 255)
        x = _x_for(row.align, sum(im.width for im in parts))
        for im in parts:
            out.paste(im, (x, tall - im.height))  # characters of mixed size share the baseline
            x += im.width
        return out
    if isinstance(row, QrRow):
        return _render_qr(row)
    return _render_barcode(row)


def _render_qr(row: QrRow) -> Image.Image:
    qr = qrcode.QRCode(error_correction=_QR_EC.get(row.level, qrcode.constants.ERROR_CORRECT_L), border=0)
    try:
        qr.add_data(row.data)
        qr.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError):
        return Image.new("L", (PAPER_DOTS, LINE_GAP), 255)
    matrix = qr.get_matrix()
    n = len(matrix)
    small = Image.new("L", (n, n), 255)
    small.putdata([0 if cell else 255 for line in matrix for cell in line])
    big = small.resize((n * row.module, n * row.module), Image.Resampling.NEAREST)
    out = Image.new("L", (PAPER_DOTS, big.height + LINE_GAP * 2), 255)
    out.paste(big, (_x_for(row.align, big.width), LINE_GAP))
    return out


def _render_barcode(row: BarcodeRow) -> Image.Image:
    width = len(row.modules) * row.module_dots
    hri_h = CELL_H + LINE_GAP
    above = hri_h if row.hri in (1, 3) else 0
    below = hri_h if row.hri in (2, 3) else 0
    out = Image.new("L", (PAPER_DOTS, above + row.height + below + LINE_GAP), 255)
    if width > PAPER_DOTS:
        return out  # a printer skips a barcode wider than the paper
    x0 = _x_for(row.align, width)
    draw = ImageDraw.Draw(out)
    for i, bit in enumerate(row.modules):
        if bit == "1":
            x = x0 + i * row.module_dots
            draw.rectangle((x, above, x + row.module_dots - 1, above + row.height - 1), fill=0)
    label = _render_segment(Segment(row.readable, 1, 1, False))
    lx = _x_for(row.align, label.width) if row.align is not p.Align.LEFT else x0
    if above:
        out.paste(label, (lx, 0))
    if below:
        out.paste(label, (lx, above + row.height + LINE_GAP))
    return out

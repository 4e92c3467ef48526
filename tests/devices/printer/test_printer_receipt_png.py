"""The simulator renders a printed slip to a PNG: 576 dots wide, real Chinese glyphs, QR and barcode."""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image, ImageChops

from kiosk.devices.printer import EscposReceiptPrinter, render_escpos
from kiosk.domain.document import Document, Text
from simulators import escpos_parser as p
from simulators.printer import PrinterSimulator
from simulators.receipt_render import CELL_H, PAPER_DOTS, PrintHead, Receipt


def ink(image: Image.Image) -> float:
    """Share of dark pixels."""
    gray = image.convert("L")
    dark = sum(gray.histogram()[:128])
    return dark / (gray.width * gray.height)


def printed(document: Document) -> Receipt:
    head = PrintHead()
    for cmd in p.EscposStreamParser().feed(render_escpos(document)):
        receipt = head.apply(cmd)
        if receipt is not None:
            return receipt
    raise AssertionError("no cut")


def test_slip_png_is_576_wide_and_has_ink(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document, tmp_path: Path
) -> None:
    """GIVEN a slip printed through the driver WHEN the simulator renders it THEN a real page comes out."""
    printer.print_document(slip)
    path = sim.wait_for_receipt(timeout=2).png(tmp_path / "slip.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width == PAPER_DOTS
        assert image.height > 600  # 14 lines, a 6-dot-module QR and a barcode
        assert 0.02 < ink(image) < 0.5


def test_chinese_renders_as_distinct_glyphs_not_boxes() -> None:
    """Missing fonts draw every CJK character as the same box: distinct characters must differ."""
    images = [printed(Document("t", (Text(ch * 4),))).image() for ch in "中医挂号"]
    for image in images:
        assert ink(image) > 0.002
    for a, b in itertools.pairwise(images):
        assert ImageChops.difference(a, b).getbbox() is not None


def test_double_size_is_twice_as_tall_and_wide() -> None:
    def bbox(document: Document) -> tuple[int, int]:
        image = printed(document).image()
        left, top, right, bottom = ImageChops.invert(image).getbbox()
        return right - left, bottom - top

    w1, h1 = bbox(Document("t", (Text("中文"),)))
    w2, h2 = bbox(Document("t", (Text("中文", width=2, height=2),)))
    assert abs(w2 - 2 * w1) <= 2 and abs(h2 - 2 * h1) <= 2
    assert h2 <= CELL_H * 2


def test_a_line_with_a_multiplication_sign_keeps_its_last_character() -> None:
    """GIVEN a line holding × (printed full width by a Chinese printer, like 中) WHEN rendered THEN it is as
    wide as the same line with 中 in its place: no character cut off its end (¥86.10 once came out as ¥86.1)."""

    def inked_width(text: str) -> int:
        left, _, right, _ = ImageChops.invert(printed(Document("t", (Text(text),))).image()).getbbox()
        return right - left

    assert abs(inked_width("×14粒 x3  ¥86.10") - inked_width("中14粒 x3  ¥86.10")) <= 4

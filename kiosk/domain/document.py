"""A printout as plain data (lines, codes, cut): built by flows, turned into ESC/POS by the printer driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Align(str, Enum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text. `width`/`height` are character magnifications 1..8 (2 = double size)."""

    text: str
    align: Align = Align.LEFT
    width: int = 1
    height: int = 1
    bold: bool = False


@dataclass(frozen=True, slots=True)
class QrCode:
    data: str
    size: int = 6


@dataclass(frozen=True, slots=True)
class Barcode:
    """A CODE128 barcode with its human-readable text below it."""

    data: str


@dataclass(frozen=True, slots=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True, slots=True)
class Rule:
    """A dashed separator across the paper."""

    char: str = "-"


Block = Text | QrCode | Barcode | Feed | Rule


@dataclass(frozen=True, slots=True)
class Document:
    """A whole printout; the printer cuts the paper after it."""

    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def plain_text(self) -> str:
        """The document as the text a person would read off the paper (codes shown by their data)."""
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Text):
                out.append(block.text)
            elif isinstance(block, QrCode):
                out.append(f"[QR {block.data}]")
            elif isinstance(block, Barcode):
                out.append(f"[BARCODE {block.data}]")
            elif isinstance(block, Feed):
                out.extend([""] * block.lines)
            elif isinstance(block, Rule):
                out.append(block.char * 32)
        return "\n".join(out)

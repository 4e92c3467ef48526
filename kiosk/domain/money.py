"""Money in integer fen (分): the only amount type in the kiosk; no float ever touches it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_YUAN_RE = re.compile(r"^(-)?(\d+)(?:\.(\d{1,2}))?$")


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of Chinese yuan held as a whole number of fen (1 yuan = 100 fen)."""

    fen: int

    def __post_init__(self) -> None:
        # bool is an int subclass; True fen is a bug, not an amount.
        if type(self.fen) is not int:
            raise TypeError(f"Money needs integer fen, got {type(self.fen).__name__}")

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def parse_yuan(cls, text: str) -> Money:
        """Parse '12', '12.5' or '12.50' (yuan) exactly; anything else raises ValueError."""
        m = _YUAN_RE.match(text.strip())
        if not m:
            raise ValueError(f"not an amount in yuan: {text!r}")
        sign, whole, frac = m.groups()
        fen = int(whole) * 100 + int((frac or "0").ljust(2, "0"))
        return cls(-fen if sign else fen)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def __mul__(self, times: int) -> Money:
        if type(times) is not int:
            return NotImplemented
        return Money(self.fen * times)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __bool__(self) -> bool:
        return self.fen != 0

    @property
    def yuan_text(self) -> str:
        """'12.50' — the amount in yuan with two decimals, no symbol."""
        sign = "-" if self.fen < 0 else ""
        whole, frac = divmod(abs(self.fen), 100)
        return f"{sign}{whole}.{frac:02d}"

    def __str__(self) -> str:
        text = self.yuan_text
        return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"


def total(amounts: list[Money] | tuple[Money, ...]) -> Money:
    """Sum of amounts (Money.zero() for none)."""
    result = Money.zero()
    for amount in amounts:
        result += amount
    return result

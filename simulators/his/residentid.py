"""Resident ID numbers as the hospital checks them (GB 11643-1999), written apart from the kiosk's.

The HIS must catch a kiosk's mistakes rather than share them, so this module imports nothing from
`kiosk/` and computes the check character from the standard's definition (ISO 7064 MOD 11-2: weight
2^(17-i) mod 11), not from a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_LENGTH = 18


def _weight(position: int) -> int:
    """The weight of the digit at `position` (0-based, from the left) of the 17 leading digits."""
    return pow(2, _LENGTH - 1 - position, 11)


def check_character(first17: str) -> str:
    """The character that completes 17 digits: (12 - Σ digit·weight mod 11) mod 11, 10 written X."""
    if len(first17) != _LENGTH - 1 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    value = (12 - sum(int(d) * _weight(i) for i, d in enumerate(first17)) % 11) % 11
    return "X" if value == 10 else str(value)


@dataclass(frozen=True)
class ResidentId:
    """A checked 18-character ID number: its birth date and sex as the number states them."""

    number: str
    birth_date: dt.date
    sex: str  # "male" / "female", the API's spelling

    @classmethod
    def parse(cls, text: str) -> ResidentId:
        """The number in `text` (spaces around and a lower-case x allowed), or ValueError saying why."""
        number = text.strip().upper()
        if len(number) != _LENGTH or not number.isascii() or not number[:17].isdigit():
            raise ValueError("an ID number has 17 digits and a check digit or X")
        if number[17] != check_character(number[:17]):
            raise ValueError("the ID number's check digit is wrong")
        try:
            born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            raise ValueError("the ID number holds no valid birth date") from None
        return cls(number, born, "male" if int(number[16]) % 2 == 1 else "female")


def masked(number: str) -> str:
    """What the API shows of an ID number: the first 3 and the last 4 characters, '*' between."""
    hidden = max(0, len(number) - 7)
    if hidden == 0:
        return "*" * len(number)
    return f"{number[:3]}{'*' * hidden}{number[-4:]}"

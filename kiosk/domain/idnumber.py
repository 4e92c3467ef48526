"""Resident ID numbers (GB 11643-1999): check digit, birth date, sex, and masking of personal data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


class Sex(str, Enum):
    MALE = "male"
    FEMALE = "female"


def check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for 17 leading digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A validated 18-character resident ID number; str() masks it, `.value` is the full number."""

    value: str

    def __post_init__(self) -> None:
        v = self.value.strip().upper()
        object.__setattr__(self, "value", v)
        if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
            raise ValueError("an ID number has 17 digits and a check digit or X")
        if check_char(v[:17]) != v[17]:
            raise ValueError("the ID number's check digit is wrong")
        try:
            dt.datetime.strptime(v[6:14], "%Y%m%d")
        except ValueError as exc:
            raise ValueError("the ID number holds no valid birth date") from exc

    @property
    def region(self) -> str:
        return self.value[:6]

    @property
    def birth_date(self) -> dt.date:
        return dt.datetime.strptime(self.value[6:14], "%Y%m%d").date()

    @property
    def sex(self) -> Sex:
        return Sex.MALE if int(self.value[16]) % 2 else Sex.FEMALE

    @property
    def last4(self) -> str:
        return self.value[-4:]

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"IdNumber({self.masked!r})"


def mask_id_number(value: str) -> str:
    """110***********1234: the first 3 and last 4 characters stay, the rest become '*'."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(name: str) -> str:
    """张*三 / 张* / 欧阳**峰: keep the first and (for 3+ characters) the last character."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_card(value: str) -> str:
    """A card or visit number with all but the last 4 characters hidden."""
    return "*" * max(0, len(value) - 4) + value[-4:]

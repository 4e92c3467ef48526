"""ID numbers (GB 11643-1999) and masking."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.idnumber import IdNumber, Sex, check_char, mask_id_number, mask_name


def make(region: str, birth: dt.date, seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


@given(
    st.from_regex(r"[1-6][0-9]{5}", fullmatch=True),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_valid_numbers_round_trip(region: str, birth: dt.date, seq: int) -> None:
    number = IdNumber(make(region, birth, seq))
    assert number.birth_date == birth
    assert number.sex is (Sex.MALE if seq % 2 else Sex.FEMALE)
    assert number.region == region


@given(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), st.integers(min_value=0, max_value=999))
def test_any_single_digit_change_is_caught(region: str, seq: int) -> None:
    good = make(region, dt.date(1980, 5, 17), seq)
    for pos in range(18):
        for repl in "0123456789X":
            if repl == good[pos] or (repl == "X" and pos < 17):
                continue
            bad = good[:pos] + repl + good[pos + 1 :]
            with pytest.raises(ValueError):
                IdNumber(bad)


def test_known_number() -> None:
    number = IdNumber("11010519491231002X")
    assert number.birth_date == dt.date(1949, 12, 31)
    assert number.sex is Sex.FEMALE
    assert number.masked == "110***********002X"
    assert "11010519491231002X" not in repr(number) and "11010519491231002X" not in str(number)


@pytest.mark.parametrize("bad", ["", "123", "11010519491231002Y", "110105194912310021", "110105194913310029"])
def test_invalid_numbers(bad: str) -> None:
    with pytest.raises(ValueError):
        IdNumber(bad)


def test_masking() -> None:
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_id_number("110105194912310021") == "110***********0021"

"""Money: integer fen only, exact arithmetic, the way amounts are shown."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.money import Money, total

fen = st.integers(min_value=-(10**12), max_value=10**12)


@given(fen, fen)
def test_addition_and_subtraction_are_exact(a: int, b: int) -> None:
    assert (Money(a) + Money(b)).fen == a + b
    assert (Money(a) - Money(b)) + Money(b) == Money(a)


@given(fen)
def test_text_round_trips_through_parse(a: int) -> None:
    assert Money.parse_yuan(Money(a).yuan_text) == Money(a)


def test_formatting() -> None:
    assert str(Money(1250)) == "¥12.50"
    assert str(Money(5)) == "¥0.05"
    assert str(Money(-1250)) == "-¥12.50"
    assert str(Money(0)) == "¥0.00"


@pytest.mark.parametrize("bad", [1.5, "12", True, None])
def test_rejects_anything_but_int_fen(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(bad)  # type: ignore[arg-type]


def test_no_float_multiplication() -> None:
    with pytest.raises(TypeError):
        Money(100) * 1.5  # type: ignore[operator]
    assert Money(250) * 3 == Money(750)


@pytest.mark.parametrize("text", ["1.234", "abc", "", "1e3", "¥1"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        Money.parse_yuan(text)


def test_total() -> None:
    assert total([Money(1), Money(2), Money(3)]) == Money(6)
    assert total([]) == Money.zero()

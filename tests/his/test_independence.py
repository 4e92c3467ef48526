"""The reference HIS stands apart from the kiosk: it imports nothing from `kiosk/`, and checks ID
numbers with its own code, which agrees with the kiosk's on every number (two implementations, so a
mistake in one shows up as a disagreement instead of being shared)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.idnumber import IdNumber, check_char, mask_id_number
from simulators.his.residentid import ResidentId, check_character, masked

HIS_PACKAGE = Path(__file__).resolve().parents[2] / "simulators" / "his"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, including imports inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_his_imports_nothing_from_the_kiosk() -> None:
    files = sorted(HIS_PACKAGE.rglob("*.py"))
    assert len(files) > 10  # the scan really looks at the server's modules
    offending = [
        f"{path.relative_to(HIS_PACKAGE.parent.parent)}:{line}: import {module}"
        for path in files
        for line, module in _imported_modules(path)
        if module == "kiosk" or module.startswith("kiosk.")
    ]
    assert offending == []


def test_the_scan_sees_a_kiosk_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from kiosk.domain import idnumber\n    import kiosk.app\n")
    assert _imported_modules(sample) == [(2, "kiosk.domain"), (3, "kiosk.app")]


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        ("11010519491231002X", "1949-12-31", "female"),  # the standard's own example
        ("440524188001010014", "1880-01-01", "male"),
    ],
)
def test_known_numbers_are_read_as_the_standard_says(number: str, born: str, sex: str) -> None:
    rid = ResidentId.parse(f" {number.lower()} ")
    assert (rid.number, rid.birth_date.isoformat(), rid.sex) == (number, born, sex)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("110105194912310021", "check digit"),
        ("110105194913310021", "birth date"),
        ("1101051949123100", "17 digits"),
        ("１１０１０５１９４９１２３１００２X", "17 digits"),  # full-width digits are not ID digits
    ],
)
def test_wrong_numbers_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        ResidentId.parse(text)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_check_character_agrees_with_the_kiosks(first17: str) -> None:
    assert check_character(first17) == check_char(first17)


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_both_sides_accept_and_refuse_the_same_numbers(text: str) -> None:
    try:
        kiosk_view = IdNumber(text)
    except ValueError:
        kiosk_view = None
    try:
        his_view = ResidentId.parse(text)
    except ValueError:
        his_view = None
    assert (his_view is None) == (kiosk_view is None)
    if his_view is not None and kiosk_view is not None:
        assert (his_view.birth_date, his_view.sex) == (kiosk_view.birth_date, kiosk_view.sex.value)


@given(st.text(max_size=30))
def test_masking_agrees_with_the_kiosks(text: str) -> None:
    assert masked(text) == mask_id_number(text)

"""The message catalogue (kiosk/locale) as translators and the code see it: standard gettext files that
Babel reads, complete in zh_CN and en, every key the code asks for present and none left unused.

Keys the code builds at run time (f"period.{...}") are checked against what fills them in: a new family
of built keys must be added to FAMILIES, with the values it can take.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from kiosk import i18n_catalogue
from kiosk.admin.diagnostics import DEVICE_KINDS
from kiosk.devices.base import Detail, Health
from kiosk.devices.ports import PaymentStep
from kiosk.domain import catalogue
from kiosk.domain.appointment import AppointmentStatus
from kiosk.domain.payment import PayMethod
from kiosk.domain.satisfaction import Rating
from kiosk.domain.schedule import Period
from kiosk.flows import payment_steps, refund
from kiosk.flows.gating import Need
from kiosk.ui.automation.untranslated import untranslated
from kiosk.ui.book_controller import HINTS
from kiosk.ui.screens.home import TASKS
from simulators.his.errors import CATALOGUE as HIS_CODES
from simulators.his.openapi import BillKind

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "kiosk").rglob("*.py"))

DEVICE_NEEDS = tuple(n.value for n in Need if n not in (Need.HIS, Need.KEYPAD))
"""The needs a home tile can be closed for, one key each (the HIS has its own; the keypad is always there)."""
FAMILIES: dict[str, tuple[str, ...]] = {
    "book.hint.{}": HINTS,
    "period.{}": tuple(p.value for p in Period),
    "status.{}": tuple(s.value for s in AppointmentStatus),
    "bill.{}": tuple(k.value for k in BillKind),
    "health.{}": tuple(h.value for h in Health),
    "device.{}": (*DEVICE_KINDS, "his"),
    "task.{}": tuple(t.key for t in TASKS),
    "task.{}.desc": tuple(t.key for t in TASKS),
    "records.method.{}": tuple(m.value for m in PayMethod),
    "paymethod.{}": tuple(m.value for m in PayMethod),
    "card.{}": tuple(s.value for s in PaymentStep),
    "task.no_{}": DEVICE_NEEDS,
    "task.{}_down": DEVICE_NEEDS,
    "task.printer_{}": tuple(d.value.replace("-", "_") for d in (Detail.PAPER_OUT, Detail.COVER_OPEN)),
    "ready.{}_down": ("printer",),  # what kiosk.flows asks require_ready() for
    "satisfaction.{}": tuple(r.value for r in Rating),
}
"""Keys built from a value: the pattern as the code writes it, and every value it is built with."""
OPTIONAL_FAMILIES: dict[str, tuple[str, ...]] = {"his.{}": tuple(HIS_CODES)}
"""Built keys that may be missing: a HIS code without words of its own shows the HIS's own message."""


def _template() -> set[str]:
    with catalogue.template_path().open("rb") as pot:
        return {m.context for m in read_po(pot) if m.id}


def _families_in_code() -> set[str]:
    """The keys the code builds with f-strings, as patterns ("period.{}"), found by their literal head."""
    namespaces = {key.split(".")[0] for key in _template()}
    found = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
                head = str(node.values[0].value)
                if re.fullmatch(r"[a-z_]+\.[a-z_.]*", head) and head.split(".")[0] in namespaces:
                    found.add("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
    return found


def _literals() -> set[str]:
    """Every whole string literal in the kiosk's code (not the pieces of an f-string)."""
    found = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pieces = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        found |= {node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in pieces}
    return found


def test_the_files_parse_with_babel_and_every_entry_is_translated_in_every_language() -> None:
    assert i18n_catalogue.problems() == []
    for language in catalogue.LANGUAGES:
        assert set(catalogue.texts(language)) == _template()


@pytest.fixture
def locale_copy(tmp_path, monkeypatch) -> Iterator[Path]:
    """A copy of kiosk/locale that the catalogue reads and writes instead."""
    copy = tmp_path / "locale"
    for source in catalogue.locale_dir().rglob("*.po*"):
        target = copy / source.relative_to(catalogue.locale_dir())
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(catalogue, "locale_dir", lambda: copy)
    catalogue.texts.cache_clear()
    yield copy
    catalogue.texts.cache_clear()


def test_check_names_what_is_missing_fuzzy_or_wrong(locale_copy) -> None:
    """`python -m kiosk.i18n_catalogue check` on a copy the translator broke in three ways."""
    en = locale_copy / "en" / "LC_MESSAGES" / "kiosk.po"
    text = en.read_text(encoding="utf-8")
    text = text.replace('msgstr "{count} selected, total {amount}"', 'msgstr "{count} selected, total {total}"')
    text = text.replace('msgctxt "bills.title"', '#, fuzzy\nmsgctxt "bills.title"')
    text = text.replace('msgstr "Cancelled."', 'msgstr ""')
    en.write_text(text, encoding="utf-8")

    assert i18n_catalogue.main(["check"]) == 1
    assert i18n_catalogue.problems() == [
        "en: bills.title is fuzzy",
        "en: bills.total placeholders ['count', 'total'], the source has ['amount', 'count']",
        "en: error.cancelled is untranslated",
    ]


def test_add_puts_a_key_into_the_template_and_both_languages_in_key_order(locale_copy) -> None:
    assert i18n_catalogue.main(["add", "bills.refund", "退款 {amount}", "Refund {amount}"]) == 0
    assert i18n_catalogue.problems() == []
    assert catalogue.lookup("bills.refund", "en") == "Refund {amount}"
    assert catalogue.lookup("bills.refund", "zh_CN") == "退款 {amount}"
    en = (locale_copy / "en" / "LC_MESSAGES" / "kiosk.po").read_text(encoding="utf-8")
    keys = re.findall(r'^msgctxt "(.*)"$', en, re.MULTILINE)
    assert keys == sorted(keys) and "bills.refund" in keys
    assert '#, python-brace-format\nmsgctxt "bills.refund"' in en

    assert i18n_catalogue.main(["add", "bills.refund", "退款", "Refund"]) == 2
    assert i18n_catalogue.main(["add", "bills.fee", "费用 {amount}", "Fee"]) == 2
    assert i18n_catalogue.main(["add", "Bills Fee", "费用", "Fee"]) == 2
    assert i18n_catalogue.problems() == []


def test_every_key_the_code_names_is_in_the_catalogue() -> None:
    keys = _template()
    namespaces = {key.split(".")[0] for key in keys}
    named = {s for s in _literals() if re.fullmatch(r"[a-z_]+(\.[A-Za-z0-9_]+)+", s) and s.split(".")[0] in namespaces}
    built = {pattern.format(value) for pattern, values in FAMILIES.items() for value in values}
    assert sorted((named | built) - keys - NOT_KEYS) == []


NOT_KEYS = payment_steps.KINDS | refund.KINDS
"""Dotted literals in a catalogue namespace that are not catalogue keys: the journal's step kinds."""


def test_every_key_built_at_run_time_is_a_known_family() -> None:
    assert _families_in_code() == set(FAMILIES) | set(OPTIONAL_FAMILIES)


def test_no_key_in_the_catalogue_is_unused() -> None:
    built = {pattern.format(value) for families in (FAMILIES, OPTIONAL_FAMILIES)
             for pattern, values in families.items() for value in values}
    assert sorted(_template() - _literals() - built) == []


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_placeholders_are_python_brace_format_and_fill_in(language) -> None:
    for key, text in catalogue.texts(language).items():
        names = i18n_catalogue.placeholders(text)
        assert text.format(**dict.fromkeys(names, "X")), key


def _screen(*texts: tuple[str, str]) -> dict:
    return {"screen": "confirm", "elements": [{"id": i, "text": text} for i, text in texts]}


def test_an_english_screen_may_show_the_hospitals_chinese_data_and_nothing_else_chinese() -> None:
    data = {"邓*明", "何强英", "201诊区"}
    fine = _screen(("lang", "中文"), ("line-0", "邓*明"), ("line-2", "何强英 Resident"), ("item-0", "Cardiology 2F 201诊区"))
    assert untranslated(fine, data) == []
    wrong = _screen(("title", "请核对 Please check"), ("line-2", "何强英 主任医师"), ("note", "bills.none_hint"),
                    ("when", "Mon 30 Nov e.g. 3.5 km"))
    assert untranslated(wrong, data) == [
        "confirm/title: Chinese ['请核对'] in '请核对 Please check'",
        "confirm/line-2: Chinese ['主任医师'] in '何强英 主任医师'",
        "confirm/note: the raw key 'bills.none_hint' in 'bills.none_hint'",
    ]


def test_pybabel_update_and_compile_take_the_files_as_they_are(locale_copy) -> None:
    """The translators' standard tools: `pybabel update` (as the README gives it) changes nothing, and
    `pybabel compile` finds every entry translated."""
    before = {p: p.read_bytes() for p in locale_copy.rglob("*.po*")}
    cli = CommandLineInterface()
    assert cli.run(["pybabel", "-q", "update", "-i", str(locale_copy / "kiosk.pot"), "-d", str(locale_copy),
                    "-D", "kiosk", "-w", "100", "--no-fuzzy-matching"]) in (None, 0)
    assert {p: p.read_bytes() for p in locale_copy.rglob("*.po*")} == before
    assert cli.run(["pybabel", "-q", "compile", "-d", str(locale_copy), "-D", "kiosk"]) in (None, 0)
    assert sorted(p.relative_to(locale_copy).as_posix() for p in locale_copy.rglob("*.mo")) == [
        "en/LC_MESSAGES/kiosk.mo", "zh_CN/LC_MESSAGES/kiosk.mo"]

"""The message catalogue: every text the kiosk shows or says, in Chinese and English, read from the
gettext files in kiosk/locale (kiosk.pot and one kiosk.po per language, edited with standard tools).

Each entry's msgctxt is the key the code asks for (`tr("bills.title")`, an error's `message_key`),
its msgid the Chinese source text, its msgstr the translation. Placeholders are Python `{name}`.
The .po files are parsed once per language, on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from babel.messages.pofile import read_po

DOMAIN = "kiosk"
SOURCE_LANGUAGE = "zh_CN"
LANGUAGES = (SOURCE_LANGUAGE, "en")


def locale_dir() -> Path:
    return Path(str(resources.files("kiosk") / "locale"))


def po_path(language: str) -> Path:
    return locale_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def template_path() -> Path:
    return locale_dir() / f"{DOMAIN}.pot"


def catalogue_language(language: str) -> str:
    """The catalogue a UI language reads: English for any `en*`, else the Chinese source."""
    return "en" if language.startswith("en") else SOURCE_LANGUAGE


@functools.cache
def texts(language: str) -> Mapping[str, str]:
    """key -> text in `language` (an empty msgstr falls back to the Chinese source)."""
    with po_path(catalogue_language(language)).open("rb") as po:
        catalog = read_po(po)
    return {m.context: m.string or m.id for m in catalog if m.id and m.context}


def lookup(key: str, language: str) -> str | None:
    return texts(catalogue_language(language)).get(key)

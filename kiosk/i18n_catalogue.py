"""Maintain the message catalogue (kiosk/locale): add a key to the template and both translations in
one step, and check the catalogue is complete.

    python -m kiosk.i18n_catalogue add KEY "中文" "English"
    python -m kiosk.i18n_catalogue check

Entries are kept sorted by key, so concurrent additions merge as ordinary text. Translators may edit
the .po files with any gettext tool (Poedit, Lokalize, Weblate); `check` then says what is missing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from kiosk.domain.catalogue import DOMAIN, LANGUAGES, SOURCE_LANGUAGE, po_path, template_path

KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)*$")
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
BRACE_FORMAT = "python-brace-format"
HEADER = "# Messages of the hospital outpatient self-service kiosk (门诊自助服务机).\n#"


class CatalogueError(ValueError):
    """A key or text the catalogue cannot take; the message says why."""


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _read(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po)


def _write(path: Path, catalog: Catalog) -> None:
    """Write `catalog` with its entries sorted by key (msgctxt)."""
    ordered = Catalog(locale=catalog.locale, domain=DOMAIN, header_comment=HEADER, project=DOMAIN,
                      creation_date=catalog.creation_date, revision_date=catalog.revision_date,
                      fuzzy=catalog.locale is None)
    for message in sorted((m for m in catalog if m.id), key=lambda m: m.context or ""):
        ordered[message.id] = message
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, ordered, width=100, no_location=True)


def _entry(key: str, zh: str, translation: str) -> Message:
    flags = {BRACE_FORMAT} if placeholders(zh) else set()
    return Message(zh, translation, flags=flags, context=key)


def add(key: str, zh: str, en: str) -> None:
    """Add `key` with its Chinese source text and English translation to kiosk.pot and every .po."""
    if not KEY.match(key):
        raise CatalogueError(f"{key!r} is not a key: dotted lower-case words, e.g. bills.title")
    if not zh.strip() or not en.strip():
        raise CatalogueError(f"{key}: both the Chinese and the English text are needed")
    if placeholders(zh) != placeholders(en):
        raise CatalogueError(f"{key}: placeholders differ: {sorted(placeholders(zh))} vs {sorted(placeholders(en))}")
    template = _read(template_path())
    if any(m.context == key for m in template):
        raise CatalogueError(f"{key} is already in the catalogue")
    template[zh] = _entry(key, zh, "")
    _write(template_path(), template)
    for language, text in zip(LANGUAGES, (zh, en), strict=True):
        catalog = _read(po_path(language))
        catalog[zh] = _entry(key, zh, text)
        _write(po_path(language), catalog)


def problems() -> list[str]:
    """What keeps the catalogue from being complete, one sentence each (empty: complete)."""
    found: list[str] = []
    template = {m.context: m for m in _read(template_path()) if m.id}
    if None in template:
        found.append(f"{template_path().name}: an entry without a key (msgctxt): {template[None].id!r}")
    for language in LANGUAGES:
        translated = {m.context: m for m in _read(po_path(language)) if m.id}
        for key in sorted(set(translated) - set(template), key=str):
            found.append(f"{language}: {key} is not in the template")
        for key, source in sorted(template.items(), key=lambda kv: str(kv[0])):
            message = translated.get(key)
            if message is None:
                found.append(f"{language}: {key} is missing")
            elif message.id != source.id:
                found.append(f"{language}: {key} translates {message.id!r}, the template says {source.id!r}")
            elif not message.string or message.fuzzy:
                found.append(f"{language}: {key} is {'fuzzy' if message.fuzzy else 'untranslated'}")
            elif placeholders(message.string) != placeholders(message.id):
                found.append(f"{language}: {key} placeholders {sorted(placeholders(message.string))}, "
                             f"the source has {sorted(placeholders(message.id))}")
            elif placeholders(message.id) and BRACE_FORMAT not in message.flags:
                found.append(f"{language}: {key} has placeholders but no '#, {BRACE_FORMAT}'")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.i18n_catalogue", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    adding = sub.add_parser("add", help="add a key to kiosk.pot and every .po, sorted by key")
    adding.add_argument("key")
    adding.add_argument("zh", help=f"the {SOURCE_LANGUAGE} source text")
    adding.add_argument("en", help="the English translation")
    sub.add_parser("check", help="list missing, untranslated or fuzzy entries; exit 1 if any")
    args = parser.parse_args(argv)
    if args.command == "add":
        try:
            add(args.key, args.zh, args.en)
        except CatalogueError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"added {args.key}")
        return 0
    found = problems()
    print("\n".join(found) or "catalogue complete")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""The translation check of one screen as the automation port reports it (GET /screen): in English, no
Chinese a patient would have to read, and no raw message key where a text should be. Pure data in,
plain sentences out.

Chinese is allowed where it is the hospital's data (a patient's or doctor's name, a room, a bill item):
the caller passes those words. The language switch is the one element meant to be in Chinese: it
offers Chinese to whoever reads it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from typing import Any

from kiosk.domain import catalogue

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
SAYS_OTHER_LANGUAGE = frozenset({"lang"})
"""Element ids whose text is the other language on purpose."""


@functools.cache
def _key_pattern() -> re.Pattern[str]:
    namespaces = sorted({key.split(".")[0] for key in catalogue.texts(catalogue.SOURCE_LANGUAGE)})
    return re.compile(rf"(?<![\w.])(?:{'|'.join(namespaces)})(?:\.[A-Za-z0-9_]+)+(?![\w.])")


def untranslated(screen: dict[str, Any], data: Collection[str]) -> list[str]:
    """What on an English `screen` is not English: Chinese outside `data`, or a message key."""
    keys = _key_pattern()
    by_length = sorted(data, key=len, reverse=True)
    found = []
    for element in screen["elements"]:
        text = element.get("text") or ""
        if element["id"] in SAYS_OTHER_LANGUAGE or not text:
            continue
        rest = text
        for word in by_length if CJK.search(text) else ():
            if word and word in rest:
                rest = rest.replace(word, " ")
        if chinese := CJK.findall(rest):
            found.append(f"{screen['screen']}/{element['id']}: Chinese {chinese} in {text!r}")
        for key in keys.findall(text):
            found.append(f"{screen['screen']}/{element['id']}: the raw key {key!r} in {text!r}")
    return found

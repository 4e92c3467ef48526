"""Plain-language words for every error and message key, in Chinese and English, each saying what to
do next; the words are in the message catalogue (kiosk.domain.catalogue)."""

from __future__ import annotations

import datetime as dt

from kiosk.domain import catalogue
from kiosk.domain.errors import HisRefused, KioskError

GENERIC = "error.generic"
BY_REASON: dict[tuple[str, str], str] = {
    ("OUTSIDE_BOOKING_WINDOW", "not_released"): "his.OUTSIDE_BOOKING_WINDOW.not_released",
    ("OUTSIDE_BOOKING_WINDOW", "tomorrow_closed"): "his.OUTSIDE_BOOKING_WINDOW.tomorrow_closed",
    ("OUTSIDE_BOOKING_WINDOW", "same_day_cutoff"): "his.OUTSIDE_BOOKING_WINDOW.same_day_cutoff",
}
"""Words of their own for a HIS code whose `details.reason` changes what the patient can do next."""


def message_for(error: KioskError, language: str = "zh_CN") -> str:
    """The words to show the patient for `error`, in `language` ('zh_CN' or 'en')."""
    key = error.message_key
    if isinstance(error, HisRefused):
        key = BY_REASON.get((error.code, str(error.details.get("reason"))), key)
    words = catalogue.lookup(key, language)
    if words is None and isinstance(error, HisRefused):
        server = error.server_message_en if language.startswith("en") else error.server_message
        if server:
            return server
    text = words or _generic(language)
    if isinstance(error, HisRefused) and error.details:
        try:
            return text.format(**{k: _plain(v) for k, v in error.details.items()})
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _plain(value: object) -> object:
    """An ISO time from the HIS ('2026-11-23T13:30:00+08:00') as a patient reads it ('13:30')."""
    if isinstance(value, str) and "T" in value:
        try:
            return dt.datetime.fromisoformat(value).strftime("%H:%M")
        except ValueError:
            return value
    return value


def text(key: str, language: str = "zh_CN") -> str:
    """The words for a plain message key (no error object)."""
    return catalogue.lookup(key, language) or _generic(language)


def _generic(language: str) -> str:
    return catalogue.lookup(GENERIC, language) or GENERIC

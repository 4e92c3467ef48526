"""Structured (JSON lines) logging with a filter that masks ID numbers, phone numbers and names."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections import deque
from typing import Any, TextIO

from kiosk.domain.idnumber import mask_id_number, mask_name

# 18-character resident ID numbers (and 15-digit old ones) anywhere in a message.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# Record attributes that hold a person's name are masked wherever they appear.
NAME_KEYS = frozenset({"patient_name", "holder", "card_holder"})
# Standard LogRecord attributes: everything else passed with `extra=` is a structured field.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number in free text."""
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(1)), text)
    return _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def _mask_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return mask_name(value) if key in NAME_KEYS else mask_text(value)
    return value


class MaskingFilter(logging.Filter):
    """Rewrites each record so that no ID number or name leaves the process unmasked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RESERVED:
                setattr(record, key, _mask_value(key, value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED:
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RecentLines(logging.Handler):
    """Keeps the last lines logged (masked, one JSON line each) for the diagnostics screen."""

    def __init__(self, keep: int = 200) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=keep)
        self.setFormatter(JsonFormatter())
        self.addFilter(MaskingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def last(self, count: int) -> list[str]:
        return list(self.lines)[-count:]


def setup(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Route the root logger to JSON lines on `stream` (stderr), with masking. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler

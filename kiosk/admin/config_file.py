"""Writes the technician PIN hash into the config file, leaving every other line as the hospital wrote it."""

from __future__ import annotations

import re
from pathlib import Path

from kiosk import config
from kiosk.atomic_file import write_atomically

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*(#.*)?$")
_PIN_LINE = re.compile(r"^\s*pin_hash\s*=")


def with_pin_hash(text: str, stored: str) -> str:
    """`text` with `[admin] pin_hash` set to `stored` (the section is added when missing)."""
    lines = text.splitlines()
    section = None
    header_at = None
    for number, line in enumerate(lines):
        match = _SECTION.match(line)
        if match:
            section = match.group(1).strip()
            header_at = number if section == "admin" else header_at
        elif section == "admin" and _PIN_LINE.match(line):
            lines[number] = f'pin_hash = "{stored}"'
            return "\n".join(lines) + "\n"
    if header_at is not None:
        lines.insert(header_at + 1, f'pin_hash = "{stored}"')
    else:
        lines += ["", "[admin]", f'pin_hash = "{stored}"']
    return "\n".join(lines).lstrip("\n") + "\n"


def write_pin_hash(path: Path, stored: str) -> None:
    """Set the hash in `path` (created when absent); the result is validated before it replaces the file."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new = with_pin_hash(text, stored)
    config.parse(new, str(path))
    write_atomically(path, new, path.stat().st_mode & 0o777 if path.exists() else 0o640)

"""Loads the kiosk's QSS theme (theme.qss next to this module)."""

from __future__ import annotations

from pathlib import Path

THEME_PATH = Path(__file__).with_name("theme.qss")


def stylesheet() -> str:
    return THEME_PATH.read_text(encoding="utf-8")

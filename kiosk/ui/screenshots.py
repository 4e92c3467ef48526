"""Grab the kiosk's current screen to a PNG (docs, visual checks, bug reports)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget


def grab(window: QWidget, path: str | Path) -> Path:
    """Render `window` as it is now (offscreen works) and save it; returns the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()  # let pending layout and style updates land first
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    return path

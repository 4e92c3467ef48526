"""What the kiosk ships besides code: the QSS theme, icons, voice prompts and the fonts note (README.md here)."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).parent
ICONS_DIR = ASSETS_DIR / "icons"
VOICE_DIR = ASSETS_DIR / "voice"
"""Recorded prompts, `voice/<lang>/<prompt-id>.wav`; a hospital's own directory replaces it (`[kiosk] voice_dir`)."""

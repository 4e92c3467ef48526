"""Where the kiosk's assets are: the QSS theme, icons, voice prompts and the fonts note.

They live in the top-level `assets/` folder of the source tree (the product layout). A source checkout,
an editable install and a run with PYTHONPATH find them next to the `kiosk` package; an installed wheel
carries them as data files under `<prefix>/share/kiosk/assets` (pyproject.toml's
`[tool.setuptools.data-files]`).
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

MARKER = "theme.qss"
INSTALLED_SUBDIR = Path("share", "kiosk", "assets")


def _assets_dir() -> Path:
    candidates = [Path(__file__).resolve().parent.parent / "assets"]
    candidates += [Path(base) / INSTALLED_SUBDIR for base in (sysconfig.get_path("data"), sys.prefix, sys.base_prefix)]
    for candidate in candidates:
        if (candidate / MARKER).is_file():
            return candidate
    raise FileNotFoundError(f"the kiosk's assets ({MARKER}) are in none of: {', '.join(map(str, candidates))}")


ASSETS_DIR = _assets_dir()
ICONS_DIR = ASSETS_DIR / "icons"
VOICE_DIR = ASSETS_DIR / "voice"
"""Recorded prompts, `voice/<lang>/<prompt-id>.wav`; a hospital's own directory replaces it (`[kiosk] voice_dir`)."""

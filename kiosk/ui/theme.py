"""Loads the kiosk's QSS theme (assets/theme.qss) and derives elder mode's from it.

Elder mode (长辈模式) is the same theme with every font 1.5 times as big and every touch target at least
ELDER_TARGET_PX on each side, so a rule added to the theme is never forgotten in elder mode.
"""

from __future__ import annotations

import re
from functools import cache

from kiosk.assets import ASSETS_DIR

THEME_PATH = ASSETS_DIR / "theme.qss"
ELDER_TEXT_SCALE = 1.5
ELDER_TARGET_PX = 90

_FONT_SIZE = re.compile(r"font-size:\s*(\d+)px")
_MIN_SIZE = re.compile(r"min-(height|width):\s*(\d+)px")


ELDER_KEEPS = "\n#header QLabel#hospital { font-size: 40px; }\n"
"""The hospital's name is not something to read and act on: it keeps its size (still over 36 px) so the
header keeps room for repeat_voice, elder and lang beside a long English name."""


def _elder(qss: str) -> str:
    qss = _FONT_SIZE.sub(lambda m: f"font-size: {round(int(m.group(1)) * ELDER_TEXT_SCALE)}px", qss)
    return _MIN_SIZE.sub(lambda m: f"min-{m.group(1)}: {max(int(m.group(2)), ELDER_TARGET_PX)}px", qss) + ELDER_KEEPS


@cache
def stylesheet(elder: bool = False) -> str:
    qss = THEME_PATH.read_text(encoding="utf-8")
    return _elder(qss) if elder else qss

"""`kiosk gallery --out DIR` as the README gives it: every screen of the tour in all eight variants as PNG
at its real size, and an index.html that shows each of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from kiosk.ui.tour import SCREENS, VARIANTS


def test_gallery_renders_every_screen_in_every_variant(tmp_path: Path) -> None:
    out = tmp_path / "gallery"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-m", "kiosk", "gallery", "--out", str(out)], check=False,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    index = (out / "index.html").read_text(encoding="utf-8")
    shown = set(re.findall(r'<img src="([^"]+)"', index))
    for screen in SCREENS:
        for variant in VARIANTS:
            name = f"{screen}-{variant.name}.png"
            assert name in shown
            with Image.open(out / name) as image:
                assert image.size == variant.size

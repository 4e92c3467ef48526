"""`kiosk gallery --out DIR`: every screen in every variant (zh/en × normal/elder × portrait/landscape) as
PNG, and `index.html`, a contact sheet with one row per screen and one column per variant.

It takes the screen tour (kiosk/ui/tour.py) through the automation port of the demo kiosk, so the
gallery shows exactly what the accessibility check checks. No Qt here.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from kiosk.ui.automation.client import AutomationClient
from kiosk.ui.demo import DemoStepFailed, his_fixtures, today_bookings
from kiosk.ui.tour import VARIANTS, Variant, take_tour
from simulators.control_client import ControlClient

THUMB_WIDTH_PX = 180


def _sheet(rows: dict[str, dict[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(v.name)}</th>" for v in VARIANTS)
    body = []
    for screen, shots in rows.items():
        cells = "".join(
            f'<td><a href="{html.escape(shots[v.name])}"><img src="{html.escape(shots[v.name])}" '
            f'width="{THUMB_WIDTH_PX}" alt="{html.escape(screen)} {v.name}"></a></td>'
            for v in VARIANTS
        )
        body.append(f"<tr><th>{html.escape(screen)}</th>{cells}</tr>")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Kiosk screens</title>\n'
        "<style>body{font-family:sans-serif} td,th{padding:6px;vertical-align:top;text-align:center}"
        " img{border:1px solid #999}</style></head>\n<body><h1>Kiosk screens</h1>\n"
        f"<table><tr><th>screen</th>{head}</tr>\n" + "\n".join(body) + "\n</table></body></html>\n"
    )


def render_gallery(kiosk: AutomationClient, sims: ControlClient, out: Path) -> list[Path]:
    """Take the tour, save each look as `<screen>-<lang>-<mode>-<orientation>.png`, write index.html;
    returns the files written (the index last)."""
    booked, _ = today_bookings(his_fixtures(sims.describe()["simulators"]["his"]["url"]))
    if not booked:
        raise DemoStepFailed("the HIS seed has no booking to collect this morning")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: dict[str, dict[str, str]] = {}

    def visit(screen: dict[str, Any], variant: Variant) -> None:
        path = out / f"{screen['screen']}-{variant.name}.png"
        path.write_bytes(kiosk.screenshot())
        written.append(path)
        rows.setdefault(screen["screen"], {})[variant.name] = path.name

    take_tour(kiosk, sims, visit, booked[0]["patient_id"])
    index = out / "index.html"
    index.write_text(_sheet(rows), encoding="utf-8")
    return [*written, index]

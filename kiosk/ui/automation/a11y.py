"""The accessibility check of one screen as the automation port reports it (GET /screen): what an older
patient, a patient with poor sight or a large finger would trip over. Pure data in, plain sentences out.

Rules (issue 9, WCAG 2.2): text at least 24 px (36 px in elder mode); every touch target at least
60 px (90 px) on each side; no two targets overlapping or closer than 8 px; text contrast at least
4.5:1 (disabled controls are exempt, as WCAG exempts inactive components); nothing clipped (text cut
short, a control partly hidden by its container or the window's edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any


@dataclass(frozen=True)
class Limits:
    text_px: int
    target_px: int


LIMITS = {"normal": Limits(text_px=24, target_px=60), "elder": Limits(text_px=36, target_px=90)}
TARGET_GAP_PX = 8
MIN_CONTRAST = 4.5
TARGET_ROLES = frozenset({"button", "input", "item"})


def _luminance(colour: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _gap(a: list[int], b: list[int]) -> int:
    """The distance between two rects (x, y, w, h); negative when they overlap."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    dx = max(bx - (ax + aw), ax - (bx + bw))
    dy = max(by - (ay + ah), ay - (by + bh))
    return max(dx, dy)


def problems(screen: dict[str, Any]) -> list[str]:
    """Every rule the screen breaks, one sentence each naming the screen, the variant and the element."""
    limits = LIMITS[screen["mode"]]
    where = f"{screen['screen']} ({screen['lang']}, {screen['mode']}, {screen['size'][0]}x{screen['size'][1]})"
    found: list[str] = []
    width, height = screen["size"]
    targets = [e for e in screen["elements"] if e["role"] in TARGET_ROLES]
    for e in screen["elements"]:
        w, h = e["rect"][2:]
        x, y, shown_w, shown_h = e["shown"]
        name = f"{where}: '{e['id']}'"
        if e["text"] and e["font_px"] < limits.text_px:
            found.append(f"{name} text is {e['font_px']} px (at least {limits.text_px})")
        if e["role"] in TARGET_ROLES and min(w, h) < limits.target_px:
            found.append(f"{name} is a {w}x{h} px target (at least {limits.target_px} on each side)")
        if e["text"] and e["enabled"] and contrast(e["fg"], e["bg"]) < MIN_CONTRAST:
            found.append(f"{name} contrast {contrast(e['fg'], e['bg']):.2f}:1 ({e['fg']} on {e['bg']})")
        # a list item may be half scrolled away; any other control cut short is clipped
        partly_hidden = e["role"] != "item" and (shown_w, shown_h) != (w, h)
        if e["clipped"] or partly_hidden or x < 0 or y < 0 or x + shown_w > width or y + shown_h > height:
            found.append(f"{name} is clipped (text '{e['text'][:40]}' does not fit at {w}x{h}+{x}+{y})")
    for a, b in combinations(targets, 2):
        gap = _gap(a["shown"], b["shown"])
        if gap < TARGET_GAP_PX:
            what = "overlap" if gap < 0 else f"are {gap} px apart"
            found.append(f"{where}: '{a['id']}' and '{b['id']}' {what} (at least {TARGET_GAP_PX} px)")
    return found

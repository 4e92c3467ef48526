"""How big the kiosk window opens when it is not full screen: as asked, but never past the screen.

A window taller than its screen hides its bottom (确认取号, 完成, 返回/首页, the idle countdown), so the
size is cut to the screen's available area less the window manager's title bar.
"""

from __future__ import annotations

TITLE_BAR_PX = 40
"""Room left for the window frame and title bar a window manager adds above the window."""


def fit_size(desired: tuple[int, int], available: tuple[int, int]) -> tuple[int, int]:
    """The window size for `desired` (w, h) on a screen whose free area is `available` (w, h)."""
    width = min(desired[0], available[0])
    height = min(desired[1], available[1] - TITLE_BAR_PX)
    return width, height

"""What the automation port reports: a screen and its elements as plain data (no Qt), and finding one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.domain.errors import AutomationRefused


@dataclass(frozen=True)
class Element:
    """One visible thing on the screen; `rect` is (x, y, w, h) in window pixels."""

    id: str
    role: str
    text: str
    enabled: bool
    rect: tuple[int, int, int, int]
    font_px: int
    fg: str
    bg: str
    shown: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The part of `rect` a patient sees (x, y, w, h): less than `rect` for a list item half scrolled away."""
    clipped: bool = False
    """Its text (or a text inside it) needs more room than it has: the patient sees it cut off."""

    @property
    def centre(self) -> tuple[int, int]:
        x, y, w, h = self.rect
        return x + w // 2, y + h // 2


@dataclass(frozen=True)
class ScreenState:
    """What a patient sees now (GET /screen)."""

    screen: str
    lang: str
    mode: str
    busy: bool
    idle_countdown_s: int | None
    size: tuple[int, int]
    elements: tuple[Element, ...]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["size"] = list(self.size)
        data["elements"] = [dict(asdict(e), rect=list(e.rect), shown=list(e.shown)) for e in self.elements]
        return data


def hex_colour(red: int, green: int, blue: int) -> str:
    return f"#{red:02x}{green:02x}{blue:02x}"


def language_code(language: str) -> str:
    """The UI language as the port names it: 'zh_CN' -> 'zh', 'en' -> 'en'."""
    return language.split("_")[0]


def find_element(elements: Iterable[Element], *, element_id: str | None = None, text: str | None = None) -> Element:
    """The element a tap means: by id, or the first enabled one showing exactly `text`.
    AutomationRefused 404 ELEMENT_NOT_FOUND when nothing matches, 409 ELEMENT_DISABLED when only
    disabled ones do."""
    if (element_id is None) == (text is None):
        raise AutomationRefused(400, "BAD_REQUEST", "give exactly one of 'id', 'text' or 'at'")
    matches = [e for e in elements if (e.id == element_id if element_id is not None else e.text == text)]
    what = f"id '{element_id}'" if element_id is not None else f"text '{text}'"
    if not matches:
        raise AutomationRefused(404, "ELEMENT_NOT_FOUND", f"no visible element with {what} on this screen")
    enabled = [e for e in matches if e.enabled]
    if not enabled:
        raise AutomationRefused(409, "ELEMENT_DISABLED", f"the element with {what} is disabled")
    return enabled[0]

"""The automation port's element lookup (pure): what a tap by id or by text picks, and how it refuses."""

from __future__ import annotations

import pytest

from kiosk.domain.errors import AutomationRefused
from kiosk.ui.automation.elements import Element, ScreenState, find_element, language_code


def _element(element_id: str, text: str = "", enabled: bool = True) -> Element:
    return Element(element_id, "button", text, enabled, (10, 20, 100, 40), 32, "#0b4f8a", "#ffffff")


def test_a_tap_by_text_takes_the_first_enabled_match() -> None:
    elements = [_element("item-0", "眼科", enabled=False), _element("item-1", "眼科"), _element("item-2", "眼科")]
    assert find_element(elements, text="眼科").id == "item-1"
    assert find_element(elements, element_id="item-2").centre == (60, 40)


def test_missing_disabled_and_ambiguous_requests_are_refused() -> None:
    elements = [_element("primary", "确认", enabled=False)]
    with pytest.raises(AutomationRefused) as missing:
        find_element(elements, element_id="back")
    assert (missing.value.status, missing.value.code) == (404, "ELEMENT_NOT_FOUND")
    with pytest.raises(AutomationRefused) as disabled:
        find_element(elements, text="确认")
    assert (disabled.value.status, disabled.value.code) == (409, "ELEMENT_DISABLED")
    with pytest.raises(AutomationRefused) as both:
        find_element(elements, element_id="primary", text="确认")
    assert both.value.status == 400


def test_the_screen_as_json() -> None:
    state = ScreenState("home", language_code("zh_CN"), "normal", False, None, (1080, 1500), (_element("lang"),))
    data = state.as_json()
    assert data["lang"] == "zh" and data["size"] == [1080, 1500]
    assert data["elements"][0]["rect"] == [10, 20, 100, 40] and data["elements"][0]["id"] == "lang"

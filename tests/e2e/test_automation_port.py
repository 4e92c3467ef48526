"""The automation port itself (AUTOMATION.md): what a tester's script gets for each request, right or wrong."""

from __future__ import annotations

import struct
from typing import Any

import pytest
import requests

from kiosk.domain.errors import AutomationRefused
from kiosk.ui.stall_monitor import TICK_MS


def _element(screen: dict[str, Any], element_id: str) -> dict[str, Any]:
    return next(e for e in screen["elements"] if e["id"] == element_id)


def _to_code_entry(kiosk: Any) -> dict[str, Any]:
    kiosk.tap(id="task-collect")
    kiosk.wait("identify")
    kiosk.tap(id="by-code")
    return kiosk.wait("code_entry")


def test_every_request_needs_the_token(kiosk: Any) -> None:
    url = kiosk.kiosk.url
    for method, path in (("GET", "/health"), ("GET", "/screen"), ("POST", "/tap"), ("GET", "/screenshot")):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            answer = requests.request(method, url + path, headers=headers, json={"id": "lang"}, timeout=10)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "UNAUTHORIZED"
    assert kiosk.screen()["screen"] == "home"  # nothing was tapped
    health = kiosk.kiosk.health()
    assert health["ok"] is True and health["pid"] == kiosk.process.pid and health["version"]


def test_the_home_screen_as_a_patient_sees_it(kiosk: Any) -> None:
    screen = kiosk.screen()
    assert screen["screen"] == "home" and screen["lang"] == "zh" and screen["mode"] == "normal"
    assert screen["busy"] is False and screen["idle_countdown_s"] is None  # home never times out
    ids = [e["id"] for e in screen["elements"]]
    for tile in ("task-collect", "task-book", "task-pay", "task-checkin", "task-records"):
        assert tile in ids
    assert "back" not in ids and "keypad-1" not in ids  # hidden and other screens' widgets are not listed
    collect = _element(screen, "task-collect")
    assert collect["role"] == "button" and collect["text"] == "预约取号" and collect["enabled"]
    assert collect["font_px"] == 44 and collect["fg"] == "#0b4f8a" and collect["bg"] == "#ffffff"
    x, y, w, h = collect["rect"]
    assert 0 <= x and x + w <= screen["size"][0] and 0 <= y and y + h <= screen["size"][1]
    title = _element(screen, "title")
    assert title["role"] == "text" and title["font_px"] == 48 and title["fg"] == "#0b2540"


def test_unknown_and_disabled_elements_are_refused(kiosk: Any) -> None:
    with pytest.raises(AutomationRefused) as missing:
        kiosk.tap(id="no-such-thing")
    assert (missing.value.status, missing.value.code) == (404, "ELEMENT_NOT_FOUND")
    screen = _to_code_entry(kiosk)
    assert _element(screen, "primary")["enabled"] is False  # nothing typed yet
    with pytest.raises(AutomationRefused) as disabled:
        kiosk.tap(id="primary")
    assert disabled.value.code == "ELEMENT_DISABLED"
    with pytest.raises(AutomationRefused) as by_text:
        kiosk.tap(text="没有这个按钮")
    assert by_text.value.code == "ELEMENT_NOT_FOUND"
    assert kiosk.screen()["screen"] == "code_entry"


def test_tap_by_text_and_by_position(kiosk: Any) -> None:
    tile = _element(kiosk.screen(), "task-collect")
    assert kiosk.tap(text=tile["text"])["screen"] == "identify"
    by_code = _element(kiosk.wait("identify"), "by-code")
    x, y, w, h = by_code["rect"]
    assert kiosk.kiosk.tap(at=(x + w // 2, y + h // 2))["screen"] == "code_entry"


def test_type_taps_the_keypad_into_the_focused_field(kiosk: Any) -> None:
    _to_code_entry(kiosk)
    screen = kiosk.type("12345678")
    assert _element(screen, "code_field")["text"] == "1234 5678"
    screen = kiosk.type("123X")  # the code is complete: focus moved on to the ID digits, where X is a key
    assert _element(screen, "last4_field")["text"] == "123X"
    assert _element(screen, "primary")["enabled"] is True
    with pytest.raises(AutomationRefused) as no_key:
        kiosk.type("#")
    assert no_key.value.code == "ELEMENT_NOT_FOUND"


def test_wait_times_out_with_the_screen_it_is_on(kiosk: Any) -> None:
    with pytest.raises(AutomationRefused) as timeout:
        kiosk.wait("result", timeout_s=0.3)
    assert (timeout.value.status, timeout.value.code) == (408, "TIMEOUT")
    assert timeout.value.screen is not None and timeout.value.screen["screen"] == "home"
    assert kiosk.wait("home", timeout_s=0)["screen"] == "home"


def test_screenshot_is_a_png_of_the_window(kiosk: Any) -> None:
    png = kiosk.kiosk.screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert [width, height] == kiosk.screen()["size"]


def test_speech_records_each_screens_prompt_muted(kiosk: Any) -> None:
    identify = kiosk.tap(id="task-collect")
    heading = _element(kiosk.wait("identify"), "title")["text"]
    assert identify["screen"] == "identify"
    prompts = kiosk.kiosk.speech()
    assert 0 < len(prompts) <= 50
    last = prompts[-1]
    assert last["text"] == heading and last["lang"] == "zh" and last["muted"] is True and last["at"]
    kiosk.tap(id="lang")
    kiosk.tap(id="by-code")
    english = _element(kiosk.wait("code_entry"), "title")["text"]
    assert kiosk.kiosk.speech()[-1] == {**kiosk.kiosk.speech()[-1], "text": english, "lang": "en"}


def test_bad_requests_say_what_is_wrong(kiosk: Any) -> None:
    url = kiosk.kiosk.url
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    not_json = requests.post(url + "/tap", data=b"{", headers=headers, timeout=10)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "BAD_REQUEST"
    nowhere = requests.get(url + "/nowhere", headers=headers, timeout=10)
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "NOT_FOUND"
    no_screen = requests.post(url + "/wait", json={"timeout_s": 1}, headers=headers, timeout=10)
    assert no_screen.status_code == 400


def test_a_tap_under_the_busy_overlay_is_refused_as_a_finger_would_be(kiosk: Any) -> None:
    from kiosk_test_support import wait_for

    _to_code_entry(kiosk)
    kiosk.type("000000000000")
    kiosk.sim("his/faults", latency_ms=5000)
    kiosk.tap(id="primary")
    assert wait_for(lambda: kiosk.element("busy_text") is not None, 4)  # shown after 300 ms
    with pytest.raises(AutomationRefused) as covered:
        kiosk.tap(id="home")
    assert (covered.value.status, covered.value.code) == (409, "ELEMENT_COVERED")
    assert kiosk.wait("error", timeout_s=20)["busy"] is False


def test_the_stall_monitor_counts_a_stall_of_the_gui_thread(kiosk: Any) -> None:
    """GIVEN the stall figures reset WHEN the GUI thread is held 50 ms THEN GET /stalls counts one stall over
    16 ms on the screen showing, the longest at least 50 ms less one tick (the monitor measures how late its
    next tick came, and the stall may begin up to a tick after the last one); a bad length is refused."""
    fresh = kiosk.kiosk.reset_stalls()
    assert fresh["over_16ms"] == 0 and fresh["worst"] == [] and fresh["since"]
    kiosk.kiosk.inject_stall(50)
    kiosk.screen()  # a request after the stall: the monitor's next tick has come by then
    stalls = kiosk.kiosk.stalls()
    held = 50 - TICK_MS
    assert stalls["over_16ms"] >= 1 and stalls["longest_ms"] >= held
    assert any(s["ms"] >= held and s["screen"] == "home" for s in stalls["worst"])
    assert stalls["by_screen"]["home"]["longest_ms"] >= held and stalls["ticks"] > 0
    with pytest.raises(AutomationRefused) as bad:
        kiosk.kiosk.inject_stall(0)
    assert (bad.value.status, bad.value.code) == (400, "BAD_REQUEST")


def test_scroll_is_a_swipe_of_the_screens_list_and_refuses_a_bad_direction(kiosk: Any) -> None:
    """GIVEN the home screen (no list) WHEN a tester swipes THEN nothing changes; a direction other than up
    or down is refused. (Swiping a list to an item below the fold: test_tasks_e2e's substitute doctor.)"""
    assert kiosk.kiosk.scroll("down")["screen"] == "home"
    with pytest.raises(AutomationRefused) as bad:
        kiosk.kiosk.scroll("sideways")
    assert (bad.value.status, bad.value.code) == (400, "BAD_REQUEST")


def test_a_swipe_brings_the_next_cards_of_a_long_list_into_view(kiosk: Any) -> None:
    """GIVEN the departments list in normal mode, longer than the screen WHEN a tester swipes down THEN
    cards further down show and the first ones have gone; swiping up brings the first back."""
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", patient_id=kiosk.fresh_patient()["id"])
    kiosk.wait("departments")
    top = kiosk.kiosk.view(mode="normal")

    def items(screen: dict[str, Any]) -> list[str]:
        return [e["id"] for e in screen["elements"] if e["role"] == "item"]

    down = kiosk.kiosk.scroll("down")
    assert items(down) and items(top)[0] not in items(down)
    assert max(int(i.split("-")[1]) for i in items(down)) > max(int(i.split("-")[1]) for i in items(top))
    assert items(kiosk.kiosk.scroll("up")) == items(top)

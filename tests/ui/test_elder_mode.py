"""Elder mode (长辈模式) and the voice on the window itself: the toggle, the ID card of someone 65 or older,
what is spoken and recorded, and the screens the tour cannot reach checked in every variant."""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import create_id_card, create_services
from kiosk_test_support import task, wait_for
from PySide6.QtCore import Qt

from kiosk.ui.automation.a11y import problems
from kiosk.ui.automation.driver import AutomationDriver
from kiosk.ui.tour import VARIANTS
from kiosk.ui.widgets.idle import WARN_SECONDS

YOUNG = "11010520000101002"  # born 2000: 26 at the fakes' clock (and today)
OLD = "11010519491231002"  # born 1949


def _screen(window):
    """What GET /screen would answer (layouts settled first)."""
    return AutomationDriver(window).screen()


def _font(window, element_id: str) -> int:
    return next(e.font_px for e in _screen(window).elements if e.id == element_id)


def test_the_toggle_scales_text_and_targets_and_speaks(qtbot, make_window, voice) -> None:
    window = make_window(create_services())
    assert _screen(window).mode == "normal" and window.prompts.recent()[-1]["muted"] is True
    title, tile = _font(window, "title"), _font(window, "task-collect")
    assert voice.spoken == []  # the demo hospital's voice is off outside elder mode

    qtbot.mouseClick(window.elder_button, Qt.MouseButton.LeftButton)

    state = _screen(window)
    assert state.mode == "elder" and window.elder_button.isChecked()
    assert _font(window, "title") >= 1.5 * title and _font(window, "task-collect") >= 1.5 * tile
    assert problems(state.as_json()) == []  # 36 px text, 90 px targets
    assert window.prompts.recent()[-1] == {**window.prompts.recent()[-1], "text": "您好，请选择要办理的业务",
                                           "lang": "zh", "muted": False}
    assert wait_for(lambda: [u.prompt_id for u in voice.spoken] == ["home"])
    assert voice.spoken[0].slow

    qtbot.mouseClick(window.repeat_voice, Qt.MouseButton.LeftButton)
    assert wait_for(lambda: len(voice.spoken) == 2)
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    assert wait_for(lambda: voice.spoken[-1].lang == "en")
    assert voice.spoken[-1].text == "Welcome. Please choose a service"


def test_the_hospital_can_switch_voice_on_for_everyone(qtbot, make_window, voice) -> None:
    services = create_services()
    services = dataclasses.replace(
        services, config=dataclasses.replace(services.config, kiosk=dataclasses.replace(services.config.kiosk, voice=True))
    )
    window = make_window(services)
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert _screen(window).mode == "normal"
    assert wait_for(lambda: voice.spoken and voice.spoken[-1].prompt_id == "identify")
    assert not voice.spoken[-1].slow and window.prompts.recent()[-1]["muted"] is False


def test_an_id_card_of_someone_65_or_older_switches_elder_mode_on_until_the_session_ends(qtbot, make_window) -> None:
    window = make_window(create_services(cards=[create_id_card(first17=OLD)]))
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.appointments and _screen(window).mode == "elder"
    assert not window.stepbar.isVisible()  # fewer things on an elder's screen
    assert window.idle.timeout_s == 120  # a slower pace: twice the time before the wipe
    qtbot.mouseClick(window.elder_button, Qt.MouseButton.LeftButton)  # the patient may say no
    assert _screen(window).mode == "normal" and window.stepbar.isVisible()
    assert window.idle.timeout_s == 60
    qtbot.mouseClick(window.elder_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.home_button, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.home and _screen(window).mode == "normal"


def test_a_younger_patients_card_leaves_the_mode_alone(qtbot, make_window) -> None:
    window = make_window(create_services(cards=[create_id_card(first17=YOUNG)]))
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert window.current_screen is task(window, "collect").screens.appointments and _screen(window).mode == "normal"


@pytest.mark.parametrize("screen", ["out_of_service", "recovering"])
def test_screens_the_tour_cannot_reach_pass_the_accessibility_check_in_every_variant(make_window, screen) -> None:
    """暂停服务 and 正在恢复 show only when the kiosk itself decides so: checked here as the tour checks the
    others (kiosk/ui/tour.py)."""
    window = make_window(create_services())
    window.show_screen(getattr(window, screen))
    driver = AutomationDriver(window)
    found = []
    for variant in VARIANTS:
        state = driver.view(variant.size, variant.lang, variant.mode)
        assert state.screen == screen
        found.extend(problems(state.as_json()))
    assert found == []


def test_the_idle_warning_passes_the_accessibility_check_in_every_variant(make_window) -> None:
    """The more_time banner shows only in the last 20 s, so the tour never sees it: checked here."""
    window = make_window(create_services())
    task(window, "collect").start()
    assert window.current_screen is task(window, "collect").screens.identify
    driver = AutomationDriver(window)
    found = []
    for variant in VARIANTS:
        driver.view(variant.size, variant.lang, variant.mode)  # switching the mode restarts the countdown
        while window.idle.remaining > WARN_SECONDS:
            window.idle.tick()
        state = driver.screen()
        assert "more_time" in {e.id for e in state.elements}
        found.extend(problems(state.as_json()))
    assert found == []

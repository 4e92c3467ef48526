"""The shell through the automation port: elder mode, voice prompts, turning the screen."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.domain.errors import AutomationRefused
from kiosk.domain.patient import age_on


def test_elder_toggle_enlarges_everything_and_speaks(kiosk) -> None:
    normal = kiosk.screen()
    assert normal["mode"] == "normal" and kiosk.element("elder") is not None
    assert kiosk.kiosk.speech()[-1]["muted"] is True  # the demo hospital has voice off outside elder mode
    elder = kiosk.tap(id="elder")
    assert elder["mode"] == "elder"
    sizes = {e["id"]: e["font_px"] for e in normal["elements"]}
    # every text 1.5 times as big; the hospital's name (nothing to act on) keeps its size
    assert all(e["font_px"] >= 1.5 * sizes[e["id"]] for e in elder["elements"] if e["id"] in sizes.keys() - {"hospital"})
    said = kiosk.kiosk.speech()[-1]  # the log keeps the last 50: compare the newest, not a count
    assert said == {**said, "text": "您好，请选择要办理的业务", "lang": "zh", "muted": False}

    kiosk.tap(id="repeat_voice")
    assert kiosk.kiosk.speech()[-1]["text"] == "您好，请选择要办理的业务"
    kiosk.tap(id="elder")
    assert kiosk.screen()["mode"] == "normal"
    kiosk.tap(id="repeat_voice")
    assert kiosk.kiosk.speech()[-1]["muted"] is True  # the demo hospital has voice off outside elder mode


def test_view_turns_the_screen_and_switches_language_and_mode(kiosk) -> None:
    try:
        landscape = kiosk.kiosk.view(size=(1920, 1080), lang="en", mode="elder")
        assert landscape["size"] == [1920, 1080] and landscape["lang"] == "en" and landscape["mode"] == "elder"
        assert kiosk.element("task-collect")["text"] == "Collect booking"
    finally:
        kiosk.kiosk.view(size=(1080, 1920), lang="zh", mode="normal")
    with pytest.raises(AutomationRefused) as refused:
        kiosk.kiosk.view(size=(10, 10))
    assert refused.value.status == 400 and refused.value.code == "BAD_REQUEST"


def test_an_older_patients_id_card_switches_elder_mode_on(kiosk) -> None:
    patient, _ = kiosk.patient_with_booking()
    kiosk.tap(id="task-collect")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", patient_id=patient["id"])
    shown = kiosk.wait("appointments")
    number = patient["id_number"]
    age = age_on(dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])), dt.date.today())
    assert shown["mode"] == ("elder" if age >= 65 else "normal")

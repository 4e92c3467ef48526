"""The satisfaction question after a task (`[kiosk] satisfaction`): one tap records it per task and goes
home; ignored, the idle timeout goes home and records nothing; off by default."""

from __future__ import annotations

from dataclasses import replace

from kiosk_test_fakes import create_id_card, create_services
from PySide6.QtCore import Qt

from kiosk.sync.metrics import KioskMetrics
from kiosk.sync.satisfaction import SatisfactionTally
from kiosk.ui.automation.inspect import describe


def _services(satisfaction: bool, tmp_path):
    services = create_services(cards=[create_id_card()])
    config = replace(services.config, kiosk=replace(services.config.kiosk, satisfaction=satisfaction))
    metrics = KioskMetrics("K01", SatisfactionTally(tmp_path / "satisfaction-tally.json"))
    return replace(services, config=config, metrics=metrics)


def _collect_to_result(qtbot, window) -> None:
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.appointments.cards["A1"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.appointments.confirm, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.result


def _sample(metrics: KioskMetrics, task: str, rating: str) -> float:
    value = metrics.registry.get_sample_value("kiosk_satisfaction_total",
                                              {"kiosk": "K01", "task": task, "rating": rating})
    return value or 0.0


def test_one_tap_after_the_result_is_counted_for_the_task_and_goes_home(qtbot, make_window, shot, tmp_path) -> None:
    """GIVEN the hospital asks WHEN a patient finishes 预约取号 and taps 完成 THEN the three faces show, in
    the patient's language, with no patient data left on screen; 不满意 counts once for collect and the
    kiosk is home, in Chinese again."""
    services = _services(True, tmp_path)
    window = make_window(services)
    _collect_to_result(qtbot, window)
    window.set_language("en")
    qtbot.mouseClick(window.result.finish, Qt.MouseButton.LeftButton)

    assert window.current_screen is window.satisfaction
    screen = describe(window)
    shot(window, "satisfaction-en")
    texts = {e.id: e.text for e in screen.elements}
    assert (texts["rate-good"], texts["rate-ok"], texts["rate-bad"]) == ("Good", "OK", "Poor")
    assert screen.lang == "en" and "home" in texts
    assert not any("张" in text for text in texts.values())  # the task's data is gone already
    assert window.collect.state is None

    qtbot.mouseClick(window.satisfaction.findChild(type(window.home_button), "rate-bad"), Qt.MouseButton.LeftButton)
    assert window.current_screen is window.home and window.translator.language == "zh_CN"
    assert _sample(services.metrics, "collect", "bad") == 1
    assert services.metrics.ratings.snapshot()["counts"] == {"collect": {"good": 0, "ok": 0, "bad": 1}}
    services.metrics.write_textfile(tmp_path / "kiosk.prom")
    assert SatisfactionTally(tmp_path / "satisfaction-tally.json").snapshot()["counts"]["collect"]["bad"] == 1


def test_ignored_question_records_nothing(qtbot, make_window, tmp_path) -> None:
    """GIVEN the question showing WHEN the patient walks away (idle) or taps 首页 / 返回 THEN home, and no
    rating is counted."""
    for leave in ("idle", "home", "back"):
        services = _services(True, tmp_path / leave)
        window = make_window(services)
        _collect_to_result(qtbot, window)
        qtbot.mouseClick(window.result.finish, Qt.MouseButton.LeftButton)
        assert window.current_screen is window.satisfaction
        if leave == "idle":
            window.idle.expired.emit()
        else:
            qtbot.mouseClick(window.home_button if leave == "home" else window.back, Qt.MouseButton.LeftButton)
        assert window.current_screen is window.home
        assert services.metrics.ratings.snapshot()["counts"] == {}


def test_idle_on_the_result_goes_home_without_asking(qtbot, make_window, tmp_path) -> None:
    services = _services(True, tmp_path)
    window = make_window(services)
    _collect_to_result(qtbot, window)
    window.idle.expired.emit()
    assert window.current_screen is window.home


def test_off_by_default(qtbot, make_window, tmp_path) -> None:
    services = _services(False, tmp_path)
    assert create_services().config.kiosk.satisfaction is False
    window = make_window(services)
    _collect_to_result(qtbot, window)
    qtbot.mouseClick(window.result.finish, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.home
    assert services.metrics.ratings.snapshot()["counts"] == {}

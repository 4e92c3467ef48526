"""The kiosk window beside a tester's tools: the panel's clicks are not the patient's (issue 11 item 11),
and the window fits the screen it opens on (item 14)."""

from __future__ import annotations

from kiosk_test_fakes import create_services
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.ui.window_size import fit_size


def test_clicks_in_another_window_do_not_reset_the_idle_countdown(qtbot, make_window) -> None:
    window = make_window(create_services(idle_timeout_s=30))
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    assert window.idle.armed
    for _ in range(10):
        window.idle.tick()
    panel_button = QPushButton("放卡 Insert")  # the tester's panel: a window of its own
    qtbot.addWidget(panel_button)
    panel_button.show()
    qtbot.mouseClick(panel_button, Qt.MouseButton.LeftButton)
    assert window.idle.remaining == 20
    title = window.identify.title  # a touch on the kiosk still counts (it reaches the window as a finger's does)
    qtbot.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, pos=title.mapTo(window, title.rect().center()))
    assert window.idle.remaining == 30


def test_the_window_fits_a_1920x1200_screen_with_its_bottom_visible(qtbot, make_window) -> None:
    size = fit_size((1080, 1500), (1920, 1160))  # 1920x1200 less a 40 px panel
    assert size[1] <= 1160 - 40 and size[0] == 1080
    window = make_window(create_services(), size=size)
    qtbot.mouseClick(window.home.tiles["collect"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.identify.code, Qt.MouseButton.LeftButton)
    assert (window.width(), window.height()) == size  # nothing in it asks for more height than that
    for widget in (window.code_entry.confirm, window.back, window.home_button):
        bottom = widget.mapTo(window, widget.rect().bottomLeft()).y()
        assert widget.isVisible() and bottom < window.height()


def test_fit_size_keeps_a_window_that_fits() -> None:
    assert fit_size((1080, 1280), (2560, 1600)) == (1080, 1280)
    assert fit_size((1080, 1500), (1366, 768)) == (1080, 728)

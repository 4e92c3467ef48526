"""The technician's screens: corner gesture → admin_pin → diagnostics, as a technician uses them."""

from __future__ import annotations

import dataclasses

from kiosk_test_fakes import create_services
from PySide6.QtCore import QPoint, Qt

from kiosk.admin.pin import hash_pin

PIN = "246810"


def _services(pin_hash: str):
    services = create_services()
    config = services.config
    services.config = dataclasses.replace(config, admin=dataclasses.replace(config.admin, pin_hash=pin_hash))
    return services


def _five_corner_taps(qtbot, window) -> None:
    for _ in range(5):
        qtbot.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, pos=QPoint(30, 30))  # as a finger: via the QWindow


def _type(qtbot, window, pin: str) -> None:
    for digit in pin:
        qtbot.mouseClick(window.admin_pin.keypad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.admin_pin.ok, Qt.MouseButton.LeftButton)


def test_without_a_configured_pin_the_gesture_does_nothing(qtbot, make_window) -> None:
    window = make_window(_services(""))
    _five_corner_taps(qtbot, window)
    assert window.current_screen is window.home


def test_taps_elsewhere_or_too_few_do_not_open_the_entry(qtbot, make_window) -> None:
    window = make_window(_services(hash_pin(PIN)))
    for _ in range(4):
        qtbot.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, pos=QPoint(30, 30))  # as a finger: via the QWindow
    qtbot.mouseClick(window, Qt.MouseButton.LeftButton, pos=QPoint(300, 30))
    qtbot.mouseClick(window, Qt.MouseButton.LeftButton, pos=QPoint(30, 30))
    assert window.current_screen is window.home


def test_pin_then_diagnostics_self_test_and_leave(qtbot, make_window, shot) -> None:
    services = _services(hash_pin(PIN))
    restarts: list[bool] = []
    window = make_window(services)
    window.admin._restart = lambda: restarts.append(True)
    _five_corner_taps(qtbot, window)
    assert window.current_screen is window.admin_pin
    for digit in PIN[:4]:
        qtbot.mouseClick(window.admin_pin.keypad.keys[digit], Qt.MouseButton.LeftButton)
    assert window.admin_pin.dots.text() == "●●●●" and not window.admin_pin.ok.isEnabled()
    shot(window, "20-admin-pin")
    qtbot.mouseClick(window.admin_pin.keypad.keys["\x1b"], Qt.MouseButton.LeftButton)
    _type(qtbot, window, "111111")
    assert window.admin_pin.message.text() == "密码错误，还可尝试 4 次"
    _type(qtbot, window, PIN)
    assert window.current_screen is window.diagnostics
    d = window.diagnostics
    assert d.health["printer"].text() == "正常" and d.health["his"].text() == "正常"
    assert d.health["payment"].text() == "离线"  # the fakes install no payment terminal
    assert "ms" in d.details["his"].text() and "simulator" in d.details["printer"].text()
    qtbot.mouseClick(d.tests["printer"], Qt.MouseButton.LeftButton)
    assert services.printer.printed[-1].title == "print-test"
    assert "selftest printer: 成功" in d.action.text()
    shot(window, "21-diagnostics")
    qtbot.mouseClick(d.restart, Qt.MouseButton.LeftButton)
    assert restarts == [True]
    qtbot.mouseClick(d.exit, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.home


def test_five_wrong_pins_lock_the_entry(qtbot, make_window, shot) -> None:
    window = make_window(_services(hash_pin(PIN)))
    _five_corner_taps(qtbot, window)
    for _ in range(5):
        _type(qtbot, window, "999999")
    assert window.admin_pin.message.text() == "错误次数过多，已锁定，请 5 分钟后再试"
    _type(qtbot, window, PIN)
    assert window.current_screen is window.admin_pin
    qtbot.mouseClick(window.admin_pin.cancel, Qt.MouseButton.LeftButton)
    _five_corner_taps(qtbot, window)
    assert window.admin_pin.message.text().startswith("错误次数过多")


def test_technician_entry_from_out_of_service(qtbot, make_window) -> None:
    """GIVEN the kiosk out of service (no printer, no HIS) WHEN the technician taps the corner THEN the PIN screen."""
    services = _services(hash_pin(PIN))
    services.printer = None
    services.his = None  # without the printer 查询补打 would still be offered
    window = make_window(services)
    assert window.current_screen is window.out_of_service
    _five_corner_taps(qtbot, window)
    _type(qtbot, window, PIN)
    assert window.diagnostics.health["printer"].text() == "离线"
    qtbot.mouseClick(window.diagnostics.exit, Qt.MouseButton.LeftButton)
    assert window.current_screen is window.out_of_service

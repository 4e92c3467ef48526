"""预约挂号 on the window with an in-memory HIS: one tap per choice, the hold's countdown on `confirm`,
and leaving by home or idle gives the held slot back; the fee on the payment screens, now or later where
the hospital allows, and a booking that had to be paid given back when the patient leaves unpaid."""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import create_booking_his, create_id_card, create_services
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton


def _tap(qtbot, window, name: str) -> None:
    widget = next((w for w in window.findChildren(QPushButton, name) if w.isVisible()), None)
    assert widget is not None and widget.isEnabled(), name
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _text(window, name: str) -> str:
    return window.current_screen.findChild(QLabel, name).text()


@pytest.fixture
def his():
    return create_booking_his()


@pytest.fixture
def window(make_window, his):
    services = create_services(his)
    services.idcard.insert(create_id_card())
    return make_window(dataclasses.replace(services))


def _to_confirm(qtbot, window) -> None:
    _tap(qtbot, window, "task-book")
    assert window.current_screen.name == "departments"  # the card on the reader identified at once
    for expected in ("doctors", "dates", "slots", "confirm"):
        _tap(qtbot, window, "item-0")
        assert window.current_screen.name == expected


def test_confirm_shows_the_hold_counting_down(qtbot, window, shot) -> None:
    _to_confirm(qtbot, window)
    assert "15:00" in _text(window, "hold_countdown")
    shot(window, "book-confirm")
    qtbot.waitUntil(lambda: "14:59" in _text(window, "hold_countdown"), timeout=3000)
    _tap(qtbot, window, "lang")
    assert "left" in _text(window, "hold_countdown")
    shot(window, "book-confirm-en")


@pytest.mark.parametrize("leave", ["home", "idle", "back"])
def test_leaving_releases_the_hold(qtbot, window, his, leave) -> None:
    _to_confirm(qtbot, window)
    if leave == "idle":
        window.idle.expired.emit()
    else:
        _tap(qtbot, window, leave)
    assert his.released == ["H1"]
    assert window.current_screen.name == ("slots" if leave == "back" else "home")


def test_the_countdown_running_out_says_so_and_gives_the_slot_back(qtbot, window, his) -> None:
    _to_confirm(qtbot, window)
    window.patient_tasks.controllers["book"].screens.confirm.expired.emit()
    assert window.current_screen.name == "error" and "超时" in _text(window, "error_message")
    qtbot.waitUntil(lambda: his.released == ["H1"], timeout=3000)


def test_booking_prints_the_slip_and_shows_the_booking_code(qtbot, window, his) -> None:
    _to_confirm(qtbot, window)
    _tap(qtbot, window, "primary")
    assert window.current_screen.name == "pay_method"  # the hospital allows paying later: both offered
    assert window.current_screen.findChild(QLabel, "hold_countdown").isHidden()
    _tap(qtbot, window, "pay-later")
    assert window.current_screen.name == "result"
    assert "取号时缴纳" in " ".join(label.text() for label in window.current_screen.findChildren(QLabel))
    assert _text(window, "queue_number") == "55556666"
    assert "55556666" in window.services.printer.printed[-1].plain_text()
    assert his.released == []  # booked: nothing to give back


def test_after_a_cancellation_no_screen_keeps_the_patient_and_language_still_switches(qtbot, window) -> None:
    _tap(qtbot, window, "task-records")
    assert window.current_screen.name == "records"
    _tap(qtbot, window, "item-1")  # A1, booked: can be cancelled
    _tap(qtbot, window, "cancel-booking")
    assert window.current_screen.name == "confirm"
    _tap(qtbot, window, "home")
    _tap(qtbot, window, "lang")  # every screen retranslates: none may still read the gone patient
    assert window.current_screen.name == "home"
    assert all("张" not in label.text() for label in window.findChildren(QLabel))


@pytest.fixture
def pay_now_window(make_window, his):
    services = create_services(his)
    services.idcard.insert(create_id_card())
    kiosk = dataclasses.replace(services.config.kiosk, registration_pay_later=False)
    return make_window(dataclasses.replace(services, config=dataclasses.replace(services.config, kiosk=kiosk)))


def test_the_fee_required_at_once_shows_the_hold_and_no_pay_later(qtbot, pay_now_window, his, shot) -> None:
    window = pay_now_window
    assert window.home.findChild(QPushButton, "task-book").isEnabled()  # the tile is open
    _to_confirm(qtbot, window)
    _tap(qtbot, window, "primary")
    assert window.current_screen.name == "pay_method"
    assert not window.current_screen.findChild(QPushButton, "pay-later").isVisible()
    assert "保留" in _text(window, "hold_countdown")
    shot(window, "book-pay-method")


@pytest.mark.parametrize("leave", ["home", "idle", "back"])
def test_leaving_an_unpaid_booking_that_had_to_be_paid_gives_it_back(qtbot, pay_now_window, his, leave) -> None:
    window = pay_now_window
    _to_confirm(qtbot, window)
    _tap(qtbot, window, "primary")
    assert window.current_screen.name == "pay_method"
    if leave == "idle":
        window.idle.expired.emit()
    else:
        _tap(qtbot, window, leave)
    qtbot.waitUntil(lambda: his.given_back == ["B1"], timeout=3000)
    assert window.current_screen.name == ("slots" if leave == "back" else "home")

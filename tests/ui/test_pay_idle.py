"""门诊缴费 on screen with worker threads and fakes: the idle timeout never abandons money.

GIVEN a QR shown for the patient's phone WHEN the idle countdown runs out THEN the order is cancelled
and nothing is charged — or, when the patient paid meanwhile, the payment is recorded and its receipt
printed; WHILE the card terminal works the countdown holds and Back/Home cannot be used.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from kiosk_test_fakes import FakeTerminal, create_id_card, create_pay_his, create_services
from kiosk_test_support import task
from PySide6.QtCore import Qt

from kiosk.devices.ports import PaymentStep
from kiosk.flows.payment import Phase
from kiosk.sync.journal import Journal
from kiosk.ui.tasks import ThreadRunner

IDLE_S = 20
WAIT_MS = 10_000


class PinPadTerminal(FakeTerminal):
    """A terminal whose cardholder types the PIN only when `pin_typed` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.pin_typed = threading.Event()
        self.pin_typed.set()

    def sale(self, ref, amount, on_progress=None, cancel=None):
        if on_progress is not None:
            on_progress(PaymentStep.ENTER_PIN, "请输入密码")
        assert self.pin_typed.wait(WAIT_MS / 1000)
        return super().sale(ref, amount, on_progress, cancel)


@pytest.fixture
def paying(qtbot, make_window, tmp_path):
    his = create_pay_his()
    services = dataclasses.replace(create_services(his, cards=[create_id_card()], idle_timeout_s=IDLE_S),
                                   payment=PinPadTerminal(), journal=Journal(tmp_path / "journal.db"))
    window = make_window(services, runner=ThreadRunner())
    yield window, services, his
    window.close()
    services.journal.close()


def _to_methods(qtbot, window) -> None:
    qtbot.mouseClick(window.home.tiles["pay"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.current_screen is task(window, "pay").screens.bills, timeout=WAIT_MS)
    qtbot.mouseClick(task(window, "pay").screens.bills.confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.current_screen is window.paying.method, timeout=WAIT_MS)


def _show_qr(qtbot, window, his) -> str:
    _to_methods(qtbot, window)
    qtbot.mouseClick(window.paying.method.methods["show_qr"], Qt.MouseButton.LeftButton)
    qr = window.paying.qr
    qtbot.waitUntil(lambda: qr.view is not None and qr.view.phase is Phase.QR_SHOWN, timeout=WAIT_MS)
    assert window.current_screen is qr and window.home_button.isEnabled()
    return next(iter(his.qr_orders))


def _expire(window) -> None:
    for _ in range(IDLE_S):
        window.idle.tick()


def test_idle_timeout_cancels_a_shown_qr(qtbot, paying) -> None:
    window, services, his = paying
    order = _show_qr(qtbot, window, his)
    _expire(window)
    assert window.current_screen is window.home
    qtbot.waitUntil(lambda: his.qr_orders[order]["status"] == "cancelled", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: services.journal.open_entries() == [], timeout=WAIT_MS)
    assert his.recorded_fen() == 0 and services.printer.printed == []


def test_qr_paid_before_the_idle_timeout_is_recorded(qtbot, paying) -> None:
    window, services, his = paying
    order = _show_qr(qtbot, window, his)
    his.patient_pays(order)
    _expire(window)
    assert window.current_screen is window.home
    qtbot.waitUntil(lambda: len(services.printer.printed) == 1, timeout=WAIT_MS)
    assert his.recorded_fen() == 12345 + 6789
    assert "缴费凭条" in services.printer.printed[0].plain_text()
    qtbot.waitUntil(lambda: services.journal.open_entries() == [], timeout=WAIT_MS)


def test_countdown_holds_while_the_terminal_works(qtbot, paying) -> None:
    window, services, his = paying
    terminal = services.payment
    terminal.pin_typed.clear()  # the cardholder is at the PIN pad
    _to_methods(qtbot, window)
    qtbot.mouseClick(window.paying.method.methods["card"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.current_screen is window.paying.card, timeout=WAIT_MS)
    _expire(window)
    _expire(window)
    assert window.current_screen is window.paying.card and window.idle.remaining == IDLE_S
    assert not window.home_button.isEnabled() and not window.back.isEnabled()
    terminal.pin_typed.set()
    qtbot.waitUntil(lambda: window.current_screen is task(window, "pay").screens.result, timeout=WAIT_MS)
    assert window.home_button.isEnabled() and his.recorded_fen() == 12345 + 6789

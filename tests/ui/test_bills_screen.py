"""The 门诊缴费 bill list on a short (landscape) screen: every item line stays readable and the list scrolls."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.domain.money import Money
from kiosk.domain.payment import Bill, BillItem
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.bills import BillsScreen
from kiosk.ui.theme import stylesheet


def _bills() -> tuple[Bill, ...]:
    price = Money(450)
    items = tuple(BillItem(f"复方甘草片{i}", 1, price, price) for i in range(3))
    return tuple(Bill(str(k), f"2026113000001{k}", "prescription", items, Money(1350), "") for k in range(3))


def test_bill_cards_keep_their_lines_in_a_short_window(qtbot: QtBot) -> None:
    """GIVEN three bills of three items each in a 700 px tall screen, in normal and then elder type
    THEN each card is as tall as its text (nothing squeezed out of sight) and the list scrolls instead."""
    app = QApplication.instance()
    screen = BillsScreen(Translator("zh_CN"))
    qtbot.addWidget(screen)
    screen.show_bills("张*", _bills())
    screen.resize(1920, 700)
    screen.show()
    for elder in (False, True):
        screen.setStyleSheet(stylesheet(elder=elder))
        app.processEvents()
        for card in screen.cards:
            text_height = card.fontMetrics().boundingRect(0, 0, 2000, 2000, 0, card.text()).height()
            assert card.height() >= text_height, f"elder={elder}: {card.height()} px for {text_height} px of lines"
        assert sum(card.height() for card in screen.cards) > screen.height(), "the list must scroll, not shrink"

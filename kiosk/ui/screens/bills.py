"""Unpaid bills grouped by order, each with its items; all chosen by default, then 去缴费."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QPushButton

from kiosk.domain.payment import Bill, bills_total
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
from kiosk.ui.widgets.paged_list import PagedList


class _BillCard(QPushButton):
    """A bill as a checkable button as tall as its item lines. The theme's min-height becomes a hard
    minimum that overrides the size hint, so a short (landscape) list would squeeze the lines out of
    sight instead of scrolling: after every restyle or text change the minimum is the text's height."""

    def event(self, e: QEvent) -> bool:
        handled = super().event(e)
        if e.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self.fit()
        return handled

    def fit(self) -> None:
        self.setMinimumHeight(self.sizeHint().height())


class BillsScreen(Screen):
    name = "bills"
    confirmed = Signal(tuple)  # the chosen bills, in the order shown

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(20, (48, 32))
        self.hello = label("", "subtitle")
        self.title = label("", "title")
        self.empty = label("", "warning", center=True)
        self.empty_hint = label("", "hint", center=True)
        self.select_all = button("", name="select-all")
        self.select_all.clicked.connect(self._on_select_all_clicked)
        self.list = PagedList(translator, 20)
        self.total = label("", "card-fee", name="total")
        self.confirm = button("", "primary", name="primary")
        self.confirm.clicked.connect(lambda: self.confirmed.emit(self.chosen))
        for widget in (self.hello, self.title, self.empty, self.empty_hint, self.select_all):
            layout.addWidget(widget)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.total)
        layout.addWidget(self.confirm)
        self.cards: list[_BillCard] = []
        self._bills: tuple[Bill, ...] = ()
        self._patient_name = ""

    @property
    def chosen(self) -> tuple[Bill, ...]:
        return tuple(b for b, card in zip(self._bills, self.cards, strict=True) if card.isChecked())

    def show_bills(self, patient_name: str, bills: tuple[Bill, ...]) -> None:
        """`patient_name` must already be masked. Every bill starts chosen."""
        self._patient_name = patient_name
        self._bills = bills
        for card in self.cards:
            card.setParent(None)  # gone from the window at once, not at the next event-loop turn
            card.deleteLater()
        self.cards = []
        for index, bill in enumerate(bills):
            card = button("", "bill", name=f"item-{index}", kind=_BillCard)
            card.setCheckable(True)
            card.setChecked(True)
            card.clicked.connect(self.retranslate)
            self.cards.append(card)
        self.retranslate()  # the cards' texts first: a page holds as many as fit
        self.list.set_items(self.cards)

    def clear(self) -> None:
        self.show_bills("", ())

    def _on_select_all_clicked(self) -> None:
        everything = not all(card.isChecked() for card in self.cards)
        for card in self.cards:
            card.setChecked(everything)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.t
        self.hello.setText(t.tr("appts.hello", name=self._patient_name))
        self.title.setText(t.tr("bills.title"))
        self.empty.setText(t.tr("bills.none"))
        self.empty_hint.setText(t.tr("bills.none_hint"))
        has_bills = bool(self._bills)
        for widget in (self.empty, self.empty_hint):
            widget.setVisible(not has_bills)
        for widget in (self.title, self.select_all, self.total, self.confirm):
            widget.setVisible(has_bills)
        chosen = self.chosen
        every = bool(self.cards) and len(chosen) == len(self.cards)
        self.select_all.setText(t.tr("bills.unselect_all" if every else "bills.select_all"))
        self.total.setText(t.tr("bills.total", count=len(chosen), amount=bills_total(chosen)))
        self.confirm.setText(t.tr("bills.pay"))
        self.confirm.setEnabled(bool(chosen))
        for bill, card in zip(self._bills, self.cards, strict=True):
            # one text, one line per item: the button is as tall as its lines (labels inside would not be)
            lines = [f"{t.tr(f'bill.{bill.kind}')}  {bill.order_no}"]
            for item in bill.items:  # name and price on lines of their own: a long drug name still fits
                lines += [f"  {item.name}", f"      ×{item.quantity}  {item.amount}"]
            lines.append(t.tr("bills.subtotal", amount=bill.amount))
            card.setText("\n".join(lines))
            card.fit()

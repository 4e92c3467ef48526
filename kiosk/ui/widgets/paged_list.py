"""The list every list screen shows its cards in: a scrolling list in normal mode, pages of a few cards
with big 上一页 / 下一页 buttons in elder mode (长辈模式: an older patient does not find or use a thin
scroll bar). In landscape a list of short cards (departments, doctors, slots) uses the width: two columns.

An elder page holds at most PER_PAGE cards, fewer when they would not fit the list's height at elder
sizes (a doctor's card is three lines tall). Cards keep the names the screen gave them (`item-5` stays
`item-5` on page 2); a card on another page is hidden, so the automation port does not list it. A
widget that is not a card (a group heading) stays with the card after them, across the columns. The
patient's place — the first card in sight — is kept across a rebuild (a language or mode switch).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.ui.i18n import Translator
from kiosk.ui.widgets.common import button, label

PER_PAGE = 4
"""Cards on an elder page, at most: in portrait a column of 4, in landscape 2 rows of 2."""
PER_PAGE_ONE_COLUMN_LANDSCAPE = 3
"""A landscape list in one column (appointments, bills: wide cards): a fourth would hardly ever fit."""


def _height(widget: QWidget) -> int:
    """The least height the list's layout can give `widget`: a card's inner labels (its layout's
    minimum), a bill's text."""
    widget.ensurePolished()
    inner = widget.layout()
    if inner is not None:
        return max(inner.totalMinimumSize().height(), widget.minimumHeight())
    return max(widget.sizeHint().height(), widget.minimumHeight())


class PagedList(QWidget):
    def __init__(self, translator: Translator, spacing: int, landscape_columns: int = 1) -> None:
        super().__init__()
        self.t = translator
        translator.language_changed.connect(self.retranslate)
        self._spacing = spacing
        self._landscape_columns = landscape_columns
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(spacing)
        inner = QWidget()
        self._grid = QGridLayout(inner)
        self._grid.setSpacing(spacing)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(inner)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        column.addWidget(self.scroll, 1)
        self.nav = QWidget()
        row = QHBoxLayout(self.nav)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(spacing)
        self.prev = button("", name="page-prev")
        self.next = button("", name="page-next")
        self.page_text = label("", "subtitle", wrap=False, center=True, name="page")
        self.prev.clicked.connect(lambda: self._turn(-1))
        self.next.clicked.connect(lambda: self._turn(1))
        row.addWidget(self.prev)
        row.addWidget(self.page_text, 1)
        row.addWidget(self.next)
        self.nav.hide()
        column.addWidget(self.nav)
        self._units: list[list[QWidget]] = []
        """Each card with the widgets (a heading) that stay with it, in order."""
        self._rows: list[list[int]] = []
        """The units side by side in each row of cards."""
        self._pages: list[range] = [range(0)]
        """Which rows each page shows."""
        self.page = 0
        self._first = 0
        """The unit the patient was looking at first: the place kept across rebuilds and mode switches."""
        self.paged = False
        self.landscape = False
        self._scroll_pending = False
        """A scroll to `_first` waits for the layout: until then `_first` is the place."""
        self._anchor: tuple[list[list[QWidget]], int] | None = None
        """The card kept at the top of the scrolled list (cards, index) until the patient scrolls."""
        bar = self.scroll.verticalScrollBar()
        bar.rangeChanged.connect(self._align)
        bar.actionTriggered.connect(self._drop_anchor)

    # --- what the screens call --------------------------------------------------------------------------
    def set_items(self, widgets: Sequence[QWidget], keep_place: bool = False) -> None:
        """Lay out `widgets` (cards named `item-N`, and headings for the card after them) instead of the
        previous ones; the screen owns them all (it hides or deletes what it no longer shows).
        `keep_place`: the same list again (retranslated), at the page or scroll position the patient was at."""
        if keep_place:
            self._first = self._first_in_sight()
        self._units = []
        pending: list[QWidget] = []
        for widget in widgets:
            pending.append(widget)
            if widget.objectName().startswith("item-"):
                self._units.append(pending)
                pending = []
        if pending:
            self._units.append(pending)
        if not keep_place:
            self._first = 0
        self._place()

    def set_paged(self, on: bool) -> None:
        """Elder mode: pages instead of scrolling, at the page holding the first card in sight. Called
        before the restyle that follows, so the place is where the patient saw it."""
        if on != self.paged:
            self._first = self._first_in_sight()
            self.paged = on
            self._place()
            self._repaginate_soon()

    def set_landscape(self, on: bool) -> None:
        if on != self.landscape:
            self._first = self._first_in_sight()
            self.landscape = on
            self._place()
            self._repaginate_soon()

    def retranslate(self) -> None:
        self.prev.setText(self.t.tr("list.prev"))
        self.next.setText(self.t.tr("list.next"))
        self.page_text.setText(self.t.tr("list.page", page=self.page + 1, pages=len(self._pages)))

    @property
    def columns(self) -> int:
        return self._landscape_columns if self.landscape else 1

    def _turn(self, by: int) -> None:
        """上一页 / 下一页: the patient's place is the new page's first card."""
        self._show(self.page + by)
        self._first = min(self._shown(), default=0)

    def _shown(self) -> set[int]:
        return {unit for row in self._pages[self.page] for unit in self._rows[row]}

    def _show(self, page: int) -> None:
        self.page = max(0, min(page, len(self._pages) - 1))
        shown = self._shown()
        for index, unit in enumerate(self._units):
            for widget in unit:
                widget.setVisible(not self.paged or index in shown)
        self.nav.setVisible(self.paged and len(self._pages) > 1)
        self.prev.setEnabled(self.page > 0)
        self.next.setEnabled(self.page < len(self._pages) - 1)
        self.scroll.verticalScrollBar().setValue(0)
        self.retranslate()

    # --- layout and pages -------------------------------------------------------------------------------------
    def _place(self) -> None:
        """Lay the units out in rows of `columns` cards (a heading starts a row of its own, across), then
        split the rows into pages and show the one holding the patient's place."""
        while self._grid.count():
            self._grid.takeAt(0)
        for column in range(self._landscape_columns):  # equal columns, none empty in portrait
            self._grid.setColumnStretch(column, 1 if column < self.columns else 0)
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        self._rows = []
        grid_row = -1
        for index, unit in enumerate(self._units):
            *headings, card = unit
            if headings or not self._rows or len(self._rows[-1]) == self.columns:
                grid_row += 1
                for heading in headings:
                    self._grid.addWidget(heading, grid_row, 0, 1, self.columns)
                    grid_row += 1
                self._rows.append([])
            self._grid.addWidget(card, grid_row, len(self._rows[-1]))
            self._rows[-1].append(index)
        self._grid.setRowStretch(grid_row + 1, 1)
        self._repaginate()
        if not self.paged:
            self._scroll_to(self._first)

    def _repaginate(self) -> None:
        if self.paged:
            self._pages = self._split(self._room())
        else:
            self._pages = [range(len(self._rows))]
        page = next((i for i, rows in enumerate(self._pages) if any(self._first in self._rows[r] for r in rows)), 0)
        self._show(page)

    def _room(self) -> int:
        """The height a page has: the list's, less the page buttons' row."""
        self.nav.ensurePolished()
        nav = max(self.prev.sizeHint().height(), self.page_text.sizeHint().height())
        return self.height() - nav - self._spacing

    def _split(self, room: int) -> list[range]:
        limit = PER_PAGE if self.columns > 1 or not self.landscape else PER_PAGE_ONE_COLUMN_LANDSCAPE
        pages: list[range] = []
        start, used, cards = 0, 0, 0
        for index, row in enumerate(self._rows):
            height = max(sum(_height(w) for w in self._units[unit]) + self._spacing * (len(self._units[unit]) - 1)
                         for unit in row) + self._spacing
            if index > start and (cards + len(row) > limit or used + height > room):
                pages.append(range(start, index))
                start, used, cards = index, 0, 0
            used += height
            cards += len(row)
        pages.append(range(start, len(self._rows)))
        return pages

    def _repaginate_soon(self) -> None:
        """Once the restyle that comes with a switch has set the cards' new sizes."""
        if self.paged:
            QTimer.singleShot(0, self, self._repaginate)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.paged and event.size().height() != event.oldSize().height():
            self._repaginate()

    # --- scrolling (normal mode) ----------------------------------------------------------------------------
    def _drop_anchor(self) -> None:
        self._anchor = None

    def _first_in_sight(self) -> int:
        """The first card not scrolled out of sight above (its lower half shows); the page's first when paged."""
        if self.paged or self._scroll_pending or not self._units:
            return self._first
        top = self.scroll.verticalScrollBar().value()
        for index, unit in enumerate(self._units):
            card = unit[-1]
            if card.y() + card.height() // 2 >= top:
                return index
        return len(self._units) - 1

    def _scroll_to(self, unit: int) -> None:
        """Put the card at the top of the list once the layout has placed the cards."""
        if 0 < unit < len(self._units):
            units = self._units
            self._scroll_pending = True
            QTimer.singleShot(0, self, lambda: self._scroll_now(units, unit))

    def _scroll_now(self, units: list[list[QWidget]], unit: int) -> None:
        self._scroll_pending = False
        self._anchor = (units, unit)
        self._align()

    def _align(self) -> None:
        """Scroll the anchored card to the top, again whenever the list's height changes until the patient
        scrolls: cards shown again after a page get their new sizes a layout pass or two later."""
        if self._anchor is None:
            return
        units, unit = self._anchor
        if units is self._units and not self.paged:  # still the same cards, still scrolling
            top = units[unit][0].mapTo(self.scroll.widget(), QPoint(0, 0)).y()
            self.scroll.verticalScrollBar().setValue(top)
        else:
            self._anchor = None

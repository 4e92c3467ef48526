"""The list every list screen shows its cards in: one long scrolling column in normal mode, pages of a
few cards with big 上一页 / 下一页 buttons in elder mode (长辈模式: an older patient does not find or use a
thin scroll bar).

A page holds at most PER_PAGE cards (portrait) or PER_PAGE_LANDSCAPE (landscape), fewer when they would
not fit the list's height at elder sizes (a doctor's card is three lines tall). Cards keep the names
the screen gave them (`item-5` stays `item-5` on page 2); a card on another page is hidden, so the
automation port does not list it. Other widgets (a group heading) stay with the card after them. The
patient's place — the first card in sight — is kept across a rebuild (language or mode switch).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.ui.i18n import Translator
from kiosk.ui.widgets.common import button, label

PER_PAGE = 4
PER_PAGE_LANDSCAPE = 3


def _height(widget: QWidget) -> int:
    """The height the list's layout gives `widget`: a card grows with its inner labels (its layout's
    minimum), a bill with its text."""
    widget.ensurePolished()
    inner = widget.layout()
    minimum = inner.totalMinimumSize().height() if inner is not None else 0
    return max(widget.sizeHint().height(), widget.minimumHeight(), minimum)


class PagedList(QWidget):
    def __init__(self, translator: Translator, spacing: int) -> None:
        super().__init__()
        self.t = translator
        translator.language_changed.connect(self.retranslate)
        self._spacing = spacing
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(spacing)
        inner = QWidget()
        self._items = QVBoxLayout(inner)
        self._items.setSpacing(spacing)
        self._items.setContentsMargins(0, 0, 0, 0)
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
        self.prev.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next.clicked.connect(lambda: self.show_page(self.page + 1))
        row.addWidget(self.prev)
        row.addWidget(self.page_text, 1)
        row.addWidget(self.next)
        self.nav.hide()
        column.addWidget(self.nav)
        self._widgets: list[QWidget] = []
        self._units: list[list[QWidget]] = []
        """Each card with the widgets (a heading) that stay with it, in order."""
        self._pages: list[range] = [range(0)]
        """Which units each page shows."""
        self.page = 0
        self._first = 0
        """The unit the patient was looking at first: the place kept across rebuilds and mode switches."""
        self.paged = False
        self.landscape = False

    # --- what the screens call --------------------------------------------------------------------------
    def set_items(self, widgets: Sequence[QWidget], keep_place: bool = False) -> None:
        """Show `widgets` (cards, and headings for the card after them) instead of the previous ones,
        which are deleted. `keep_place`: the same list again (retranslated), at the page the patient was on."""
        if keep_place and not self.paged:
            self._first = self._first_in_sight()
        for widget in self._widgets:
            widget.setParent(None)  # gone from the window at once, not at the next event-loop turn
            widget.deleteLater()
        while self._items.count():
            self._items.takeAt(0)
        self._widgets = list(widgets)
        self._units = []
        pending: list[QWidget] = []
        for widget in self._widgets:
            self._items.addWidget(widget)
            pending.append(widget)
            if widget.objectName().startswith("item-"):
                self._units.append(pending)
                pending = []
        if pending:
            self._units.append(pending)
        self._items.addStretch(1)
        if not keep_place:
            self._first = 0
        self._repaginate()
        if not self.paged:
            self._scroll_to(self._first)

    def set_paged(self, on: bool) -> None:
        """Elder mode: pages instead of scrolling, at the page holding the first card in sight."""
        if on == self.paged:
            return
        if on:
            self._first = self._first_in_sight()
        self.paged = on
        self._repaginate()
        if not on:
            self._scroll_to(self._first)

    def set_landscape(self, on: bool) -> None:
        if on != self.landscape:
            self.landscape = on
            self._repaginate()

    def retranslate(self) -> None:
        self.prev.setText(self.t.tr("list.prev"))
        self.next.setText(self.t.tr("list.next"))
        self.page_text.setText(self.t.tr("list.page", page=self.page + 1, pages=len(self._pages)))

    @property
    def pages(self) -> int:
        return len(self._pages)

    def show_page(self, page: int) -> None:
        self.page = max(0, min(page, len(self._pages) - 1))
        shown = self._pages[self.page]
        if shown:
            self._first = shown.start
        for index, unit in enumerate(self._units):
            for widget in unit:
                widget.setVisible(not self.paged or index in shown)
        self.nav.setVisible(self.paged and len(self._pages) > 1)
        self.prev.setEnabled(self.page > 0)
        self.next.setEnabled(self.page < len(self._pages) - 1)
        self.scroll.verticalScrollBar().setValue(0)
        self.retranslate()

    # --- pages ----------------------------------------------------------------------------------------------
    def _repaginate(self) -> None:
        """Split the cards into pages that fit the list's height (at most PER_PAGE each) and show the one
        holding the patient's place. Normal mode: one page of everything."""
        if not self.paged:
            self._pages = [range(len(self._units))]
        else:
            self._pages = self._split(self._room())
        self.show_page(next((i for i, p in enumerate(self._pages) if self._first in p), 0))

    def _room(self) -> int:
        """The height a page has: the list's, less the page buttons' row."""
        self.nav.ensurePolished()
        nav = max(self.prev.sizeHint().height(), self.page_text.sizeHint().height())
        return self.height() - nav - self._spacing

    def _split(self, room: int) -> list[range]:
        limit = PER_PAGE_LANDSCAPE if self.landscape else PER_PAGE
        pages: list[range] = []
        start, used = 0, 0
        for index, unit in enumerate(self._units):
            height = sum(_height(w) for w in unit) + self._spacing * len(unit)
            full = index - start >= limit or (index > start and used + height > room)
            if full:
                pages.append(range(start, index))
                start, used = index, 0
            used += height
        pages.append(range(start, len(self._units)))
        return pages

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.paged and event.size().height() != event.oldSize().height():
            self._repaginate()

    # --- scrolling (normal mode) ----------------------------------------------------------------------------
    def _first_in_sight(self) -> int:
        """The first card not scrolled out of sight above (its lower half shows); the page's first when paged."""
        if self.paged or not self._units:
            return self._first
        top = self.scroll.verticalScrollBar().value()
        for index, unit in enumerate(self._units):
            card = unit[-1]
            if card.y() + card.height() // 2 >= top:
                return index
        return len(self._units) - 1

    def _scroll_to(self, unit: int) -> None:
        """Put the card at the top of the list once the layout has placed the new cards."""
        if not 0 < unit < len(self._units):
            return
        units = self._units
        QTimer.singleShot(0, self, lambda: self._scroll_now(units, unit))

    def _scroll_now(self, units: list[list[QWidget]], unit: int) -> None:
        if units is self._units and not self.paged:  # still the same cards, still scrolling
            top = units[unit][0].mapTo(self.scroll.widget(), QPoint(0, 0)).y()
            self.scroll.verticalScrollBar().setValue(top)

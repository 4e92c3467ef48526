"""A list to choose from as big cards (departments, doctors, dates, slots, check-in, records).

Without actions a tap on a card chooses it at once (one touch per step); with actions (e.g. 补打 / 退号)
a tap selects the card and the action buttons act on it. Cards are `item-0`, `item-1`, … in the order
shown; optional hint chips (`hint-0` …) above the list filter it. In elder mode the list shows pages of a
few cards (kiosk/ui/widgets/paged_list.py) under fewer chips; in landscape it has two columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label, set_role
from kiosk.ui.widgets.paged_list import PagedList


@dataclass(frozen=True)
class Item:
    """One card: `key` is what the controller gets back; texts are already in the current language."""

    key: str
    title: str
    lines: tuple[str, ...] = ()
    """One line each, below the title (no wrapping: the card grows with its text in either mode)."""
    corner: str = ""
    enabled: bool = True
    group: str = ""
    """A heading shown above the first card of each group (e.g. 内科 above its departments)."""


@dataclass(frozen=True)
class Content:
    hello: str
    title: str
    items: tuple[Item, ...]
    empty: str = ""
    hints: tuple[tuple[str, str], ...] = ()
    """(key, text) chips above the list."""
    note: str = ""


HINTS_PER_ROW = 3
ELDER_HINTS = 3
"""Elder mode shows this many hint chips (the first ones: the commonest) and the one that clears them."""


class _Card(QPushButton):
    """One list card: title, a corner (e.g. the fee) and lines below; filled again for the next list."""

    def __init__(self, checkable: bool) -> None:
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        set_role(self, "card")
        self.setCheckable(checkable)
        self.key = ""
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(28, 14, 28, 14)
        self._grid.setSizeConstraint(QGridLayout.SizeConstraint.SetMinimumSize)  # grows with elder mode's text
        self._title = self._part("card-title", 0, 0, 1)
        self._corner = self._part("card-fee", 0, 1, 1)
        self._corner.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._lines: list[QLabel] = []

    def _part(self, role: str, row: int, column: int, span: int) -> QLabel:
        part = label("", role, wrap=False)
        part.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # the tap is the card's
        self._grid.addWidget(part, row, column, 1, span)
        return part

    def fill(self, item: Item, name: str, checked: bool) -> None:
        self.key = item.key
        self.setObjectName(name)
        self.setEnabled(item.enabled)
        if self.isCheckable():
            self.setChecked(checked)
        self._title.setText(item.title)
        self._corner.setText(item.corner)
        while len(self._lines) < len(item.lines):
            self._lines.append(self._part("card-line", len(self._lines) + 1, 0, 2))
        for index, line in enumerate(self._lines):
            line.setText(item.lines[index] if index < len(item.lines) else "")
            line.setVisible(index < len(item.lines))

    def empty(self) -> None:
        """Not in the list now: hidden, nameless (no stale `item-N`), unchecked."""
        self.hide()
        self.setObjectName("")
        self.key = ""
        if self.isCheckable():
            self.setChecked(False)


class ChoiceScreen(Screen):
    chosen = Signal(str)
    action = Signal(str)  # element id of the action button
    hint = Signal(str)

    def __init__(self, translator: Translator, name: str, actions: tuple[tuple[str, str], ...] = ()) -> None:
        self.name = name
        super().__init__(translator)
        layout = self.column(16, (48, 24))
        self.hello = label("", "subtitle", name="hello")
        self.title = label("", "title")
        self.note = label("", "warning", name="note")
        self.empty = label("", "warning", center=True, name="empty")
        self._hints = QGridLayout()
        self._hints.setSpacing(16)
        self.cards = PagedList(translator, 16, landscape_columns=2)
        for widget in (self.hello, self.title, self.note):
            layout.addWidget(widget)
        layout.addLayout(self._hints)
        layout.addWidget(self.empty)
        layout.addWidget(self.cards, 1)
        self._action_keys = actions
        self.actions: dict[str, QPushButton] = {}
        if actions:
            row = QHBoxLayout()
            for element, _ in actions:
                action = button("", "primary", name=element)
                action.clicked.connect(lambda _=False, e=element: self.action.emit(e))
                row.addWidget(action)
                self.actions[element] = action
            layout.addLayout(row)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._chips: list[QPushButton] = []
        self._headings: list[QLabel] = []
        self._cards: list[_Card] = []
        self._headings_shown = self._cards_shown = 0
        self._elder = False
        self._landscape = False
        self._hint_texts: tuple[tuple[str, str], ...] = ()
        self._render: Callable[[], Content] | None = None
        self.selected: str | None = None
        self._enabled_actions: Callable[[str | None], set[str]] = lambda _: set()

    def show_content(
        self, render: Callable[[], Content], enabled_actions: Callable[[str | None], set[str]] | None = None,
        selected: str | None = None,
    ) -> None:
        """`render` builds the content in the current language (called again after a language switch);
        the list starts at its top."""
        self._render = render
        self.selected = selected
        if enabled_actions is not None:
            self._enabled_actions = enabled_actions
        self._show(keep_place=False)

    def clear(self) -> None:
        self._render = None
        self.selected = None
        self._show(keep_place=False)

    def set_elder(self, on: bool) -> None:
        self._elder = on
        super().set_elder(on)

    def set_compact(self, compact: bool) -> None:
        super().set_compact(compact)
        self._landscape = compact
        self._show_hints(self._hint_texts)

    def retranslate(self) -> None:
        self._show(keep_place=True)

    def _show(self, keep_place: bool) -> None:
        for element, key in self._action_keys:
            self.actions[element].setText(self.t.tr(key))
        content = self._render() if self._render else Content("", "", ())
        self.hello.setText(content.hello)
        self.hello.setVisible(bool(content.hello))
        self.title.setText(content.title)
        self.note.setText(content.note)
        self.note.setVisible(bool(content.note))
        self.empty.setText(content.empty)
        self.empty.setVisible(not content.items and bool(content.empty))
        self._show_hints(content.hints)
        self._show_cards(content.items, keep_place)
        self._update_actions()

    def _show_hints(self, hints: tuple[tuple[str, str], ...]) -> None:
        """Elder mode: the first few hints and the chip that clears them (key ""), in one row; none in
        landscape, where that row would cost half of each page of cards."""
        self._hint_texts = hints
        for chip in self._chips:
            chip.setParent(None)  # gone from the window at once, not at the next event-loop turn
            chip.deleteLater()
        while self._hints.count():
            self._hints.takeAt(0)
        if self._elder and self._landscape:
            hints = ()
        elif self._elder:
            hints = tuple(h for h in hints if h[0])[:ELDER_HINTS] + tuple(h for h in hints if not h[0])
        per_row = len(hints) if self._elder else HINTS_PER_ROW
        self._chips = []
        for index, (key, text) in enumerate(hints):
            chip = button(text, "chip", name=f"hint-{index}")
            chip.clicked.connect(lambda _=False, k=key: self.hint.emit(k))
            self._hints.addWidget(chip, *divmod(index, per_row))
            self._chips.append(chip)

    def _show_cards(self, items: tuple[Item, ...], keep_place: bool) -> None:
        # Cards and group headings are kept and filled again, not built anew: a new widget is styled from
        # the whole style sheet, which for a list of departments kept the GUI thread busy for tens of ms.
        self._group.setExclusive(False)  # an exclusive group would keep the last list's choice checked
        headings = iter(self._headings)
        group, shown = None, 0
        widgets: list[QWidget] = []
        for index, item in enumerate(items):
            if item.group and item.group != group:
                heading = next(headings, None) or self._new_heading()
                heading.setText(item.group)
                widgets.append(heading)
                shown += 1
            group = item.group
            card = self._cards[index] if index < len(self._cards) else self._new_card()
            card.fill(item, f"item-{index}", checked=item.key == self.selected)
            widgets.append(card)
        for heading in self._headings[shown:self._headings_shown]:
            heading.hide()
        for card in self._cards[len(items):self._cards_shown]:
            card.empty()
        self._headings_shown, self._cards_shown = shown, len(items)
        self._group.setExclusive(True)
        self.cards.set_items(widgets, keep_place)

    def _new_heading(self) -> QLabel:
        heading = label("", "group")
        self._headings.append(heading)
        return heading

    def _new_card(self) -> _Card:
        card = _Card(checkable=bool(self.actions))
        if self.actions:
            self._group.addButton(card)
        card.clicked.connect(lambda _=False, c=card: self._on_card_clicked(c.key))
        self._cards.append(card)
        return card

    def _on_card_clicked(self, key: str) -> None:
        if not self.actions:
            self.chosen.emit(key)
            return
        self.selected = key
        self._update_actions()
        self.chosen.emit(key)

    def _update_actions(self) -> None:
        enabled = self._enabled_actions(self.selected)
        for element, action in self.actions.items():
            action.setEnabled(element in enabled)

"""A list to choose from as big cards (departments, doctors, dates, slots, check-in, records).

Without actions a tap on a card chooses it at once (one touch per step); with actions (e.g. 补打 / 退号)
a tap selects the card and the action buttons act on it. Cards are `item-0`, `item-1`, … in the order
shown; optional hint chips (`hint-0` …) above the list filter it. In elder mode the list shows pages of a
few cards (kiosk/ui/widgets/paged_list.py) under fewer chips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label
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
            chip.setParent(None)
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
        for card in self._group.buttons():
            self._group.removeButton(card)
        widgets: list[QWidget] = []
        group = None
        for index, item in enumerate(items):
            if item.group and item.group != group:
                widgets.append(label(item.group, "group"))
            group = item.group
            card = self._card(item)
            card.setObjectName(f"item-{index}")
            widgets.append(card)
        self.cards.set_items(widgets, keep_place)

    def _card(self, item: Item) -> QPushButton:
        card = button("", "card")
        card.setEnabled(item.enabled)
        if self.actions:
            card.setCheckable(True)
            card.setChecked(item.key == self.selected)
            self._group.addButton(card)
        card.clicked.connect(lambda _=False, k=item.key: self._on_card_clicked(k))
        grid = QGridLayout(card)
        grid.setContentsMargins(28, 14, 28, 14)
        grid.setSizeConstraint(QGridLayout.SizeConstraint.SetMinimumSize)  # grows with elder mode's text
        parts = [(label(item.title, "card-title", wrap=False), 0, 0), (label(item.corner, "card-fee", wrap=False), 0, 1)]
        parts += [(label(line, "card-line", wrap=False), row, 0) for row, line in enumerate(item.lines, start=1)]
        for widget, row, column in parts:
            widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            if column:
                widget.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(widget, row, column, 1, 1 if column or not row else 2)
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

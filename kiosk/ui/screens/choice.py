"""A list to choose from as big cards (departments, doctors, dates, slots, check-in, records).

Without actions a tap on a card chooses it at once (one touch per step); with actions (e.g. 补打 / 退号)
a tap selects the card and the action buttons act on it. Cards are `item-0`, `item-1`, … in the order
shown; optional hint chips (`hint-0` …) above the list filter it.
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
from kiosk.ui.widgets.common import button, label, scroll_list


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
        scroll, self._list_layout = scroll_list(16)
        for widget in (self.hello, self.title, self.note):
            layout.addWidget(widget)
        layout.addLayout(self._hints)
        layout.addWidget(self.empty)
        layout.addWidget(scroll, 1)
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
        self._widgets: list[QWidget] = []
        self._render: Callable[[], Content] | None = None
        self.selected: str | None = None
        self._enabled_actions: Callable[[str | None], set[str]] = lambda _: set()

    def show_content(
        self, render: Callable[[], Content], enabled_actions: Callable[[str | None], set[str]] | None = None,
        selected: str | None = None,
    ) -> None:
        """`render` builds the content in the current language (called again after a language switch)."""
        self._render = render
        self.selected = selected
        if enabled_actions is not None:
            self._enabled_actions = enabled_actions
        self.retranslate()

    def clear(self) -> None:
        self._render = None
        self.selected = None
        self.retranslate()

    def retranslate(self) -> None:
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
        self._rebuild(content)
        self._update_actions()

    def _rebuild(self, content: Content) -> None:
        for widget in self._widgets:
            if isinstance(widget, QPushButton):
                self._group.removeButton(widget)
            widget.setParent(None)  # gone from the window at once, not at the next event-loop turn
            widget.deleteLater()
        self._widgets = []
        while self._list_layout.count():
            self._list_layout.takeAt(0)
        while self._hints.count():
            self._hints.takeAt(0)
        for index, (key, text) in enumerate(content.hints):
            chip = button(text, "chip", name=f"hint-{index}")
            chip.clicked.connect(lambda _=False, k=key: self.hint.emit(k))
            self._hints.addWidget(chip, *divmod(index, HINTS_PER_ROW))
            self._widgets.append(chip)
        group = None
        for index, item in enumerate(content.items):
            if item.group and item.group != group:
                heading = label(item.group, "group")
                self._list_layout.addWidget(heading)
                self._widgets.append(heading)
            group = item.group
            card = self._card(item)
            card.setObjectName(f"item-{index}")
            self._list_layout.addWidget(card)
            self._widgets.append(card)
        self._list_layout.addStretch(1)

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

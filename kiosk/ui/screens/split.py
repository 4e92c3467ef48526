"""The insurance pre-settlement: 统筹 / 个人账户 / 自费, adding up to the total; then pay the self-pay part
(or, when insurance covers everything, confirm without any terminal)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout

from kiosk.domain.payment import InsuranceSplit
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label

_ROWS = (("total", "split.total"), ("fund", "split.fund"), ("account", "split.account"),
         ("self_pay", "split.self_pay"))


class SplitScreen(Screen):
    name = "split"
    confirmed = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(28)
        self.title = label("", "title", center=True)
        grid = QGridLayout()
        grid.setSpacing(20)
        self.captions = {}
        self.amounts = {}
        for row, (part, _key) in enumerate(_ROWS):
            self.captions[part] = label("", "subtitle", name=f"split-{part}-caption")
            self.amounts[part] = label("", "card-fee", name=f"split-{part}")
            grid.addWidget(self.captions[part], row, 0)
            grid.addWidget(self.amounts[part], row, 1)
        self.note = label("", "hint", center=True, name="split_note")
        self.confirm = button("", "primary", name="primary")
        self.confirm.clicked.connect(self.confirmed.emit)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.note)
        layout.addStretch(1)
        layout.addWidget(self.confirm)
        self._split: InsuranceSplit | None = None

    def show_split(self, split: InsuranceSplit | None) -> None:
        self._split = split
        self.retranslate()

    def retranslate(self) -> None:
        t, split = self.t, self._split
        self.title.setText(t.tr("split.title"))
        for part, key in _ROWS:
            self.captions[part].setText(t.tr(key))
            self.amounts[part].setText(str(getattr(split, part)) if split is not None else "")
        covered = split is not None and not split.self_pay
        self.note.setText(t.tr("split.all_covered") if covered else "")
        self.note.setVisible(covered)
        self.confirm.setText(t.tr("split.settle" if covered else "split.continue"))

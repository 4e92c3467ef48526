"""What every screen has: a name, and retranslation when the language switches."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.ui.i18n import Translator
from kiosk.ui.widgets.paged_list import PagedList


class Screen(QWidget):
    """A page of the main QStackedWidget. `name` identifies it in tests and screenshots."""

    name = "screen"
    show_navigation = True
    """Whether the Back/Home bar and the step bar show on this screen."""

    def __init__(self, translator: Translator) -> None:
        super().__init__()
        self.setObjectName(f"screen_{self.name}")
        self.t = translator

    def column(self, spacing: int, margins: tuple[int, int] = (48, 48)) -> QVBoxLayout:
        """The screen's own vertical layout: `margins` (sides, top and bottom) and `spacing` between items."""
        layout = QVBoxLayout(self)
        side, top = margins
        layout.setContentsMargins(side, top, side, top)
        layout.setSpacing(spacing)
        return layout

    def set_compact(self, compact: bool) -> None:
        """Tighten margins and spacing for a short (landscape) screen; the theme shrinks the big items,
        the lists' pages hold fewer cards."""
        for cards in self.findChildren(PagedList):
            cards.set_landscape(compact)
        layout = self.layout()
        if layout is None:
            return
        if not hasattr(self, "_roomy"):
            self._roomy = (layout.contentsMargins(), layout.spacing())
        margins, spacing = self._roomy
        if compact:
            layout.setContentsMargins(margins.left(), 16, margins.right(), 16)
            layout.setSpacing(min(spacing, 10))
        else:
            layout.setContentsMargins(margins)
            layout.setSpacing(spacing)

    def set_elder(self, on: bool) -> None:
        """Elder mode (长辈模式) switches on or off: the theme does the rest, the screen's lists turn to pages."""
        for cards in self.findChildren(PagedList):
            cards.set_paged(on)

    def retranslate(self) -> None:
        """Re-set every visible string from `self.t` (called after a language switch)."""
        raise NotImplementedError

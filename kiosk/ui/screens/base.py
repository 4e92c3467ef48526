"""What every screen has: a name, and retranslation when the language switches."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.ui.i18n import Translator


class Screen(QWidget):
    """A page of the main QStackedWidget. `name` identifies it in tests and screenshots."""

    name = "screen"
    show_navigation = True
    """Whether the Back/Home bar and the step bar show on this screen."""

    def __init__(self, translator: Translator) -> None:
        super().__init__()
        self.setObjectName(f"screen_{self.name}")
        self.t = translator

    def retranslate(self) -> None:
        """Re-set every visible string from `self.t` (called after a language switch)."""
        raise NotImplementedError

"""The UI language and the switch between zh_CN and en; the texts are in the message catalogue
(kiosk/locale, read by kiosk.domain.catalogue; patient messages: kiosk.domain.messages)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from kiosk.domain import catalogue


class Translator(QObject):
    """The current UI language. `language_changed` fires after a switch; screens then retranslate."""

    language_changed = Signal(str)

    def __init__(self, default: str = "zh_CN") -> None:
        super().__init__()
        self.default = default
        self.language = default

    @property
    def is_english(self) -> bool:
        return self.language.startswith("en")

    def tr(self, key: str, **values: object) -> str:
        text = catalogue.lookup(key, self.language)
        if text is None:
            return key  # a missing key shows up in screenshots and tests, not as a crash
        return text.format(**values) if values else text

    def set_language(self, language: str) -> None:
        if language != self.language:
            self.language = language
            self.language_changed.emit(language)

    def toggle(self) -> None:
        self.set_language("zh_CN" if self.is_english else "en")

    def reset(self) -> None:
        self.set_language(self.default)

"""Reads what the patient sees off the live window: the current screen and its visible named widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget

from kiosk.ui.automation.elements import Element, ScreenState, hex_colour, language_code
from kiosk.ui.widgets.common import dynamic_property

if TYPE_CHECKING:
    from kiosk.ui.main_window import MainWindow

_INPUT_ROLES = frozenset({"field"})
"""QSS roles of buttons that act as an input field (tapped to focus, filled from the keypad)."""


def _role(widget: QWidget) -> str:
    if isinstance(widget, QLineEdit) or dynamic_property(widget, "role") in _INPUT_ROLES:
        return "input"
    if widget.objectName().startswith("item-"):
        return "item"
    if isinstance(widget, QAbstractButton):
        return "button"
    if isinstance(widget, QLabel) and not widget.pixmap().isNull():
        return "image"
    return "text"


def _text(widget: QWidget) -> str:
    """The text as a patient reads it; a button drawn with labels inside (a list item) reads as their
    visible texts in order."""
    text = widget.text() if isinstance(widget, QAbstractButton | QLabel | QLineEdit) else ""
    if not text and isinstance(widget, QAbstractButton):
        inner = [label.text() for label in widget.findChildren(QLabel) if label.isVisible() and label.text()]
        text = " ".join(inner)
    return text


def _font_px(widget: QWidget) -> int:
    font = widget.font()
    if font.pixelSize() > 0:
        return font.pixelSize()
    return round(font.pointSizeF() * widget.logicalDpiY() / 72)


def _cut_off(widget: QWidget) -> bool:
    """Whether this label's or button's text needs more room than the widget has."""
    if isinstance(widget, QLabel):
        if not widget.text() or not widget.pixmap().isNull():
            return False
        if widget.wordWrap():
            return widget.heightForWidth(widget.width()) > widget.height()
        hint = widget.sizeHint()
        return hint.width() > widget.width() or hint.height() > widget.height()
    if isinstance(widget, QAbstractButton) and widget.text():
        return widget.sizeHint().width() > widget.width()
    return False


def _clipped(widget: QWidget) -> bool:
    """The widget's own text, or any visible label inside it (a list item's lines), is cut off."""
    inner = [label for label in widget.findChildren(QLabel) if label.isVisible()]
    return _cut_off(widget) or any(_cut_off(label) for label in inner)


def _colour(colour: QColor) -> str:
    return hex_colour(colour.red(), colour.green(), colour.blue())


def _background(widget: QWidget) -> QColor:
    """The colour the text is drawn on: the nearest widget (itself or up) that paints a background of its
    own; a transparent label shows its parent's."""
    current: QWidget | None = widget
    while current is not None:
        paints = (
            isinstance(current, QAbstractButton)
            or current.testAttribute(Qt.WidgetAttribute.WA_StyledBackground)
            or current.autoFillBackground()
            or current.isWindow()
        )
        colour = current.palette().color(current.backgroundRole())
        if paints and colour.alpha() > 0:
            return colour
        current = current.parentWidget()
    return widget.palette().color(widget.backgroundRole())


def _on_current_screen(window: MainWindow, widget: QWidget) -> bool:
    """Chrome (header, footer, countdown) is on every screen; a page's widgets only on the current one."""
    return not window.stack.isAncestorOf(widget) or window.current_screen.isAncestorOf(widget)


def _shown(window: MainWindow, widget: QWidget) -> bool:
    return (
        bool(widget.objectName())
        and not widget.objectName().startswith("qt_")
        and isinstance(widget, QAbstractButton | QLabel | QLineEdit)
        and widget.isVisible()
        and not widget.visibleRegion().isEmpty()
        and _on_current_screen(window, widget)
    )


def element_of(window: MainWindow, widget: QWidget) -> Element:
    origin = widget.mapTo(window, QPoint(0, 0))
    seen = widget.visibleRegion().boundingRect()
    palette = widget.palette()
    return Element(
        id=widget.objectName(),
        role=_role(widget),
        text=_text(widget),
        enabled=widget.isEnabled(),
        rect=(origin.x(), origin.y(), widget.width(), widget.height()),
        shown=(origin.x() + seen.x(), origin.y() + seen.y(), seen.width(), seen.height()),
        font_px=_font_px(widget),
        fg=_colour(palette.color(widget.foregroundRole())),
        bg=_colour(_background(widget)),
        clipped=_clipped(widget),
    )


def visible_widgets(window: MainWindow) -> list[QWidget]:
    """Every named widget a patient can see now, top to bottom, left to right."""
    widgets = [w for w in window.findChildren(QWidget) if _shown(window, w)]
    return sorted(widgets, key=lambda w: (w.mapTo(window, QPoint(0, 0)).y(), w.mapTo(window, QPoint(0, 0)).x()))


def describe(window: MainWindow) -> ScreenState:
    idle = window.idle
    return ScreenState(
        screen=window.current_screen.name,
        lang=language_code(window.translator.language),
        mode="elder" if window.elder else "normal",
        busy=window.tasks.busy,
        idle_countdown_s=idle.remaining if idle.armed else None,
        size=(window.width(), window.height()),
        elements=tuple(element_of(window, w) for w in visible_widgets(window)),
    )

"""Small helpers for styled widgets (QSS roles via dynamic properties)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget


def set_role(widget: QWidget, role: str, **props: object) -> None:
    """Set the QSS `role` (and other dynamic properties) and re-apply the style; nothing to do when they
    are what they were (re-styling a widget from the whole style sheet costs the GUI thread ~1 ms)."""
    wanted = {"role": role, **props}
    if all(dynamic_property(widget, name) == value for name, value in wanted.items()):
        return
    for name, value in wanted.items():
        widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def dynamic_property(widget: QWidget, name: str) -> object:
    """`widget.property(name)`, or None when it was never set. PySide6 (6.x) answers an unset property
    with a False it does not own: enough such calls drive False's reference count to zero and crash the
    interpreter (seen at exit after a few thousand), so an unset property is never asked for."""
    if name.encode() not in (bytes(n.data()) for n in widget.dynamicPropertyNames()):
        return None
    return widget.property(name)


def label(text: str = "", role: str = "", *, wrap: bool = True, center: bool = False, name: str = "") -> QLabel:
    """A styled label; a screen's heading (role "title") is its `title` element for the automation port."""
    widget = QLabel(text)
    if name or role == "title":
        widget.setObjectName(name or "title")
    widget.setWordWrap(wrap)
    if role:
        set_role(widget, role)
    if center:
        widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def button(text: str = "", role: str = "", name: str = "", kind: type[QPushButton] = QPushButton) -> QPushButton:
    widget = kind(text)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # touch screen: no focus rectangles
    if role:
        set_role(widget, role)
    if name:
        widget.setObjectName(name)
    return widget


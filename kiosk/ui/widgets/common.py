"""Small helpers for styled widgets (QSS roles via dynamic properties)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget


def set_role(widget: QWidget, role: str, **props: object) -> None:
    """Set the QSS `role` (and other dynamic properties) and re-apply the style."""
    widget.setProperty("role", role)
    for name, value in props.items():
        widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def label(text: str = "", role: str = "", *, wrap: bool = True, center: bool = False) -> QLabel:
    widget = QLabel(text)
    widget.setWordWrap(wrap)
    if role:
        set_role(widget, role)
    if center:
        widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def button(text: str = "", role: str = "", name: str = "") -> QPushButton:
    widget = QPushButton(text)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # touch screen: no focus rectangles
    if role:
        set_role(widget, role)
    if name:
        widget.setObjectName(name)
    return widget

"""Icons from assets/icons (SVG), drawn at the size a screen asks for."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from kiosk.assets import ICONS_DIR


def icon(name: str, width: int) -> QPixmap:
    """`<name>.svg` as a pixmap `width` px wide, its aspect ratio kept."""
    renderer = QSvgRenderer(str(ICONS_DIR / f"{name}.svg"))
    if not renderer.isValid():
        raise FileNotFoundError(f"no usable icon {ICONS_DIR / name}.svg")
    size = renderer.defaultSize()
    pixmap = QPixmap(width, round(width * size.height() / size.width()))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return pixmap


def id_card_icon(width: int = 420) -> QPixmap:
    """A resident ID card lying on a reader pad, in the theme's blue."""
    return icon("id-card", width)

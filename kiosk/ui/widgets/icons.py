"""Static icons drawn with QPainter (no image files, no animation): the ID card on the reader."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap


def id_card_icon(width: int = 420) -> QPixmap:
    """A resident ID card lying on a reader pad, in the theme's blue."""
    height = int(width * 0.72)
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    blue, light = QColor("#0b4f8a"), QColor("#dbe8f5")
    # the reader pad
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#9aa5b1"))
    p.drawRoundedRect(QRectF(0, height * 0.55, width, height * 0.42), 24, 24)
    # the card
    card = QRectF(width * 0.12, height * 0.05, width * 0.76, height * 0.6)
    p.setBrush(light)
    p.setPen(QPen(blue, 6))
    p.drawRoundedRect(card, 18, 18)
    # photo box and text lines
    p.setBrush(QColor("#ffffff"))
    p.drawRect(
        QRectF(card.right() - card.width() * 0.3, card.top() + 24, card.width() * 0.22, card.height() * 0.6)
    )
    p.setPen(QPen(blue, 10, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    for i in range(4):
        y = card.top() + 40 + i * card.height() * 0.17
        p.drawLine(
            int(card.left() + 30), int(y), int(card.left() + card.width() * (0.55 - 0.08 * (i % 2))), int(y)
        )
    # a down arrow onto the pad
    p.setPen(QPen(QColor("#137333"), 12, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    cx = width * 0.5
    p.drawLine(int(cx), int(height * 0.7), int(cx), int(height * 0.9))
    p.drawLine(int(cx - 28), int(height * 0.82), int(cx), int(height * 0.92))
    p.drawLine(int(cx + 28), int(height * 0.82), int(cx), int(height * 0.92))
    p.end()
    return pixmap

"""A QR code as a pixmap, drawn from the code's module matrix (no image library between)."""

from __future__ import annotations

import qrcode
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPixmap

QUIET_MODULES = 4


def qr_pixmap(content: str, size_px: int = 420) -> QPixmap:
    """`content` as a black-on-white QR about `size_px` wide, with the quiet zone a phone needs."""
    code = qrcode.QRCode(border=QUIET_MODULES, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(content)
    code.make(fit=True)
    matrix = code.get_matrix()
    module = max(1, size_px // len(matrix))
    pixmap = QPixmap(module * len(matrix), module * len(matrix))
    pixmap.fill(QColor("white"))
    painter = QPainter(pixmap)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("black"))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                painter.drawRect(x * module, y * module, module, module)
    painter.end()
    return pixmap

"""Shared test settings: Qt offscreen, and no test reads /etc/kiosk."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

"""Helpers shared by the test modules (imported as `kiosk_test_support`, see tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes (bounded); the caller asserts the result."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()

"""The voice prompts: what the kiosk said (or, with voice off, would have said), the last 50 in order.

The main window records each screen's heading when the screen is shown; the voice engine, when it
comes, feeds the same log with what it actually speaks (`muted=False`). Thread-safe: the automation
port reads it from its own thread.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

KEEP = 50


@dataclass(frozen=True)
class Prompt:
    text: str
    lang: str
    at: str
    """When it was (or would have been) said, ISO 8601 local time."""
    muted: bool


class PromptLog:
    def __init__(self) -> None:
        self._prompts: deque[Prompt] = deque(maxlen=KEEP)
        self._lock = threading.Lock()

    def say(self, text: str, lang: str, muted: bool) -> None:
        if not text:
            return
        with self._lock:
            self._prompts.append(Prompt(text, lang, dt.datetime.now().isoformat(timespec="milliseconds"), muted))

    def recent(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(p) for p in self._prompts]

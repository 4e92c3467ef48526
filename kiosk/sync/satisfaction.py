"""The satisfaction tally: how many of each rating each task got, since `since`, kept in a small JSON file.

The HIS gets the whole tally with every heartbeat (cumulative counts, so a heartbeat lost or sent twice
changes nothing); no time of a single rating and nothing about the patient leaves the kiosk. The file
is written off the GUI thread (by the periodic metrics export) and read once at start.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path
from typing import Any

from kiosk.atomic_file import write_atomically
from kiosk.domain.satisfaction import Rating

log = logging.getLogger(__name__)


class SatisfactionTally:
    """Thread-safe counts per (task, rating); `path` None keeps them in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._dirty = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            counts = {str(task): {Rating(r).value: int(n) for r, n in by_rating.items()}
                      for task, by_rating in saved["counts"].items()}
            self._since, self._counts = str(saved["since"]), counts
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("satisfaction tally unreadable, starting a new one", extra={"path": str(path), "error": str(exc)})

    def record(self, task: str, rating: Rating) -> None:
        with self._lock:
            by_rating = self._counts.setdefault(task, {})
            by_rating[rating.value] = by_rating.get(rating.value, 0) + 1
            self._dirty = True

    def snapshot(self) -> dict[str, Any]:
        """`{"since": ISO, "counts": {task: {rating: n}}}`, every rating of a counted task present."""
        with self._lock:
            counts = {task: {r.value: by_rating.get(r.value, 0) for r in Rating}
                      for task, by_rating in sorted(self._counts.items())}
            return {"since": self._since, "counts": counts}

    def save(self) -> None:
        """Write the file when something changed since the last save (a worker thread calls this)."""
        if self.path is None:
            return
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
        write_atomically(self.path, json.dumps(self.snapshot(), ensure_ascii=False) + "\n")

"""The server's injected clock: real time by default, settable in test mode (it runs on from there)."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo


class Clock:
    """Aware datetimes in the hospital's time zone; ``set`` shifts it, time keeps running."""

    def __init__(self, timezone: str = "Asia/Shanghai", now: dt.datetime | None = None) -> None:
        self.tz = ZoneInfo(timezone)
        self._offset = dt.timedelta(0)
        self._lock = threading.Lock()
        if now is not None:
            self.set(now)

    def now(self) -> dt.datetime:
        with self._lock:
            offset = self._offset
        return (dt.datetime.now(dt.UTC) + offset).astimezone(self.tz)

    def local(self) -> dt.datetime:
        """Now as a naive hospital-local datetime (how the database stores times)."""
        return self.now().replace(tzinfo=None, microsecond=0)

    def today(self) -> dt.date:
        return self.now().date()

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        with self._lock:
            self._offset = when - dt.datetime.now(dt.UTC)

    def aware(self, naive_local: dt.datetime) -> dt.datetime:
        return naive_local.replace(tzinfo=self.tz)

    def iso(self, naive_local: dt.datetime) -> str:
        """ISO 8601 with the hospital's offset, e.g. 2026-11-23T08:30:00+08:00."""
        return self.aware(naive_local).isoformat(timespec="seconds")

"""The transaction journal: every booking or money step is written here before it is attempted.

SQLite in WAL mode with `synchronous=FULL`, so a record survives a power cut the moment `record()`
returns. Each entry walks intent → performed → confirmed (or failed / reversed); its key is also the
Idempotency-Key sent to the HIS, so a retry after a crash can never take effect twice. Entries keep
only what reconciliation needs: ids, amounts, references — never names or ID numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class EntryState(str, Enum):
    INTENT = "intent"
    PERFORMED = "performed"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    REVERSED = "reversed"


OPEN_STATES = (EntryState.INTENT, EntryState.PERFORMED)


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    kind: str
    state: EntryState
    payload: dict[str, Any]
    outcome: dict[str, Any]
    created_at: str
    updated_at: str

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_open ON entries(state) WHERE state IN ('intent', 'performed');
"""

# A state may only move forward; a replayed or late update never rewinds a settled entry.
_ALLOWED = {
    EntryState.INTENT: {EntryState.PERFORMED, EntryState.CONFIRMED, EntryState.FAILED},
    EntryState.PERFORMED: {EntryState.CONFIRMED, EntryState.FAILED, EntryState.REVERSED},
    EntryState.CONFIRMED: {EntryState.REVERSED},
    EntryState.FAILED: set(),
    EntryState.REVERSED: set(),
}


class JournalError(Exception):
    pass


class Journal:
    """A durable, thread-safe outbox of intents. One Journal per kiosk process."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @staticmethod
    def _now() -> str:
        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

    def record(self, kind: str, payload: dict[str, Any], key: str | None = None) -> Entry:
        """Write an intent before the step is attempted; returns it with its idempotency key."""
        key = key or str(uuid.uuid4())
        now = self._now()
        with self._lock:
            self._db.execute(
                "INSERT INTO entries(key, kind, state, payload, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                (key, kind, EntryState.INTENT.value, json.dumps(payload, ensure_ascii=False), now, now),
            )
        return self.get(key)

    def advance(self, key: str, state: EntryState, outcome: dict[str, Any] | None = None) -> Entry:
        """Move an entry forward (performed / confirmed / failed / reversed), merging `outcome` in."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT state, outcome FROM entries WHERE key=?", (key,)).fetchone()
                if row is None:
                    raise JournalError(f"no journal entry {key}")
                current = EntryState(row[0])
                if state != current and state not in _ALLOWED[current]:
                    raise JournalError(f"entry {key}: cannot go from {current.value} to {state.value}")
                merged = {**json.loads(row[1]), **(outcome or {})}
                self._db.execute(
                    "UPDATE entries SET state=?, outcome=?, updated_at=? WHERE key=?",
                    (state.value, json.dumps(merged, ensure_ascii=False), self._now(), key),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.get(key)

    def get(self, key: str) -> Entry:
        with self._lock:
            row = self._db.execute(
                "SELECT key, kind, state, payload, outcome, created_at, updated_at FROM entries WHERE key=?",
                (key,),
            ).fetchone()
        if row is None:
            raise JournalError(f"no journal entry {key}")
        return _entry(row)

    def open_entries(self) -> list[Entry]:
        """Entries whose outcome is not settled, oldest first: what recovery must resolve."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, kind, state, payload, outcome, created_at, updated_at FROM entries "
                "WHERE state IN ('intent', 'performed') ORDER BY created_at, rowid"
            ).fetchall()
        return [_entry(r) for r in rows]

    def backlog(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM entries WHERE state IN ('intent', 'performed')"
            ).fetchone()
        return int(count)

    def entries(self, kind: str | None = None) -> list[Entry]:
        query = "SELECT key, kind, state, payload, outcome, created_at, updated_at FROM entries"
        params: tuple[str, ...] = ()
        if kind is not None:
            query += " WHERE kind=?"
            params = (kind,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at, rowid", params).fetchall()
        return [_entry(r) for r in rows]


def _entry(row: tuple[Any, ...]) -> Entry:
    key, kind, state, payload, outcome, created, updated = row
    return Entry(key, kind, EntryState(state), json.loads(payload), json.loads(outcome), created, updated)

"""The transaction journal: every booking or money step is written here before it is attempted.

SQLite in WAL mode with `synchronous=FULL`, so a record survives a power cut the moment `record()`
returns. Each entry walks intent → performed → confirmed (or failed / reversed); its key is also the
Idempotency-Key sent to the HIS, so a retry after a crash can never take effect twice. An unknown
outcome (no answer) leaves the entry open — `note()` records why — until a query settles it; it is
never written as failed. Entries keep only what reconciliation needs: ids, amounts, references —
never names or ID numbers.

Every entry has an owner, so two actors never settle the same entry: the live session that wrote it
(`session()` names one; its lease is renewed by each of its writes), or recovery, which `claim()`s
only entries whose session has released them, whose lease ran out, or which an earlier process left.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
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
    owner: str | None = None
    group: str | None = None
    """Entries of one transaction share a group (a payment's steps and their undos)."""

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
    updated_at TEXT NOT NULL,
    owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    grp TEXT
);
CREATE INDEX IF NOT EXISTS entries_open ON entries(state) WHERE state IN ('intent', 'performed');
"""
# Journals written before entries had owners: the columns are added, their open entries are unowned.
_OWNER_COLUMNS = ("owner TEXT", "lease_until REAL NOT NULL DEFAULT 0", "grp TEXT")
_COLUMNS = "key, kind, state, payload, outcome, created_at, updated_at, owner, grp"
LEASE_S = 300.0
"""How long a session's entries stay its own after its last write: longer than the slowest step
(a card payment's T4 of 120 s plus the HIS's timeouts), so recovery never takes a step still running."""

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


class NotOwner(JournalError):
    """The entry belongs to another actor (recovery took it over): this one must not settle it."""


WriteObserver = Callable[[str, EntryState], None]
"""Told (kind, state) after each write is durable: the step boundaries a fault-injection hook kills at."""


class Journal:
    """A durable, thread-safe outbox of intents. One Journal per kiosk process."""

    def __init__(
        self, path: Path | str, lease_s: float = LEASE_S, clock: Callable[[], float] = time.time,
        on_write: WriteObserver | None = None,
    ) -> None:
        self.path = str(path)
        self._on_write = on_write
        self.lease_s = lease_s
        self._clock = clock
        self.instance = uuid.uuid4().hex[:12]
        """This process's id: every owner it names starts with it, so the next start knows them as gone."""
        self.recovery_owner = f"{self.instance}/recovery"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        for column in _OWNER_COLUMNS:
            if column.split()[0] not in present:
                self._db.execute(f"ALTER TABLE entries ADD COLUMN {column}")
        self._db.execute("CREATE INDEX IF NOT EXISTS entries_group ON entries(grp) WHERE grp IS NOT NULL")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @staticmethod
    def _now() -> str:
        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

    def session(self) -> str:
        """A new owner name for one patient session of this process."""
        return f"{self.instance}/{uuid.uuid4().hex[:12]}"

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        key: str | None = None,
        owner: str | None = None,
        group: str | None = None,
    ) -> Entry:
        """Write an intent before the step is attempted; returns it with its idempotency key.

        `owner` (a `session()`) keeps recovery away while the session's lease lasts; None leaves
        the entry to recovery at once."""
        key = key or str(uuid.uuid4())
        now = self._now()
        with self._lock:
            self._db.execute(
                "INSERT INTO entries(key, kind, state, payload, created_at, updated_at, owner, lease_until, grp) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (key, kind, EntryState.INTENT.value, json.dumps(payload, ensure_ascii=False), now, now,
                 owner, self._lease(owner), group),
            )
        self._wrote(kind, EntryState.INTENT)
        return self.get(key)

    def advance(
        self, key: str, state: EntryState, outcome: dict[str, Any] | None = None, owner: str | None = None
    ) -> Entry:
        """Move an entry forward (performed / confirmed / failed / reversed), merging `outcome` in.

        With `owner`, NotOwner unless the entry is that owner's (it renews the owner's lease)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT state, outcome, owner FROM entries WHERE key=?", (key,)
                ).fetchone()
                if row is None:
                    raise JournalError(f"no journal entry {key}")
                current = EntryState(row[0])
                if owner is not None and row[2] != owner and current in OPEN_STATES:
                    raise NotOwner(f"entry {key} belongs to {row[2]}, not {owner}")
                if state != current and state not in _ALLOWED[current]:
                    raise JournalError(f"entry {key}: cannot go from {current.value} to {state.value}")
                merged = {**json.loads(row[1]), **(outcome or {})}
                self._db.execute(
                    "UPDATE entries SET state=?, outcome=?, updated_at=? WHERE key=?",
                    (state.value, json.dumps(merged, ensure_ascii=False), self._now(), key),
                )
                if owner is not None:
                    self._renew(owner)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        entry = self.get(key)
        self._wrote(entry.kind, state)
        return entry

    def _wrote(self, kind: str, state: EntryState) -> None:
        if self._on_write is not None:
            self._on_write(kind, state)

    def note(self, key: str, outcome: dict[str, Any], owner: str | None = None) -> Entry:
        """Merge facts into an entry without moving it (e.g. why its outcome is still unknown)."""
        return self.advance(key, self.get(key).state, outcome, owner)

    def release(self, owner: str) -> int:
        """The session ended: its open entries go to recovery now, not when the lease runs out."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE entries SET lease_until=0 WHERE owner=? AND state IN ('intent', 'performed')", (owner,)
            )
        return cursor.rowcount

    def claim(self, owner: str | None = None) -> list[Entry]:
        """Take over, for recovery, every open entry no live session holds; returns recovery's open
        entries, oldest first. Held means: owned by a session of this process whose lease runs."""
        owner = owner or self.recovery_owner
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "UPDATE entries SET owner=?, lease_until=0 WHERE state IN ('intent', 'performed') "
                    "AND (owner IS NULL OR lease_until < ? OR substr(owner, 1, ?) != ?) AND owner IS NOT ?",
                    (owner, self._clock(), len(self.instance) + 1, f"{self.instance}/", owner),
                )
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM entries WHERE owner=? AND state IN ('intent', 'performed') "
                    "ORDER BY created_at, rowid",
                    (owner,),
                ).fetchall()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return [_entry(r) for r in rows]

    def _lease(self, owner: str | None) -> float:
        return self._clock() + self.lease_s if owner is not None else 0.0

    def _renew(self, owner: str) -> None:
        self._db.execute(
            "UPDATE entries SET lease_until=? WHERE owner=? AND lease_until > 0 "
            "AND state IN ('intent', 'performed')",
            (self._lease(owner), owner),
        )

    def get(self, key: str) -> Entry:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM entries WHERE key=?", (key,)).fetchone()
        if row is None:
            raise JournalError(f"no journal entry {key}")
        return _entry(row)

    def open_entries(self) -> list[Entry]:
        """Entries whose outcome is not settled, oldest first: what recovery must resolve."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE state IN ('intent', 'performed') ORDER BY created_at, rowid"
            ).fetchall()
        return [_entry(r) for r in rows]

    def group(self, group: str) -> list[Entry]:
        """Every entry of one transaction, open or settled, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE grp=? ORDER BY created_at, rowid", (group,)
            ).fetchall()
        return [_entry(r) for r in rows]

    def backlog(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM entries WHERE state IN ('intent', 'performed')"
            ).fetchone()
        return int(count)

    def entries(self, kind: str | None = None) -> list[Entry]:
        query = f"SELECT {_COLUMNS} FROM entries"
        params: tuple[str, ...] = ()
        if kind is not None:
            query += " WHERE kind=?"
            params = (kind,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at, rowid", params).fetchall()
        return [_entry(r) for r in rows]


def _entry(row: tuple[Any, ...]) -> Entry:
    key, kind, state, payload, outcome, created, updated, owner, group = row
    return Entry(
        key, kind, EntryState(state), json.loads(payload), json.loads(outcome), created, updated, owner, group
    )

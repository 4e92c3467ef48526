"""Recovery's schedule: take over every open journal entry no live session holds and hand it to the
settler of its kind, at start (before the home screen) and every 30 s.

How an entry is settled — ask the terminal by REF, replay the HIS call with the same key, read the
QR order — is task knowledge and lives in the flows (`kiosk.flows.*_recovery`); the composition root
hands the settlers in. This module knows only the journal, so sync never imports flows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kiosk.sync.journal import Entry, EntryState, Journal

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    confirmed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Closed without effect: refused, or undone."""
    pending: list[str] = field(default_factory=list)
    """Still open: nobody could answer; the next pass asks again."""
    blocked: set[str] = field(default_factory=set)
    """Tasks that must stay closed until their pending entries settle (e.g. {"payment"})."""

    def count(self, entry: Entry) -> None:
        """A transaction's own entry as it stands after a pass: open, completed, or closed without effect."""
        if entry.open:
            self.pending.append(entry.key)
        elif entry.state is EntryState.CONFIRMED:
            self.confirmed.append(entry.key)
        else:
            self.failed.append(entry.key)

    def merge(self, other: RecoveryReport) -> None:
        self.confirmed += other.confirmed
        self.failed += other.failed
        self.pending += other.pending
        self.blocked |= other.blocked


class Settler(Protocol):
    kinds: frozenset[str]

    def settle(self, entries: list[Entry], owner: str) -> RecoveryReport:
        """Settle recovery's open entries of `kinds` (oldest first), writing as `owner`."""


class Recovery:
    """One recovery actor per kiosk process; `run()` is one pass, safe to call from any thread."""

    def __init__(self, journal: Journal, settlers: Sequence[Settler]) -> None:
        self.journal = journal
        self.settlers = list(settlers)
        self._lock = threading.Lock()
        self._blocked: frozenset[str] = frozenset()

    @property
    def blocked(self) -> frozenset[str]:
        """Tasks closed until an unsettled entry of theirs can be settled (the home screen reads this)."""
        return self._blocked

    def run(self) -> RecoveryReport:
        with self._lock:
            entries = self.journal.claim()
            report = RecoveryReport()
            handled: set[str] = set()
            for settler in self.settlers:
                mine = [e for e in entries if e.kind in settler.kinds]
                handled |= {e.key for e in mine}
                if mine:
                    report.merge(settler.settle(mine, self.journal.recovery_owner))
            for entry in entries:
                if entry.key not in handled:
                    log.error("journal entry of unknown kind left open", extra={"key": entry.key, "kind": entry.kind})
                    report.pending.append(entry.key)
            self._blocked = frozenset(report.blocked)
        if entries:
            log.info("recovery pass", extra={"confirmed": len(report.confirmed), "failed": len(report.failed),
                                             "pending": len(report.pending), "blocked": ",".join(report.blocked)})
        return report

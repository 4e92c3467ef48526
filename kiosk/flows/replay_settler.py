"""Recovery for journaled HIS writes: replay each open entry with its own key, so the HIS answers a
step it already took with its stored answer and never takes it twice. A settler names its kinds and
how to replay each; done, refused and unknown close, fail or keep the entry (`kiosk.domain.outcome`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import ClassVar

from kiosk.domain.errors import HisUnavailable, KioskError
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.flows.services import HisApi
from kiosk.sync.journal import Entry, EntryState, Journal
from kiosk.sync.recovery import RecoveryReport

log = logging.getLogger(__name__)

Replay = Callable[[Entry, HisApi], dict[str, str]]
"""Repeat the entry's HIS call with `entry.key`; the facts to record on the entry."""


class ReplaySettler:
    replays: ClassVar[Mapping[str, Replay]] = {}

    def __init__(self, journal: Journal, his: HisApi) -> None:
        self.journal, self.his = journal, his

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.replays)

    def settle(self, entries: list[Entry], owner: str) -> RecoveryReport:
        report = RecoveryReport()
        for index, entry in enumerate(entries):
            try:
                outcome = self.replays[entry.kind](entry, self.his)
            except HisUnavailable:
                # The link is down: the rest would only wait for the same timeout, one by one.
                report.pending.extend(e.key for e in entries[index:])
                break
            except KioskError as exc:
                if outcome_of(exc) is Outcome.UNKNOWN:
                    report.pending.append(entry.key)
                    continue
                code = getattr(exc, "code", type(exc).__name__)
                self.journal.advance(entry.key, EntryState.FAILED, {"code": code, "recovered": "yes"}, owner)
                report.failed.append(entry.key)
                log.warning("recovery: the HIS refused a journaled step",
                            extra={"key": entry.key, "kind": entry.kind, "code": code})
                continue
            self.journal.advance(entry.key, EntryState.CONFIRMED, {**outcome, "recovered": "yes"}, owner)
            report.confirmed.append(entry.key)
        return report

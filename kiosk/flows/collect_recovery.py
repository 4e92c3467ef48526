"""Settles collect entries a session left open: replay 取号 with the entry's own key, so the HIS
answers a collection it already made with its stored answer and never collects twice."""

from __future__ import annotations

import logging

from kiosk.domain.errors import HisUnavailable, KioskError
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.flows.collect import JOURNAL_KIND
from kiosk.flows.services import HisApi
from kiosk.sync.journal import Entry, EntryState, Journal
from kiosk.sync.recovery import RecoveryReport

log = logging.getLogger(__name__)


class CollectSettler:
    kinds = frozenset({JOURNAL_KIND})

    def __init__(self, journal: Journal, his: HisApi) -> None:
        self.journal, self.his = journal, his

    def settle(self, entries: list[Entry], owner: str) -> RecoveryReport:
        report = RecoveryReport()
        for index, entry in enumerate(entries):
            try:
                collected = self.his.collect(entry.payload["appointment_id"], entry.payload["patient_id"], entry.key)
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
                log.warning("recovery: the HIS refused a journaled collection", extra={"key": entry.key, "code": code})
                continue
            self.journal.advance(
                entry.key, EntryState.CONFIRMED, {"queue_number": collected.queue_number, "recovered": "yes"}, owner
            )
            report.confirmed.append(entry.key)
        return report

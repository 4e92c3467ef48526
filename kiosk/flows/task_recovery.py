"""Settles the entries 预约挂号, 报到 and 退号 sessions left open: each HIS write is replayed with the
entry's own key, so the HIS answers one it already took with its stored answer and never takes it
twice. A reprint's entry only counts it: nothing to ask."""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.domain.errors import HisUnavailable, KioskError
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.flows.book import JOURNAL_KIND as BOOK
from kiosk.flows.cancel import CANCEL_KIND as CANCEL
from kiosk.flows.checkin import JOURNAL_KIND as CHECKIN
from kiosk.flows.lookup import REPRINT_KIND as REPRINT
from kiosk.flows.services import HisApi
from kiosk.sync.journal import Entry, EntryState, Journal
from kiosk.sync.recovery import RecoveryReport

log = logging.getLogger(__name__)

Replay = Callable[[Entry, HisApi], dict[str, str]]


def _book(entry: Entry, his: HisApi) -> dict[str, str]:
    appointment = his.book(entry.payload["hold_id"], entry.payload["pay_now"] == "true", entry.key)
    return {"appointment_id": appointment.id}


def _checkin(entry: Entry, his: HisApi) -> dict[str, str]:
    return {"queue_number": his.checkin(entry.payload["appointment_id"], entry.key).queue_number}


def _cancel(entry: Entry, his: HisApi) -> dict[str, str]:
    return {"refund_fen": str(his.cancel_appointment(entry.payload["appointment_id"], entry.key).fen)}


def _reprint(_entry: Entry, _his: HisApi) -> dict[str, str]:
    return {}


REPLAYS: dict[str, Replay] = {BOOK: _book, CHECKIN: _checkin, CANCEL: _cancel, REPRINT: _reprint}


class TaskSettler:
    kinds = frozenset(REPLAYS)

    def __init__(self, journal: Journal, his: HisApi) -> None:
        self.journal, self.his = journal, his

    def settle(self, entries: list[Entry], owner: str) -> RecoveryReport:
        report = RecoveryReport()
        for index, entry in enumerate(entries):
            try:
                outcome = REPLAYS[entry.kind](entry, self.his)
            except HisUnavailable:
                report.pending.extend(e.key for e in entries[index:])  # the link is down: ask later
                break
            except KioskError as exc:
                if outcome_of(exc) is Outcome.UNKNOWN:
                    report.pending.append(entry.key)
                    continue
                code = getattr(exc, "code", type(exc).__name__)
                self.journal.advance(entry.key, EntryState.FAILED, {"code": code, "recovered": "yes"}, owner)
                report.failed.append(entry.key)
                log.warning("recovery: the HIS refused a journaled step", extra={"key": entry.key, "code": code})
                continue
            self.journal.advance(entry.key, EntryState.CONFIRMED, {**outcome, "recovered": "yes"}, owner)
            report.confirmed.append(entry.key)
        return report

"""Recovery: resolve every open journal entry, at start (before the home screen) and whenever the HIS
link returns. An entry is replayed with its own key, so the HIS answers a step it already took with
the stored response and never takes it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.domain.errors import HisRefused, HisUnavailable, KioskError
from kiosk.flows.book import JOURNAL_KIND as BOOK
from kiosk.flows.cancel import CANCEL_KIND as CANCEL
from kiosk.flows.checkin import JOURNAL_KIND as CHECKIN
from kiosk.flows.collect import JOURNAL_KIND as COLLECT
from kiosk.flows.lookup import REPRINT_KIND as REPRINT
from kiosk.flows.services import HisApi
from kiosk.sync.journal import Entry, EntryState, Journal

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    confirmed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    """Entries still open: the HIS did not answer; the next pass tries again."""


def _replay_collect(entry: Entry, his: HisApi) -> dict[str, str]:
    collected = his.collect(entry.payload["appointment_id"], entry.payload["patient_id"], entry.key)
    return {"queue_number": collected.queue_number, "recovered": "yes"}


def _replay_book(entry: Entry, his: HisApi) -> dict[str, str]:
    """The booking with its own key: the HIS answers one it made with the stored appointment."""
    appointment = his.book(entry.payload["hold_id"], entry.payload["pay_now"] == "true", entry.key)
    return {"appointment_id": appointment.id, "recovered": "yes"}


def _replay_checkin(entry: Entry, his: HisApi) -> dict[str, str]:
    ticket = his.checkin(entry.payload["appointment_id"], entry.key)
    return {"queue_number": ticket.queue_number, "recovered": "yes"}


def _replay_cancel(entry: Entry, his: HisApi) -> dict[str, str]:
    refund = his.cancel_appointment(entry.payload["appointment_id"], entry.key)
    return {"refund_fen": str(refund.fen), "recovered": "yes"}


def _count_reprint(_entry: Entry, _his: HisApi) -> dict[str, str]:
    """A reprint is counted when its entry is written; the HIS has nothing to say about it."""
    return {"recovered": "yes"}


REPLAYS: dict[str, Callable[[Entry, HisApi], dict[str, str]]] = {
    COLLECT: _replay_collect, BOOK: _replay_book, CHECKIN: _replay_checkin, CANCEL: _replay_cancel,
    REPRINT: _count_reprint,
}


def recover(journal: Journal, his: HisApi) -> RecoveryReport:
    """One pass over the open entries, oldest first; stops at the first sign the HIS is unreachable."""
    report = RecoveryReport()
    entries = journal.open_entries()
    for index, entry in enumerate(entries):
        replay = REPLAYS.get(entry.kind)
        if replay is None:
            log.error("journal entry of unknown kind left open", extra={"key": entry.key, "kind": entry.kind})
            report.pending.append(entry.key)
            continue
        try:
            outcome = replay(entry, his)
        except HisUnavailable:
            # The link is down: the rest would only wait for the same timeout, one by one.
            report.pending.extend(e.key for e in entries[index:])
            break
        except HisRefused as exc:
            journal.advance(entry.key, EntryState.FAILED, {"code": exc.code, "recovered": "yes"})
            report.failed.append(entry.key)
            log.warning("recovery: the HIS refused a journaled step", extra={"key": entry.key, "code": exc.code})
            continue
        except KioskError as exc:
            log.warning("recovery: entry left open", extra={"key": entry.key, "error": type(exc).__name__})
            report.pending.append(entry.key)
            continue
        journal.advance(entry.key, EntryState.CONFIRMED, outcome)
        report.confirmed.append(entry.key)
    if report.confirmed or report.failed or report.pending:
        log.info("recovery pass", extra={"confirmed": len(report.confirmed), "failed": len(report.failed),
                                         "pending": len(report.pending)})
    return report

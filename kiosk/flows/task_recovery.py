"""Settles the entries 预约挂号, 报到 and 退号 sessions left open: each HIS write is replayed with the
entry's own key, so the HIS answers one it already took with its stored answer and never takes it
twice. A reprint's entry only counts it: nothing to ask."""

from __future__ import annotations

from kiosk.flows.book import JOURNAL_KIND as BOOK
from kiosk.flows.cancel import CANCEL_KIND as CANCEL
from kiosk.flows.checkin import JOURNAL_KIND as CHECKIN
from kiosk.flows.lookup import REPRINT_KIND as REPRINT
from kiosk.flows.replay_settler import Replay, ReplaySettler
from kiosk.flows.services import HisApi
from kiosk.sync.journal import Entry


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


class TaskSettler(ReplaySettler):
    replays = REPLAYS

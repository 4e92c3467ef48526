"""Settles collect entries a session left open: replay 取号 with the entry's own key, so the HIS
answers a collection it already made with its stored answer and never collects twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from kiosk.flows.collect import JOURNAL_KIND
from kiosk.flows.replay_settler import Replay, ReplaySettler
from kiosk.flows.services import HisApi
from kiosk.sync.journal import Entry


def _collect(entry: Entry, his: HisApi) -> dict[str, str]:
    collected = his.collect(entry.payload["appointment_id"], entry.payload["patient_id"], entry.key)
    return {"queue_number": collected.queue_number}


class CollectSettler(ReplaySettler):
    replays: ClassVar[Mapping[str, Replay]] = {JOURNAL_KIND: _collect}

"""Finishes refund transactions (退号 of a paid booking) a session left open — a crash, a kill, a terminal
or HIS that did not answer — by driving the same `RefundProcess` forward from the journal: each open
step settled by asking (the HIS by replaying its key, the terminal by querying the REF), then what is
missing done (the cancellation, the HIS's claim, the void or refund on the terminal). A cancellation
the HIS refuses closes the transaction with nothing moved; what nobody can answer now waits for the
next pass. The patient is never refunded twice: a new terminal attempt only follows attempts known
not to have given money back."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from kiosk.devices.ports import PaymentTerminal
from kiosk.domain.errors import KioskError
from kiosk.flows.refund import KINDS, RefundHis, RefundProcess, RefundSteps
from kiosk.sync.journal import Entry, Journal
from kiosk.sync.recovery import RecoveryReport

log = logging.getLogger(__name__)


class RefundSettler:
    kinds = KINDS

    def __init__(self, journal: Journal, his: RefundHis, terminal: PaymentTerminal | None, kiosk_id: str,
                 today: Callable[[], dt.date]) -> None:
        self.journal, self.his, self.terminal, self.kiosk_id, self.today = journal, his, terminal, kiosk_id, today

    def settle(self, entries: list[Entry], owner: str) -> RecoveryReport:
        report = RecoveryReport()
        for group in dict.fromkeys(e.group or e.key for e in entries):
            steps = RefundSteps(self.journal, self.his, self.terminal, owner, group, self.kiosk_id)  # type: ignore[arg-type]
            try:
                RefundProcess(steps, self.today(), attempts=1, query_retries=1).run()
            except KioskError as exc:
                log.warning("recovery: refund left open", extra={"group": group, "error": type(exc).__name__})
            report.count(self.journal.get(group))
        return report

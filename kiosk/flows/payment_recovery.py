"""Settles payment transactions a session left open (crash, kill, power cut, a patient who walked away).

Per transaction (journal group), oldest first:
1. every open step is settled by asking: a sale or void by its REF (ECR 04); a HIS call by replaying
   it with its own key (the HIS answers what it already did and does nothing twice); a QR order by id
   (still pending → cancelled; paid meanwhile → paid).
2. then the transaction is completed or undone: recorded (or a paid QR order) → complete; otherwise
   every effect is undone, each undo journaled — the sale voided, the pre-settlement cancelled, and a
   HIS record that arrived after its sale was voided is reversed. A charge whose record was never
   even attempted is voided, never recorded behind the patient's back.
A step nobody can answer now (terminal offline, HIS down) leaves the transaction open and closes the
`payment` task until a later pass settles it.
"""

from __future__ import annotations

import logging

from kiosk.devices.ports import PaymentTerminal
from kiosk.domain.errors import KioskError
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.domain.payment import QrStatus
from kiosk.flows.payment_steps import (
    KINDS,
    PRESETTLE,
    PRESETTLE_CANCEL,
    QR,
    QR_CANCEL,
    RECORD,
    REVERSE,
    SALE,
    TXN,
    VOID,
    PaymentHis,
    Steps,
    StepUnknown,
)
from kiosk.sync.journal import Entry, EntryState, Journal
from kiosk.sync.recovery import RecoveryReport

log = logging.getLogger(__name__)

TASK = "payment"
"""The task recovery closes while a payment cannot be settled."""


class PaymentSettler:
    kinds = KINDS

    def __init__(self, journal: Journal, his: PaymentHis, terminal: PaymentTerminal | None, kiosk_id: str) -> None:
        self.journal, self.his, self.terminal, self.kiosk_id = journal, his, terminal, kiosk_id

    def settle(self, entries: list[Entry], owner: str) -> RecoveryReport:
        report = RecoveryReport()
        groups = list(dict.fromkeys(e.group for e in entries if e.group))
        for entry in entries:
            if not entry.group:
                log.error("payment entry without a transaction left open", extra={"key": entry.key})
                report.pending.append(entry.key)
        for group in groups:
            report.merge(self._settle(Steps(self.journal, self.his, self.terminal, owner, group, self.kiosk_id)))
        if report.pending:
            report.blocked.add(TASK)
        return report

    def _settle(self, steps: Steps) -> RecoveryReport:
        report = RecoveryReport()
        try:
            for entry in self.journal.group(steps.group):
                if entry.open and entry.kind != TXN:
                    self._ask(steps, entry)
            self._finish(steps)
        except KioskError as exc:
            log.warning("recovery: payment left open", extra={"group": steps.group, "error": type(exc).__name__})
        for entry in self.journal.group(steps.group):
            if entry.kind == TXN:
                report.count(entry)
        return report

    # --- 1. settle each open step by asking ------------------------------------------------------
    def _ask(self, steps: Steps, entry: Entry) -> None:
        try:
            if entry.kind in (SALE, VOID):
                steps.settle_by_query(entry)
            elif entry.kind == QR:
                self._settle_qr(steps, entry)
            else:
                steps.replay(entry)
        except KioskError as exc:
            if isinstance(exc, StepUnknown) or outcome_of(exc) is Outcome.UNKNOWN:
                raise
            # a refusal: attempt() has closed the entry as FAILED

    def _settle_qr(self, steps: Steps, entry: Entry) -> None:
        order_id = entry.outcome.get("order_id")
        order = self.his.qr_order(order_id) if order_id else steps.replay(entry)
        if order.status is QrStatus.PENDING:
            order = steps.cancel_qr(order.id)
        if order.status is QrStatus.PAID and order.payment is not None:
            steps.close(entry.key, EntryState.CONFIRMED, {"status": "paid", "payment_id": order.payment.id,
                                                          "receipt_no": order.payment.receipt_no})
        else:
            steps.close(entry.key, EntryState.FAILED, {"status": order.status.value})

    # --- 2. complete or undo --------------------------------------------------------------------
    def _finish(self, steps: Steps) -> None:
        entries = self.journal.group(steps.group)
        [txn] = [e for e in entries if e.kind == TXN] or [None]
        if txn is None or not txn.open:
            return
        done = {e.key: e for e in entries if e.state is EntryState.CONFIRMED}
        sale = next((e for e in reversed(entries) if e.kind == SALE and e.key in done), None)
        voided = sale is not None and any(
            e.kind == VOID and e.payload.get("orig_ref") == sale.payload["ref"] for e in done.values()
        )
        record = next((e for e in done.values() if e.kind == RECORD), None)
        reversed_ = any(e.kind == REVERSE for e in done.values())
        if record is not None and voided and not reversed_:
            # The HIS recorded a payment whose sale had already been voided: take the record back.
            steps.reverse(record.outcome["payment_id"])
            reversed_ = True
        paid_qr = any(e.kind in (QR, QR_CANCEL) and e.outcome.get("payment_id") for e in done.values())
        if (record is not None and not reversed_) or paid_qr:
            steps.close(txn.key, EntryState.CONFIRMED, {"recovered": "completed"})
            return
        if sale is not None and not voided:
            try:
                steps.void(sale.payload["ref"])
            except StepUnknown as unknown:
                if steps.settle_by_query(self.journal.get(unknown.entry_key)) is None:
                    raise
        presettled = next((e for e in done.values() if e.kind == PRESETTLE), None)
        cancelled = any(e.kind == PRESETTLE_CANCEL for e in done.values())
        if presettled is not None and not cancelled:
            steps.cancel_presettlement(presettled.outcome["presettlement_id"])
        steps.close(txn.key, EntryState.FAILED, {"recovered": "undone"})


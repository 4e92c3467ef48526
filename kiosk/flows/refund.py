"""退费 after 退号: a paid booking is cancelled and its fee goes back the way it came, through the same
journal, steps and outcome rules as the payment engine (`kiosk.flows.payment_steps`).

Order of a refund transaction, each step journaled with its own key BEFORE it happens, all in one
journal group whose own entry (kind `refund`, its key = the group) stays open until every payment of
the booking is given back (or, where only a window can, handed to one):

  1. cancel   POST /appointments/{id}/cancel. First, because a refund without a cancellation would
              give the patient a free visit, and because the HIS refunds only a cancelled booking's
              fee; CANCEL_DEADLINE_PASSED closes the transaction with nothing moved (go to the window).
  2. claim    per payment, POST /payments/{id}/refund: the HIS, the one ledger every channel asks,
              records the refund once (ALREADY_REFUNDED when the cashier's window did it: then
              nothing more here). A QR payment goes back through the HIS's payment platform and the
              insurance parts to the fund and account in this step.
  3. terminal a bank-card payment is given back on the kiosk's terminal: ECR `02` void while the sale
              is in the open batch (paid today), else `03` refund with ORIG_REF; a void the terminal
              refuses (batch settled meanwhile) is followed by a refund.
  4. slip     退费凭条 (the live session only).

Outcomes are done / refused / unknown, unknown settled by asking, never assumed: the HIS steps by
replaying the same key, a terminal step by querying its REF (04). A new terminal attempt (new REF) is
only made once every earlier one is known not to have given money back, so a patient is never refunded
twice. Whatever a session cannot finish stays open: recovery (`kiosk.flows.refund_recovery`) drives
the same `RefundProcess` forward from the journal.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from kiosk.devices.payment import new_reference
from kiosk.devices.ports import PaymentResult
from kiosk.domain.appointment import Appointment
from kiosk.domain.document import Document
from kiosk.domain.errors import (
    DeviceBusy,
    DeviceOffline,
    HisRefused,
    KioskError,
    PaymentLinkFailed,
    UserCancelled,
)
from kiosk.domain.money import Money, total
from kiosk.domain.patient import Patient
from kiosk.domain.payment import PaymentRecord, PayMethod, RefundRecord
from kiosk.flows.payment_steps import Proof, Steps, StepUnknown
from kiosk.flows.receipts import RefundLine, SlipContext, refund_slip
from kiosk.flows.services import Services
from kiosk.sync.journal import Entry, EntryState, Journal

log = logging.getLogger(__name__)

TXN = "refund"
CANCEL = "refund.cancel"
CLAIM = "refund.claim"
VOID = "refund.void"
CARD_REFUND = "refund.card"
KINDS = frozenset({TXN, CANCEL, CLAIM, VOID, CARD_REFUND})
_TERMINAL = (VOID, CARD_REFUND)
_NOT_SENT = (DeviceOffline, DeviceBusy, UserCancelled, PaymentLinkFailed)
"""Refusals that prove the request never reached the terminal: a void refused so was not refused by it."""
_NOT_SENT_CODES = frozenset(getattr(error, "code", None) or error.__name__ for error in _NOT_SENT)
"""How `Steps.attempt` journals them (the error's code, or its name)."""


class RefundHis(Protocol):
    """The HIS calls of a refund (`kiosk.sync.client.HisClient`); tests pass a fake."""

    def cancel_appointment(self, appointment_id: str, idempotency_key: str) -> Money: ...

    def appointment_payments(self, appointment_id: str) -> list[PaymentRecord]: ...

    def refund_payment(self, payment_id: str, amount: Money, idempotency_key: str) -> RefundRecord: ...


class Given(str, Enum):
    """How one payment's refund stands."""

    BACK = "back"
    """The money went back (the platform, the fund, or the terminal approved)."""
    ELSEWHERE = "elsewhere"
    """Another channel (the cashier's window) refunded it already: nothing here."""
    WINDOW = "window"
    """Only a window can give it back (the HIS refuses it here); the patient has a slip."""
    OPEN = "open"
    """Not yet: the terminal refused or did not answer; recovery goes on trying."""


@dataclass(frozen=True, slots=True)
class Due:
    """One payment of the booking to give back, as journaled in the transaction's payload."""

    payment_id: str
    amount: Money
    method: str
    sale_ref: str | None
    paid_on: dt.date

    @classmethod
    def of(cls, payment: PaymentRecord) -> Due:
        return cls(payment.id, payment.amount, payment.method, payment.terminal_ref, payment.paid_at.date())

    def fields(self) -> dict[str, Any]:
        return {"payment_id": self.payment_id, "amount_fen": self.amount.fen, "method": self.method,
                "sale_ref": self.sale_ref, "paid_on": self.paid_on.isoformat()}

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> Due:
        return cls(str(data["payment_id"]), Money(int(data["amount_fen"])), str(data["method"]),
                   data.get("sale_ref"), dt.date.fromisoformat(data["paid_on"]))

    @property
    def on_card(self) -> bool:
        return self.method == PayMethod.BANK_CARD.value and bool(self.sale_ref)


@dataclass(frozen=True, slots=True)
class PaymentBack:
    due: Due
    given: Given
    terminal: PaymentResult | None = None


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The transaction as it stands after a run: every payment's state; `closed` once nothing is open."""

    payments: tuple[PaymentBack, ...]
    closed: bool

    @property
    def due(self) -> Money:
        return total(p.due.amount for p in self.payments)

    @property
    def refunded(self) -> Money:
        return total(p.due.amount for p in self.payments if p.given is Given.BACK)

    @property
    def message_key(self) -> str:
        if any(p.given is Given.OPEN for p in self.payments):
            return "refund.pending"
        if any(p.given is Given.WINDOW for p in self.payments):
            return "refund.manual"
        return "refund.done"


class RefundSteps(Steps):
    """The payment steps plus a refund's: the cancellation, the HIS's claim, the terminal's void/refund."""

    def _his_step(self, kind: str, payload: dict[str, Any]) -> tuple[Callable[[str], Any], Proof, EntryState]:
        his: Any = self.his
        if kind == CANCEL:
            return (lambda key: his.cancel_appointment(payload["appointment_id"], key),
                    lambda money: {"refund_fen": money.fen}, EntryState.CONFIRMED)
        if kind == CLAIM:
            return (lambda key: his.refund_payment(payload["payment_id"], Money(payload["amount_fen"]), key),
                    lambda r: {"refund_id": r.id}, EntryState.CONFIRMED)
        return super()._his_step(kind, payload)

    def new(self, kind: str, payload: dict[str, Any]) -> Any:
        entry = self.journal.record(kind, payload, owner=self.owner, group=self.group)
        self.last_key = entry.key
        return self.replay(entry)

    def give_back(self, kind: str, due: Due) -> PaymentResult:
        """Void (02) or refund (03) the payment's sale on the terminal, under a new REF."""
        assert due.sale_ref is not None
        ref, orig = new_reference(self.kiosk_id), due.sale_ref
        payload = {"ref": ref, "orig_ref": orig, "payment_id": due.payment_id, "amount_fen": due.amount.fen}
        if kind == VOID:
            return self._terminal_step(kind, payload, lambda: self._terminal().void(ref, orig))
        return self._terminal_step(kind, payload, lambda: self._terminal().refund(ref, due.amount, orig))


class RefundProcess:
    """Drives one refund transaction forward from whatever its journal entries say: the live session
    and recovery run the same code. `attempts` bounds new terminal attempts per payment per run."""

    def __init__(self, steps: RefundSteps, today: dt.date, attempts: int = 2, query_retries: int = 3,
                 retry_pause_s: float = 1.0) -> None:
        self.steps, self.journal = steps, steps.journal
        self.today, self.attempts = today, attempts
        self.query_retries, self.retry_pause_s = query_retries, retry_pause_s

    def run(self) -> RefundResult:
        """Raises HisRefused when the booking cannot be cancelled (closed, nothing moved) and StepUnknown
        when the cancellation's outcome is unknown (left open)."""
        txn = self.journal.get(self.steps.group)
        self._cancelled(txn)
        dues = [Due.from_fields(d) for d in txn.payload["payments"]]
        results = tuple(self._give_back(due) for due in dues)
        closed = all(r.given is not Given.OPEN for r in results)
        if closed and self.journal.get(txn.key).open:
            self.steps.close(txn.key, EntryState.CONFIRMED, {"given": ",".join(r.given.value for r in results)})
        return RefundResult(results, closed)

    def _mine(self, kinds: tuple[str, ...], **match: Any) -> list[Entry]:
        return [e for e in self.journal.group(self.steps.group)
                if e.kind in kinds and all(e.payload.get(k) == v for k, v in match.items())]

    # --- 1. cancel ---------------------------------------------------------------------------------
    def _cancelled(self, txn: Entry) -> None:
        [entry] = self._mine((CANCEL,)) or [None]
        try:
            if entry is None:
                self.steps.new(CANCEL, {"appointment_id": txn.payload["appointment_id"]})
            elif entry.open:
                self.steps.replay(entry)
            elif entry.state is EntryState.FAILED:
                raise HisRefused(entry.outcome.get("code", "NOT_CANCELLABLE"), "", "")
        except HisRefused:
            if self.journal.get(txn.key).open:
                self.steps.close(txn.key, EntryState.FAILED, {"reason": "not_cancelled"})
            raise

    # --- 2. claim, 3. terminal ---------------------------------------------------------------------
    def _give_back(self, due: Due) -> PaymentBack:
        claimed = self._claimed(due)
        if claimed is not Given.BACK or not due.on_card:
            return PaymentBack(due, claimed)
        return self._on_terminal(due)

    def _claimed(self, due: Due) -> Given:
        entries = self._mine((CLAIM,), payment_id=due.payment_id)
        try:
            if not entries:
                self.steps.new(CLAIM, {"payment_id": due.payment_id, "amount_fen": due.amount.fen})
            elif entries[-1].open:
                self.steps.replay(entries[-1])
        except StepUnknown:
            return Given.OPEN
        except HisRefused as exc:
            return Given.ELSEWHERE if exc.code == "ALREADY_REFUNDED" else Given.WINDOW
        entry = self._mine((CLAIM,), payment_id=due.payment_id)[-1]
        if entry.state is EntryState.FAILED:
            return Given.ELSEWHERE if entry.outcome.get("code") == "ALREADY_REFUNDED" else Given.WINDOW
        return Given.BACK

    def _on_terminal(self, due: Due) -> PaymentBack:
        for entry in self._mine(_TERMINAL, orig_ref=due.sale_ref):
            if entry.open:
                try:
                    self.steps.settle_by_query(entry)
                except StepUnknown:
                    return PaymentBack(due, Given.OPEN)
        for _ in range(self.attempts):
            tried = self._mine(_TERMINAL, orig_ref=due.sale_ref)
            approved = next((e for e in tried if e.state is EntryState.CONFIRMED), None)
            if approved is not None:
                return PaymentBack(due, Given.BACK, _result(approved))
            # the sale is still in the open batch only the day it was made; once the terminal refused a
            # void (batch settled meanwhile), a refund. A void it never saw (killed before sending) is no answer.
            answered = any(e.kind == CARD_REFUND or "unknown" in e.outcome
                           or ("code" in e.outcome and e.outcome["code"] not in _NOT_SENT_CODES) for e in tried)
            kind = VOID if due.paid_on == self.today and not answered else CARD_REFUND
            try:
                return PaymentBack(due, Given.BACK, self.steps.give_back(kind, due))
            except StepUnknown as unknown:
                if self._query(unknown.entry_key) is None:
                    return PaymentBack(due, Given.OPEN)
            except KioskError as exc:
                log.warning("refund: terminal refused", extra={"kind": kind, "error": type(exc).__name__})
                if isinstance(exc, _NOT_SENT):
                    break  # offline or busy: the next recovery pass tries again, not a string of attempts now
        approved = next((e for e in self._mine(_TERMINAL, orig_ref=due.sale_ref)
                         if e.state is EntryState.CONFIRMED), None)
        return PaymentBack(due, Given.BACK, _result(approved)) if approved else PaymentBack(due, Given.OPEN)

    def _query(self, entry_key: str) -> Entry | None:
        """Ask the terminal by REF until it answers: the settled entry, or None if it never did."""
        for attempt in range(self.query_retries):
            try:
                self.steps.settle_by_query(self.journal.get(entry_key))
                return self.journal.get(entry_key)
            except StepUnknown:
                if attempt + 1 < self.query_retries:
                    time.sleep(self.retry_pause_s)
        return None


def _result(entry: Entry) -> PaymentResult:
    o = entry.outcome
    command = "02" if entry.kind == VOID else "03"
    return PaymentResult(command, str(o.get("rc", "00")), entry.payload["ref"], Money(int(o["amount_fen"])),
                         str(o.get("card", "")), str(o.get("auth", "")), str(o.get("rrn", "")),
                         str(o.get("trace", "")), str(o.get("datetime", "")), "")


@dataclass(frozen=True, slots=True)
class Refunded:
    """What the patient is told and holds after 退号 of a paid booking."""

    result: RefundResult
    slip: Document | None
    printed: bool


class RefundEngine:
    """退号 + 退费 of a paid booking, for a patient session (`owner`)."""

    def __init__(self, services: Services, query_retries: int = 3, retry_pause_s: float = 1.0) -> None:
        self.services = services
        self.query_retries, self.retry_pause_s = query_retries, retry_pause_s

    def _journal(self) -> Journal:
        if self.services.journal is None:
            raise DeviceOffline("no journal: the kiosk gives back no money it cannot journal")
        return self.services.journal

    def dues(self, appointment: Appointment) -> list[Due]:
        """The booking's paid payments (a read: nothing journaled)."""
        his: Any = self.services.his
        return [Due.of(p) for p in his.appointment_payments(appointment.id) if p.status == "paid" and p.amount]

    def cancel_and_refund(self, patient: Patient, appointment: Appointment, dues: list[Due], group: str,
                          owner: str) -> Refunded:
        """Journal the transaction (once per `group`: a retry continues it), run it, print the slip.
        Raises HisRefused (not cancellable: nothing moved) or StepUnknown (cancellation unknown: open)."""
        journal = self._journal()
        if not any(e.key == group for e in journal.group(group)):
            journal.record(TXN, {"appointment_id": appointment.id, "payments": [d.fields() for d in dues]},
                           key=group, owner=owner, group=group)
        steps = RefundSteps(journal, self.services.his, self.services.payment, owner, group,  # type: ignore[arg-type]
                            self.services.config.kiosk.id)
        result = RefundProcess(steps, self.services.today(), query_retries=self.query_retries,
                               retry_pause_s=self.retry_pause_s).run()
        slip = self._slip(patient, appointment, result, group)
        printed = self._print(slip)
        journal.note(group, {"slip": "printed" if printed else "not_printed"}, owner)
        return Refunded(result, slip, printed)

    def _slip(self, patient: Patient, appointment: Appointment, result: RefundResult, group: str) -> Document:
        config = self.services.config.kiosk
        ctx = SlipContext(config.hospital_name, config.id, self.services.clock(), group)
        lines = tuple(RefundLine(p.due.amount, p.due.method, p.given.value, p.due.sale_ref,
                                 p.terminal.ref if p.terminal else None) for p in result.payments)
        return refund_slip(patient, appointment, lines, ctx)

    def _print(self, document: Document) -> bool:
        printer = self.services.printer
        if printer is None:
            return False
        try:
            printer.print_document(document)
        except KioskError as exc:
            log.warning("refund: slip not printed", extra={"error": type(exc).__name__})
            return False
        return True


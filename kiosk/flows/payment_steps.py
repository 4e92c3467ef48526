"""The journaled steps of a payment and their undos, shared by the live engine and recovery.

Each step writes its own journal entry (its key is the HIS Idempotency-Key, or the terminal REF is in
its payload) *before* it is attempted, in the transaction's group, as the given owner; then:
done → CONFIRMED with what proves it; refused → FAILED; unknown → the entry stays open with the reason
noted and `StepUnknown` is raised, for the caller to settle by asking (`settle_sale`, replaying with
the same key) — never by assuming.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kiosk.devices.base import Cancel
from kiosk.devices.payment import new_reference
from kiosk.devices.ports import PaymentResult, PaymentTerminal, ProgressCallback
from kiosk.domain.errors import DeviceOffline, HisRefused, HisUnavailable, KioskError
from kiosk.domain.money import Money
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.domain.payment import Bill, InsuranceSplit, PaymentRecord, QrOrder
from kiosk.sync.journal import Entry, EntryState, Journal

log = logging.getLogger(__name__)

T = TypeVar("T")
Proof = Callable[[Any], dict[str, Any]]

TXN = "payment"
"""The transaction's own entry: open from the first step until it is completed or wholly undone."""
PRESETTLE = "payment.presettle"
SALE = "payment.sale"
QR = "payment.qr"
RECORD = "payment.record"
VOID = "payment.void"
QR_CANCEL = "payment.qr_cancel"
PRESETTLE_CANCEL = "payment.presettle_cancel"
REVERSE = "payment.reverse"
KINDS = frozenset({TXN, PRESETTLE, SALE, QR, RECORD, VOID, QR_CANCEL, PRESETTLE_CANCEL, REVERSE})


class PaymentHis(Protocol):
    """The money part of the HIS client (`kiosk.sync.client.HisClient`); tests pass a fake."""

    def bills(self, patient_id: str) -> list[Bill]: ...

    def presettle(self, body: dict[str, Any], idempotency_key: str) -> InsuranceSplit: ...

    def cancel_presettlement(self, presettlement_id: str, idempotency_key: str) -> None: ...

    def record_payment(self, body: dict[str, Any], idempotency_key: str) -> PaymentRecord: ...

    def reverse_payment(self, payment_id: str, idempotency_key: str) -> PaymentRecord: ...

    def create_qr_order(self, body: dict[str, Any], idempotency_key: str) -> QrOrder: ...

    def qr_order(self, order_id: str) -> QrOrder: ...

    def cancel_qr_order(self, order_id: str, idempotency_key: str) -> QrOrder: ...


class StepUnknown(KioskError):
    """A step got no definitive answer: its entry stays open until a query settles it."""

    message_key = "payment.unknown"

    def __init__(self, entry_key: str, cause: KioskError) -> None:
        super().__init__(f"{entry_key}: {type(cause).__name__}: {cause.detail}")
        self.entry_key = entry_key
        self.cause = cause


def record_fields(record: PaymentRecord) -> dict[str, Any]:
    return {"payment_id": record.id, "receipt_no": record.receipt_no, "amount_fen": record.amount.fen}


def sale_fields(result: PaymentResult) -> dict[str, Any]:
    return {"rc": result.rc, "card": result.card, "auth": result.auth, "rrn": result.rrn, "trace": result.trace,
            "datetime": result.datetime, "amount_fen": result.amount.fen}


@dataclass
class Steps:
    """The steps of one transaction (`group`), written as `owner`."""

    journal: Journal
    his: PaymentHis
    terminal: PaymentTerminal | None
    owner: str
    group: str
    kiosk_id: str
    last_key: str = ""
    """The journal key of the step written last."""

    # --- plumbing ------------------------------------------------------------------------------
    def _step(self, kind: str, payload: dict[str, Any]) -> Any:
        entry = self.journal.record(kind, payload, owner=self.owner, group=self.group)
        self.last_key = entry.key
        return self.replay(entry)

    def replay(self, entry: Entry) -> Any:
        """Run (or replay, with the same key) the HIS step of `entry` and settle the entry by its outcome."""
        call, proof, done = self._his_step(entry.kind, entry.payload)
        return self.attempt(entry, call, proof, done)

    def _his_step(self, kind: str, payload: dict[str, Any]) -> tuple[Callable[[str], Any], Proof, EntryState]:
        his, done = self.his, EntryState.CONFIRMED
        if kind == PRESETTLE:
            return lambda key: his.presettle(payload["body"], key), _split_proof, done
        if kind == RECORD:
            return lambda key: his.record_payment(payload["body"], key), record_fields, done
        if kind == QR:
            # The order exists once answered (PERFORMED); paid, cancelled or expired settles it later.
            return lambda key: his.create_qr_order(payload["body"], key), _qr_proof, EntryState.PERFORMED
        if kind == PRESETTLE_CANCEL:
            return lambda key: his.cancel_presettlement(payload["presettlement_id"], key), lambda _: {}, done
        if kind == QR_CANCEL:
            return lambda key: self._cancel_qr(payload["order_id"], key), _qr_proof, done
        if kind == REVERSE:
            return lambda key: his.reverse_payment(payload["payment_id"], key), record_fields, done
        raise ValueError(f"{kind} is not a HIS step")

    def attempt(self, entry: Entry, call: Callable[[str], T], proof: Callable[[T], dict[str, Any]],
                done: EntryState = EntryState.CONFIRMED) -> T:
        """Run the step and settle `entry`: `done` on an answer, FAILED on a refusal; an unknown outcome
        leaves it open (the reason noted) and raises StepUnknown."""
        try:
            result = call(entry.key)
        except KioskError as exc:
            if outcome_of(exc) is Outcome.REFUSED:
                self.journal.advance(entry.key, EntryState.FAILED, {"code": _code(exc)}, self.owner)
                raise
            self.journal.note(entry.key, {"unknown": type(exc).__name__}, self.owner)
            raise StepUnknown(entry.key, exc) from exc
        self.journal.advance(entry.key, done, proof(result), self.owner)
        return result

    def close(self, key: str, state: EntryState, outcome: dict[str, Any] | None = None) -> None:
        self.journal.advance(key, state, outcome or {}, self.owner)

    # --- the HIS -------------------------------------------------------------------------------
    def presettle(self, body: dict[str, Any]) -> InsuranceSplit:
        return self._step(PRESETTLE, {"body": body})

    def record(self, body: dict[str, Any]) -> PaymentRecord:
        return self._step(RECORD, {"body": body})

    def create_qr(self, body: dict[str, Any]) -> QrOrder:
        return self._step(QR, {"body": body})

    def cancel_presettlement(self, presettlement_id: str) -> None:
        self._step(PRESETTLE_CANCEL, {"presettlement_id": presettlement_id})

    def cancel_qr(self, order_id: str) -> QrOrder:
        """Cancel a pending QR order. ALREADY_PAID (paid meanwhile) comes back as the paid order."""
        return self._step(QR_CANCEL, {"order_id": order_id})

    def _cancel_qr(self, order_id: str, key: str) -> QrOrder:
        try:
            return self.his.cancel_qr_order(order_id, key)
        except HisRefused as exc:
            if exc.code != "ALREADY_PAID":
                raise
            return self.his.qr_order(order_id)

    def reverse(self, payment_id: str) -> PaymentRecord:
        return self._step(REVERSE, {"payment_id": payment_id})

    # --- the terminal --------------------------------------------------------------------------
    def _terminal(self) -> PaymentTerminal:
        if self.terminal is None:
            raise DeviceOffline("no payment terminal installed")
        return self.terminal

    def _terminal_step(self, kind: str, payload: dict[str, Any], call: Callable[[], PaymentResult]) -> PaymentResult:
        entry = self.journal.record(kind, payload, owner=self.owner, group=self.group)
        self.last_key = entry.key
        return self.attempt(entry, lambda _key: call(), sale_fields)

    def sale(self, amount: Money, on_progress: ProgressCallback | None, cancel: Cancel | None) -> PaymentResult:
        ref = new_reference(self.kiosk_id)
        return self._terminal_step(SALE, {"ref": ref, "amount_fen": amount.fen},
                                   lambda: self._terminal().sale(ref, amount, on_progress, cancel))

    def void(self, orig_ref: str) -> PaymentResult:
        ref = new_reference(self.kiosk_id)
        return self._terminal_step(VOID, {"ref": ref, "orig_ref": orig_ref},
                                   lambda: self._terminal().void(ref, orig_ref))

    def settle_by_query(self, entry: Entry) -> PaymentResult | None:
        """Ask the terminal for the final result of the entry's REF (ECR 04) and close the entry by it:
        approved → CONFIRMED (returned); anything else or never seen → FAILED (None). A terminal that
        does not answer leaves the entry open (StepUnknown)."""
        ref = entry.payload["ref"]
        try:
            result = self._terminal().query(ref)
        except KioskError as exc:
            self.journal.note(entry.key, {"unknown": type(exc).__name__}, self.owner)
            raise StepUnknown(entry.key, exc) from exc
        if result is not None and result.approved:
            self.close(entry.key, EntryState.CONFIRMED, {**sale_fields(result), "queried": "yes"})
            return result
        self.close(entry.key, EntryState.FAILED, {"rc": result.rc if result else "NF", "queried": "yes"})
        return None


def _split_proof(split: InsuranceSplit) -> dict[str, Any]:
    return {"presettlement_id": split.presettlement_id, "self_pay_fen": split.self_pay.fen}


def _qr_proof(order: QrOrder) -> dict[str, Any]:
    proof: dict[str, Any] = {"order_id": order.id, "status": order.status.value}
    if order.payment is not None:
        proof.update(record_fields(order.payment))
    return proof


def _code(error: KioskError) -> str:
    return getattr(error, "code", None) or type(error).__name__


def his_down(error: KioskError) -> bool:
    cause = error.cause if isinstance(error, StepUnknown) else error
    return isinstance(cause, HisUnavailable)

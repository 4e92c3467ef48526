"""The payment engine: the one way every task takes money (门诊缴费, the fee at 取号, a booking paid at once).

Order of a transaction (`PaymentRun`), each step journaled with its own key BEFORE it happens, all in
one journal group whose own entry (kind `payment`) stays open until the money is wholly done or undone:

  0. check     the bills are still unpaid at the amounts shown (else AMOUNT_MISMATCH, nothing charged)
  1. presettle insurance pre-settlement (card / e-voucher) → the split 统筹 / 个人账户 / 自费
  2. take      the self-pay part: a sale on the terminal (ECR), or a QR order (show / scan mode);
               nothing to pay → no terminal (method insurance_only)
  3. record    POST /payments with the terminal REF (a paid QR order is already the HIS's record)
  4. receipt   缴费凭条 (a printer fault leaves the payment standing; `reprint()` offers it again)

Undo, newest first, each undo journaled too: a failed record voids the sale; an abandoned shown QR is
cancelled (paid meanwhile → ALREADY_PAID → treated as paid); any failure cancels the pre-settlement.

Outcomes are done / refused / unknown. Unknown is settled by asking, never assumed: a sale by querying
its REF, a record by replaying the same key (a few times, then void), a QR order by reading it. What the
session cannot settle stays open for recovery (`kiosk.flows.payment_recovery`); a charge that can be
neither recorded nor voided gets a 请到人工窗口处理 slip.

For a screen: every blocking call runs in a worker thread; progress arrives as `PaymentView` values
(plain frozen data) through `on_view`, to be forwarded to the GUI thread (e.g. a queued Qt signal).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, NoReturn

from kiosk.devices.base import Cancel
from kiosk.devices.ports import PaymentResult, PaymentStep
from kiosk.domain.document import Document
from kiosk.domain.errors import DeviceOffline, HisRefused, KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import Patient
from kiosk.domain.payment import (
    Bill,
    Insurance,
    InsuranceSplit,
    PaymentRecord,
    PayMethod,
    QrMode,
    QrOrder,
    QrStatus,
    bills_total,
)
from kiosk.flows.payment_steps import QR, RECORD, SALE, TXN, PaymentHis, Steps, StepUnknown
from kiosk.flows.receipts import ReceiptFacts, SlipContext, manual_handling_slip, payment_receipt
from kiosk.flows.services import Services
from kiosk.sync.journal import EntryState, Journal

log = logging.getLogger(__name__)

_MONEY_STEPS = frozenset({SALE, QR, RECORD})


class Phase(str, Enum):
    CHECKING = "checking"
    PRESETTLING = "presettling"
    TERMINAL = "terminal"
    """The card terminal works; `terminal_step` says what the patient does now."""
    QR_SHOWN = "qr_shown"
    """Show `qr_content` with `seconds_left`; the patient pays from the phone."""
    WAITING_CONFIRMATION = "waiting_confirmation"
    """A payment code was scanned; the patient confirms on the phone."""
    RECORDING = "recording"
    UNDOING = "undoing"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PaymentView:
    """What a payment screen shows now."""

    phase: Phase
    amount: Money
    terminal_step: PaymentStep | None = None
    qr_content: str | None = None
    seconds_left: int | None = None
    message_key: str | None = None
    """For DONE/FAILED: the plain words (kiosk.domain.messages) with what to do next."""
    order_id: str | None = None
    """The QR order shown or waited for (the patient quotes it at a window)."""


@dataclass(frozen=True, slots=True)
class Charge:
    """What is being paid for: bills (门诊缴费) or an appointment's registration fee."""

    patient: Patient
    amount: Money
    bills: tuple[Bill, ...] = ()
    appointment_id: str | None = None
    registration: str | None = None
    """The fee's name on the receipt when an appointment is paid (e.g. '挂号费 心血管内科')."""

    @classmethod
    def for_bills(cls, patient: Patient, bills: tuple[Bill, ...]) -> Charge:
        return cls(patient, bills_total(bills), bills=bills)

    @classmethod
    def for_appointment(cls, patient: Patient, appointment_id: str, fee: Money, name: str) -> Charge:
        return cls(patient, fee, appointment_id=appointment_id, registration=name)

    def target(self) -> dict[str, Any]:
        """The part of every HIS body that says what is paid."""
        if self.appointment_id is not None:
            return {"patient_id": self.patient.id, "appointment_id": self.appointment_id}
        return {"patient_id": self.patient.id, "bill_ids": [b.id for b in self.bills]}


@dataclass(frozen=True, slots=True)
class Paid:
    """A finished payment: the HIS's record and how it was paid. `receipt` is printed or reprintable."""

    record: PaymentRecord
    method: PayMethod
    split: InsuranceSplit | None
    terminal: PaymentResult | None
    qr_order_id: str | None
    receipt: Document
    printed: bool


class PaymentFailed(KioskError):
    """The payment did not happen, or cannot be finished here. `charged` tells whether money is held
    that only a staffed window can settle (a manual slip was printed when possible)."""

    def __init__(self, message_key: str, detail: str = "", *, charged: bool = False) -> None:
        super().__init__(detail or message_key, message_key=message_key)
        self.charged = charged


ViewCallback = Callable[[PaymentView], None]


@dataclass(frozen=True, slots=True)
class EngineTiming:
    """How the engine waits. Tests shrink these; the defaults are for patients."""

    record_retries: int = 3
    retry_pause_s: float = 2.0
    query_retries: int = 3
    qr_poll_s: float = 1.0
    qr_timeout_s: float = 180.0


class PaymentEngine:
    """Builds one `PaymentRun` per transaction over the injected services."""

    def __init__(self, services: Services, timing: EngineTiming | None = None,
                 new_key: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.services = services
        self.timing = timing or EngineTiming()
        self._new_key = new_key

    def start(self, charge: Charge, session: str | None = None) -> PaymentRun:
        """A new transaction for `charge`, owned by the patient `session` (a `Journal.session()`)."""
        journal = self.services.journal
        if journal is None:
            raise DeviceOffline("no journal: the kiosk takes no money it cannot journal")
        return PaymentRun(self, charge, journal, session or journal.session(), self._new_key())


class PaymentRun:
    """One transaction. Calls block; use one worker thread at a time."""

    def __init__(self, engine: PaymentEngine, charge: Charge, journal: Journal, owner: str, group: str) -> None:
        self.engine = engine
        self.services = engine.services
        self.timing = engine.timing
        self.charge = charge
        self.journal = journal
        self.group = group
        self.split: InsuranceSplit | None = None
        self.paid: Paid | None = None
        self._txn_key: str | None = None
        self._cancel_qr_requested = Cancel()
        his: Any = self.services.his
        self.steps = Steps(journal, his, self.services.payment, owner, group, self.services.config.kiosk.id)

    @property
    def his(self) -> PaymentHis:
        return self.steps.his

    @property
    def self_pay(self) -> Money:
        return self.split.self_pay if self.split is not None else self.charge.amount

    # --- steps the screen drives -----------------------------------------------------------------
    def check(self) -> None:
        """Before anything is taken: are the bills still unpaid at the amounts shown? A changed bill
        raises HisRefused AMOUNT_MISMATCH (re-list; nothing was charged)."""
        if not self.charge.bills:
            return
        current = {b.id: b.amount for b in self.his.bills(self.charge.patient.id)}
        changed = [b.id for b in self.charge.bills if current.get(b.id) != b.amount]
        if changed:
            raise HisRefused("AMOUNT_MISMATCH", "账单已变更", "the bill changed", {"bill_ids": changed})

    def presettle(self, insurance: Insurance) -> InsuranceSplit:
        """Insurance pre-settlement; the split must add up to the amount shown, to the fen."""
        if self.charge.appointment_id is not None:
            raise ValueError("a registration fee is paid without pre-settlement")
        self._open_txn()
        body = {**self.charge.target(), "insurance": {"kind": insurance.kind.value, "value": insurance.value}}
        split = self.steps.presettle(body)
        self.split = split
        if split.total != self.charge.amount:
            self.abandon()
            raise HisRefused("AMOUNT_MISMATCH", "金额不符", "amounts differ",
                             {"expected_fen": self.charge.amount.fen, "total_fen": split.total.fen})
        return split

    def pay(self, method: PayMethod, on_view: ViewCallback | None = None, cancel: Cancel | None = None,
            mode: QrMode = QrMode.SHOW, auth_code: str | None = None) -> Paid:
        """Take the self-pay part by `method`, record it, print the receipt. Raises PaymentFailed (with
        the message key for the screen) when it did not happen; everything taken was undone then."""
        notify = on_view or (lambda _view: None)
        if method.is_qr and mode is QrMode.SCAN and not auth_code:
            raise ValueError("scan mode needs the patient's payment code")
        self._open_txn()
        try:
            if not self.self_pay:
                method = PayMethod.INSURANCE_ONLY
            if method is PayMethod.INSURANCE_ONLY:
                record, terminal, order_id = self._record_only(notify), None, None
            elif method is PayMethod.BANK_CARD:
                terminal, order_id = self._card(notify, cancel), None
                record = self._record_sale(terminal, notify)
            else:
                order = self._qr(method, mode, auth_code, notify, cancel)
                assert order.payment is not None
                record, terminal, order_id = order.payment, None, order.id
        except PaymentFailed as failed:
            notify(PaymentView(Phase.FAILED, self.self_pay, message_key=failed.message_key))
            raise
        self._close_txn(EntryState.CONFIRMED, {"payment_id": record.id})
        self.services.metrics.payment(method.value, record.amount)
        return self._receipt(record, method, terminal, order_id, notify)

    def request_qr_cancel(self) -> None:
        """From any thread (abandon, idle timeout): stop waiting for a shown QR; it is cancelled, or
        recorded if the patient paid meanwhile."""
        self._cancel_qr_requested.cancel()

    def abandon(self) -> None:
        """The patient left before paying: undo the pre-settlement; the transaction closes. Once money
        is moving (a sale or a QR order was started) the paying worker, or recovery, finishes it."""
        if self._txn_key is None or self.journal.get(self._txn_key).state is not EntryState.INTENT:
            return
        if any(e.kind in _MONEY_STEPS for e in self.journal.group(self.group)):
            return
        self._undo_presettlement()
        self._close_txn(EntryState.FAILED, {"reason": "abandoned"})

    def reprint(self) -> Paid:
        """Print the receipt again (after a printer fault); the payment stands either way."""
        if self.paid is None:
            raise ValueError("nothing paid to reprint")
        self.paid = dataclasses.replace(self.paid, printed=self._print(self.paid.receipt))
        return self.paid

    # --- take the money --------------------------------------------------------------------------
    def _card(self, notify: ViewCallback, cancel: Cancel | None) -> PaymentResult:
        amount = self.self_pay
        notify(PaymentView(Phase.TERMINAL, amount))

        def progress(step: PaymentStep, _message: str) -> None:
            notify(PaymentView(Phase.TERMINAL, amount, terminal_step=PaymentStep(step)))

        try:
            return self.steps.sale(amount, progress, cancel)
        except StepUnknown as unknown:
            result = self._query_sale(unknown.entry_key)
        except KioskError as exc:
            self._fail_undo(exc.message_key, str(exc))
        if result is None:
            self._fail_undo("payment.declined")
        return result

    def _query_sale(self, entry_key: str) -> PaymentResult | None:
        """An unknown sale: ask the terminal by REF, a few times. Still no answer → the entry stays open
        (recovery settles it, payments close meanwhile) and the patient is told so."""
        for attempt in range(self.timing.query_retries):
            try:
                return self.steps.settle_by_query(self.journal.get(entry_key))
            except StepUnknown:
                if attempt + 1 < self.timing.query_retries:
                    time.sleep(self.timing.retry_pause_s)
        self._keep_open("payment.pending")

    def _qr(self, method: PayMethod, mode: QrMode, auth_code: str | None, notify: ViewCallback,
            cancel: Cancel | None) -> QrOrder:
        amount = self.self_pay
        body = {**self.charge.target(), "amount_fen": amount.fen, "channel": method.value, "mode": mode.value}
        if self.split is not None:
            body["presettlement_id"] = self.split.presettlement_id
        if mode is QrMode.SCAN:
            body["auth_code"] = auth_code
        try:
            order = self.steps.create_qr(body)
        except StepUnknown:
            self._keep_open("payment.pending")
        except KioskError as exc:
            self._fail_undo(exc.message_key, str(exc))
        return self._wait_qr(order, self.steps.last_key, mode, notify, cancel)

    def _wait_qr(self, order: QrOrder, qr_key: str, mode: QrMode, notify: ViewCallback,
                 cancel: Cancel | None) -> QrOrder:
        amount = self.self_pay
        now = self.services.clock()
        deadline = now + dt.timedelta(seconds=self.timing.qr_timeout_s)
        if order.expires_at is not None and order.expires_at > now:
            # An expiry already past by the kiosk's clock means the two clocks disagree (a test HIS set to
            # another hour): then only the kiosk's own timeout counts, and the HIS expires the order itself.
            deadline = min(deadline, order.expires_at)
        while order.status is QrStatus.PENDING:
            left = max(0, int((deadline - self.services.clock()).total_seconds()))
            if mode is QrMode.SHOW:
                notify(PaymentView(Phase.QR_SHOWN, amount, qr_content=order.qr_content, seconds_left=left,
                                   order_id=order.id))
            else:
                notify(PaymentView(Phase.WAITING_CONFIRMATION, amount, seconds_left=left, order_id=order.id))
            stop = (cancel is not None and cancel.cancelled) or self._cancel_qr_requested.cancelled
            if stop or left <= 0:
                order = self._cancel_qr(order)
                break
            self._cancel_qr_requested.wait(self.timing.qr_poll_s)
            try:
                order = self.his.qr_order(order.id)
            except KioskError as exc:
                log.info("payment: QR order not readable now", extra={"error": type(exc).__name__})
        if order.status is QrStatus.PAID and order.payment is not None:
            self.steps.close(qr_key, EntryState.CONFIRMED, {"status": "paid", "payment_id": order.payment.id,
                                                            "receipt_no": order.payment.receipt_no})
            return order
        self.steps.close(qr_key, EntryState.FAILED, {"status": order.status.value})
        key = "payment.qr_declined" if order.status is QrStatus.FAILED else "payment.qr_cancelled"
        self._fail_undo(key)

    def _cancel_qr(self, order: QrOrder) -> QrOrder:
        try:
            return self.steps.cancel_qr(order.id)
        except KioskError:
            # The HIS cannot cancel now: the order stays open for recovery, which reads it by id.
            self._keep_open("payment.pending")

    # --- record ---------------------------------------------------------------------------------
    def _record_body(self, method: PayMethod, terminal_ref: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {**self.charge.target(), "amount_fen": self.self_pay.fen, "method": method.value}
        if self.split is not None:
            body["presettlement_id"] = self.split.presettlement_id
        if terminal_ref is not None:
            body["terminal_ref"] = terminal_ref
        return body

    def _record_only(self, notify: ViewCallback) -> PaymentRecord:
        notify(PaymentView(Phase.RECORDING, Money.zero()))
        try:
            return self._record(self._record_body(PayMethod.INSURANCE_ONLY, None))
        except StepUnknown:
            self._keep_open("payment.pending")
        except KioskError as exc:
            self._fail_undo(exc.message_key, str(exc))

    def _record(self, body: dict[str, Any]) -> PaymentRecord:
        """POST /payments; an unknown answer is replayed with the same key a few times."""
        try:
            return self.steps.record(body)
        except StepUnknown as unknown:
            entry_key = unknown.entry_key
        for _ in range(self.timing.record_retries):
            time.sleep(self.timing.retry_pause_s)
            try:
                return self.steps.replay(self.journal.get(entry_key))
            except StepUnknown:
                continue
        raise StepUnknown(entry_key, KioskError("the HIS did not answer"))

    def _record_sale(self, sale: PaymentResult, notify: ViewCallback) -> PaymentRecord:
        notify(PaymentView(Phase.RECORDING, self.self_pay))
        if sale.amount != self.self_pay:
            self._void_or_slip(sale, notify, "终端金额与应付金额不符")
        try:
            return self._record(self._record_body(PayMethod.BANK_CARD, sale.ref))
        except StepUnknown:
            reason = "医院系统无响应"
        except KioskError as exc:
            reason = f"医院系统拒绝入账（{getattr(exc, 'code', type(exc).__name__)}）"
            key = "payment.bill_changed" if getattr(exc, "code", "") == "AMOUNT_MISMATCH" else "payment.not_recorded"
            self._void_or_slip(sale, notify, reason, key)
        self._void_or_slip(sale, notify, reason)

    # --- undo -----------------------------------------------------------------------------------
    def _void_or_slip(self, sale: PaymentResult, notify: ViewCallback, reason: str,
                      message_key: str = "payment.not_recorded") -> NoReturn:
        """The card was charged but the HIS has no record: void the sale. If even that is impossible,
        print the 请到人工窗口处理 slip and keep the transaction open (recovery goes on trying)."""
        notify(PaymentView(Phase.UNDOING, self.self_pay))
        try:
            self.steps.void(sale.ref)
        except StepUnknown as unknown:
            try:
                voided = self.steps.settle_by_query(self.journal.get(unknown.entry_key))
            except StepUnknown:
                voided = None
            if voided is None:
                self._manual_slip(sale, reason)
        except KioskError:
            self._manual_slip(sale, reason)
        self._fail_undo(message_key)

    def _manual_slip(self, sale: PaymentResult, reason: str) -> NoReturn:
        config = self.services.config.kiosk
        ctx = SlipContext(config.hospital_name, config.id, self.services.clock(), self.group)
        slip = manual_handling_slip(sale.ref, sale.amount, reason, ctx)
        printed = self._print(slip)
        self.journal.note(self._txn(), {"manual_slip": "printed" if printed else "not_printed", "reason": reason},
                          self.steps.owner)
        raise PaymentFailed("payment.manual", reason, charged=True)

    def _undo_presettlement(self) -> None:
        if self.split is None:
            return
        try:
            self.steps.cancel_presettlement(self.split.presettlement_id)
        except KioskError as exc:
            # An uncancelled pre-settlement holds no money; the transaction stays open for recovery.
            log.warning("payment: pre-settlement not cancelled", extra={"error": type(exc).__name__})
            self.journal.note(self._txn(), {"left_open": "presettlement_not_cancelled"}, self.steps.owner)

    def _fail_undo(self, message_key: str, detail: str = "") -> NoReturn:
        """Nothing was taken (or what was taken is undone): cancel the pre-settlement, close, raise."""
        self._undo_presettlement()
        if self.journal.get(self._txn()).state is EntryState.INTENT and not self._pending_steps():
            self._close_txn(EntryState.FAILED, {"reason": message_key})
        raise PaymentFailed(message_key, detail)

    def _pending_steps(self) -> bool:
        return any(e.open for e in self.journal.group(self.group) if e.kind != TXN)

    def _keep_open(self, message_key: str) -> NoReturn:
        """An outcome nobody could settle now: the transaction stays open for recovery."""
        self.journal.note(self._txn(), {"left_open": message_key}, self.steps.owner)
        raise PaymentFailed(message_key, "left open for recovery")

    # --- journal bookkeeping --------------------------------------------------------------------
    def _open_txn(self) -> None:
        if self._txn_key is not None:
            return
        payload = {**self.charge.target(), "amount_fen": self.charge.amount.fen}
        entry = self.journal.record(TXN, payload, owner=self.steps.owner, group=self.group)
        self._txn_key = entry.key

    def _txn(self) -> str:
        assert self._txn_key is not None
        return self._txn_key

    def _close_txn(self, state: EntryState, outcome: dict[str, Any]) -> None:
        self.journal.advance(self._txn(), state, outcome, self.steps.owner)

    # --- receipt --------------------------------------------------------------------------------
    def _receipt(self, record: PaymentRecord, method: PayMethod, terminal: PaymentResult | None,
                 order_id: str | None, notify: ViewCallback) -> Paid:
        notify(PaymentView(Phase.PRINTING, self.self_pay))
        config = self.services.config.kiosk
        ctx = SlipContext(config.hospital_name, config.id, self.services.clock(), record.id)
        facts = ReceiptFacts(self.charge.amount, self.split, self.self_pay, method, record, terminal, order_id)
        receipt = payment_receipt(self.charge.patient, self.charge.bills, facts, ctx, self.charge.registration)
        printed = self._print(receipt)
        self.journal.note(self._txn(), {"receipt": "printed" if printed else "not_printed"}, self.steps.owner)
        self.paid = Paid(record, method, self.split, terminal, order_id, receipt, printed)
        notify(PaymentView(Phase.DONE, self.self_pay,
                           message_key="payment.done" if printed else "payment.done_not_printed"))
        return self.paid

    def _print(self, document: Document) -> bool:
        printer = self.services.printer
        if printer is None:
            return False
        try:
            printer.print_document(document)
        except KioskError as exc:
            log.warning("payment: printout failed", extra={"error": type(exc).__name__})
            return False
        return True


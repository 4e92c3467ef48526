"""对账: match what the terminal did, what the HIS recorded and what the journal says the kiosk tried, one
line per transaction, each mismatch with what the cashier's office does about it.

Pure: the facts come in (journal entries, the terminal's answer to a query by each REF, the HIS's
payments of the day, the batch settlement) and a `Reconciliation` comes out; gathering them is
`kiosk.flows.reconcile_run`, printing them `kiosk.flows.reconcile_report`.

A card sale is judged by the terminal (its query answer by REF, and whether a void or a refund of it
was approved), against the HIS's payments that name its REF. A QR payment is the HIS platform's own
record; the journal says whether this kiosk started it. Refunds after 退号 count too: a give-back on
the terminal (void or refund, from the refund journal) against the HIS's refund record of that payment,
and the batch settlement is checked as sales − voids − refunds against the HIS's card payments less
the card refunds of the day (of payments made on earlier days).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from kiosk.devices.ports import PaymentResult, Settlement
from kiosk.domain.money import Money, total
from kiosk.domain.payment import PaymentRecord, PayMethod, RefundRecord
from kiosk.flows.payment_steps import QR, SALE, VOID
from kiosk.flows.receipts import method_label
from kiosk.flows.refund import CARD_REFUND as REFUND_CARD
from kiosk.flows.refund import VOID as REFUND_VOID
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.sync.journal import Entry, EntryState


class Status(str, Enum):
    """How one transaction came out; the first three need no action."""

    MATCHED = "matched"
    DECLINED = "declined"
    VOIDED = "voided"
    CHARGED_NOT_RECORDED = "charged_not_recorded"
    RECORDED_NOT_CHARGED = "recorded_not_charged"
    VOID_NOT_DONE = "void_not_done"
    AMOUNT_MISMATCH = "amount_mismatch"
    RECORDED_TWICE = "recorded_twice"
    UNVERIFIED = "unverified"
    NOT_IN_JOURNAL = "not_in_journal"
    REFUNDED = "refunded"
    REFUND_NOT_GIVEN = "refund_not_given"
    REFUND_NOT_RECORDED = "refund_not_recorded"

    @property
    def ok(self) -> bool:
        return self in (Status.MATCHED, Status.DECLINED, Status.VOIDED, Status.REFUNDED)

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def action(self) -> str:
        """What the cashier's office does (empty when nothing)."""
        return _LABELS[self][1]


_LABELS = {
    Status.MATCHED: ("一致", ""),
    Status.DECLINED: ("未扣款（拒绝/取消）", ""),
    Status.VOIDED: ("已撤销", ""),
    Status.CHARGED_NOT_RECORDED: (
        "已扣款未入账", "在HIS补录该笔缴费（终端流水号为凭），或在终端/收费处为患者退款"),
    Status.RECORDED_NOT_CHARGED: ("已入账未扣款", "在HIS冲正该笔缴费记录"),
    Status.VOID_NOT_DONE: (
        "撤销未成功", "终端撤销未完成：在终端办理退货（退款）给患者，或在HIS补录该笔缴费"),
    Status.AMOUNT_MISMATCH: ("金额不符", "核对终端签购单与HIS记录，冲正后按实收金额重新入账"),
    Status.RECORDED_TWICE: ("重复入账", "在HIS冲正多出的缴费记录，只保留一笔"),
    Status.UNVERIFIED: ("无法核实", "终端未应答查询：恢复终端连接后重新对账，或核对终端打印的交易明细"),
    Status.NOT_IN_JOURNAL: ("本机无记录", "HIS记录了本机的缴费而本机日志没有：核对支付平台流水"),
    Status.REFUNDED: ("已退款", ""),
    Status.REFUND_NOT_GIVEN: (
        "已登记退费未退款", "HIS已登记退费而终端未退回：在终端办理退货（退款），或在收费处为患者退款"),
    Status.REFUND_NOT_RECORDED: ("已退款未登记", "终端已退回而HIS未登记退费：在HIS登记该笔退费（终端流水号为凭）"),
}


@dataclass(frozen=True, slots=True)
class Asked:
    """The terminal's answer to a query (ECR 04) by REF: a result, None (RC NF: never seen), or no
    answer at all (`answered` False)."""

    result: PaymentResult | None
    answered: bool = True

    @property
    def approved(self) -> bool:
        return self.answered and self.result is not None and self.result.approved


UNANSWERED = Asked(None, answered=False)


@dataclass(frozen=True, slots=True)
class Line:
    """One transaction as the three sides see it."""

    reference: str
    """The terminal REF (card), the QR order id, or the HIS payment id (insurance only)."""
    method: str
    status: Status
    at: dt.datetime
    """When it happened, hospital time."""
    terminal_amount: Money | None
    his_amount: Money | None
    payment_ids: tuple[str, ...] = ()
    receipt_nos: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MethodTotal:
    method: str
    count: int
    amount: Money

    @property
    def label(self) -> str:
        return method_label(self.method)


@dataclass
class Reconciliation:
    day: dt.date
    kiosk_id: str
    lines: list[Line]
    totals: list[MethodTotal]
    terminal_charged: Money
    """Approved, unvoided card sales, by the terminal's answers."""
    settlement: Settlement | None
    earlier_card_refunds: Money = field(default_factory=Money.zero)
    """Card refunds of the day (HIS) of payments made on earlier days: the batch carries them, the
    day's payments do not."""
    settlement_note: str = ""
    generated_at: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[Line]:
        return [line for line in self.lines if not line.status.ok]

    @property
    def his_card_total(self) -> Money:
        return next((t.amount for t in self.totals if t.method == PayMethod.BANK_CARD.value), Money.zero())

    @property
    def his_card_net(self) -> Money:
        """What the terminal should hold for the day by the HIS: card payments less earlier ones refunded."""
        return self.his_card_total - self.earlier_card_refunds

    @property
    def settlement_agrees(self) -> bool | None:
        """The batch total (sales − voids − refunds) against the HIS's card payments less the day's card
        refunds of earlier payments; None without a batch."""
        if self.settlement is None:
            return None
        return self.settlement.total == self.his_card_net


@dataclass(frozen=True, slots=True)
class _Sale:
    ref: str
    amount: Money
    at: dt.datetime
    void_refs: tuple[str, ...]
    """The REFs of every void or refund of this sale the journal tried (the payment's undo, 退费)."""


def _hospital_time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(HOSPITAL_TZ)


def _sales(entries: Iterable[Entry]) -> list[_Sale]:
    entries = list(entries)
    voids: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        if e.kind in _GIVE_BACKS:
            voids[e.payload["orig_ref"]].append(e.payload["ref"])
    return [_Sale(e.payload["ref"], Money(e.payload["amount_fen"]), _hospital_time(e.created_at),
                  tuple(voids[e.payload["ref"]]))
            for e in entries if e.kind == SALE]


_GIVE_BACKS = (VOID, REFUND_VOID, REFUND_CARD)


def refs_to_ask(entries: Iterable[Entry], payments: Iterable[PaymentRecord]) -> list[str]:
    """Every REF the terminal must be asked about: the journal's sales, voids and refunds, and the REFs
    the HIS's card payments name."""
    refs: dict[str, None] = {}
    for e in entries:
        if e.kind in (SALE, *_GIVE_BACKS):
            refs[e.payload["ref"]] = None
    for p in payments:
        if p.method == PayMethod.BANK_CARD.value and p.terminal_ref:
            refs[p.terminal_ref] = None
    return list(refs)


def _judge(charged: bool | None, voided: bool, void_tried: bool, paid: list[PaymentRecord],
           amount: Money | None, refunded: bool = False) -> Status:
    """`voided`: a void or refund of the sale was approved; `refunded`: the HIS records its refund."""
    if charged is None:
        return Status.UNVERIFIED
    if len(paid) > 1:
        return Status.RECORDED_TWICE
    if charged and not voided:
        if refunded:
            return Status.REFUND_NOT_GIVEN
        if not paid:
            return Status.VOID_NOT_DONE if void_tried else Status.CHARGED_NOT_RECORDED
        return Status.MATCHED if paid[0].amount == amount else Status.AMOUNT_MISMATCH
    if paid:
        return Status.RECORDED_NOT_CHARGED
    if refunded:
        return Status.REFUNDED
    return Status.VOIDED if voided else Status.DECLINED


def _card_lines(entries: list[Entry], terminal: Mapping[str, Asked], payments: list[PaymentRecord]) -> list[Line]:
    card = [p for p in payments if p.method == PayMethod.BANK_CARD.value]
    by_ref: dict[str, list[PaymentRecord]] = defaultdict(list)
    for p in card:
        by_ref[p.terminal_ref or ""].append(p)
    sales = {s.ref: s for s in _sales(entries)}
    for ref in by_ref:
        if ref and ref not in sales:  # recorded by this kiosk, but its journal has no such sale
            sales[ref] = _Sale(ref, by_ref[ref][0].amount, by_ref[ref][0].paid_at.astimezone(HOSPITAL_TZ), ())
    lines = []
    for sale in sales.values():
        asked = terminal.get(sale.ref, UNANSWERED)
        charged = asked.approved if asked.answered else None
        voided = any(terminal.get(ref, UNANSWERED).approved for ref in sale.void_refs)
        paid = [p for p in by_ref.get(sale.ref, []) if p.status == "paid"]
        refunded = any(p.status == "refunded" for p in by_ref.get(sale.ref, []))
        held = asked.result is not None and asked.approved and not voided
        terminal_amount = asked.result.amount if held and asked.result is not None else None
        status = _judge(charged, voided, bool(sale.void_refs), paid, terminal_amount, refunded)
        detail = asked.result.message if asked.result is not None and not asked.approved else ""
        lines.append(Line(sale.ref, PayMethod.BANK_CARD.value, status, sale.at, terminal_amount,
                          total([p.amount for p in paid]) if paid else None, tuple(p.id for p in paid),
                          tuple(p.receipt_no for p in paid), detail))
    return lines


def _other_lines(entries: list[Entry], payments: list[PaymentRecord]) -> list[Line]:
    """QR and insurance-only payments: the HIS's record, checked against the journal's QR orders."""
    orders = {e.outcome.get("order_id") for e in entries if e.kind == QR}
    recorded = {e.outcome.get("payment_id") for e in entries if e.state is EntryState.CONFIRMED}
    lines = []
    for p in payments:
        if p.method == PayMethod.BANK_CARD.value or p.status != "paid":
            continue
        known = p.terminal_ref in orders if p.terminal_ref else p.id in recorded
        lines.append(Line(p.terminal_ref or p.id, p.method, Status.MATCHED if known else Status.NOT_IN_JOURNAL,
                          p.paid_at.astimezone(HOSPITAL_TZ), None, p.amount, (p.id,), (p.receipt_no,)))
    return lines


def _earlier_refund_lines(entries: list[Entry], terminal: Mapping[str, Asked], payments: list[PaymentRecord],
                          refunds: list[RefundRecord]) -> list[Line]:
    """Refunds of the day of payments made on earlier days: a card one given back on the terminal (the
    refund journal's approved void/refund) against the HIS's refund record; a wallet one is the HIS
    platform's own. Money going back is negative."""
    today = {p.id for p in payments}
    recorded = {r.payment_id: r for r in refunds}
    lines = []
    for e in entries:
        if e.kind not in (REFUND_VOID, REFUND_CARD) or e.payload["payment_id"] in today:
            continue
        asked = terminal.get(e.payload["ref"], UNANSWERED)
        if not asked.answered:
            status = Status.UNVERIFIED
        elif not asked.approved:
            continue  # a refused attempt moved nothing; the approved one (or its absence) is judged below
        else:
            status = Status.REFUNDED if e.payload["payment_id"] in recorded else Status.REFUND_NOT_RECORDED
        amount = -Money(int(e.payload["amount_fen"]))
        his = recorded.get(e.payload["payment_id"])
        lines.append(Line(e.payload["ref"], PayMethod.BANK_CARD.value, status, _hospital_time(e.created_at),
                          amount if asked.approved else None, -his.amount if his else None,
                          (e.payload["payment_id"],)))
    given = {e.payload["payment_id"] for e in entries if e.kind in (REFUND_VOID, REFUND_CARD)
             and terminal.get(e.payload["ref"], UNANSWERED).approved}
    for r in refunds:
        if r.payment_id in today:
            continue
        card = r.method == PayMethod.BANK_CARD.value
        if card and r.payment_id in given:
            continue
        status = Status.REFUND_NOT_GIVEN if card else Status.REFUNDED
        lines.append(Line(r.id, r.method, status, r.refunded_at.astimezone(HOSPITAL_TZ), None,
                          -r.amount, (r.payment_id,)))
    return lines


def method_totals(payments: Iterable[PaymentRecord]) -> list[MethodTotal]:
    """The HIS's paid payments per method, in the order of PayMethod."""
    per: dict[str, list[Money]] = defaultdict(list)
    for p in payments:
        if p.status == "paid":
            per[p.method].append(p.amount)
    order = [m.value for m in PayMethod] + sorted(set(per) - {m.value for m in PayMethod})
    return [MethodTotal(m, len(per[m]), total(per[m])) for m in order if m in per]


def reconcile(day: dt.date, kiosk_id: str, entries: Iterable[Entry], terminal: Mapping[str, Asked],
              payments: Iterable[PaymentRecord], settlement: Settlement | None,
              refunds: Iterable[RefundRecord] = ()) -> Reconciliation:
    """Match the three sides for `day`. `entries` are the journal's payment and refund entries of that
    day, `terminal` the answer to a query by each REF of `refs_to_ask`, `payments` and `refunds` the
    HIS's of the day."""
    entries, payments, refunds = list(entries), list(payments), list(refunds)
    lines = sorted(_card_lines(entries, terminal, payments) + _other_lines(entries, payments)
                   + _earlier_refund_lines(entries, terminal, payments, refunds), key=lambda line: line.at)
    charged = total([line.terminal_amount for line in lines if line.terminal_amount is not None])
    paid_today = {p.id for p in payments}
    earlier = total([r.amount for r in refunds
                     if r.method == PayMethod.BANK_CARD.value and r.payment_id not in paid_today])
    return Reconciliation(day, kiosk_id, lines, method_totals(payments), charged, settlement, earlier)

"""What must hold after every kill and recovery, checked against the devices' and the HIS's own records
(the terminal's ledger, the HIS's payments and fixtures, the printer's jobs), not the kiosk's word.

Pure functions over plain JSON as the control port and the HIS answer it; each returns the violations
it found, one plain sentence each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

QR_METHODS = frozenset({"wechat", "alipay", "unionpay_qr"})
MANUAL_SLIP = "请到人工窗口处理"

INVARIANTS = (
    "sale_recorded_once",
    "payment_has_sale_or_qr",
    "bill_paid_twice",
    "presettlement_open",
    "journal_open_after_recovery",
    "charge_without_receipt_or_slip",
)


@dataclass
class Evidence:
    ledger: list[dict[str, Any]]
    """GET /payment/ledger's transactions."""
    payments: list[dict[str, Any]]
    """GET /payments?kiosk_id=all."""
    fixtures: dict[str, Any]
    """GET /_test/fixtures (bills, appointments, presettlements)."""
    qr_orders: dict[str, str]
    """order id → status, for every order a QR payment names."""
    printed: list[str]
    """The text of every printer job."""
    answers: list[dict[str, Any]] = field(default_factory=list)
    """What the patient was shown at the end of each payment that finished before a kill: `outcome`
    paid (`receipt_no`, `printed`) or failed (`charged`; the REFs held, or the printer job count when the
    walk began: `terminal_refs` / `slip_after_job`)."""
    kiosk_id: str = "K01"


def charged_sales(ledger: Iterable[dict[str, Any]]) -> dict[str, int]:
    """REF → amount of every approved sale the terminal did not void or refund."""
    ledger = list(ledger)
    undone = {tx.get("original_ref") for tx in ledger if tx["type"] in ("void", "refund") and tx["result"] == "approved"}
    return {tx["ref"]: tx["amount_fen"] for tx in ledger
            if tx["type"] == "sale" and tx["result"] == "approved" and tx["ref"] not in undone}


def _paid(payments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in payments if p["status"] == "paid"]


def sale_recorded_once(ev: Evidence) -> list[str]:
    """Every approved, unvoided sale ⇔ exactly one paid HIS payment with its REF and amount."""
    found = []
    by_ref = Counter(p["terminal_ref"] for p in _paid(ev.payments) if p["method"] == "bank_card")
    amounts = {p["terminal_ref"]: p["amount_fen"] for p in _paid(ev.payments) if p["method"] == "bank_card"}
    for ref, amount in charged_sales(ev.ledger).items():
        if by_ref[ref] != 1:
            found.append(f"sale {ref} ({amount} fen) has {by_ref[ref]} HIS payments")
        elif amounts[ref] != amount:
            found.append(f"sale {ref} charged {amount} fen, the HIS recorded {amounts[ref]} fen")
    return found


def payment_has_sale_or_qr(ev: Evidence) -> list[str]:
    """No paid HIS payment without its approved, unvoided sale or its paid QR order."""
    charged = charged_sales(ev.ledger)
    found = []
    for p in _paid(ev.payments):
        if p["kiosk_id"] != ev.kiosk_id:
            continue
        if p["method"] == "bank_card" and p["terminal_ref"] not in charged:
            found.append(f"payment {p['id']} ({p['amount_fen']} fen) names sale {p['terminal_ref']}, "
                         "which the terminal did not charge (or voided)")
        elif p["method"] in QR_METHODS and ev.qr_orders.get(p["terminal_ref"]) != "paid":
            found.append(f"payment {p['id']} names QR order {p['terminal_ref']}, which is not paid")
        elif p["method"] == "insurance_only" and p["amount_fen"] != 0:
            found.append(f"payment {p['id']} is insurance-only but takes {p['amount_fen']} fen")
    return found


def bill_paid_twice(ev: Evidence) -> list[str]:
    """No bill, and no registration fee, paid twice."""
    paid = _paid(ev.payments)
    bills = Counter(b for p in paid for b in p["bill_ids"])
    found = [f"bill {b} is paid by {n} payments" for b, n in bills.items() if n > 1]
    appointments = Counter(p["appointment_id"] for p in paid if p["appointment_id"])
    found += [f"appointment {a}'s fee is paid by {n} payments" for a, n in appointments.items() if n > 1]
    found += [f"appointment {a['id']} has {a['paid_fen']} fen paid for a {a['fee_fen']} fen fee"
              for a in ev.fixtures.get("appointments", []) if a.get("paid_fen", 0) > a.get("fee_fen", 0)]
    return found


def presettlement_open(ev: Evidence) -> list[str]:
    """No pre-settlement of this kiosk left active: each is used by a payment or cancelled."""
    return [f"pre-settlement {ps['id']} is still active" for ps in ev.fixtures.get("presettlements", [])
            if ps["status"] == "active" and ps["kiosk_id"] == ev.kiosk_id]


def charge_without_receipt_or_slip(ev: Evidence) -> list[str]:
    """Every payment the patient saw finish has its receipt printed; every charge the kiosk could not
    settle has a 请到人工窗口处理 slip with its REF."""
    found = []
    for answer in ev.answers:
        if answer["outcome"] == "paid" and answer.get("printed"):
            if not any(answer["receipt_no"] in text for text in ev.printed):
                found.append(f"payment {answer['payment_id']} was shown as paid, receipt "
                             f"{answer['receipt_no']} is not among the printer's jobs")
        elif answer["outcome"] == "paid":
            found.append(f"payment {answer['payment_id']} was shown as paid without a printed receipt")
        elif answer["outcome"] == "failed" and answer.get("charged"):
            refs = answer.get("terminal_refs") or []
            for ref in refs:
                if not any(ref in text and MANUAL_SLIP in text for text in ev.printed):
                    found.append(f"charge {ref} was left to a staffed window without a {MANUAL_SLIP} slip")
            later = ev.printed[answer.get("slip_after_job", 0):]
            if not refs and not any(MANUAL_SLIP in text for text in later):
                found.append(f"the screen sent the patient to a staffed window, no {MANUAL_SLIP} slip was printed")
    return found


def check(ev: Evidence) -> dict[str, list[str]]:
    """Every invariant but the journal's (checked after each recovery) → its violations."""
    return {
        "sale_recorded_once": sale_recorded_once(ev),
        "payment_has_sale_or_qr": payment_has_sale_or_qr(ev),
        "bill_paid_twice": bill_paid_twice(ev),
        "presettlement_open": presettlement_open(ev),
        "charge_without_receipt_or_slip": charge_without_receipt_or_slip(ev),
    }

"""Gathers the facts for 对账 and writes the report: the journal's payment entries of the day, the
terminal's answer to a query (ECR 04) by every REF they or the HIS name, the batch settlement (ECR 05,
which closes the batch: end of day only), and the HIS's `GET /payments?date=` and `GET /refunds?date=`. Also decides when the
daily run is due. The matching itself is `kiosk.flows.reconcile`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiosk.devices.ports import PaymentTerminal, Settlement
from kiosk.domain.errors import KioskError
from kiosk.domain.payment import PaymentRecord, RefundRecord
from kiosk.flows.payment_steps import KINDS
from kiosk.flows.reconcile import UNANSWERED, Asked, Reconciliation, reconcile, refs_to_ask
from kiosk.flows.reconcile_report import csv_text, html
from kiosk.flows.refund import KINDS as REFUND_KINDS
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.sync.journal import Entry, Journal

log = logging.getLogger(__name__)


class PaymentsSource(Protocol):
    def payments(self, day: dt.date) -> list[PaymentRecord]:
        """GET /payments?date=: this kiosk's payments that day, reversed ones included."""

    def refunds(self, day: dt.date) -> list[RefundRecord]:
        """GET /refunds?date=: this kiosk's refunds that day."""


@dataclass(frozen=True, slots=True)
class Report:
    reconciliation: Reconciliation
    html_path: Path
    csv_path: Path


def report_paths(out_dir: Path, day: dt.date, kiosk_id: str) -> tuple[Path, Path]:
    stem = f"reconcile-{day.isoformat()}-{kiosk_id}"
    return out_dir / f"{stem}.html", out_dir / f"{stem}.csv"


def entries_of(journal: Journal, day: dt.date) -> list[Entry]:
    """The journal's payment and refund entries written on `day` (hospital time)."""
    return [e for e in journal.entries() if e.kind in KINDS | REFUND_KINDS
            and dt.datetime.fromisoformat(e.created_at).astimezone(HOSPITAL_TZ).date() == day]


def _ask(terminal: PaymentTerminal | None, refs: list[str]) -> dict[str, Asked]:
    answers: dict[str, Asked] = {}
    for ref in refs:
        if terminal is None:
            answers[ref] = UNANSWERED
            continue
        try:
            answers[ref] = Asked(terminal.query(ref))
        except KioskError as exc:
            log.warning("reconcile: the terminal did not answer a query", extra={"error": type(exc).__name__})
            answers[ref] = UNANSWERED
    return answers


def _settle(terminal: PaymentTerminal | None) -> tuple[Settlement | None, str]:
    if terminal is None:
        return None, "未安装支付终端"
    try:
        return terminal.settle(), ""
    except KioskError as exc:
        return None, f"终端结算失败：{exc.detail or type(exc).__name__}"


def run_reconciliation(journal: Journal, terminal: PaymentTerminal | None, his: PaymentsSource, *,
                       kiosk_id: str, hospital: str, day: dt.date, out_dir: Path, settle: bool,
                       now: Callable[[], dt.datetime]) -> Report:
    """Match the day and write its HTML and CSV report into `out_dir`. Raises KioskError (with its
    message) when the HIS cannot list the day's payments: without them there is nothing to match."""
    payments, refunds = his.payments(day), his.refunds(day)
    entries = entries_of(journal, day)
    answers = _ask(terminal, refs_to_ask(entries, payments))
    settlement, note = _settle(terminal) if settle else (None, "本次未结算（仅查询）")
    rec = reconcile(day, kiosk_id, entries, answers, payments, settlement, refunds)
    rec.settlement_note = note
    rec.generated_at = now().strftime("%Y-%m-%d %H:%M:%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = report_paths(out_dir, day, kiosk_id)
    _write(html_path, html(rec, hospital))
    _write(csv_path, csv_text(rec))
    log.info("reconciliation written", extra={"day": day.isoformat(), "lines": len(rec.lines),
                                               "mismatches": len(rec.mismatches)})
    return Report(rec, html_path, csv_path)


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)


def daily_due(now: dt.datetime, daily_at: dt.time | None, out_dir: Path, kiosk_id: str) -> bool:
    """The daily run is due once the configured time has passed and today's report is not there yet."""
    if daily_at is None or now.time() < daily_at:
        return False
    html_path, _ = report_paths(out_dir, now.date(), kiosk_id)
    return not html_path.exists()

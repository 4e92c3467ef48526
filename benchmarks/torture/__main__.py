"""The kill -9 torture harness: money is never lost or taken twice, whatever moment the kiosk dies.

    .venv/bin/python -m benchmarks.torture --kills 1000 --seed 7 [--driver screen|engine] [--card-time 3]

`kiosk sim` runs in its own process (the terminal, printer, scanner and the reference HIS outlive every
kill); the kiosk is killed and restarted (`processes.py`): by default `kiosk run --automation-port`
paid through the 门诊缴费 screens (bank card, payment code on the scanner, a QR shown for the phone; an
e-voucher identification adds the insurance pre-settlement); `--driver engine` runs the same
composition root and payment engine without screens and adds the registration fee at 取号 by card.
Each payment runs under a random terminal behaviour (approved, declined, answer lost, timeout at the
terminal, DU) and HIS fault (none, latency, 503s, down from a random moment on).

Kills: first one right after every journal step of a payment (`KIOSK_FAULT_KILL_AT`), then at seeded
random moments (mid-transaction, between transactions, during recovery at start). After each: restart,
wait until the kiosk is past recovery with no open journal entry (its time is the recovery time). At
the end the invariants (`invariants.py`) are checked against the terminal's ledger, the HIS and the
printer's jobs, and the figures printed as JSON; the exit code is 1 on any violation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.torture import invariants
from benchmarks.torture.processes import KIOSK_ID, EngineKiosk, ScreenKiosk, Sim

BOUNDARIES = tuple(
    f"{kind}:{state}" for kind, states in (
        ("payment", ("intent", "confirmed", "failed")),
        ("payment.presettle", ("intent", "confirmed")),
        ("payment.sale", ("intent", "confirmed", "failed")),
        ("payment.record", ("intent", "confirmed", "failed")),
        ("payment.void", ("intent", "confirmed")),
        ("payment.qr", ("intent", "performed", "confirmed", "failed")),
        ("payment.qr_cancel", ("intent", "confirmed")),
        ("payment.presettle_cancel", ("intent", "confirmed")),
    ) for state in states
)
"""Every journal write of a payment: a kill right after each is durable."""

TERMINAL = (("approve", 6), ("decline", 1), ("approved_but_response_lost", 1), ("pin_timeout", 1),
            ("duplicate_ref", 1))
HIS_FAULTS = (("none", 6), ("latency", 1), ("flaky", 1), ("down_mid", 1), ("down_after_sale", 1),
              ("bill_changed_after_sale", 1))
AFTER_SALE_LATENCY_MS = 1500
"""The HIS answers this slowly when a fault waits for the charge: the fault lands before the record."""

SCENARIOS = {
    "payment.presettle": {"e_voucher": True},
    "payment.sale": {"kind": "card", "behaviour": "approve"},
    "payment.record": {"kind": "card", "behaviour": "approve"},
    "payment.void": {"kind": "card", "behaviour": "approve", "fault": "bill_changed_after_sale"},
    "payment.qr": {"kind": "scan"},
    "payment.qr_cancel": {"kind": "show_qr", "qr_pay": False},
    "payment.presettle_cancel": {"e_voucher": True, "kind": "card", "behaviour": "decline"},
}
"""What the payments aimed at one journal step look like (what they leave open stays random)."""
FAILED_STEPS = {"payment:failed": {"kind": "card", "behaviour": "decline"},
                "payment.sale:failed": {"kind": "card", "behaviour": "decline"},
                "payment.record:failed": {"kind": "card", "behaviour": "approve", "e_voucher": False,
                                          "fault": "bill_changed_after_sale"},
                "payment.qr:failed": {"kind": "scan", "declined_code": True}}
KINDS = {"screen": (("card", 4), ("scan", 2), ("show_qr", 2), ("fee", 2)),
         "engine": (("card", 4), ("scan", 2), ("show_qr", 2), ("fee", 2))}


MORNING = "08:40:00"


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


@dataclass
class Figures:
    kills: int = 0
    boundary_kills: int = 0
    boundaries_not_reached: list[str] = field(default_factory=list)
    payments: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    recovery_s: list[float] = field(default_factory=list)
    journal_open: list[str] = field(default_factory=list)


class Torture:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.started = time.monotonic()
        self.rng = random.Random(args.seed)
        self.sim = Sim(work, args.card_time)
        kiosk_type = ScreenKiosk if args.driver == "screen" else EngineKiosk
        self.kiosk = kiosk_type(work, self.sim.config)
        self.kinds = KINDS[args.driver]
        self.figures = Figures()
        self.durations: list[float] = []
        """How long payments took when nothing killed them: random kills land within that."""
        self.answers: list[dict[str, Any]] = []
        today = self.sim.his_get("/_test/fixtures")["today"]
        # The morning clinic, as in the demo: today's morning appointments can be collected (取号).
        self.sim.set_clock(f"{today}T{MORNING}+08:00")
        self.fixtures = self.sim.his_get("/_test/fixtures")
        self.patients = [p for p in self.fixtures["patients"] if "unpaid_bills" in p["tags"]]
        self.appointments = [a for a in self.fixtures["appointments"] if a["date"] == self.fixtures["today"]
                             and a["status"] == "booked" and a["fee_fen"] > a["paid_fen"] and a["start"][11:13] < "12"]
        self.by_id = {p["id"]: p for p in self.fixtures["patients"]}

    # --- one payment ----------------------------------------------------------------------------
    def _order(self, aim: dict[str, Any]) -> dict[str, Any]:
        """A random payment, or one aimed at a journal step (`aim`: see SCENARIOS)."""
        kind = aim.get("kind") or _pick(self.rng, self.kinds)
        if kind == "fee" and self.appointments and not aim.get("e_voucher"):
            appt = self.rng.choice(self.appointments)
            patient = self.by_id[appt["patient_id"]]
            return {"kind": "fee", "visit_card": patient["visit_card"], "appointment_id": appt["id"],
                    "fee_fen": appt["fee_fen"] - appt["paid_fen"]}
        patient = self.rng.choice(self.patients)
        code = patient["payment_code"]
        if aim.get("declined_code") or self.rng.random() < 0.1:
            code = code[:-4] + "0000"  # the payment platform declines it
        order = {"kind": "card" if kind == "fee" else kind, "visit_card": patient["visit_card"], "scan_code": code,
                 "qr_pay": aim.get("qr_pay", self.rng.random() < 0.7), "qr_delay_s": self.rng.random() * 2}
        if aim.get("e_voucher") or (self.rng.random() < 0.35 and aim.get("e_voucher") is None):
            order["e_voucher"] = patient["qr"]
        return order

    def _faults(self, aim: dict[str, Any]) -> str:
        self.sim.act("payment/behaviour", behaviour=aim.get("behaviour") or _pick(self.rng, TERMINAL))
        fault = aim.get("fault") or _pick(self.rng, HIS_FAULTS)
        if fault in ("down_after_sale", "bill_changed_after_sale"):
            self.sim.act("his/faults", latency_ms=AFTER_SALE_LATENCY_MS)
        elif fault == "latency":
            self.sim.act("his/faults", latency_ms=self.rng.randint(200, 1500))
        elif fault == "flaky":
            self.sim.act("his/faults", error_rate=0.3)
        return fault

    def _pay(self, kill_after_s: float | None, aim: dict[str, Any] | None = None) -> None:
        """One payment under random faults; with `kill_after_s`, kill -9 the kiosk that long after it began."""
        aim = aim or {}
        order = self._order(aim)
        fault = self._faults(aim)
        answer: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: answer.update(self.kiosk.pay(order, self.sim)), daemon=True)
        began = time.monotonic()
        thread.start()
        self.figures.payments += 1
        if fault == "down_mid":
            threading.Thread(target=self._his_down_later, args=(thread,), daemon=True).start()
        elif fault in ("down_after_sale", "bill_changed_after_sale"):
            threading.Thread(target=self._after_sale, args=(thread, fault, order), daemon=True).start()
        thread.join(timeout=kill_after_s if kill_after_s is not None else 600)
        if kill_after_s is not None:
            self._kill()
            thread.join(timeout=60)
        if answer.get("outcome") == "collected":
            self.appointments = [a for a in self.appointments if a["id"] != order.get("appointment_id")]
        if answer.get("outcome") == "paid":
            self.patients = [p for p in self.patients if p["visit_card"] != order["visit_card"]] or self.patients
        if answer:
            if not thread.is_alive() and (kill_after_s is None or time.monotonic() - began < kill_after_s):
                self.durations.append(time.monotonic() - began)
            self.answers.append(answer)
            outcome = answer["outcome"] if answer["outcome"] == "paid" else f"{answer['outcome']}:{answer.get('message_key')}"
            self.figures.outcomes[outcome] = self.figures.outcomes.get(outcome, 0) + 1
        self.sim.calm()

    def _his_down_later(self, payment: threading.Thread) -> None:
        time.sleep(self.rng.random() * (self.args.card_time + 2.0))
        if payment.is_alive():
            self.sim.act("his/faults", down=True)

    def _after_sale(self, payment: threading.Thread, fault: str, order: dict[str, Any]) -> None:
        """The moment the terminal has charged the card, the HIS goes down (the record cannot be made) or
        the doctor adds an item to the bill (the record is refused AMOUNT_MISMATCH): the sale is voided."""
        approved = self._approved_sales()
        deadline = time.monotonic() + 60
        while payment.is_alive() and time.monotonic() < deadline:
            if self._approved_sales() > approved:
                if fault == "down_after_sale":
                    self.sim.act("his/faults", latency_ms=AFTER_SALE_LATENCY_MS, down=True)
                else:
                    self._change_a_bill(order)
                return
            time.sleep(0.05)

    def _change_a_bill(self, order: dict[str, Any]) -> None:
        patient = next(p for p in self.fixtures["patients"] if p["visit_card"] == order["visit_card"])
        for bill in self.fixtures["bills"]:
            if bill["patient_id"] == patient["id"]:
                self.sim.his_post(f"/_test/bills/{bill['id']}/items", {"name": "加开检验", "unit_price_fen": 800})

    def _approved_sales(self) -> int:
        ledger = self.sim.observe("payment/ledger")["transactions"]
        return sum(1 for tx in ledger if tx["type"] == "sale" and tx["result"] == "approved")

    # --- kills and recovery ---------------------------------------------------------------------
    def _kill(self) -> None:
        self.kiosk.kill()
        self.figures.kills += 1

    def _restart(self) -> None:
        """Start the kiosk again and wait until recovery left nothing open (a violation if it cannot)."""
        self.sim.calm()
        began = time.monotonic()
        self.kiosk.start()
        if self.kiosk.wait_recovered(self.args.recovery_timeout):
            self.figures.recovery_s.append(time.monotonic() - began)
        else:
            self.figures.journal_open.append(f"kill {self.figures.kills}: not recovered after "
                                             f"{self.args.recovery_timeout:.0f} s")
            self.kiosk.kill()
            self.kiosk.start()
            self.kiosk.wait_recovered(self.args.recovery_timeout)

    def boundary_kills(self) -> None:
        """One kill right after every journal step, reached by payments until the kiosk dies there."""
        for boundary in BOUNDARIES:
            self.kiosk.kill()
            self.sim.calm()
            self.kiosk.start(boundary)
            self.kiosk.wait_recovered(self.args.recovery_timeout)
            aim = FAILED_STEPS.get(boundary) or SCENARIOS.get(boundary.split(":")[0], {})
            for _ in range(self.args.boundary_tries):
                if not self.kiosk.alive():
                    break
                self._pay(None, aim)
            if self.kiosk.alive():
                self.figures.boundaries_not_reached.append(boundary)
            else:
                self.figures.boundary_kills += 1
            self._kill()
            self._restart()

    def _horizon(self) -> float:
        """A random kill lands within the time a whole payment takes (a little past it, now and then)."""
        if len(self.durations) >= 3:
            return 1.2 * statistics.median(self.durations)
        return self.args.card_time * 1.5 + (8.0 if self.args.driver == "screen" else 4.0)

    def random_kills(self, count: int) -> None:
        for n in range(count):
            if self._out_of_time():
                return
            if n and n % 50 == 0:
                self._progress()
            if self.rng.random() < 0.1:
                # during recovery at start, before the home screen
                self.kiosk.kill()
                self.sim.calm()
                self.kiosk.start()
                time.sleep(self.rng.random() * 1.5)
                self._kill()
            else:
                self._pay(self.rng.random() * self._horizon())
            self._restart()

    def evidence(self) -> invariants.Evidence:
        payments = self.sim.his_get("/payments", date=self.fixtures["today"], kiosk_id="all")["payments"]
        qr_orders = {p["terminal_ref"]: self.sim.his_get(f"/qr-orders/{p['terminal_ref']}")["order"]["status"]
                     for p in payments if p["method"] in invariants.QR_METHODS}
        return invariants.Evidence(
            ledger=self.sim.observe("payment/ledger")["transactions"], payments=payments,
            fixtures=self.sim.his_get("/_test/fixtures"), qr_orders=qr_orders,
            printed=[job["text"] for job in self.sim.observe("printer/jobs")["jobs"]], answers=self.answers,
            kiosk_id=KIOSK_ID)

    def _out_of_time(self) -> bool:
        return self.args.max_minutes is not None and time.monotonic() - self.started > self.args.max_minutes * 60

    def _progress(self) -> None:
        """The figures so far, for a long run watched from outside (work/progress.json)."""
        (self.work / "progress.json").write_text(json.dumps(self.result(), ensure_ascii=False, indent=2),
                                                 encoding="utf-8")

    def run(self) -> dict[str, Any]:
        self._restart()
        if not self.args.no_boundaries:
            self.boundary_kills()
        self.random_kills(max(0, self.args.kills - self.figures.kills))
        return self.result()

    def result(self) -> dict[str, Any]:
        evidence = self.evidence()
        violations = invariants.check(evidence)
        violations["journal_open_after_recovery"] = self.figures.journal_open
        rec = sorted(self.figures.recovery_s)
        return {
            "seed": self.args.seed, "driver": self.args.driver, "card_time_s": self.args.card_time,
            "kills": self.figures.kills, "boundary_kills": self.figures.boundary_kills,
            "boundaries_not_reached": self.figures.boundaries_not_reached,
            "payments_started": self.figures.payments, "outcomes_seen": self.figures.outcomes,
            "terminal_transactions": len(evidence.ledger),
            "approved_unvoided_sales": len(invariants.charged_sales(evidence.ledger)),
            "his_payments_paid": sum(1 for p in evidence.payments if p["status"] == "paid"),
            "violations": {name: len(violations[name]) for name in invariants.INVARIANTS},
            "violation_details": {k: v[:20] for k, v in violations.items() if v},
            "recovery_s": {"p50": round(statistics.median(rec), 3) if rec else None,
                           "p99": round(rec[min(len(rec) - 1, int(len(rec) * 0.99))], 3) if rec else None,
                           "n": len(rec)},
            "wall_s": round(time.monotonic() - self.started, 1),
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def close(self) -> None:
        self.kiosk.kill()
        self.sim.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000, help="kills in all (step boundaries first)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--driver", choices=tuple(KINDS), default="screen",
                        help="pay through the screens (automation port) or the engine's own port")
    parser.add_argument("--card-time", type=float, default=3.0, help="seconds the terminal takes per sale")
    parser.add_argument("--boundary-tries", type=int, default=6,
                        help="payments tried to reach one journal step before giving up on it")
    parser.add_argument("--no-boundaries", action="store_true", help="random kills only")
    parser.add_argument("--recovery-timeout", type=float, default=60.0)
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop killing after this long and report the kills made (figures every 50 kills "
                             "in WORK/progress.json)")
    parser.add_argument("--work", type=Path, default=None, help="keep logs and the journal here")
    return parser.parse_args(argv)


def torture(args: argparse.Namespace) -> dict[str, Any]:
    work = args.work or Path(tempfile.mkdtemp(prefix="kiosk-torture-"))
    work.mkdir(parents=True, exist_ok=True)
    harness = Torture(args, work)
    try:
        result = harness.run()
    finally:
        harness.close()
    result["work"] = str(work)
    return result


def main(argv: list[str] | None = None) -> int:
    result = torture(parse_args(argv))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if not any(result["violations"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

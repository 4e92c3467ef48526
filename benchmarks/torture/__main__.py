"""The kill -9 torture harness: money is never lost or taken twice, whatever moment the kiosk dies.

    .venv/bin/python -m benchmarks.torture --kills 1000 --seed 7 [--card-time 3]

`kiosk sim` runs in its own process (the terminal, printer, scanner and the reference HIS outlive every
kill), `benchmarks.torture.worker` is the kiosk: the production composition root with the real drivers
of `kiosk sim --write-config`'s config and the one payment engine. Payments of every kind (bank card,
payment code on the scanner, a QR shown for the phone, each with or without an insurance e-voucher
pre-settlement, and the registration fee at 取号) run under random terminal behaviours (approved,
declined, answer lost, timeout at the terminal, DU) and HIS faults (latency, 503s, down mid-payment).

Kills: first one at every journal step boundary (`KIOSK_FAULT_KILL_AT`), then at seeded random
moments (mid-transaction, between transactions, during recovery). After each: restart, wait until
recovery left no open journal entry, go on. At the end the invariants (`invariants.py`) are checked
against the terminal's ledger, the HIS and the printer's jobs, and the figures printed as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from benchmarks.torture import invariants

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "demo-kiosk-token"
KIOSK_ID = "K01"

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
HIS_FAULTS = (("none", 6), ("latency", 1), ("flaky", 1), ("down_mid", 1))
KINDS = (("card", 4), ("scan", 2), ("show_qr", 2), ("fee", 2))


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Figures:
    kills: int = 0
    boundary_kills: int = 0
    boundaries_not_reached: list[str] = field(default_factory=list)
    payments: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    recovery_s: list[float] = field(default_factory=list)
    journal_open: list[str] = field(default_factory=list)


class Sim:
    """`kiosk sim` in its own process: payment terminal, printer, scanner and the reference HIS."""

    def __init__(self, work: Path, card_time_s: float) -> None:
        base = work / "base.toml"
        base.write_text(f'[kiosk]\nid = "{KIOSK_ID}"\ndata_dir = "{work / "data"}"\n', encoding="utf-8")
        self.config = work / "kiosk.toml"
        self.log = (work / "sim.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--config", str(base), "--log-level", "WARNING", "sim",
             "payment", "printer", "scanner", "his", "--control-port", str(_free_port()), "--his-port", "0",
             "--card-time", str(card_time_s), "--write-config", str(self.config)],
            stdout=subprocess.PIPE, stderr=self.log, cwd=ROOT, env=os.environ.copy())
        assert self.process.stdout is not None
        text = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"kiosk sim exited; see {work / 'sim.log'}")
            text += line
            try:
                info = json.loads(text)
                break
            except json.JSONDecodeError:
                continue
        else:
            raise RuntimeError("kiosk sim did not say where it listens")
        self._tune(card_time_s)
        self.control = info["control"]["url"].rstrip("/")
        self.his = info["his"]["url"]
        self.auth = {"Authorization": f"Bearer {TOKEN}"}

    def _tune(self, card_time_s: float) -> None:
        """The terminal's T4 (a whole transaction) cut from 120 s to what this terminal takes plus a
        margin: a lost answer then costs seconds, not two minutes, per kill."""
        text = self.config.read_text(encoding="utf-8")
        t4 = f"t4_s = {card_time_s + 4.0}\n"
        self.config.write_text(text.replace("[devices.payment]\n", "[devices.payment]\n" + t4), encoding="utf-8")

    def act(self, action: str, **body: Any) -> None:
        requests.post(f"{self.control}/{action}", json=body, timeout=30).raise_for_status()

    def observe(self, what: str) -> Any:
        answer = requests.get(f"{self.control}/{what}", timeout=30)
        answer.raise_for_status()
        return answer.json()

    def his_get(self, path: str, **params: Any) -> Any:
        answer = requests.get(f"{self.his}{path}", params=params, headers=self.auth, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def calm(self) -> None:
        """The terminal approves and the HIS answers: what recovery needs to finish."""
        self.act("payment/behaviour", behaviour="approve")
        self.act("his/faults", latency_ms=0, error_rate=0.0, down=False)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


class Kiosk:
    """The kiosk process (benchmarks.torture.worker) that gets killed."""

    def __init__(self, work: Path, config: Path) -> None:
        self.work, self.config = work, config
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log = (work / "kiosk.log").open("ab")

    def start(self, kill_at: str | None = None) -> None:
        port_file = self.work / "kiosk.port"
        port_file.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("KIOSK_FAULT_KILL_AT", None)
        if kill_at:
            env["KIOSK_FAULT_KILL_AT"] = kill_at
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.torture.worker", "--config", str(self.config),
             "--port-file", str(port_file), "--recovery-every", "0.3"],
            cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the kiosk did not start; see {self.work / 'kiosk.log'}")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def state(self) -> dict[str, Any] | None:
        try:
            return requests.get(f"{self.url}/state", timeout=5).json()
        except requests.RequestException:
            return None

    def wait_recovered(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.alive():
            state = self.state()
            if state is not None and state["recovered"] and state["backlog"] == 0:
                return True
            time.sleep(0.05)
        return False


class Torture:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = work
        self.sim = Sim(work, args.card_time)
        self.kiosk = Kiosk(work, self.sim.config)
        self.figures = Figures()
        self.answers: list[dict[str, Any]] = []
        self.fixtures = self.sim.his_get("/_test/fixtures")
        self.patients = [p for p in self.fixtures["patients"] if "unpaid_bills" in p["tags"]]
        today = self.fixtures["today"]
        self.appointments = [a for a in self.fixtures["appointments"] if a["date"] == today
                             and a["status"] in ("booked", "collected") and a["fee_fen"] > a["paid_fen"]]
        self.by_id = {p["id"]: p for p in self.fixtures["patients"]}

    # --- one payment ----------------------------------------------------------------------------
    def _order(self) -> dict[str, Any]:
        kind = _pick(self.rng, KINDS)
        if kind == "fee" and self.appointments:
            appt = self.rng.choice(self.appointments)
            patient = self.by_id[appt["patient_id"]]
            return {"kind": "fee", "visit_card": patient["visit_card"], "appointment_id": appt["id"],
                    "fee_fen": appt["fee_fen"] - appt["paid_fen"], "patient": patient}
        kind = "card" if kind == "fee" else kind
        patient = self.rng.choice(self.patients)
        order = {"kind": kind, "visit_card": patient["visit_card"], "patient": patient}
        if self.rng.random() < 0.35 and patient.get("qr"):
            order["e_voucher"] = patient["qr"]
        return order

    def _faults(self) -> str:
        behaviour = _pick(self.rng, TERMINAL)
        self.sim.act("payment/behaviour", behaviour=behaviour)
        fault = _pick(self.rng, HIS_FAULTS)
        if fault == "latency":
            self.sim.act("his/faults", latency_ms=self.rng.randint(200, 1500))
        elif fault == "flaky":
            self.sim.act("his/faults", error_rate=0.3)
        return fault

    def _pay(self, order: dict[str, Any], kill_after_s: float | None) -> None:
        """Run one payment; with `kill_after_s`, kill -9 the kiosk that long after it began."""
        fault = self._faults()
        patient = order.pop("patient")
        answer: dict[str, Any] = {}

        def post() -> None:
            try:
                answer.update(requests.post(f"{self.kiosk.url}/pay", json=order, timeout=300).json())
            except requests.RequestException:
                pass  # killed mid-payment

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        self.figures.payments += 1
        actors = [threading.Thread(target=self._patient, args=(order, patient, thread), daemon=True)]
        if fault == "down_mid":
            actors.append(threading.Thread(target=self._his_down_later, args=(thread,), daemon=True))
        for actor in actors:
            actor.start()
        if kill_after_s is None:
            thread.join(timeout=300)
        else:
            thread.join(timeout=kill_after_s)
            self._kill()
            thread.join(timeout=30)
        for actor in actors:
            actor.join(timeout=30)
        if answer:
            self.answers.append(answer)
            outcome = answer["outcome"] + (f":{answer.get('message_key')}" if answer["outcome"] != "paid" else "")
            self.figures.outcomes[outcome] = self.figures.outcomes.get(outcome, 0) + 1
        self.sim.act("his/faults", latency_ms=0, error_rate=0.0, down=False)

    def _patient(self, order: dict[str, Any], patient: dict[str, Any], payment: threading.Thread) -> None:
        """What the patient does meanwhile: shows a payment code, or pays a shown QR from the phone."""
        if order["kind"] == "scan":
            time.sleep(0.5)
            if payment.is_alive():
                self.sim.act("scanner/scan", value=patient["payment_code"])
        elif order["kind"] == "show_qr" and self.rng.random() < 0.7:
            deadline = time.monotonic() + 20
            while payment.is_alive() and time.monotonic() < deadline:
                state = self.kiosk.state()
                if state and state["qr_content"]:
                    time.sleep(self.rng.random() * 2)
                    order_id = state["qr_content"].rsplit("/", 1)[-1]
                    requests.post(f"{self.sim.his}/_test/qr-orders/{order_id}/pay", headers=self.sim.auth, timeout=30)
                    return
                time.sleep(0.1)

    def _his_down_later(self, payment: threading.Thread) -> None:
        time.sleep(self.rng.random() * (self.args.card_time + 1.0))
        if payment.is_alive():
            self.sim.act("his/faults", down=True)

    # --- kills and recovery ---------------------------------------------------------------------
    def _kill(self) -> None:
        """kill -9 the kiosk (or collect it, when it already died at a step boundary)."""
        self.kiosk.kill()
        self.figures.kills += 1

    def _restart(self, kill_at: str | None = None) -> None:
        """Start the kiosk again and wait until recovery left nothing open (a violation if it cannot)."""
        self.sim.calm()
        began = time.monotonic()
        self.kiosk.start(kill_at)
        if kill_at is not None:
            return
        if self.kiosk.wait_recovered(self.args.recovery_timeout):
            self.figures.recovery_s.append(time.monotonic() - began)
            return
        state = self.kiosk.state()
        self.figures.journal_open.append(f"after kill {self.figures.kills}: {state}")

    def boundary_kills(self) -> None:
        """One kill right after every journal step, each reached by payments of a kind that passes it."""
        for boundary in BOUNDARIES:
            self.sim.calm()
            self.kiosk.kill()
            self.kiosk.start(boundary)
            for _ in range(self.args.boundary_tries):
                if not self.kiosk.alive():
                    break
                self._pay(self._order(), None)
            if self.kiosk.alive():
                self.figures.boundaries_not_reached.append(boundary)
            else:
                self.figures.boundary_kills += 1
            self._kill()
            self._restart()

    def random_kills(self, count: int) -> None:
        horizon = self.args.card_time * 1.5 + 2.0
        for _ in range(count):
            roll = self.rng.random()
            if roll < 0.1:
                # during recovery: right after a start, before it finished
                self.kiosk.kill()
                self.sim.calm()
                self.kiosk.start()
                time.sleep(self.rng.random() * 0.5)
                self._kill()
            else:
                self._pay(self._order(), self.rng.random() * horizon)
            self._restart()

    def evidence(self) -> invariants.Evidence:
        payments = self.sim.his_get("/payments", date=self.fixtures["today"], kiosk_id="all")["payments"]
        qr_orders = {}
        for p in payments:
            if p["method"] in invariants.QR_METHODS:
                qr_orders[p["terminal_ref"]] = self.sim.his_get(f"/qr-orders/{p['terminal_ref']}")["order"]["status"]
        return invariants.Evidence(
            ledger=self.sim.observe("payment/ledger")["transactions"], payments=payments,
            fixtures=self.sim.his_get("/_test/fixtures"), qr_orders=qr_orders,
            printed=[job["text"] for job in self.sim.observe("printer/jobs")["jobs"]], answers=self.answers,
            kiosk_id=KIOSK_ID)

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self._restart()
        if not self.args.no_boundaries:
            self.boundary_kills()
        self.random_kills(max(0, self.args.kills - self.figures.kills))
        self.kiosk.kill()
        self.sim.calm()
        self.kiosk.start()
        final_ok = self.kiosk.wait_recovered(self.args.recovery_timeout)
        violations = invariants.check(self.evidence())
        violations["journal_open_after_recovery"] = self.figures.journal_open + ([] if final_ok else ["at the end"])
        ev_ledger = self.sim.observe("payment/ledger")["transactions"]
        rec = sorted(self.figures.recovery_s)
        return {
            "seed": self.args.seed, "card_time_s": self.args.card_time,
            "kills": self.figures.kills, "boundary_kills": self.figures.boundary_kills,
            "boundaries_not_reached": self.figures.boundaries_not_reached,
            "payments_started": self.figures.payments, "outcomes_seen": self.figures.outcomes,
            "terminal_transactions": len(ev_ledger),
            "approved_unvoided_sales": len(invariants.charged_sales(ev_ledger)),
            "violations": {name: len(violations[name]) for name in invariants.INVARIANTS},
            "violation_details": {k: v[:20] for k, v in violations.items() if v},
            "recovery_s": {"p50": round(statistics.median(rec), 3) if rec else None,
                           "p99": round(rec[min(len(rec) - 1, int(len(rec) * 0.99))], 3) if rec else None,
                           "n": len(rec)},
            "wall_s": round(time.monotonic() - started, 1),
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def close(self) -> None:
        self.kiosk.kill()
        self.sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000, help="kills in all (step boundaries first)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--card-time", type=float, default=3.0, help="seconds the terminal takes per sale")
    parser.add_argument("--boundary-tries", type=int, default=6,
                        help="payments tried to reach one journal step before giving up on it")
    parser.add_argument("--no-boundaries", action="store_true", help="random kills only")
    parser.add_argument("--recovery-timeout", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=None, help="keep logs and the journal here")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="kiosk-torture-"))
    work.mkdir(parents=True, exist_ok=True)
    torture = Torture(args, work)
    try:
        result = torture.run()
    finally:
        torture.close()
    result["work"] = str(work)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if not any(result["violations"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

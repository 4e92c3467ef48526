"""The processes the torture harness runs: `kiosk sim` (terminal, printer, scanner and the reference HIS,
outliving every kill) and the kiosk it kills, in one of two shapes with one interface:

- `ScreenKiosk`: `kiosk run --automation-port P`, paid through the screens (门诊缴费: identify on the
  scanner, bills, the insurance split, the method, the terminal / payment code / shown QR), as a
  patient and a tester would through AUTOMATION.md's port.
- `EngineKiosk`: `benchmarks.torture.worker`, the same composition root and payment engine driven over a
  small port: for what has no screen of its own (the registration fee at 取号 paid by card).

Both start with `KIOSK_FAULT_KILL_AT` when asked, both are killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from kiosk.domain.catalogue import texts
from kiosk.ui.automation.client import AutomationClient, AutomationRefused

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "demo-kiosk-token"
KIOSK_ID = "K01"
KILL_AT_ENV = "KIOSK_FAULT_KILL_AT"


PYTHON = str(Path(os.path.realpath(sys.prefix)) / "bin" / "python")
"""This venv's interpreter by its real path: a kiosk restarted later does not depend on the symlinks
that lead to the venv staying in place."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sim:
    """`kiosk sim` in its own process: payment terminal, printer, scanner and the reference HIS."""

    def __init__(self, work: Path, card_time_s: float) -> None:
        base = work / "base.toml"
        base.write_text(f'[kiosk]\nid = "{KIOSK_ID}"\ndata_dir = "{work / "data"}"\n', encoding="utf-8")
        self.config = work / "kiosk.toml"
        self.log = (work / "sim.log").open("wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "kiosk", "--config", str(base), "--log-level", "WARNING", "sim",
             "payment", "printer", "scanner", "his", "--control-port", str(free_port()), "--his-port", "0",
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

    def set_clock(self, now: str) -> None:
        requests.put(f"{self.his}/_test/clock", json={"now": now}, headers=self.auth, timeout=30).raise_for_status()

    def his_post(self, path: str, body: dict[str, Any]) -> None:
        requests.post(f"{self.his}{path}", json=body, headers=self.auth, timeout=30)

    def pay_qr(self, order_id: str) -> None:
        """The patient pays a shown QR from the phone (the HIS's test mode stands in for the platform)."""
        requests.post(f"{self.his}/_test/qr-orders/{order_id}/pay", headers=self.auth, timeout=30)

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


def open_entries(data_dir: Path) -> int:
    """The kiosk's open journal entries, read from its journal file (the harness's own look)."""
    path = data_dir / "journal.db"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        (count,) = db.execute("SELECT count(*) FROM entries WHERE state IN ('intent', 'performed')").fetchone()
    return int(count)


class _Process:
    """Start, kill -9 and look after one kiosk process."""

    def __init__(self, work: Path, config: Path) -> None:
        self.work, self.config, self.data_dir = work, config, work / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log = (work / "kiosk.log").open("ab")

    def _spawn(self, argv: list[str], kill_at: str | None) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
        env.pop(KILL_AT_ENV, None)
        if kill_at:
            env[KILL_AT_ENV] = kill_at
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9 (or collect a process that already died at a step boundary)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def wait_recovered(self, timeout_s: float) -> bool:
        """Up, past recovery, and no journal entry left open."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.alive():
            if self.ready() and open_entries(self.data_dir) == 0:
                return True
            time.sleep(0.05)
        return False

    def ready(self) -> bool:
        raise NotImplementedError


class EngineKiosk(_Process):
    """benchmarks.torture.worker: the composition root and the engine, paid over its small port."""

    def start(self, kill_at: str | None = None) -> None:
        port_file = self.work / "kiosk.port"
        port_file.unlink(missing_ok=True)
        self._spawn([PYTHON, "-m", "benchmarks.torture.worker", "--config", str(self.config),
                     "--port-file", str(port_file), "--recovery-every", "0.3"], kill_at)
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if not self.alive() or time.monotonic() > deadline:
                return  # died at a step boundary during its start-up recovery, or never came up
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def _state(self) -> dict[str, Any] | None:
        try:
            return requests.get(f"{self.url}/state", timeout=5).json()
        except (requests.RequestException, ValueError):
            return None

    def ready(self) -> bool:
        state = self._state() if self.url else None
        return bool(state and state["recovered"])

    def pay(self, order: dict[str, Any], sim: Sim) -> dict[str, Any]:
        """One payment (`order` as the harness made it); {} when the kiosk died meanwhile."""
        answer: dict[str, Any] = {}

        def post() -> None:
            try:
                answer.update(requests.post(f"{self.url}/pay", json=order, timeout=300).json())
            except (requests.RequestException, ValueError):
                pass  # killed mid-payment

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        if order["kind"] == "scan":
            time.sleep(0.5)
            if thread.is_alive():
                sim.act("scanner/scan", value=order["scan_code"])
        elif order["kind"] == "show_qr" and order["qr_pay"]:
            deadline = time.monotonic() + 20
            while thread.is_alive() and time.monotonic() < deadline:
                state = self._state()
                if state and state["qr_content"]:
                    time.sleep(order["qr_delay_s"])
                    sim.pay_qr(state["qr_content"].rsplit("/", 1)[-1])
                    break
                time.sleep(0.1)
        thread.join(timeout=300)
        return answer


    def refund(self, order: dict[str, Any]) -> dict[str, Any]:
        """退号 of a paid booking and its refund; {} when the kiosk died meanwhile."""
        try:
            return dict(requests.post(f"{self.url}/refund", json=order, timeout=300).json())
        except (requests.RequestException, ValueError):
            return {}  # killed mid-refund


RECEIPT_NO = re.compile(r"R\d{8,}")
ENDS = ("result", "error")


class ScreenKiosk(_Process):
    """`kiosk run --automation-port P`: paid through the screens, as a patient would."""

    def start(self, kill_at: str | None = None) -> None:
        port = free_port()
        self._spawn([PYTHON, "-m", "kiosk", "--config", str(self.config), "--log-level", "WARNING",
                     "run", "--automation-port", str(port)], kill_at)
        self.url = f"http://127.0.0.1:{port}"
        self.client = AutomationClient(self.url, timeout_s=30)

    def ready(self) -> bool:
        try:
            screen = self.client.screen()
        except (requests.RequestException, AutomationRefused):
            return False
        return screen["screen"] == "home" and not screen["busy"]

    def _until(self, screens: tuple[str, ...], timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.client.screen()
            if screen["screen"] in screens and not screen["busy"]:
                return screen
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited for {screens}, still on {screen['screen']}")
            time.sleep(0.1)

    def _scan(self, sim: Sim, code: str, screen_id: str) -> dict[str, Any]:
        """Hold the code under the scanner until the screen takes it, as a patient does: a code scanned
        while the kiosk is not reading (between two waits) is not seen."""
        waiting = _shown(self.client.screen())
        for _ in range(10):
            sim.act("scanner/scan", value=code)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                screen = self.client.screen()
                if screen["screen"] != screen_id or screen["busy"] or _shown(screen) != waiting:
                    return screen
                time.sleep(0.1)
        raise TimeoutError(f"the {screen_id} screen never took the scan")

    @staticmethod
    def _text(screen: dict[str, Any], element_id: str) -> str:
        return next((e["text"] for e in screen["elements"] if e["id"] == element_id), "")

    def pay(self, order: dict[str, Any], sim: Sim) -> dict[str, Any]:
        """Walk one 门诊缴费; {} when the kiosk died on the way, else what the last screen showed."""
        try:
            return self._walk(order, sim)
        except (requests.RequestException, AutomationRefused, TimeoutError, ValueError):
            return {}

    def _walk(self, order: dict[str, Any], sim: Sim) -> dict[str, Any]:
        client = self.client
        jobs_before = len(sim.observe("printer/jobs")["jobs"])
        if client.screen()["screen"] != "home":
            client.tap(id="home")
        client.wait("home", 30)
        if order["kind"] == "fee":
            return self._collect(order, sim, jobs_before)
        client.tap(id="task-pay")
        client.wait("identify", 15)
        screen = self._scan(sim, order.get("e_voucher") or order["visit_card"], "identify")
        screen = self._until(("bills", "error", "home"), 30)
        if screen["screen"] == "bills":
            client.tap(id="primary")
            screen = self._until(("split", "pay_method") + ENDS, 30)
        if screen["screen"] == "split":
            client.tap(id="primary")
            screen = self._until(("pay_method", "printing") + ENDS, 30)
        if screen["screen"] == "pay_method":
            screen = self._method(order, sim)
        if screen["screen"] not in ENDS:
            screen = self._until(ENDS + ("home",), 60)
        return self._seen(screen, jobs_before)

    def _collect(self, order: dict[str, Any], sim: Sim, jobs_before: int) -> dict[str, Any]:
        """预约取号 with a fee due: the appointment, then the fee by card through the payment screens."""
        self.client.tap(id="task-collect")
        self.client.wait("identify", 15)
        screen = self._scan(sim, order["visit_card"], "identify")
        screen = self._until(("appointments", "error", "home"), 30)
        if screen["screen"] == "appointments" and any(e["id"] == "item-0" for e in screen["elements"]):
            self.client.tap(id="item-0")
            self.client.tap(id="primary")
            screen = self._until(("pay_method",) + ENDS, 60)
            if screen["screen"] == "pay_method":
                screen = self._method({**order, "kind": "card"}, sim)
        if screen["screen"] not in ENDS:
            screen = self._until(ENDS + ("home",), 60)
        if screen["screen"] == "result":  # the registration slip (the fee's receipt is the engine's)
            self.client.tap(id="primary")
            return {"outcome": "collected"}
        return self._seen(screen, jobs_before)

    def _method(self, order: dict[str, Any], sim: Sim) -> dict[str, Any]:
        kind = order["kind"]
        self.client.tap(id={"card": "pay-card", "scan": "pay-scan", "show_qr": "pay-show-qr"}[kind])
        if kind == "scan":
            self._until(("scan_payment",), 15)
            self._scan(sim, order["scan_code"], "scan_payment")
        elif kind == "show_qr":
            screen = self._until(("qr_payment",), 30)
            deadline = time.monotonic() + 30
            while not (found := RE_ORDER.search(self._text(screen, "qr_order"))) and time.monotonic() < deadline:
                time.sleep(0.1)
                screen = self.client.screen()
            time.sleep(order["qr_delay_s"])
            if found and order["qr_pay"]:
                sim.pay_qr(found.group(0))
            elif found:
                self.client.tap(id="back")  # the patient walks away: the shown QR is cancelled
        return self._until(ENDS + ("home", "pay_method", "bills"), 120)

    def _seen(self, screen: dict[str, Any], jobs_before: int) -> dict[str, Any]:
        name = screen["screen"]
        if name == "result":
            found = RECEIPT_NO.search(self._text(screen, "receipt_no"))
            printed = not any(e["id"] == "reprint" for e in screen["elements"])
            self.client.tap(id="primary")
            return {"outcome": "paid", "receipt_no": found.group(0) if found else "", "payment_id": "(screen)",
                    "printed": printed}
        if name == "error":
            message = " ".join(e["text"] for e in screen["elements"])
            self.client.tap(id="home")
            return {"outcome": "failed", "message_key": _message_key(message), "charged": _message_key(message) == MANUAL,
                    "slip_after_job": jobs_before}
        if name != "home":
            self.client.tap(id="home")
        return {"outcome": "left", "message_key": name}


RE_ORDER = re.compile(r"QR[0-9A-Za-z]+")
MANUAL = "payment.manual"


def _shown(screen: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["id"], e["text"]) for e in screen["elements"]]


def _message_key(shown: str) -> str:
    """Which catalogue message the error screen shows, by its Chinese text (the longest that fits)."""
    shown_keys = [(len(zh), key) for key, zh in texts("zh_CN").items() if zh in shown]
    return max(shown_keys)[1] if shown_keys else shown[:40]

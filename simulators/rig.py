"""All simulators of one kiosk, started together, with one set of tester actions.

The rig plays every device on its real transport (pty, vpcd under pcscd, TCP 9100) and, when asked,
the reference HIS. The kiosk's composition root points the real drivers at `endpoint_for(kind)`. The
tester's panel (Qt), the HTTP control port and the scripted demo all act through the same methods.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from kiosk.config import Config

log = logging.getLogger(__name__)

ALL = ("idcard", "insurance", "printer", "payment", "scanner")
VPCD_READER = "Virtual PCD 00 00"


@dataclass(frozen=True)
class TestPatient:
    """A patient of the HIS fixtures, as a tester picks one to put a card on the reader."""

    id: str
    name: str
    id_number: str
    insurance_card: str
    qr: str
    visit_card: str
    insurance_valid_to: dt.date | None = None
    tags: tuple[str, ...] = ()
    """The HIS's test tags: appointments_today, unpaid_bills, clean (no record), no_insurance, …"""


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us when the process that started us dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class HisProcess:
    """The reference HIS as its own process, as the hospital's server is: the kiosk's HTTP calls then
    cross a real socket between processes and never share the kiosk's interpreter lock."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.process, self.url, self.log_path = process, url, log_path

    @classmethod
    def start(cls, db: str, port: int = 0, now: dt.datetime | None = None, timeout_s: float = 60.0) -> HisProcess:
        if port == 0:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        args = [sys.executable, "-m", "simulators.his", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--db", db, "--seed", "1", "--token", "demo-kiosk-token", "--test-mode"]
        if now is not None:
            args += ["--now", now.isoformat()]
        log_path = Path(tempfile.mkdtemp(prefix="kiosk-his-")) / "his.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT,
                                       preexec_fn=_die_with_parent)  # noqa: PLW1509 - only prctl runs there
        his = cls(process, f"http://127.0.0.1:{port}/api/v1", log_path)
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the HIS exited at start: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                if requests.get(f"{his.url}/health", timeout=1).ok:
                    return his
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                his.stop()
                raise RuntimeError(f"the HIS did not answer within {timeout_s:.0f} s (log: {log_path})")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class SimulatorRig:
    """Owns the simulators it started (and the embedded HIS); `stop()` ends all of them."""

    def __init__(self) -> None:
        self.idcard: Any = None
        self.insurance: Any = None
        self.printer: Any = None
        self.payment: Any = None
        self.scanner: Any = None
        self.his: Any = None
        self._pcscd: Any = None
        self._tmp = tempfile.mkdtemp(prefix="kiosk-rig-")
        self._endpoints: dict[str, dict[str, Any]] = {}
        self._his_url: str | None = None
        self._card_time_s: float | None = None
        """An HIS this rig did not start (`kiosk sim --his-url`), asked for its test patients."""

    # --- lifecycle ---------------------------------------------------------------------------------
    @classmethod
    def start(cls, config: Config, which: list[str] | tuple[str, ...] = (), *, with_test_cards: bool = False,
              his: bool = False, his_port: int = 0, his_db: str | None = None,
              his_now: dt.datetime | None = None, his_url: str | None = None,
              card_time_s: float | None = None) -> SimulatorRig:
        """Start the simulators in `which` (all by default); with `his`, the reference HIS in test mode,
        its clock set to `his_now` (hospital time) before anything is seeded or swept. The terminal takes
        `card_time_s` per sale (card, PIN, host; None = the simulator's default, about 3 s)."""
        rig = cls()
        rig._his_url = his_url
        rig._card_time_s = card_time_s
        try:
            for kind in which or ALL:
                getattr(rig, f"_start_{kind}")()
            if his:
                rig._start_his(his_port, his_db, his_now)
            if with_test_cards:
                rig._insert_default_cards()
        except BaseException:
            rig.stop()
            raise
        return rig

    def endpoint_for(self, kind: str) -> dict[str, Any]:
        """Config overrides that point the real driver of `kind` at this rig's simulator."""
        if kind not in self._endpoints:
            raise ValueError(f"the {kind} simulator is not running in this rig")
        return self._endpoints[kind]

    @property
    def his_url(self) -> str | None:
        return self.his.url if self.his is not None else self._his_url

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {kind: ep for kind, ep in self._endpoints.items()}
        if self.his_url is not None:
            out["his"] = {"url": self.his_url}
        return out

    def stop(self) -> None:
        for name in ("idcard", "insurance", "printer", "payment", "scanner", "his"):
            sim = getattr(self, name)
            if sim is not None:
                try:
                    sim.stop()
                except Exception:
                    log.exception("stopping the %s simulator failed", name)
                setattr(self, name, None)
        if self._pcscd is not None:
            self._pcscd.stop()
            self._pcscd = None

    # --- starting each simulator -------------------------------------------------------------------
    def _start_idcard(self) -> None:
        from simulators.idcard import IdCardSimulator

        self.idcard = IdCardSimulator(link_path=str(Path(self._tmp) / "kiosk-idcard"))
        self._endpoints["idcard"] = {"device": self.idcard.start()}

    def _start_scanner(self) -> None:
        from simulators.scanner import ScannerSimulator

        self.scanner = ScannerSimulator(link_path=str(Path(self._tmp) / "kiosk-scanner"))
        self._endpoints["scanner"] = {"driver": "serial-scanner", "device": self.scanner.start()}

    def _start_payment(self) -> None:
        from simulators.payment import PaymentTerminalSimulator, TerminalTiming

        timing = None if self._card_time_s is None else TerminalTiming.lasting(self._card_time_s)
        self.payment = PaymentTerminalSimulator(link_path=str(Path(self._tmp) / "kiosk-payment"), timing=timing)
        self._endpoints["payment"] = {"device": self.payment.start()}

    def _start_printer(self) -> None:
        from simulators.printer import PrinterSimulator

        self.printer = PrinterSimulator(port=0)
        host, port = self.printer.start()
        self._endpoints["printer"] = {"driver": "escpos-network", "host": host, "port": port}

    def _start_insurance(self) -> None:
        from simulators.insurance import InsuranceCardSimulator
        from simulators.pcscd import ensure_pcscd

        self._pcscd = ensure_pcscd()
        self.insurance = InsuranceCardSimulator()
        self._endpoints["insurance"] = {"reader": VPCD_READER}

    def _start_his(self, port: int, db: str | None, now: dt.datetime | None) -> None:
        self.his = HisProcess.start(db or f"sqlite:///{Path(self._tmp) / 'his.db'}", port, now)

    def _insert_default_cards(self) -> None:
        from simulators.idcard import TEST_CARDS

        if self.idcard is not None:
            self.idcard.insert_card(TEST_CARDS["normal"])
        if self.insurance is not None:
            from simulators.insurance import TEST_CARDS as INSURANCE_CARDS

            self.insurance.insert(INSURANCE_CARDS["normal"]())

    # --- tester actions ----------------------------------------------------------------------------
    def patients(self, limit: int = 50) -> list[TestPatient]:
        """Patients of the HIS fixtures (needs the HIS in test mode)."""
        fixtures = self.fixtures()
        return [
            TestPatient(str(p["id"]), p["name"], p["id_number"], p.get("insurance_card") or "",
                        p.get("qr") or "", p.get("visit_card") or "",
                        dt.date.fromisoformat(p["insurance_valid_to"]) if p.get("insurance_valid_to") else None,
                        tuple(p.get("tags") or ()))
            for p in fixtures["patients"][:limit]
        ]

    def fixtures(self) -> dict[str, Any]:
        if self.his_url is None:
            raise ValueError("the test patients come from the HIS, and these simulators run without one: "
                             "start `kiosk sim` with the HIS (`kiosk sim ... his`) or give `--his-url URL`, "
                             "or insert a built-in card (idcard/insert test_card=normal)")
        try:
            response = requests.get(f"{self.his_url}/_test/fixtures", timeout=10)
        except requests.RequestException as exc:
            raise ValueError(f"the HIS at {self.his_url} does not answer ({type(exc).__name__})") from None
        if response.status_code == 404:
            raise ValueError(f"the HIS at {self.his_url} is not in test mode (no /_test/fixtures)")
        response.raise_for_status()
        return response.json()

    def set_his_clock(self, iso_time: str) -> None:
        requests.put(f"{self.his.url}/_test/clock", json={"now": iso_time}, timeout=10).raise_for_status()

    def set_his_faults(self, latency_ms: int = 0, error_rate: float = 0.0, down: bool = False) -> None:
        requests.post(f"{self.his.url}/_test/faults",
                      json={"latency_ms": latency_ms, "error_rate": error_rate, "down": down},
                      timeout=10).raise_for_status()

    def insert_id_card(self, patient: TestPatient) -> None:
        from simulators.idcard import SimIdCard

        self.idcard.insert_card(SimIdCard.for_person(patient.name, patient.id_number))

    def insert_test_id_card(self, name: str) -> None:
        from simulators.idcard import TEST_CARDS

        self.idcard.insert_card(TEST_CARDS[name])

    def remove_id_card(self) -> None:
        self.idcard.remove_card()

    def insert_insurance_card(self, patient: TestPatient) -> None:
        from simulators.insurance import SimInsuranceCard

        self.insurance.insert(SimInsuranceCard.for_person(patient.name, patient.id_number, patient.insurance_card,
                                                          expires=patient.insurance_valid_to))

    def remove_insurance_card(self) -> None:
        self.insurance.remove()

    def scan(self, value: str) -> None:
        self.scanner.scan(value)

    def unplug(self, kind: str) -> None:
        """Pull the device's cable: serial devices lose their pty; the network printer stops answering."""
        if kind == "printer":
            self.printer.set_offline(True)
        else:
            getattr(self, kind).unplug()

    def replug(self, kind: str) -> None:
        if kind == "printer":
            self.printer.set_offline(False)
        else:
            getattr(self, kind).replug()


class Action(str, Enum):
    """The tester actions the HTTP control port accepts: POST /<action> with a JSON body."""

    INSERT_ID_CARD = "idcard/insert"
    REMOVE_ID_CARD = "idcard/remove"
    INSERT_INSURANCE_CARD = "insurance/insert"
    REMOVE_INSURANCE_CARD = "insurance/remove"
    SCAN = "scanner/scan"
    PRINTER = "printer/fault"
    PAYMENT = "payment/behaviour"
    UNPLUG = "unplug"
    REPLUG = "replug"
    HIS_FAULTS = "his/faults"


def _patient_by_id(rig: SimulatorRig, patient_id: str) -> TestPatient:
    for patient in rig.patients(limit=10_000):
        if patient.id == str(patient_id):
            return patient
    raise ValueError(f"no test patient {patient_id} in the HIS")


def perform(rig: SimulatorRig, action: Action, body: dict[str, Any]) -> None:
    """Run one tester action; the panel, the HTTP port and scripts all come through here."""
    from simulators import controls

    needs = action.value.split("/")[0] if "/" in action.value else body.get("device", "")
    if needs in ALL and getattr(rig, needs) is None:
        raise ValueError(f"the {needs} simulator is not running")
    if needs == "his" and rig.his is None:
        raise ValueError("the HIS is not running")
    if action is Action.INSERT_ID_CARD:
        if "test_card" in body:
            rig.insert_test_id_card(body["test_card"])
        else:
            rig.insert_id_card(_patient_by_id(rig, body["patient_id"]))
    elif action is Action.REMOVE_ID_CARD:
        rig.remove_id_card()
    elif action is Action.INSERT_INSURANCE_CARD:
        rig.insert_insurance_card(_patient_by_id(rig, body["patient_id"]))
    elif action is Action.REMOVE_INSURANCE_CARD:
        rig.remove_insurance_card()
    elif action is Action.SCAN:
        rig.scan(str(body["value"]))
    elif action is Action.PRINTER:
        controls.set_printer_fault(rig.printer, body["fault"])
    elif action is Action.PAYMENT:
        timing = {k: body[k] for k in ("card_s", "pin_s", "host_s") if k in body}
        controls.set_payment_behaviour(rig.payment, body["behaviour"], timing)
    elif action is Action.UNPLUG:
        rig.unplug(body["device"])
    elif action is Action.REPLUG:
        rig.replug(body["device"])
    elif action is Action.HIS_FAULTS:
        rig.set_his_faults(int(body.get("latency_ms", 0)), float(body.get("error_rate", 0.0)),
                           bool(body.get("down", False)))


_TX_TYPES = {"01": "sale", "02": "void", "03": "refund"}
_CANCELLED_RCS = frozenset({"UC", "TO"})  # the cardholder cancelled or walked away at the PIN pad


def _ledger_entry(tx: Any) -> dict[str, Any]:
    """One transaction as the terminal's own record shows it (AUTOMATION.md GET /payment/ledger)."""
    result = "approved" if tx.approved else "cancelled" if tx.rc in _CANCELLED_RCS else "declined"
    entry: dict[str, Any] = {"ref": tx.ref, "type": _TX_TYPES[tx.command], "amount_fen": tx.amount_fen,
                             "result": result}
    if tx.orig_ref:
        entry["original_ref"] = tx.orig_ref
    entry["at"] = dt.datetime.strptime(tx.datetime, "%Y%m%d%H%M%S").isoformat() if tx.datetime else None
    return entry


def observe(rig: SimulatorRig, what: str) -> Any:
    """What a device did or holds, as the auditor reads it: GET /payment/ledger, /printer/jobs, /idcard,
    /insurance. KeyError for anything else; ValueError when that simulator is not running."""
    kind = what.split("/")[0]
    if kind not in ALL:
        raise KeyError(what)
    sim = getattr(rig, kind)
    if sim is None:
        raise ValueError(f"the {kind} simulator is not running")
    if what == "payment/ledger":
        return {"transactions": [_ledger_entry(tx) for tx in sim.transactions]}
    if what == "printer/jobs":
        return {"jobs": [{"text": receipt.text, "cut": receipt.complete,
                          "at": dt.datetime.fromtimestamp(at).isoformat(timespec="milliseconds")}
                         for receipt, at in sim.jobs]}
    if what == "idcard":
        card = sim.card
        return None if card is None else {"name": card.name, "id_number": card.id_number,
                                          "valid_to": card.valid_to, "readable": card.readable}
    if what == "insurance":
        card = sim.card
        return None if card is None else {"label": card.label}
    raise KeyError(what)


def control_server(rig: SimulatorRig, port: int) -> ThreadingHTTPServer:
    """An HTTP control port on 127.0.0.1 for scripted tests: GET / describes, GET /<what> observes
    (`observe`), POST /<action> acts."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            what = self.path.strip("/")
            if not what:
                self._answer(200, {"simulators": rig.describe(), "actions": [a.value for a in Action]})
                return
            try:
                self._answer(200, observe(rig, what))
            except KeyError:
                self._answer(404, {"ok": False, "error": f"nothing to observe at /{what}"})
            except ValueError as exc:
                self._answer(400, {"ok": False, "error": str(exc)})

        def do_POST(self) -> None:
            try:
                action = Action(self.path.strip("/"))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                perform(rig, action, body)
            except (ValueError, KeyError, TypeError) as exc:
                self._answer(400, {"ok": False, "error": str(exc) if not isinstance(exc, KeyError) else
                                   f"missing or unknown {exc}"})
                return
            except Exception as exc:  # the control port answers every request, it never drops one
                log.exception("control action failed")
                self._answer(500, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
                return
            self._answer(200, {"ok": True})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="sim-control", daemon=True).start()
    return server


_REAL_DRIVERS = {"idcard": "ga467-serial", "insurance": "pcsc", "printer": "escpos-network",
                 "payment": "ecr-serial", "scanner": "serial-scanner"}


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value).lower() \
        if isinstance(value, bool) else str(value)


def kiosk_config(rig: SimulatorRig, base: Config) -> str:
    """A kiosk config (TOML) whose real drivers talk to this rig's simulators and HIS, so a kiosk in
    another process can be killed and restarted while the terminal and its ledger live on."""
    lines = ["# written by `kiosk sim --write-config`: the real drivers, pointed at running simulators", ""]
    lines += ["[kiosk]", f"id = {_toml_value(base.kiosk.id)}", f"data_dir = {_toml_value(base.kiosk.data_dir)}", ""]
    if rig.his_url is not None:
        lines += ["[his]", f"url = {_toml_value(rig.his_url)}", f"token = {_toml_value(base.his.token)}", ""]
    for kind, endpoint in rig._endpoints.items():
        fields = {"driver": _REAL_DRIVERS[kind], **endpoint}
        lines.append(f"[devices.{kind}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items()]
        lines.append("")
    return "\n".join(lines)


def serve_forever(config: Config, which: list[str], *, panel: bool, control_port: int,
                  write_config: Path | None = None, his_url: str | None = None, his_port: int = 8700,
                  card_time_s: float | None = None) -> int:
    """`kiosk sim`: start the simulators (and the HIS), print where each listens, wait for Ctrl-C."""
    devices = [w for w in which if w != "his"] if which else list(ALL)
    with_his = (not which or "his" in which) and his_url is None
    rig = SimulatorRig.start(config, devices, his=with_his, his_port=his_port, his_url=his_url,
                             card_time_s=card_time_s)
    server = control_server(rig, control_port) if control_port else None
    if write_config is not None:
        write_config.write_text(kiosk_config(rig, config), encoding="utf-8")
    info = rig.describe()
    if server is not None:
        info["control"] = {"url": f"http://127.0.0.1:{server.server_address[1]}/"}
    print(json.dumps(info, ensure_ascii=False, indent=2), flush=True)
    try:
        if panel:
            from simulators.panel import run_panel

            return run_panel(rig)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        if server is not None:
            server.shutdown()
        rig.stop()

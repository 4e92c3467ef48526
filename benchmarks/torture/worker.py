"""The kiosk process the torture harness kills: the production composition root (`kiosk.app.build`)
with the real drivers of a `kiosk sim --write-config` config, and the one payment engine, driven over a
small local HTTP port instead of the payment screens.

It starts as `kiosk run` does: recovery settles every entry an earlier process left open before the
first payment is taken, then keeps passing (every `--recovery-every` seconds instead of 30, so the
harness need not wait). `KIOSK_FAULT_KILL_AT` (read by the composition root) makes it die at one
journal step.

    POST /pay    {"kind": "card"|"scan"|"show_qr"|"fee", "visit_card", "e_voucher"?, "appointment_id"?,
                  "fee_fen"?}  → what the patient was shown at the end
    POST /refund {"visit_card", "appointment_id"}  → 退号 of a paid booking and its refund (kiosk.flows.refund)
    GET  /state  {"pid", "backlog", "recovered": bool, "qr_content"}
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kiosk import config as kiosk_config
from kiosk.app import build
from kiosk.devices.base import Cancel
from kiosk.domain.errors import KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import Identity, IdentityKind
from kiosk.domain.payment import Insurance, InsuranceKind, PayMethod, QrMode
from kiosk.flows.payment import Charge, EngineTiming, PaymentEngine, PaymentFailed, PaymentView, Phase
from kiosk.flows.payment_steps import SALE
from kiosk.flows.refund import RefundEngine
from kiosk.sync.journal import EntryState

log = logging.getLogger("torture.worker")

TIMING = EngineTiming(record_retries=2, retry_pause_s=0.3, query_retries=3, qr_poll_s=0.3, qr_timeout_s=5.0)
"""The engine's waits, shortened so that a run takes seconds (the order of steps is the product's)."""
SCAN_TIMEOUT_S = 10.0


class Worker:
    def __init__(self, config_path: Path, recovery_every_s: float) -> None:
        self.app = build(kiosk_config.load(config_path))
        self.engine = PaymentEngine(self.app.services, TIMING)
        self.recovery_every_s = recovery_every_s
        self.recovered = False
        self.qr_content: str | None = None
        self._stop = threading.Event()

    # --- recovery, as `kiosk run` schedules it ---------------------------------------------------
    def recover_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.app.recovery.run()
            except Exception:  # a pass that fails is retried on the next one, as the product's drain is
                log.exception("recovery pass failed")
            if not self.app.journal.backlog():
                self.recovered = True
            self._stop.wait(self.recovery_every_s)

    def state(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "backlog": self.app.journal.backlog(), "recovered": self.recovered,
                "qr_content": self.qr_content}

    # --- one payment, as a payment screen would run it -------------------------------------------
    def pay(self, order: dict[str, Any]) -> dict[str, Any]:
        his = self.app.services.his
        assert his is not None
        journal = self.app.journal
        session = journal.session()
        self.qr_content = None
        try:
            patient = his.resolve_patient(Identity(IdentityKind.VISIT_CARD, order["visit_card"]))
            if order["kind"] == "fee":
                charge = Charge.for_appointment(patient, order["appointment_id"], Money(order["fee_fen"]), "挂号费")
            else:
                bills = tuple(his.bills(patient.id))
                if not bills:
                    return {"outcome": "nothing_to_pay"}
                charge = Charge.for_bills(patient, bills)
            run = self.engine.start(charge, session)
            run.check()
            if order.get("e_voucher"):
                run.presettle(Insurance(InsuranceKind.E_VOUCHER, order["e_voucher"]))
            paid = self._take(run, order["kind"])
        except PaymentFailed as failed:
            held = [e.payload["ref"] for e in journal.group(run.group)
                    if e.kind == SALE and e.state is EntryState.CONFIRMED] if failed.charged else []
            return {"outcome": "failed", "message_key": failed.message_key, "charged": failed.charged,
                    "terminal_refs": held}
        except KioskError as exc:
            return {"outcome": "refused", "message_key": exc.message_key}
        finally:
            journal.release(session)
            self.qr_content = None
        return {"outcome": "paid", "receipt_no": paid.record.receipt_no, "payment_id": paid.record.id,
                "printed": paid.printed, "method": paid.method.value,
                "terminal_ref": paid.terminal.ref if paid.terminal is not None else None}

    # --- 退号 of a paid booking, as the records screen would run it ------------------------------
    def refund(self, order: dict[str, Any]) -> dict[str, Any]:
        his = self.app.services.his
        assert his is not None
        journal = self.app.journal
        session = journal.session()
        engine = RefundEngine(self.app.services, query_retries=3, retry_pause_s=0.3)
        try:
            patient = his.resolve_patient(Identity(IdentityKind.VISIT_CARD, order["visit_card"]))
            [appointment] = [a for a in his.list_appointments(patient.id, None) if a.id == order["appointment_id"]]
            refunded = engine.cancel_and_refund(patient, appointment, engine.dues(appointment),
                                                str(uuid.uuid4()), session)
        except KioskError as exc:
            return {"outcome": "refused", "message_key": exc.message_key}
        finally:
            journal.release(session)
        return {"outcome": refunded.result.message_key, "refunded_fen": refunded.result.refunded.fen}

    def _take(self, run: Any, kind: str) -> Any:
        def seen(view: PaymentView) -> None:
            if view.phase is Phase.QR_SHOWN:
                self.qr_content = view.qr_content

        if kind in ("card", "fee"):
            return run.pay(PayMethod.BANK_CARD, seen)
        if kind == "scan":
            scanner = self.app.services.scanner
            assert scanner is not None
            code = scanner.read_code(SCAN_TIMEOUT_S, Cancel())
            return run.pay(PayMethod.WECHAT, seen, mode=QrMode.SCAN, auth_code=code)
        return run.pay(PayMethod.ALIPAY, seen, mode=QrMode.SHOW)

    def stop(self) -> None:
        self._stop.set()


def serve(worker: Worker, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, data: dict[str, Any]) -> None:
            raw = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._answer(worker.state())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            order = json.loads(self.rfile.read(length))
            self._answer(worker.refund(order) if self.path == "/refund" else worker.pay(order))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="torture-port", daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port-file", type=Path, required=True, help="where the port is written once serving")
    parser.add_argument("--recovery-every", type=float, default=0.5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    worker = Worker(args.config, args.recovery_every)
    server = serve(worker, 0)
    threading.Thread(target=worker.recover_forever, name="recovery", daemon=True).start()
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(args.port_file)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

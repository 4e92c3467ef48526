"""`kiosk device ...` and `kiosk sim ...`: what a technician runs over SSH, and a tester against simulators.

Every command prints plain lines, or one JSON object with `--json`; a failed operation exits 1 and says
why (error type, stable device code, message) in both forms.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.devices.base import Cancel
from kiosk.domain.document import Align, Document, QrCode, Rule, Text
from kiosk.domain.errors import DeviceError, KioskError
from kiosk.domain.idnumber import mask_id_number, mask_name
from kiosk.domain.money import Money

log = logging.getLogger(__name__)

ACTIONS: dict[str, tuple[str, ...]] = {
    "idcard": ("status", "selftest", "read"),
    "insurance": ("status", "selftest", "read"),
    "printer": ("status", "selftest", "print-test"),
    "payment": ("status", "selftest", "sale", "void", "refund", "query", "settle"),
    "scanner": ("status", "selftest", "read"),
}


def add_parsers(sub: Any) -> None:
    device = sub.add_parser("device", help="status, self-test and operations of one device")
    device.add_argument("kind", choices=tuple(ACTIONS))
    device.add_argument("action", help="status | selftest | read | print-test | sale | void | refund | query | settle")
    device.add_argument("--json", action="store_true", help="one JSON object on stdout")
    device.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a card / scan")
    device.add_argument("--amount-fen", type=int, help="payment amount in fen (sale, refund)")
    device.add_argument("--ref", help="the kiosk reference of the transaction (query; new ref otherwise)")
    device.add_argument("--orig-ref", help="the reference of the original sale (void, refund)")
    device.add_argument("--show-personal", action="store_true", help="print names and ID numbers unmasked")

    sim = sub.add_parser("sim", help="start simulators and print where each listens")
    sim.add_argument("which", nargs="*", default=[], help="idcard insurance printer payment scanner his")
    sim.add_argument("--panel", action="store_true", help="also open the tester's control panel window")
    sim.add_argument("--control-port", type=int, default=8765, help="HTTP control port (0 = none)")
    sim.add_argument("--write-config", type=Path, metavar="FILE",
                     help="write a kiosk config whose real drivers use these simulators")
    sim.add_argument("--his-url", help="an HIS already running (in test mode: its patients back simctl's patient_id)")

    ctl = sub.add_parser("simctl", help="act on running simulators through `kiosk sim`'s control port")
    ctl.add_argument("action", help="show | idcard/insert | idcard/remove | insurance/insert | insurance/remove | "
                                    "scanner/scan | printer/fault | payment/behaviour | unplug | replug | his/faults")
    ctl.add_argument("fields", nargs="*", metavar="KEY=VALUE",
                     help="e.g. patient_id=P000100, test_card=expired, value=ECV123, fault=paper_out, "
                          "behaviour=decline, device=idcard, down=true, latency_ms=2000")
    ctl.add_argument("--url", default="http://127.0.0.1:8765/", help="the control port's URL")


def _field(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"'{text}' is not KEY=VALUE")
    if value in ("true", "false"):
        return key, value == "true"
    try:
        return key, int(value) if value.isdigit() else float(value) if value.replace(".", "", 1).isdigit() else value
    except ValueError:
        return key, value


def simctl(args: argparse.Namespace) -> int:
    import requests

    try:
        if args.action == "show":
            answer = requests.get(args.url, timeout=10)
        else:
            body = dict(_field(f) for f in args.fields)
            answer = requests.post(args.url.rstrip("/") + "/" + args.action, json=body, timeout=30)
    except ValueError as exc:
        print(f"simctl: {exc}", file=sys.stderr)
        return 2
    except requests.RequestException as exc:
        print(f"simctl: no simulators at {args.url} ({type(exc).__name__}); start them with `kiosk sim`",
              file=sys.stderr)
        return 1
    print(json.dumps(answer.json(), ensure_ascii=False, indent=2 if args.action == "show" else None))
    return 0 if answer.ok else 1


def dispatch(args: argparse.Namespace, config: Config) -> int:
    if args.command == "simctl":
        return simctl(args)
    if args.command == "sim":
        from simulators.rig import serve_forever

        return serve_forever(config, args.which, panel=args.panel, control_port=args.control_port,
                             write_config=args.write_config, his_url=args.his_url)
    return run_device_command(args, config)


def _card_fields(card: Any, show_personal: bool) -> dict[str, Any]:
    fields = {}
    for f in dataclasses.fields(card):
        value = getattr(card, f.name)
        if f.name == "name" and not show_personal:
            value = mask_name(value)
        elif f.name == "id_number":
            value = str(getattr(value, "value", value))
            value = value if show_personal else mask_id_number(value)
        elif f.name == "address" and not show_personal:
            value = value[:6] + "…" if value else value
        fields[f.name] = value.isoformat() if isinstance(value, dt.date) else (
            value.value if hasattr(value, "value") and not isinstance(value, str) else value
        )
    return fields


def _test_page(config: Config) -> Document:
    now = dt.datetime.now()
    return Document(
        "print-test",
        (
            Text(config.kiosk.hospital_name, Align.CENTER, 2, 2, bold=True),
            Text("打印机自检 / Printer self-test", Align.CENTER),
            Rule(),
            Text(f"终端 Kiosk: {config.kiosk.id}"),
            Text(f"时间 Time: {now:%Y-%m-%d %H:%M:%S}"),
            Text("中文 GB18030: 门诊自助服务机 ¥12.50"),
            Text("倍高倍宽 Double", width=2, height=2),
            QrCode(f"KIOSK-TEST-{config.kiosk.id}"),
            Rule(),
        ),
    )


def _result_dict(result: Any) -> dict[str, Any]:
    """A terminal result as JSON-ready fields; Money becomes `<name>_fen` (integer fen)."""
    if result is None:
        return {"found": False}
    data: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, Money):
            data[f"{f.name}_fen"] = value.fen
        else:
            data[f.name] = getattr(value, "value", value)
    return data


def _operate(device: Any, kind: str, args: argparse.Namespace, config: Config) -> dict[str, Any]:
    action = args.action
    if action == "status":
        time.sleep(0.3)  # let the driver finish its first poll so the status is not just "starting"
        return {"status": device.status().as_dict(), "capabilities": sorted(c.value for c in device.capabilities())}
    if action == "selftest":
        result = device.self_test()
        if not result.ok:
            raise DeviceError("self-test failed: " + "; ".join(result.lines))
        return {"ok": result.ok, "lines": list(result.lines)}
    if action == "read" and kind in ("idcard", "insurance"):
        return _card_fields(device.read_card(args.timeout, Cancel()), args.show_personal)
    if action == "read":
        return {"code": device.read_code(args.timeout, Cancel())}
    if action == "print-test":
        device.print_document(_test_page(config))
        return {"printed": True, "status": device.status().as_dict()}
    from kiosk.devices.payment import new_reference

    ref = args.ref or new_reference(config.kiosk.id)
    if action == "sale":
        return _result_dict(device.sale(ref, Money(_need(args.amount_fen, "--amount-fen")), _progress(args)))
    if action == "void":
        return _result_dict(device.void(ref, _need(args.orig_ref, "--orig-ref")))
    if action == "refund":
        return _result_dict(device.refund(ref, Money(_need(args.amount_fen, "--amount-fen")), _need(args.orig_ref, "--orig-ref")))
    if action == "query":
        return _result_dict(device.query(_need(args.ref, "--ref")))
    return _result_dict(device.settle())


def _need(value: Any, flag: str) -> Any:
    if value is None:
        raise KioskError(f"{flag} is required for this action")
    return value


def _progress(args: argparse.Namespace) -> Any:
    def show(step: Any, message: str) -> None:
        if not args.json:
            print(f"  … {step.value} {message}", flush=True)

    return show


def run_device_command(args: argparse.Namespace, config: Config) -> int:
    from kiosk.app import open_device

    kind = args.kind
    if args.action not in ACTIONS[kind]:
        return _report(args, kind, error=KioskError(f"'{args.action}' is not an action of {kind}; "
                                                   f"try one of: {', '.join(ACTIONS[kind])}"))
    rig = None
    device = None
    try:
        if getattr(config.devices, kind).driver == "sim":
            from simulators.rig import SimulatorRig

            rig = SimulatorRig.start(config, [kind], with_test_cards=True)
        device = open_device(kind, config, rig)
        return _report(args, kind, result=_operate(device, kind, args, config))
    except KioskError as exc:
        return _report(args, kind, error=exc)
    except Exception as exc:  # a technician gets one line and the log, never a traceback
        log.exception("device command failed")
        return _report(args, kind, error=KioskError(f"{type(exc).__name__}: {exc}"))
    finally:
        if device is not None:
            device.close()
        if rig is not None:
            rig.stop()


def _report(args: argparse.Namespace, kind: str, result: dict[str, Any] | None = None,
            error: KioskError | None = None) -> int:
    if error is not None:
        err = {"type": type(error).__name__, "code": getattr(error, "code", None),
               "message_key": error.message_key, "message": error.detail or str(error)}
        if args.json:
            print(json.dumps({"ok": False, "device": kind, "action": args.action, "error": err}, ensure_ascii=False))
        else:
            code = f" [{err['code']}]" if err["code"] is not None else ""
            print(f"{kind} {args.action}: FAILED{code} {err['type']}: {err['message']}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"ok": True, "device": kind, "action": args.action, "result": result},
                         ensure_ascii=False, default=str))
    else:
        print(f"{kind} {args.action}: OK")
        for key, value in (result or {}).items():
            print(f"  {key}: {value}")
    return 0

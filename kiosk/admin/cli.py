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
from enum import Enum
from pathlib import Path
from typing import Any

from kiosk.admin.diagnostics import test_page
from kiosk.config import DEFAULT_PATH, DEFAULTS_SOURCE, Config
from kiosk.devices.base import Cancel, DeviceState, not_ready_error
from kiosk.domain.errors import DeviceError, KioskError
from kiosk.domain.idnumber import mask_id_number, mask_name
from kiosk.domain.money import Money

log = logging.getLogger(__name__)

STATUS_WAIT_S = 3.0
"""How long `status` waits for a device's first answer before calling it offline."""

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
    sim.add_argument("--his-port", type=int, default=8700, help="the embedded HIS's port (0 = a free one)")
    sim.add_argument("--card-time", type=float, default=3.0, metavar="S",
                     help="seconds the payment terminal takes per sale (card, PIN, host), as a real one does")

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
                             write_config=args.write_config, his_url=args.his_url, his_port=args.his_port,
                             card_time_s=args.card_time)
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
        fields[f.name] = _plain(value)
    return fields


def _plain(value: Any) -> Any:
    """A value as a technician reads it (and JSON carries it): enums by their value, dates in ISO."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


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
        return _status(device, kind)
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
        device.print_document(test_page(config))
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


def _status(device: Any, kind: str) -> dict[str, Any]:
    """The device's status as lines; DeviceNotReady (exit 1) unless it can work now."""
    deadline = time.monotonic() + STATUS_WAIT_S
    while device.status().state is DeviceState.STARTING and time.monotonic() < deadline:
        time.sleep(0.05)  # the driver's first poll has not answered yet
    status = device.status()
    result = {
        "state": status.state.value,
        "detail": status.detail.value,
        "message": status.message,
        "since": status.changed_at.astimezone().isoformat(timespec="seconds"),
        "capabilities": sorted(c.value for c in device.capabilities()),
    }
    problem = not_ready_error(kind, status)
    if problem is not None:
        raise DeviceNotReady(problem, result)
    return result


class DeviceNotReady(KioskError):
    """`status` of a device that cannot work now: the error it would raise, and the status read."""

    def __init__(self, problem: DeviceError, status: dict[str, Any]) -> None:
        super().__init__(problem.detail, message_key=problem.message_key)
        self.problem = problem
        self.status = status


def _need(value: Any, flag: str) -> Any:
    if value is None:
        raise KioskError(f"{flag} is required for this action")
    return value


def _progress(args: argparse.Namespace) -> Any:
    def show(step: Any, message: str) -> None:
        if not args.json:
            print(f"  … {step.value} {message}", flush=True)

    return show


def simulator_note(kind: str, config: Config) -> str | None:
    """The line that tells a technician they are testing a simulator, not the device; None for a real one."""
    if getattr(config.devices, kind).driver != "sim":
        return None
    if config.source == DEFAULTS_SOURCE:
        return (f"note: no config file ({DEFAULT_PATH} is absent): this tests the built-in {kind} simulator, "
                "not a real device (use --config FILE)")
    return f"note: devices.{kind}.driver = \"sim\" in {config.source}: this tests a simulator, not a real device"


def run_device_command(args: argparse.Namespace, config: Config) -> int:
    from kiosk.app import open_device

    kind = args.kind
    note = simulator_note(kind, config)
    if note is not None:
        print(note, file=sys.stderr if args.json else sys.stdout, flush=True)
    if args.action not in ACTIONS[kind]:
        return _report(args, kind, error=KioskError(f"'{args.action}' is not an action of {kind}; "
                                                   f"try one of: {', '.join(ACTIONS[kind])}"))
    rig = None
    device = None
    try:
        if note is not None:
            from simulators.rig import SimulatorRig

            rig = SimulatorRig.start(config, [kind], with_test_cards=True)
        device = open_device(kind, config, rig)
        return _report(args, kind, result=_operate(device, kind, args, config))
    except DeviceNotReady as exc:
        return _report(args, kind, result=exc.status, error=exc.problem)
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
    """One JSON object, or a first line saying OK / FAILED and why, then the result as indented lines."""
    answer: dict[str, Any] = {"ok": error is None, "device": kind, "action": args.action}
    if result is not None:
        answer["result"] = result
    if error is not None:
        answer["error"] = {"type": type(error).__name__, "code": getattr(error, "code", None),
                           "message_key": error.message_key, "message": error.detail or str(error)}
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, default=str))
        return 0 if error is None else 1
    if error is None:
        print(f"{kind} {args.action}: OK")
    else:
        err = answer["error"]
        code = f" [{err['code']}]" if err["code"] is not None else ""
        print(f"{kind} {args.action}: FAILED{code} {err['type']}: {err['message']}", file=sys.stderr)
    for line in _lines(result or {}):
        print(line)
    return 0 if error is None else 1


def _lines(result: dict[str, Any], indent: str = "  ") -> list[str]:
    lines = []
    for key, value in result.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.extend(_lines(value, indent + "  "))
        elif isinstance(value, (list, tuple)):
            lines.append(f"{indent}{key}: {', '.join(str(_plain(v)) for v in value) or '-'}")
        else:
            lines.append(f"{indent}{key}: {_plain(value) if value != '' else '-'}")
    return lines

"""`kiosk diag [--json] [--self-test KIND]` and `kiosk admin set-pin`: the technician's commands over SSH.

`kiosk diag` reads the running kiosk's last snapshot (`data_dir/diag.json`, written every 15 s) when it is
fresh, and otherwise opens the devices itself. It asks the HIS now, either way. Exit status, for
monitoring scripts: 0 everything OK, 1 a warning (paper low…), 2 a device or the HIS in Error/Offline.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from kiosk import config as config_module
from kiosk.admin import diagnostics
from kiosk.admin.config_file import write_pin_hash
from kiosk.admin.pin import PinFormatError, hash_pin
from kiosk.config import Config
from kiosk.devices.base import Health
from kiosk.domain.errors import ConfigError

SNAPSHOT_NAME = "diag.json"
SNAPSHOT_FRESH_S = 60.0
EXIT_BY_HEALTH = {Health.OK: 0, Health.WARNING: 1, Health.ERROR: 2, Health.OFFLINE: 2}


def add_parsers(sub: Any) -> None:
    diag = sub.add_parser("diag", help="every device, the HIS link, the journal backlog, versions (exit 0 = all OK)")
    diag.add_argument("--json", action="store_true", help="one JSON object on stdout")
    diag.add_argument("--self-test", choices=diagnostics.DEVICE_KINDS, metavar="KIND",
                      help="also run one device's functional test (idcard insurance printer payment scanner)")
    admin = sub.add_parser("admin", help="technician settings")
    admin.add_argument("action", choices=("set-pin",), help="set-pin: write the technician PIN's hash")
    admin.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin (for scripts)")


def _read_pin(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    first = getpass.getpass("new technician PIN (6-12 digits): ")
    if getpass.getpass("again: ") != first:
        raise PinFormatError("the two PINs differ")
    return first


def set_pin(args: argparse.Namespace) -> int:
    path = args.config or config_module.DEFAULT_PATH
    try:
        stored = hash_pin(_read_pin(args.pin_stdin))
        write_pin_hash(path, stored)
    except PinFormatError as exc:
        print(f"kiosk admin set-pin: {exc}", file=sys.stderr)
        return 2
    except (OSError, ConfigError) as exc:
        print(f"kiosk admin set-pin: cannot write {path}: {exc}", file=sys.stderr)
        return 1
    diagnostics.record(diagnostics.ActionResult("set-pin", True, (f"PIN hash written to {path}",)))
    print(f"technician PIN set in {path} ([admin] pin_hash); the kiosk reads it at its next start")
    return 0


def snapshot_path(config: Config) -> Path:
    return Path(config.kiosk.data_dir) / SNAPSHOT_NAME


def _running_snapshot(config: Config) -> dict[str, Any] | None:
    path = snapshot_path(config)
    try:
        if time.time() - path.stat().st_mtime > SNAPSHOT_FRESH_S:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _open_all(config: Config, with_test_cards: bool) -> tuple[dict[str, Any], Any]:
    from kiosk.app import open_device

    rig = None
    simulated = [k for k in diagnostics.DEVICE_KINDS if getattr(config.devices, k).driver == "sim"]
    if simulated:
        from simulators.rig import SimulatorRig

        rig = SimulatorRig.start(config, simulated, with_test_cards=with_test_cards)
    devices = {}
    for kind in diagnostics.DEVICE_KINDS:
        try:
            devices[kind] = open_device(kind, config, rig)
        except Exception as exc:  # noqa: BLE001 - a driver that cannot be built shows as Offline
            diagnostics.log.warning("device not available", extra={"device": kind, "detail": str(exc)})
    time.sleep(0.5)  # let each driver finish its first poll, so a status is not just "starting"
    return devices, rig


def _live_report(config: Config, self_test: str | None) -> tuple[diagnostics.Report, list[dict[str, Any]]]:
    from kiosk.sync.client import HisClient
    from kiosk.sync.journal import Journal

    his = HisClient(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s)
    try:
        journal: Journal | None = Journal(Path(config.kiosk.data_dir) / "journal.db")
    except (OSError, sqlite3.Error) as exc:  # e.g. not root: the backlog is then not shown, the rest is
        print(f"kiosk diag: cannot open the journal in {config.kiosk.data_dir}: {exc}", file=sys.stderr)
        journal = None
    devices, rig = _open_all(config, with_test_cards=self_test is not None)
    try:
        actions = []
        if self_test:
            actions.append(diagnostics.self_test(self_test, devices.get(self_test), config).__dict__)
        return diagnostics.collect(config, devices, his, journal, diagnostics.system_log()), actions
    finally:
        for device in devices.values():
            device.close()
        if rig is not None:
            rig.stop()
        if journal is not None:
            journal.close()


def diag(args: argparse.Namespace, config: Config) -> int:
    snapshot = None if args.self_test else _running_snapshot(config)
    if snapshot is not None:
        from kiosk.sync.client import HisClient

        his = HisClient(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s)
        report = diagnostics.Report.from_dict(snapshot)
        report = diagnostics.replace_his(report, diagnostics.his_row(his, config))
        source, actions = "running kiosk", []
    else:
        report, actions = _live_report(config, args.self_test)
        source = "opened by kiosk diag"
    worst = report.worst
    if any(not a["ok"] for a in actions):
        worst = Health.ERROR
    if args.json:
        print(json.dumps({**report.as_dict(), "source": source, "actions": actions}, ensure_ascii=False,
                         default=str))
    else:
        print("\n".join(diagnostics.render_text(report)) + f"\n(source: {source})")
        for action in actions:
            print(f"{action['action']}: {'OK' if action['ok'] else 'FAILED'} " + " | ".join(action["lines"]))
    return EXIT_BY_HEALTH[worst]


def dispatch(args: argparse.Namespace, config: Config) -> int:
    return set_pin(args) if args.command == "admin" else diag(args, config)

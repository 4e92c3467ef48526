"""Command line: `python -m simulators.his serve --port 8700 --db sqlite:///his.db --seed 1 --token T`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from simulators.his.clock import Clock
from simulators.his.db import SYNCHRONOUS, Database
from simulators.his.migrations import SchemaVersionError
from simulators.his.rules import Rules
from simulators.his.server import create_app, prepare_database

# How the parent hands its settings to worker processes (uvicorn spawns them and imports worker_app).
_ENV = "HIS_SERVE_SETTINGS"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators.his", description="The reference HIS server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--db", default="sqlite:///his.db", help="sqlite:///FILE or postgresql+psycopg://...")
    serve.add_argument(
        "--seed", type=int, default=None, help="fill an empty database with the demo hospital N"
    )
    serve.add_argument(
        "--token",
        action="append",
        default=None,
        help="a kiosk token, optionally TOKEN:KIOSK_ID (repeatable; bare tokens are K01, K02, ...)",
    )
    serve.add_argument(
        "--test-mode", action="store_true", help="enable /_test/fixtures, /_test/clock, /_test/faults"
    )
    serve.add_argument("--rules", type=Path, default=None, help="a TOML file overriding booking rules")
    serve.add_argument("--now", default=None, help="start the clock at this ISO time (it runs on)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (the test endpoints need 1: clock and faults are per process)",
    )
    serve.add_argument(
        "--sqlite-synchronous",
        choices=SYNCHRONOUS,
        default="FULL",
        help="SQLite's synchronous pragma in WAL mode: FULL survives power loss, NORMAL only a crash",
    )
    serve.add_argument(
        "--group-commit",
        choices=("auto", "on", "off"),
        default="auto",
        help="run concurrent writes in shared transactions, one commit each batch (auto: on for SQLite)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def _build(settings: dict) -> FastAPI:
    rules = Rules.from_toml(Path(settings["rules"])) if settings["rules"] else Rules()
    now = None
    if settings["now"]:
        # Every worker's clock reads the same: --now was given at `now_given` (epoch seconds).
        now = dt.datetime.fromisoformat(settings["now"]) + dt.timedelta(
            seconds=time.time() - settings["now_given"]
        )
    clock = Clock(rules.timezone, now)
    return create_app(
        Database(settings["db"], sqlite_synchronous=settings["sqlite_synchronous"]),
        seed=settings["seed"],
        tokens=settings["tokens"],
        test_mode=settings["test_mode"],
        rules=rules,
        clock=clock,
        prepared=settings["prepared"],
        group_commit={"auto": None, "on": True, "off": False}[settings["group_commit"]],
    )


def worker_app() -> FastAPI:
    """The app in one worker process (uvicorn's factory); the parent prepared the database already."""
    return _build(json.loads(os.environ[_ENV]))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and args.test_mode:
        parser.error("--test-mode needs --workers 1: the clock and the faults live in one process")
    settings = {
        "db": args.db,
        "seed": args.seed,
        "tokens": args.token or ["demo-kiosk-token"],
        "test_mode": args.test_mode,
        "rules": str(args.rules) if args.rules else None,
        "now": args.now,
        "now_given": time.time(),
        "sqlite_synchronous": args.sqlite_synchronous,
        "group_commit": args.group_commit,
        "prepared": False,
    }
    try:
        return _serve(args, settings)
    except SchemaVersionError as exc:
        print(f"python -m simulators.his: {exc}", file=sys.stderr)  # one line, not a traceback
        return 2


def _serve(args: argparse.Namespace, settings: dict) -> int:
    # No X-Forwarded-* rewriting: nothing here reads the client address (uvicorn spends ~2 % a request on it).
    common = {
        "host": args.host, "port": args.port, "log_level": args.log_level, "access_log": False,
        "proxy_headers": False,
    }  # fmt: skip
    if args.workers == 1:
        uvicorn.run(_build(settings), backlog=2048, **common)
        return 0
    # Create and seed the database once, before any worker starts, so they never race to seed it.
    rules = Rules.from_toml(args.rules) if args.rules else Rules()
    clock = Clock(rules.timezone, dt.datetime.fromisoformat(args.now) if args.now else None)
    database = Database(args.db, sqlite_synchronous=args.sqlite_synchronous)
    try:
        prepare_database(database, args.seed, clock, rules)
    finally:
        database.dispose()
    os.environ[_ENV] = json.dumps({**settings, "seed": None, "prepared": True})
    uvicorn.run(
        "simulators.his.__main__:worker_app", factory=True, workers=args.workers, backlog=2048, **common
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

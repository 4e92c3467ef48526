"""Command line: `python -m simulators.his serve --port 8700 --db sqlite:///his.db --seed 1 --token T`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import uvicorn

from simulators.his.clock import Clock
from simulators.his.rules import Rules
from simulators.his.server import create_app


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)

    rules = Rules.from_toml(args.rules) if args.rules else Rules()
    clock = Clock(rules.timezone, dt.datetime.fromisoformat(args.now) if args.now else None)
    app = create_app(
        args.db,
        seed=args.seed,
        tokens=args.token or ["demo-kiosk-token"],
        test_mode=args.test_mode,
        rules=rules,
        clock=clock,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False, backlog=2048)
    return 0


if __name__ == "__main__":
    sys.exit(main())

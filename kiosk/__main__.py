"""The `kiosk` command: run the kiosk, the demo, device diagnostics, simulators, config display."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from kiosk import __version__, config, logging_setup
from kiosk.domain.errors import ConfigError

log = logging.getLogger("kiosk")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Hospital self-service kiosk (门诊自助服务机)")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument("--config", type=Path, default=None, help="config file (default /etc/kiosk/kiosk.toml)")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the kiosk with the devices and HIS of the config file")
    run.add_argument("--smoke", action="store_true",
                     help="start, show the home screen, print start-up time and memory as JSON, exit")
    run.add_argument("--automation-port", type=int, default=None, metavar="PORT",
                     help="serve the tester automation port on 127.0.0.1 (overrides [kiosk] automation_port)")

    demo = sub.add_parser("demo", help="every device simulated and the embedded reference HIS")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="where the scripted walk writes")
    demo.add_argument("--scripted", action="store_true", help="walk every task offscreen even with a display")
    demo.add_argument("--automation-port", type=int, default=None, metavar="PORT",
                      help="serve the tester automation port and run until SIGTERM (no scripted walk)")
    demo.add_argument("--control-port", type=int, default=8765, metavar="PORT",
                      help="the simulators' HTTP control port (kiosk simctl's default 8765)")

    cfg = sub.add_parser("config", help="show the effective config (secrets hidden)")
    cfg.add_argument("--show", action="store_true", default=True)

    from kiosk.admin import cli as device_cli

    device_cli.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging_setup.setup(args.log_level)
    try:
        cfg = config.load(args.config)
    except ConfigError as exc:
        print(f"kiosk: config error: {exc.detail}", file=sys.stderr)
        log.error("config error", extra={"detail": exc.detail})
        return 2
    if args.command == "config":
        print(json.dumps(cfg.redacted(), ensure_ascii=False, indent=2))
        return 0
    if args.command == "run":
        from kiosk.app import RunOptions, run

        return run(cfg, options=RunOptions(smoke=args.smoke, automation_port=args.automation_port))
    if args.command == "demo":
        from kiosk.app import run_demo

        return run_demo(cfg, out_dir=args.out, scripted=args.scripted, automation_port=args.automation_port,
                        control_port=args.control_port)
    from kiosk.admin import cli as device_cli

    return device_cli.dispatch(args, cfg)


if __name__ == "__main__":
    sys.exit(main())

"""The `kiosk` command: run the kiosk, the demo, device diagnostics, simulators, config display."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kiosk import __version__, config, logging_setup
from kiosk.domain.errors import ConfigError


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """`--config` and `--log-level`, accepted before and after the subcommand (`kiosk run --config X`,
    as systemd/kiosk.service runs it). Only the top level sets defaults, so a value given after the
    subcommand is not overwritten by the subcommand's absent one."""
    options = argparse.ArgumentParser(add_help=False)
    unset = argparse.SUPPRESS
    options.add_argument("--config", type=Path, default=None if defaults else unset,
                         help="config file (default /etc/kiosk/kiosk.toml)")
    options.add_argument("--log-level", default=None if defaults else unset,
                         help="DEBUG, INFO, WARNING or ERROR (default INFO; WARNING for a technician's "
                              "one-shot commands: device, simctl, config)")
    return options


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Hospital self-service kiosk (门诊自助服务机)",
                                     parents=[_global_options(defaults=True)])
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = _GlobalOptionsSubparsers(parser.add_subparsers(dest="command", required=True))

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

    rec = sub.add_parser("reconcile", help="对账: match the terminal, the HIS and the journal; HTML + CSV report")
    rec.add_argument("--date", type=_date, default=None, help="the day (YYYY-MM-DD; default today)")
    rec.add_argument("--out", type=Path, default=None, help="where the report goes (default data_dir/reconcile)")
    rec.add_argument("--settle", action=argparse.BooleanOptionalAction, default=None,
                     help="settle the terminal's batch (ECR 05) first (default: only for today)")

    gallery = sub.add_parser("gallery", help="every screen in zh/en, normal/elder, portrait/landscape as PNG "
                                             "with an index.html contact sheet (the demo kiosk, offscreen)")
    gallery.add_argument("--out", type=Path, default=Path("gallery"), help="where the PNGs and index.html go")

    cfg = sub.add_parser("config", help="show the effective config (secrets hidden)")
    cfg.add_argument("--show", action="store_true", default=True)

    from kiosk.admin import cli as device_cli
    from kiosk.admin import diag_cli

    device_cli.add_parsers(sub)
    diag_cli.add_parsers(sub)
    return parser


class _GlobalOptionsSubparsers:
    """The subparsers action, with the global options added to every subcommand it creates."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self._action.add_parser(name, parents=[_global_options(defaults=False)], **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    one_shot = args.command in ("device", "simctl", "config")
    logging_setup.setup(args.log_level or ("WARNING" if one_shot else "INFO"))
    try:
        cfg = config.load(args.config)
    except ConfigError as exc:
        print(f"kiosk: config error: {exc.detail}", file=sys.stderr)  # once: not also as a log line
        return 2
    if args.command == "config":
        print(json.dumps(cfg.redacted(), ensure_ascii=False, indent=2))
        return 0
    if args.command == "run":
        from kiosk.app import RunOptions, run

        return run(cfg, options=RunOptions(smoke=args.smoke, automation_port=args.automation_port))
    if args.command == "reconcile":
        from kiosk.app import reconcile

        return reconcile(cfg, args.date, args.out, args.settle)
    if args.command == "demo":
        from kiosk.app import run_demo

        return run_demo(cfg, out_dir=args.out, scripted=args.scripted, automation_port=args.automation_port,
                        control_port=args.control_port)
    if args.command == "gallery":
        from kiosk.app import run_gallery

        return run_gallery(cfg, out_dir=args.out)
    if args.command in ("diag", "admin"):
        from kiosk.admin import diag_cli

        return diag_cli.dispatch(args, cfg)
    from kiosk.admin import cli as device_cli

    return device_cli.dispatch(args, cfg)


if __name__ == "__main__":
    sys.exit(main())

"""How fast the running kiosk follows a device fault, and how fast it is back after a crash.

`kiosk sim` (printer, terminal, scanner, HIS) runs in its own process and the kiosk is `kiosk run` with
the real drivers pointed at it, watched through the automation port, as in the torture harness:

- fault → screen: the printer runs out of paper; time until the home screen no longer offers the tasks
  that print (a closed tile or 暂停服务), and from the refill until they are offered again;
- crash → home: `kill -9` of the kiosk, then a new `kiosk run` (what systemd's Restart=always does after
  its RestartSec=1); time from the new process's start to the home screen, ready for a patient.

    .venv/bin/python benchmarks/kiosk_restart.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.torture.processes import ScreenKiosk, Sim

RESTART_SEC = 1.0
"""systemd's RestartSec in systemd/kiosk.service, added to the measured start to give crash → home."""

PRINTING_TASKS = ("task-collect", "task-pay")


def _until(check: Callable[[], bool], timeout_s: float = 30.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            raise TimeoutError("the kiosk never showed it")
        time.sleep(0.02)
    return time.monotonic() - start


def _printing_offered(kiosk: ScreenKiosk) -> bool:
    screen: dict[str, Any] = kiosk.client.screen()
    if screen["screen"] != "home":
        return False
    tiles = {e["id"]: e["enabled"] for e in screen["elements"]}
    return all(tiles.get(t, False) for t in PRINTING_TASKS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiosk-restart-") as tmp:
        work = Path(tmp)
        sim = Sim(work, card_time_s=0.0)
        kiosk = ScreenKiosk(work, sim.config)
        try:
            kiosk.start()
            _until(kiosk.ready, 60)
            closes, reopens, restarts = [], [], []
            for _ in range(args.rounds):
                _until(lambda: _printing_offered(kiosk))
                sim.act("printer/fault", fault="paper_out")
                closes.append(_until(lambda: not _printing_offered(kiosk)))
                sim.act("printer/fault", fault="ok")
                reopens.append(_until(lambda: _printing_offered(kiosk)))
                kiosk.kill()
                kiosk.start()
                restarts.append(_until(kiosk.ready, 60))
        finally:
            kiosk.kill()
            sim.stop()

    def line(name: str, values: list[float], extra: float = 0.0) -> str:
        values = [v + extra for v in values]
        return f"{name:<34} median {statistics.median(values):.2f} s, max {max(values):.2f} s"

    print(f"kiosk_restart: {args.rounds} rounds, printer status polled every 1 s (devices.printer.poll_interval_s)")
    print(line("paper out → printing tasks closed", closes))
    print(line("refill → printing tasks offered", reopens))
    print(line("process start → home (after kill -9)", restarts))
    print(line(f"crash → home (+ RestartSec={RESTART_SEC:g})", restarts, RESTART_SEC))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The load benchmark itself: a short run against a real server books, finds no slot booked twice, and
judges issue 12's targets from the figures it measured (met or NOT met, never assumed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.his_load import verdict

REPO = Path(__file__).resolve().parents[2]


def _row(**figures: float) -> dict:
    return {"backend": "sqlite", "bookings_per_s": 650.0, "all_p99_ms": 120.0, "double_bookings": 0} | figures


def test_the_verdict_names_each_target_met_or_not() -> None:
    assert verdict(_row()) == (
        "≥ 600 bookings/s: met (650.0); p99 < 150 ms: met (120.0); 0 double bookings: met (0.0)"
    )
    assert "≥ 600 bookings/s: NOT met (599.9)" in verdict(_row(bookings_per_s=599.9))
    assert "p99 < 150 ms: NOT met (150.0)" in verdict(_row(all_p99_ms=150.0))
    assert "0 double bookings: NOT met (1.0)" in verdict(_row(double_bookings=1))
    assert "p99" not in verdict(_row(backend="postgres"))  # PostgreSQL's target is throughput only


def test_a_short_run_books_and_prints_its_verdict() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/his_load.py", "--backend", "sqlite", "--clients", "50", "--seconds", "1",
         "--extra-patients", "500", "--client-procs", "1"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "'booked':" in done.stdout and "double bookings 0" in done.stdout
    assert "issue 12 targets: ≥ 600 bookings/s:" in done.stdout

"""`kiosk demo` is the product with simulated devices (issue 11 items 4, 13, 15): the composition root's
background work runs, the simulators' control port answers `kiosk simctl`, and printed slips are kept."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kiosk_test_support import wait_for

import kiosk.ui.demo


def test_the_demo_runs_the_composition_roots_background_work(kiosk: Any) -> None:
    metrics = kiosk.out / "data" / "kiosk.prom"  # written by `kiosk run`'s metrics worker
    assert wait_for(metrics.exists, 10)
    text = metrics.read_text(encoding="utf-8")
    assert "kiosk_device_up" in text and "kiosk_journal_backlog" in text
    assert (kiosk.out / "data" / "journal.db").exists()


def test_the_ui_walk_does_not_build_the_kiosk() -> None:
    tree = ast.parse(Path(kiosk.ui.demo.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "kiosk.app" not in imported


def test_simctl_reaches_the_demos_simulators(kiosk: Any) -> None:
    patient = next(p for p in kiosk.fixtures()["patients"] if "clean" in p["tags"])
    kiosk.tap(id="task-collect")
    kiosk.wait("identify")
    url = kiosk.sims.url + "/"
    ctl = subprocess.run([sys.executable, "-m", "kiosk", "simctl", "idcard/insert", f"patient_id={patient['id']}",
                          "--url", url], check=False, capture_output=True, text=True, timeout=30)
    assert ctl.returncode == 0 and json.loads(ctl.stdout) == {"ok": True}
    assert kiosk.sims.idcard()["id_number"] == patient["id_number"]
    kiosk.wait("appointments")  # no appointment today: the screen says so


def test_printed_slips_are_kept_in_the_demo_folder(kiosk: Any) -> None:
    patient, _ = kiosk.patient_with_booking()
    kiosk.collect_with_id_card(patient)
    queue = next(e["text"] for e in kiosk.wait("result")["elements"] if e["id"] == "queue_number")
    slips = kiosk.out / "slips"
    count = len(kiosk.jobs())
    assert wait_for(lambda: (slips / f"slip-{count:03d}.txt").exists(), 10)
    assert queue in (slips / f"slip-{count:03d}.txt").read_text(encoding="utf-8")
    assert (slips / f"slip-{count:03d}.png").stat().st_size > 1000


@pytest.mark.slow
def test_his_down_greys_out_collection_in_the_demo(kiosk: Any) -> None:
    """The demo runs `kiosk run`'s HIS health check (every 30 s): every task needs the HIS, so while it is
    down the kiosk says 暂停服务, and 预约取号 is offered again once it answers."""
    kiosk.sim("his/faults", down=True)
    assert wait_for(lambda: kiosk.screen()["screen"] == "out_of_service", 45)
    kiosk.sim("his/faults")
    assert wait_for(lambda: kiosk.screen()["screen"] == "home" and kiosk.element("task-collect")["enabled"], 45)

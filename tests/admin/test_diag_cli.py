"""`kiosk diag` and `kiosk admin set-pin` as hospital IT and a technician run them over SSH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_test_support import production_config

from kiosk.admin import diagnostics
from kiosk.admin.pin import verify_pin
from kiosk.config import Config, load
from kiosk.devices.base import Health
from kiosk.sync.journal import Journal
from simulators.rig import SimulatorRig


def kiosk(*args: str, config: Path, stdin: str = "", timeout: float = 90) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kiosk", "--log-level", "WARNING", "--config", str(config), *args]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env, input=stdin)


@pytest.fixture(scope="module")
def rig() -> SimulatorRig:
    rig = SimulatorRig.start(Config(), ["idcard", "printer", "payment", "scanner"], his=True)
    yield rig
    rig.stop()


def _production_config(rig: SimulatorRig, tmp_path: Path, his_url: str | None = None) -> Path:
    path = production_config(rig, tmp_path, his_url)
    path.write_text(path.read_text(encoding="utf-8").replace("[his]\n", "[his]\ntimeout_s = 2\n"), encoding="utf-8")
    return path


def test_diag_json_against_the_simulators_names_what_is_not_ok(rig: SimulatorRig, tmp_path: Path) -> None:
    """GIVEN real drivers on the simulators, no insurance reader, and an open journal entry WHEN hospital
    IT runs `kiosk diag --json` THEN every device has its health, driver and port, the HIS its latency,
    the entry is listed masked, and the exit status says something is down."""
    journal = Journal(tmp_path / "journal.db")
    journal.record("collect", {"appointment_id": "A1", "patient_name": "张三丰", "id_number": "11010519491231002X"})
    journal.close()
    result = kiosk("diag", "--json", config=_production_config(rig, tmp_path))
    assert result.returncode == 2, result.stderr[-2000:]
    report = json.loads(result.stdout)
    health = {row["kind"]: row["health"] for row in report["devices"]}
    assert health == {"idcard": "ok", "insurance": "offline", "printer": "ok", "payment": "ok", "scanner": "ok"}
    printer = next(row for row in report["devices"] if row["kind"] == "printer")
    assert printer["driver"] == "escpos-network" and printer["port"].startswith("127.0.0.1:")
    assert report["his"]["health"] == "ok" and report["his"]["latency_ms"] > 0
    [entry] = report["backlog"]
    assert "张*丰" in entry["summary"] and "11010519491231002X" not in result.stdout
    assert report["versions"]["kiosk"] and report["source"] == "opened by kiosk diag"


def test_diag_text_with_the_his_down_and_a_printer_self_test(rig: SimulatorRig, tmp_path: Path) -> None:
    rig.printer.clear()
    result = kiosk("diag", "--self-test", "printer", config=_production_config(rig, tmp_path, "http://127.0.0.1:9/x"))
    assert result.returncode == 2
    assert "his: OFFLINE http://127.0.0.1:9/x" in result.stdout
    assert "selftest printer: OK test page printed" in result.stdout
    page = rig.printer.wait_for_receipt().text
    assert "打印机自检" in page and "[QR KIOSK-TEST-K01]" in page and "|----+----|" in page


def test_diag_reads_a_running_kiosks_snapshot_and_exits_0_when_all_is_ok(rig: SimulatorRig, tmp_path: Path) -> None:
    """GIVEN the running kiosk's fresh snapshot with every device OK WHEN `kiosk diag` runs THEN it opens
    no device (they belong to the kiosk), asks the HIS itself and exits 0."""
    config = _production_config(rig, tmp_path)
    rows = tuple(diagnostics.DeviceRow(kind, Health.OK, "online", "none", "", "sim", "simulator")
                 for kind in diagnostics.DEVICE_KINDS)
    report = diagnostics.Report("K01", "2026-01-01T00:00:00+00:00", rows,
                                diagnostics.HisRow("x", Health.OFFLINE, None), (), {"kiosk": "0"}, ("line",))
    (tmp_path / "diag.json").write_text(json.dumps(report.as_dict(), default=str), encoding="utf-8")
    result = kiosk("diag", config=config)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "source: running kiosk" in result.stdout and "his: OK" in result.stdout


def test_admin_set_pin_writes_a_hash_the_kiosk_accepts(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nid = "K05"\n', encoding="utf-8")
    result = kiosk("admin", "set-pin", "--pin-stdin", config=path, stdin="482913\n")
    assert result.returncode == 0, result.stderr
    stored = load(path).admin.pin_hash
    assert verify_pin("482913", stored) and "482913" not in path.read_text(encoding="utf-8")
    assert load(path).kiosk.id == "K05"
    bad = kiosk("admin", "set-pin", "--pin-stdin", config=path, stdin="12\n")
    assert bad.returncode == 2 and "6 to 12 digits" in bad.stderr

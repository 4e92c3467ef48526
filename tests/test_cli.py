"""The `kiosk` command as a technician and a tester use it: one line or one JSON object, honest exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_test_support import production_config

from kiosk.config import Config
from kiosk.sync.journal import EntryState, Journal
from simulators.rig import SimulatorRig


def kiosk(*args: str, config: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kiosk", "--log-level", "WARNING"]
    if config is not None:
        cmd += ["--config", str(config)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(cmd + list(args), check=False, capture_output=True, text=True, timeout=timeout, env=env)


def test_version() -> None:
    assert kiosk("--version").stdout.strip().startswith("kiosk ")


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[devices.printer]\ndriver = "escpos-netwrok"\n', encoding="utf-8")
    result = kiosk("run", config=path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"kiosk: config error: {path}: 'devices.printer.driver' = 'escpos-netwrok' is not one of "
        "sim, escpos-network, escpos-serial, escpos-usb (did you mean 'escpos-network'?)"
    )
    assert "Traceback" not in result.stderr


def test_idcard_read_json_masks_personal_data() -> None:
    result = kiosk("device", "idcard", "read", "--json", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and answer["device"] == "idcard"
    card = answer["result"]
    assert card["name"] == "张*" and card["id_number"].startswith("110***********")
    assert card["sex"] == "male" and card["birth_date"] == "1980-01-01"


def test_one_fen_sale() -> None:
    answer = json.loads(kiosk("device", "payment", "sale", "--amount-fen", "1", "--json").stdout)
    assert answer["ok"] is True
    assert answer["result"]["rc"] == "00" and answer["result"]["amount_fen"] == 1
    assert answer["result"]["card"].count("*") == 6


def test_failures_exit_non_zero_and_say_why() -> None:
    timeout = kiosk("device", "scanner", "read", "--timeout", "0.5", "--json")
    assert timeout.returncode == 1
    assert json.loads(timeout.stdout)["error"] == {
        "type": "DeviceTimeout", "code": 102, "message_key": "device.timeout",
        "message": "no code scanned within 0.5 s"}
    missing = kiosk("device", "payment", "sale", "--json")
    assert missing.returncode == 1 and "--amount-fen is required" in json.loads(missing.stdout)["error"]["message"]
    wrong = kiosk("device", "printer", "sale")
    assert wrong.returncode == 1 and "not an action of printer" in wrong.stderr


def test_offline_device_says_so(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[devices.idcard]\ndriver = "ga467-serial"\ndevice = "/dev/kiosk-no-such-reader"\n',
                    encoding="utf-8")
    result = kiosk("device", "idcard", "read", "--timeout", "1", "--json", config=path)
    answer = json.loads(result.stdout)
    assert result.returncode == 1 and answer["ok"] is False
    assert answer["error"]["type"] == "DeviceOffline" and answer["error"]["code"] == 101


@pytest.fixture
def rig() -> SimulatorRig:
    rig = SimulatorRig.start(Config(), ["idcard", "printer", "payment", "scanner"], his=True)
    yield rig
    rig.stop()


def test_smoke_start_with_production_drivers_recovers_the_journal(rig: SimulatorRig, tmp_path: Path) -> None:
    """GIVEN a production config (real driver names) pointing at the simulators, and a journal left with
    an open collect intent by a crash WHEN the kiosk starts THEN the intent is settled before the home
    screen, and the start-up figures are printed."""
    fixtures = rig.fixtures()
    appt = fixtures["appointments"][0]
    journal = Journal(tmp_path / "journal.db")
    key = journal.record("collect", {"appointment_id": appt["id"], "patient_id": appt["patient_id"]}).key
    journal.close()
    path = production_config(rig, tmp_path)
    result = kiosk("run", "--smoke", config=path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert figures["startup_s"] > 0 and figures["rss_mib"] > 0
    assert figures["states"]["idcard"] == "online" and figures["states"]["printer"] == "online"
    assert figures["states"]["insurance"] in ("no-device", "offline")
    metrics = (tmp_path / "kiosk.prom").read_text(encoding="utf-8")
    assert 'kiosk_device_up{device="idcard",kiosk="K01"} 1.0' in metrics
    assert 'kiosk_device_up{device="insurance",kiosk="K01"} 0.0' in metrics
    settled = Journal(tmp_path / "journal.db").get(key)
    assert settled.state in (EntryState.CONFIRMED, EntryState.FAILED)  # the HIS answered either way
    assert settled.outcome.get("recovered") == "yes"

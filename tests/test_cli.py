"""The `kiosk` command as a technician and a tester use it: one line or one JSON object, honest exit codes."""

from __future__ import annotations

import json
import os
import shlex
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


def test_missing_device_status_fails_and_says_so(tmp_path: Path) -> None:
    """GIVEN a config naming an ID-card reader that is not plugged in WHEN a technician asks its status
    THEN the command exits non-zero, the first line says FAILED and why, and the state follows as lines."""
    path = tmp_path / "kiosk.toml"
    path.write_text('[devices.idcard]\ndriver = "ga467-serial"\ndevice = "/dev/kiosk-no-such-reader"\n',
                    encoding="utf-8")
    result = kiosk("device", "idcard", "status", config=path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == ("idcard status: FAILED [101] DeviceOffline: idcard is no-device "
                                             "(no-reader): no device at /dev/kiosk-no-such-reader")
    assert "  state: no-device" in result.stdout.splitlines()
    assert "note:" not in result.stdout  # a real driver: no simulator note
    answer = json.loads(kiosk("device", "idcard", "status", "--json", config=path).stdout)
    assert answer["ok"] is False and answer["result"]["state"] == "no-device"


def test_without_a_config_file_the_first_line_says_it_tests_a_simulator() -> None:
    """GIVEN no config file WHEN a technician reads a card and asks the printer's status THEN the first
    line says a built-in simulator is being tested, and the output reads as plain words (no Python reprs)."""
    read = kiosk("device", "idcard", "read", "--timeout", "5")
    assert read.returncode == 0, read.stderr
    lines = read.stdout.splitlines()
    assert lines[0].startswith("note: no config file") and "built-in idcard simulator" in lines[0]
    assert lines[1] == "idcard read: OK" and "  sex: male" in lines
    status = kiosk("device", "printer", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "built-in printer simulator" in lines[0] and lines[1] == "printer status: OK"
    assert "  state: online" in lines and "  capabilities: barcode, cut, paper-low-sensor, qr" in lines
    for shown in (read.stdout, status.stdout):
        assert not any(mark in shown for mark in ("Sex.", "{", "[", "'")), shown


@pytest.fixture
def rig() -> SimulatorRig:
    rig = SimulatorRig.start(Config(), ["idcard", "printer", "payment", "scanner"], his=True)
    yield rig
    rig.stop()


def smoke_figures(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))


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
    figures = smoke_figures(kiosk("run", "--smoke", config=path, timeout=120))
    assert figures["startup_s"] > 0 and figures["rss_mib"] > 0
    assert figures["states"]["idcard"] == "online" and figures["states"]["printer"] == "online"
    assert figures["states"]["insurance"] in ("no-device", "offline")
    metrics = (tmp_path / "kiosk.prom").read_text(encoding="utf-8")
    assert 'kiosk_device_up{device="idcard",kiosk="K01"} 1.0' in metrics
    assert 'kiosk_device_up{device="insurance",kiosk="K01"} 0.0' in metrics
    settled = Journal(tmp_path / "journal.db").get(key)
    assert settled.state in (EntryState.CONFIRMED, EntryState.FAILED)  # the HIS answered either way
    assert settled.outcome.get("recovered") == "yes"


def test_systemd_unit_starts_the_kiosk_as_written(rig: SimulatorRig, tmp_path: Path) -> None:
    """GIVEN systemd/kiosk.service WHEN the command its ExecStart hands to the cage compositor runs as
    written (the installed `kiosk` entry point, the config path swapped for a test config, `--smoke` so
    that it exits) THEN the kiosk starts with that config's devices, instead of refusing its own arguments."""
    unit = (Path(__file__).parents[1] / "systemd" / "kiosk.service").read_text(encoding="utf-8")
    [exec_start] = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart=")]
    compositor = shlex.split(exec_start)
    assert compositor[:3] == ["/usr/bin/cage", "-s", "--"]
    argv = compositor[3:]
    assert argv[0] == "/opt/kiosk/.venv/bin/kiosk" and "/etc/kiosk/kiosk.toml" in argv
    argv[0] = str(Path(sys.executable).parent / "kiosk")
    argv[argv.index("/etc/kiosk/kiosk.toml")] = str(production_config(rig, tmp_path))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(argv + ["--smoke"], check=False, capture_output=True, text=True, timeout=120, env=env)
    figures = smoke_figures(result)
    assert figures["states"]["idcard"] == "online" and figures["states"]["printer"] == "online"


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_before_or_after_the_subcommand(tmp_path: Path, where: str) -> None:
    """GIVEN a config file with a typo WHEN `--config` and `--log-level` come before the subcommand or
    after it (also after `device idcard read`) THEN the file is read either way: its error is named once."""
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nidle_timeout_s = "sixty"\n', encoding="utf-8")
    options = ["--config", str(path), "--log-level", "DEBUG"]
    for command in (["run"], ["device", "idcard", "read"], ["config"]):
        argv = options + command if where == "before" else command + options
        result = subprocess.run([sys.executable, "-m", "kiosk", *argv], check=False, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.splitlines() == [
            f"kiosk: config error: {path}: 'kiosk.idle_timeout_s' must be int, not str ('sixty')"]

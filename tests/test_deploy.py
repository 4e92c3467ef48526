"""Deployment files as hospital IT uses them: the installer's dry run and every systemd unit verified."""

from __future__ import annotations

import configparser
import subprocess
import tomllib
from pathlib import Path

import pytest

from kiosk import config

REPO = Path(__file__).parents[1]
UNITS = sorted((REPO / "systemd").glob("*.service"))


def _install(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO / "scripts" / "install-kiosk.sh"), "--root", str(root)],
                          capture_output=True, text=True, timeout=120, check=False)


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          check=False)


def test_install_dry_run_lays_out_a_kiosk(tmp_path: Path) -> None:
    """GIVEN an empty directory as / WHEN the installer runs with --root THEN the app, the config skeleton,
    the udev rules and the unit are in place, and the plan has the user, packages, pcscd and the boot unit."""
    root = tmp_path / "root"
    result = _install(root)
    assert result.returncode == 0, result.stderr
    assert (root / "opt/kiosk/kiosk/__main__.py").is_file() and (root / "opt/kiosk/pyproject.toml").is_file()
    assert not (root / "opt/kiosk/.venv").exists() and not (root / "opt/kiosk/.git").exists()
    assert (root / "usr/local/bin/kiosk").readlink() == Path("/opt/kiosk/.venv/bin/kiosk")
    skeleton = root / "etc/kiosk/kiosk.toml"
    assert skeleton.stat().st_mode & 0o777 == 0o640
    assert config.load(skeleton).admin.pin_hash == ""  # no default PIN: the technician entry starts off
    assert (root / "etc/udev/rules.d/99-kiosk.rules").read_text() == (REPO / "systemd/99-kiosk.rules").read_text()
    unit = root / "etc/systemd/system/kiosk.service"
    assert unit.read_text() == (REPO / "systemd/kiosk.service").read_text()
    plan = (root / "install-plan.txt").read_text().splitlines()
    assert any(line.startswith("useradd --system") and line.endswith(" kiosk") for line in plan)
    install = next(line for line in plan if "apt-get install" in line).split()
    assert {"cage", "pcscd", "libccid", "python3-venv", "fonts-noto-cjk"} <= set(install)
    assert "/opt/kiosk/.venv/bin/python -m pip install -q /opt/kiosk[usb,hid]" in plan
    assert plan[-1] == "systemctl enable kiosk.service" and "systemctl enable pcscd.socket" in plan
    assert "systemctl set-default graphical.target" in plan
    assert _verify(unit).returncode == 0


def test_install_again_keeps_the_hospitals_config(tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert _install(root).returncode == 0
    skeleton = root / "etc/kiosk/kiosk.toml"
    skeleton.write_text('[kiosk]\nid = "K42"\n', encoding="utf-8")
    again = _install(root)
    assert again.returncode == 0 and "keeping the existing /etc/kiosk/kiosk.toml" in again.stdout
    assert config.load(skeleton).kiosk.id == "K42"
    assert _install(tmp_path / "x" / "y").returncode == 0
    assert subprocess.run(["bash", str(REPO / "scripts/install-kiosk.sh"), "--bogus"], capture_output=True,
                          check=False, timeout=30).returncode == 2


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_every_unit_passes_systemd_analyze_verify(unit: Path) -> None:
    result = _verify(unit)
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


def test_the_unit_boots_the_installed_app_under_cage_with_the_watchdog() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment, method-assign]
    unit.read(REPO / "systemd/kiosk.service", encoding="utf-8")
    service = unit["Service"]
    entry = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]["kiosk"]
    assert entry == "kiosk.__main__:main"
    assert service["ExecStart"].startswith("/usr/bin/cage -s -- /opt/kiosk/.venv/bin/kiosk run")
    assert service["Type"] == "notify" and service["NotifyAccess"] == "all"  # the app is cage's child
    assert service["Restart"] == "always" and int(service["WatchdogSec"]) > 0
    assert service["User"] == "kiosk" and service["PAMName"] == "login" and service["TTYPath"] == "/dev/tty1"
    assert unit["Install"]["WantedBy"] == "graphical.target"


def test_kiosk_run_tells_systemd_ready_and_pets_the_watchdog(tmp_path: Path) -> None:
    """GIVEN systemd's notify socket and a 2 s watchdog WHEN `kiosk run` starts THEN it sends READY=1 once
    the home screen is up, then WATCHDOG=1 again and again from its GUI thread."""
    import os
    import socket
    import sys

    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\ndata_dir = "{tmp_path}"\nmetrics_port = 0\n[his]\nurl = "http://127.0.0.1:9/api/v1"\n'
                    '[devices.idcard]\ndriver = "ga467-serial"\ndevice = "/nonexistent"\n', encoding="utf-8")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(60)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NOTIFY_SOCKET": str(tmp_path / "notify"),
           "WATCHDOG_USEC": "2000000"}
    app = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(path), "--log-level", "WARNING", "run"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        messages = [notify.recv(256).decode() for _ in range(3)]
    finally:
        app.kill()
        app.wait(timeout=30)
        notify.close()
    assert messages == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]


def test_the_wheel_ships_every_asset() -> None:
    """GIVEN the top-level assets/ folder THEN pyproject.toml's data files name every file in it, each under
    share/kiosk/assets/<its path>, where kiosk/assets.py looks in an installed kiosk (a wheel built by
    `pip wheel . --no-deps` carries them as kiosk-<version>.data/data/share/kiosk/assets/...)."""
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {
        str(Path(target).relative_to("share/kiosk/assets") / path.name)
        for target, patterns in data_files.items() for pattern in patterns for path in REPO.glob(pattern)
    }
    assets = {str(p.relative_to(REPO / "assets")) for p in (REPO / "assets").rglob("*") if p.is_file()}
    assert "theme.qss" in assets and shipped == assets

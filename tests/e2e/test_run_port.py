"""`kiosk run --automation-port`: the production command serves the port when asked, and ends cleanly
on SIGTERM (what systemd sends)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from kiosk.ui.automation.client import AutomationClient


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_kiosk_run_serves_the_port_when_asked_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\nmetrics_port = 0\n', encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--log-level", "WARNING", "--config", str(config), "run",
         "--automation-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        client = AutomationClient(f"http://127.0.0.1:{port}")
        assert client.wait_until_up(60)["pid"] == process.pid
        screen = client.screen()
        # simulated drivers without simulators and no HIS: nothing can be offered, so 暂停服务
        assert screen["screen"] == "out_of_service" and screen["size"][1] > 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

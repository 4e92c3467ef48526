"""Helpers shared by the test modules (imported as `kiosk_test_support`, see tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes (bounded); the caller asserts the result."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def production_config(rig: Any, data_dir: Path, his_url: str | None = None) -> Path:
    """A kiosk.toml with the real driver names pointed at `rig`'s simulators (no insurance reader there, no
    metrics port: tests bind no fixed port)."""
    idcard, printer = rig.endpoint_for("idcard"), rig.endpoint_for("printer")
    path = data_dir / "kiosk.toml"
    path.write_text(
        f'[kiosk]\ndata_dir = "{data_dir}"\nmetrics_port = 0\n[his]\nurl = "{his_url or rig.his_url}"\n'
        f'[devices.idcard]\ndriver = "ga467-serial"\ndevice = "{idcard["device"]}"\n'
        f'[devices.printer]\ndriver = "escpos-network"\nhost = "{printer["host"]}"\nport = {printer["port"]}\n'
        f'[devices.payment]\ndriver = "ecr-serial"\ndevice = "{rig.endpoint_for("payment")["device"]}"\n'
        f'[devices.scanner]\ndriver = "serial-scanner"\ndevice = "{rig.endpoint_for("scanner")["device"]}"\n'
        '[devices.insurance]\ndriver = "pcsc"\nreader = "no such reader"\n',
        encoding="utf-8",
    )
    return path


def task(window: Any, key: str) -> Any:
    """The controller of the patient task `key` (its home tile's key) in a MainWindow: its screens, its state."""
    return window.registry[key].controller

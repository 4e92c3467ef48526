"""Device and sync health as Prometheus text, written to a file for node_exporter's textfile collector.

A hospital's monitoring scrapes what the kiosk knows about itself: each device's state and detail
(paper low, paper out, cover open, reader offline), whether the HIS answers, the journal backlog.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk.devices.base import READY_STATES, Detail, DeviceState


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render(kiosk_id: str, devices: Mapping[str, Any], backlog: int, his_up: bool | None) -> str:
    """The metrics text: one gauge per device state and detail (1 for the current one, 0 otherwise)."""
    k = _label(kiosk_id)
    lines = [
        "# HELP kiosk_device_up 1 when the device can serve patients (online or busy).",
        "# TYPE kiosk_device_up gauge",
    ]
    states = {name: device.status() for name, device in devices.items()}
    for name, status in sorted(states.items()):
        lines.append(f'kiosk_device_up{{kiosk="{k}",device="{_label(name)}"}} {int(status.state in READY_STATES)}')
    lines += ["# HELP kiosk_device_state The device's state (XFS common status).", "# TYPE kiosk_device_state gauge"]
    for name, status in sorted(states.items()):
        for state in DeviceState:
            lines.append(f'kiosk_device_state{{kiosk="{k}",device="{_label(name)}",state="{state.value}"}} '
                         f"{int(status.state is state)}")
    lines += ["# HELP kiosk_device_detail Detail of the device's state (paper-low, paper-out, cover-open, ...).",
              "# TYPE kiosk_device_detail gauge"]
    for name, status in sorted(states.items()):
        if status.detail is not Detail.NONE:
            lines.append(f'kiosk_device_detail{{kiosk="{k}",device="{_label(name)}",detail="{status.detail.value}"}} 1')
    lines += ["# HELP kiosk_journal_backlog Journal entries not yet settled with the HIS.",
              "# TYPE kiosk_journal_backlog gauge", f'kiosk_journal_backlog{{kiosk="{k}"}} {backlog}']
    if his_up is not None:
        lines += ["# HELP kiosk_his_up 1 when the last call to the HIS got an answer.", "# TYPE kiosk_his_up gauge",
                  f'kiosk_his_up{{kiosk="{k}"}} {int(his_up)}']
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step, so a scraper never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

"""Heartbeats to the HIS: every device's status, the software version and the journal backlog, so the
hospital sees a kiosk with no paper or a growing backlog before a patient does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kiosk.domain.errors import HisError
from kiosk.sync.journal import Journal

log = logging.getLogger(__name__)


def send_heartbeat(his: Any, devices: Mapping[str, Any], journal: Journal) -> bool:
    """One heartbeat; False (logged, not raised) when the HIS did not take it."""
    states = {name: device.status().as_dict() for name, device in devices.items()}
    try:
        his.heartbeat(states, journal.backlog())
    except HisError as exc:
        log.warning("heartbeat not delivered", extra={"error": type(exc).__name__})
        return False
    return True

"""Heartbeats to the HIS: every device's status, the software version and the journal backlog, so the
hospital sees a kiosk with no paper or a growing backlog before a patient does; and the satisfaction
tally (cumulative counts per task and rating: a lost or repeated heartbeat changes nothing)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kiosk.domain.errors import HisError
from kiosk.sync.journal import Journal

log = logging.getLogger(__name__)


class Heartbeat:
    """Sends heartbeats and remembers whether the last one reached the HIS (`his_up`, None before any)."""

    def __init__(self, his: Any, devices: Mapping[str, Any], journal: Journal,
                 satisfaction: Callable[[], dict[str, Any]] | None = None) -> None:
        self.his, self.devices, self.journal = his, devices, journal
        self.satisfaction = satisfaction
        self.his_up: bool | None = None

    def beat(self) -> bool:
        """One heartbeat; False (logged, not raised) when the HIS did not take it."""
        states = {name: device.status().as_dict() for name, device in self.devices.items()}
        try:
            self.his.heartbeat(states, self.journal.backlog(), self.satisfaction() if self.satisfaction else None)
        except HisError as exc:
            log.warning("heartbeat not delivered", extra={"error": type(exc).__name__})
            self.his_up = False
            return False
        self.his_up = True
        return True

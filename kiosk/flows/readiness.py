"""Right before an irreversible step (a collection, a charge): can the devices the rest of the task
needs do their part? If not, the step is not taken and the patient is told why, nothing having happened."""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.devices.base import DeviceStatus, not_ready_error
from kiosk.devices.ports import Device, Refreshable
from kiosk.domain.errors import DeviceOffline, KioskError

_NOT_READY_KEYS = {"printer.paper_out": "ready.paper_out", "printer.cover_open": "ready.cover_open"}


def require_ready(needs: Mapping[str, Device | None]) -> None:
    """Raise a DeviceError (its message: nothing was done) for the first needed device, by name, that
    cannot work now. A device that can be asked afresh is: its idle poll may not have seen the fault yet."""
    for name, port in needs.items():
        problem = DeviceOffline(f"no {name} installed") if port is None else not_ready_error(name, _status(port))
        if problem is not None:
            key = _NOT_READY_KEYS.get(problem.message_key, f"ready.{name}_down")
            raise type(problem)(problem.detail, message_key=key)


def _status(port: Device) -> DeviceStatus:
    if isinstance(port, Refreshable):
        try:
            return port.refresh()
        except KioskError:
            pass  # the failed query published why
    return port.status()

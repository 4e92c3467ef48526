"""Waiting for a credential on the identify screen: the ID-card reader, the insurance-card reader and
the scanner each wait in the background, re-armed until one of them reads something or the wait is
called off. Shared by every task that identifies the patient."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from kiosk.devices.base import Cancel
from kiosk.domain.errors import DeviceOffline, DeviceTimeout, KioskError, NoCard, UserCancelled
from kiosk.flows.services import Services
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

READ_WAIT_S = 30.0
"""How long one wait for a card or a scan lasts before it is re-armed (while the screen is shown)."""
REARM_MS = 1000

OnRead = Callable[[Any], None]


class CredentialWaiter(QObject):
    """`arm()` starts the waits; the first read cancels the others. `waiting()` says whether a read
    still matters (the patient is still on the identify screen of this session)."""

    def __init__(self, services: Services, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.tasks = tasks
        self._cancels: list[Cancel] = []

    def usable(self, port: Any) -> bool:
        return port is not None and port.status().state.usable

    def arm(self, waiting: Callable[[], bool], on_id_card: OnRead, on_insurance_card: OnRead, on_scan: OnRead,
            on_error: Callable[[KioskError], None], on_reader_offline: Callable[[], None]) -> None:
        s = self.services
        for port, on_read in ((s.idcard, on_id_card), (s.insurance, on_insurance_card), (s.scanner, on_scan)):
            # a synchronous runner may already have identified the patient during this loop
            if port is not None and waiting():
                self._wait_for(port, on_read, waiting, on_error, on_reader_offline)

    def cancel(self) -> None:
        for cancel in self._cancels:
            cancel.cancel()
        self._cancels = []

    def _wait_for(self, port: Any, on_read: OnRead, waiting: Callable[[], bool],
                  on_error: Callable[[KioskError], None], on_reader_offline: Callable[[], None]) -> None:
        cancel = Cancel()
        self._cancels.append(cancel)
        read = port.read_code if hasattr(port, "read_code") else port.read_card

        def done(value: Any) -> None:
            if cancel.cancelled or not waiting():
                return
            self.cancel()
            on_read(value)

        def failed(exc: BaseException) -> None:
            if cancel.cancelled or not waiting():
                return
            if isinstance(exc, (NoCard, DeviceTimeout, UserCancelled)):
                # `self` as context: the timer dies with the window instead of firing into deleted widgets
                QTimer.singleShot(REARM_MS, self, lambda: self._rearm(port, on_read, waiting, on_error,
                                                                       on_reader_offline))
            elif isinstance(exc, DeviceOffline):
                log.warning("reader offline on the identify screen", extra={"device": getattr(port, "name", "?")})
                if port is self.services.idcard:
                    on_reader_offline()
            elif isinstance(exc, KioskError):
                self.cancel()
                on_error(exc)
            else:
                log.error("reader failed", exc_info=exc)

        self.tasks.submit(lambda: read(READ_WAIT_S, cancel), done, failed)

    def _rearm(self, port: Any, on_read: OnRead, waiting: Callable[[], bool],
               on_error: Callable[[KioskError], None], on_reader_offline: Callable[[], None]) -> None:
        if waiting():
            self._wait_for(port, on_read, waiting, on_error, on_reader_offline)

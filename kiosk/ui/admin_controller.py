"""The technician's way in and around: corner gesture → admin_pin → diagnostics, on worker threads.

The PIN gate and the diagnostics data live in kiosk.admin (no Qt); this only moves between the two
screens and hands slow work (the HIS check, self-tests) to the task runner.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject

from kiosk.admin import diagnostics
from kiosk.admin.pin import PinGate, Verdict
from kiosk.flows.services import Services
from kiosk.ui.screens.admin_pin import AdminPinScreen
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.diagnostics import DiagnosticsScreen
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


class AdminController(QObject):
    def __init__(
        self,
        services: Services,
        gate: PinGate,
        tasks: TaskRunner,
        screens: tuple[AdminPinScreen, DiagnosticsScreen],
        show: Callable[[Screen], None],
        leave: Callable[[], None],
        restart: Callable[[], None],
        recent_log: Callable[[], Sequence[str]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.gate, self.tasks = services, gate, tasks
        self.pin, self.diag = screens
        self._show, self._leave, self._restart, self._recent_log = show, leave, restart, recent_log
        self.pin.pin_entered.connect(self._on_pin_entered)
        self.pin.cancelled.connect(self._leave)
        self.diag.refresh_requested.connect(self.refresh)
        self.diag.self_test_requested.connect(self._on_self_test_requested)
        self.diag.restart_requested.connect(self._on_restart_requested)
        self.diag.closed.connect(self._on_diag_closed)

    def enter(self) -> None:
        """The corner gesture: the PIN screen, or nothing at all when no PIN is configured."""
        if not self.gate.enabled:
            log.info("technician gesture ignored: no [admin] pin_hash configured")
            return
        locked = self.gate.locked_for_s()
        if locked:
            self.pin.reset("admin.pin_locked", minutes=math.ceil(locked / 60))
        else:
            self.pin.reset()
        self._show(self.pin)

    def _on_pin_entered(self, pin: str) -> None:
        answer = self.gate.check(pin)
        if answer.verdict is Verdict.OK:
            diagnostics.record(diagnostics.ActionResult("technician entry", True, ()))
            self.pin.reset()
            self._show(self.diag)
            self.refresh()
        elif answer.verdict is Verdict.WRONG:
            self.pin.reset("admin.pin_wrong", tries=answer.tries_left)
        else:
            self.pin.reset("admin.pin_locked", minutes=math.ceil(answer.locked_for_s / 60))

    @property
    def _devices(self) -> dict[str, object]:
        return {kind: getattr(self.services, kind) for kind in diagnostics.DEVICE_KINDS
                if getattr(self.services, kind) is not None}

    def refresh(self) -> None:
        s = self.services
        lines = list(self._recent_log())
        self.tasks.submit(lambda: diagnostics.collect(s.config, self._devices, s.his, s.journal, lines),
                          self.diag.show_report, self._on_failed)

    def _on_self_test_requested(self, kind: str) -> None:
        device, config = self._devices.get(kind), self.services.config

        def done(result: diagnostics.ActionResult) -> None:
            self.diag.show_action(result)
            self.refresh()

        self.tasks.submit(lambda: diagnostics.self_test(kind, device, config), done, self._on_failed,
                          busy_text=self.diag.t.tr("admin.selftest"))

    def _on_failed(self, exc: BaseException) -> None:
        log.error("diagnostics failed", exc_info=exc)
        self.diag.show_action(diagnostics.record(
            diagnostics.ActionResult("diagnostics", False, (f"{type(exc).__name__}: {exc}",))))

    def _on_restart_requested(self) -> None:
        diagnostics.record(diagnostics.ActionResult("restart app", True, ("exiting for systemd to restart",)))
        self._restart()

    def _on_diag_closed(self) -> None:
        diagnostics.record(diagnostics.ActionResult("technician exit", True, ()))
        self._leave()

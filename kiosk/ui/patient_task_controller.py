"""What the controllers of 预约挂号, 报到排队 and 查询补打 share: a session, running a flow's transitions
off the GUI thread, the identify step (ID card, insurance card, scan, each waited for in the
background while the identify screen shows) and the error screen with its Retry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from kiosk.devices.base import Cancel
from kiosk.domain.errors import DeviceOffline, DeviceTimeout, KioskError, NoCard, UserCancelled
from kiosk.flows.services import Services
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

READ_WAIT_S = 30.0
REARM_MS = 1000


@dataclass
class Shell:
    """What the main window lends a task: showing a screen (with its step), the current one, home."""

    show: Callable[[Screen, int], None]
    current: Callable[[], QWidget]
    go_home: Callable[[], None]


class StepRunner:
    """Runs a flow's transition off the GUI thread, then renders the state it returns.

    An answer that comes after the session ended (home, idle, another patient) is dropped, so it can
    never show one patient's data to the next; a crash becomes the flow's plain "unexpected error".
    """

    _session: int
    state: Any
    flow: Any
    tasks: TaskRunner
    t: Translator

    def _render(self) -> None:
        raise NotImplementedError

    def _run(self, op: Callable[[], Any], busy_key: str) -> None:
        session = self._session

        def done(state: Any) -> None:
            if session == self._session:
                self.state = state
                self._render()

        def failed(exc: BaseException) -> None:
            if session != self._session:
                return
            if not isinstance(exc, KioskError):
                log.error("%s step crashed", type(self).__name__, exc_info=exc)
                exc = KioskError("unexpected error")
            self.state = self.flow.fail(self.state, exc)
            self._render()

        self.tasks.submit(op, done, failed, busy_text=self.t.tr(busy_key))


class PatientTaskController(QObject, StepRunner):
    """Subclasses set `flow` and implement `_render()` and `_identified(kind, value)`."""

    STEP_KEYS: tuple[str, ...] = ()
    id_card_read = Signal(object)
    """An ID card was read (IdCardData): the shell offers elder mode by the card's age."""

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        translator: Translator,
        identify: IdentifyScreen,
        error: ErrorScreen,
        shell: Shell,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.tasks = tasks
        self.t = translator
        self.identify = identify
        self.error = error
        self.shell = shell
        self.state: Any = None
        self.flow: Any = None
        self._session = 0
        self._cancels: list[Cancel] = []
        self.active = False
        error.retry_requested.connect(self._on_error_retry_requested)

    def _on_error_retry_requested(self) -> None:
        if self.active:
            self.retry()

    # --- session ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.reset()
        self.active = True
        self.state = self.flow.start()
        self._show_identify()

    def reset(self) -> None:
        """Forget the patient (subclasses also give back what they hold, e.g. a slot)."""
        self._session += 1
        self._cancel_reads()
        if self.flow is not None:
            self.flow.end_session()
        self.state = None
        self.active = False

    def show_error(self, retry_key: str | None, note: tuple[str, dict[str, object]] | None, step: int) -> None:
        self.error.show_error(self.state.error, retry_key, note)
        self.shell.show(self.error, step)

    # --- identify --------------------------------------------------------------------------------
    def _show_identify(self) -> None:
        self._cancel_reads()
        self.state = self.flow.start()
        self.identify.code.hide()  # a typed booking code identifies only for 预约取号
        self.identify.set_reader_available(self._usable(self.services.idcard))
        self.shell.show(self.identify, 0)
        session = self._session
        for port, kind in ((self.services.idcard, "id_card"), (self.services.insurance, "insurance_card"),
                           (self.services.scanner, "scan")):
            if port is not None and self._waiting(session):
                self._wait_for(port, kind, session)

    def _usable(self, port: Any) -> bool:
        return port is not None and port.status().state.usable

    def _waiting(self, session: int) -> bool:
        return (
            session == self._session
            and self.state is not None
            and self.state.step.value == "identify"
            and self.shell.current() is self.identify
        )

    def _wait_for(self, port: Any, kind: str, session: int) -> None:
        cancel = Cancel()
        self._cancels.append(cancel)
        read = port.read_code if hasattr(port, "read_code") else port.read_card

        def done(value: Any) -> None:
            if cancel.cancelled or not self._waiting(session):
                return
            self._cancel_reads()
            if kind == "id_card":
                self.id_card_read.emit(value)
            state = self.state
            op = {
                "id_card": self.flow.identify_id_card,
                "insurance_card": self.flow.identify_insurance_card,
                "scan": self.flow.identify_scan,
            }[kind]
            self._run(lambda: op(state, value), "busy.identify")

        def failed(exc: BaseException) -> None:
            if cancel.cancelled or not self._waiting(session):
                return
            if isinstance(exc, (NoCard, DeviceTimeout, UserCancelled)):
                QTimer.singleShot(REARM_MS, self, lambda: self._waiting(session) and self._wait_for(port, kind, session))
            elif isinstance(exc, DeviceOffline):
                if port is self.services.idcard:
                    self.identify.set_reader_available(False)
            elif isinstance(exc, KioskError):
                self._cancel_reads()
                self.state = self.flow.fail(self.state, exc)
                self._render()
            else:
                log.error("reader failed", exc_info=exc)

        self.tasks.submit(lambda: read(READ_WAIT_S, cancel), done, failed)

    def _cancel_reads(self) -> None:
        for cancel in self._cancels:
            cancel.cancel()
        self._cancels = []

    # --- navigation ------------------------------------------------------------------------------
    def back(self, current: Screen) -> None:
        if self.state is None or current is self.identify or current.name == "result":
            self.shell.go_home()
            return
        state = self.state
        self._run(lambda: self.flow.back(state), "busy.wait")

    def retry(self) -> None:
        state = self.state
        if state is not None and state.can_retry:
            self._run(lambda: self.flow.retry(state), "busy.wait")

"""The kiosk's one window: header (hospital, voice, elder mode, language), step bar, the screens, idle
countdown, Back/Home."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.admin.pin import PinGate
from kiosk.assets import VOICE_DIR
from kiosk.devices.base import DeviceStatus, Health
from kiosk.domain.patient import IdCardData, age_on
from kiosk.domain.satisfaction import Rating
from kiosk.flows.gating import Need, NeedState, closed_tasks
from kiosk.flows.payment_recovery import TASK as PAYMENT_TASK
from kiosk.flows.services import Services
from kiosk.ui.admin_controller import AdminController
from kiosk.ui.automation.elements import language_code
from kiosk.ui.i18n import Translator
from kiosk.ui.patient_task_controller import Shell
from kiosk.ui.payment_controller import PaymentController, PaymentScreens
from kiosk.ui.prompts import PromptLog
from kiosk.ui.screens.admin_pin import AdminPinScreen
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.diagnostics import DiagnosticsScreen
from kiosk.ui.screens.home import TASKS, HomeScreen
from kiosk.ui.screens.out_of_service import OutOfServiceScreen
from kiosk.ui.screens.pay_method import PayMethodScreen
from kiosk.ui.screens.paying import CardPaymentScreen, PrintingScreen, QrPaymentScreen, ScanPaymentScreen
from kiosk.ui.screens.recovering import RecoveringScreen
from kiosk.ui.screens.satisfaction import SatisfactionScreen
from kiosk.ui.screens.split import SplitScreen
from kiosk.ui.task_registry import TaskFactory, build_tasks
from kiosk.ui.tasks import Runner, TaskRunner, ThreadRunner
from kiosk.ui.theme import stylesheet
from kiosk.ui.voice import Backend, PlayerBackend, Utterance, Voice
from kiosk.ui.widgets.busy import BusyOverlay
from kiosk.ui.widgets.common import button, dynamic_property, label
from kiosk.ui.widgets.corner_taps import CornerTaps
from kiosk.ui.widgets.idle import WARN_SECONDS, CountdownBanner, IdleWatcher
from kiosk.ui.widgets.stepbar import StepBar

log = logging.getLogger(__name__)

GATING_REFRESH_MS = 2000
COMPACT_BELOW_PX = 1300
"""A window shorter than this (landscape 1080 p) gets the compact layout: smaller tiles and numbers."""
RESTART_EXIT_CODE = 75
"""`kiosk run` exits with this when a technician asks for a restart (systemd's Restart=always restarts it)."""
DEVICE_NEEDS = (Need.IDCARD, Need.INSURANCE, Need.PRINTER, Need.PAYMENT, Need.SCANNER)
ELDER_AGE = 65
"""An ID card holder this old or older gets elder mode (长辈模式) switched on by itself."""
ELDER_IDLE_FACTOR = 2
"""Elder mode's slower pace: this many times `idle_timeout_s` before the session is wiped."""



class MainWindow(QMainWindow):
    """Built by the composition root with ready ports and client; `runner` defaults to worker threads."""

    device_status_changed = Signal(str, object)

    def __init__(
        self,
        services: Services,
        runner: Runner | None = None,
        parent: QWidget | None = None,
        voice_backend: Backend | None = None,
        *,
        recent_log: Callable[[], Sequence[str]] = tuple,
        restart: Callable[[], None] | None = None,
        task_factory: TaskFactory = build_tasks,
    ) -> None:
        """`voice_backend` defaults to recordings from `[kiosk] voice_dir` (or the shipped ones) and espeak-ng;
        `task_factory` builds the patient tasks the home screen offers."""
        super().__init__(parent)
        self.services = services
        config = services.config.kiosk
        self.setWindowTitle(config.hospital_name)
        self.setStyleSheet(stylesheet())
        self.translator = Translator(config.language)
        self.tasks = TaskRunner(runner or ThreadRunner(), self)
        # the countdown holds while the patient waits on us, and while money is in flight
        self.idle = IdleWatcher(config.idle_timeout_s, paused=lambda: self.tasks.busy or self.payment.holds_idle,
                                parent=self)
        self.prompts = PromptLog()
        self.voice = Voice(voice_backend or PlayerBackend(Path(config.voice_dir) if config.voice_dir else VOICE_DIR))
        self.elder = False

        central = QWidget()
        central.setObjectName("central")
        self.setCentralWidget(central)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._build_header())
        self.stepbar = StepBar()
        column.addWidget(self.stepbar)
        self.stack = QStackedWidget()
        # Pages adapt to portrait/landscape on resize; without this floor, the tallest page's portrait
        # layout would set the window's minimum height and a landscape screen could never be filled.
        self.stack.setMinimumSize(640, 480)
        column.addWidget(self.stack, 1)
        self.countdown = CountdownBanner()
        column.addWidget(self.countdown)
        column.addWidget(self._build_footer())
        self.busy = BusyOverlay(central)

        t = self.translator
        self.home = HomeScreen(t)
        self.out_of_service = OutOfServiceScreen(t)
        self.recovering = RecoveringScreen(t)
        self.paying = PaymentScreens(SplitScreen(t), PayMethodScreen(t), CardPaymentScreen(t), ScanPaymentScreen(t),
                                     QrPaymentScreen(t), PrintingScreen(t))
        self.out_of_service.set_staffed_window(config.staffed_window)
        self.admin_pin = AdminPinScreen(t)
        self.diagnostics = DiagnosticsScreen(t)
        self.satisfaction = SatisfactionScreen(t)
        self.screens: list[Screen] = [
            self.home,
            self.out_of_service,
            self.recovering,
            *self.paying.all(),
            self.admin_pin,
            self.diagnostics,
            self.satisfaction,
        ]
        self.payment = PaymentController(services, self.tasks, t, self.paying, show=self.show_screen,
                                         current=self.stack.currentWidget, parent=self)
        self.registry = task_factory(services, self.tasks, t,
                                    Shell(self.show_screen, self.stack.currentWidget, self.go_home), self.payment, self)
        self.screens += self.registry.screens
        for screen in self.screens:
            self.stack.addWidget(screen)
        self.payment.money_moving.connect(self._on_payment_money_moving)
        self._step_keys = next(iter(self.registry)).step_keys

        self.admin = AdminController(
            services,
            PinGate(services.config.admin.pin_hash),
            self.tasks,
            (self.admin_pin, self.diagnostics),
            show=self.show_screen,
            leave=self.go_home,
            restart=restart or (lambda: QApplication.exit(RESTART_EXIT_CODE)),
            recent_log=recent_log,
            parent=self,
        )
        self.corner_taps = CornerTaps(self)
        self.corner_taps.triggered.connect(self._on_corner_taps_triggered)
        # Touches, clicks and keys reach the window's QWindow before any widget: the idle timer and the
        # corner gesture watch them there. An application-wide filter would see every event of every
        # widget too (polish, layout, paint), a Python call each: it tripled the time to show a list.
        self.winId()  # the QWindow, now
        for watcher in (self.idle, self.corner_taps):
            self.windowHandle().installEventFilter(watcher)
        self.home.task_chosen.connect(self._on_home_task_chosen)
        self.satisfaction.rated.connect(self._on_satisfaction_rated)
        self._task: str | None = None
        """The home tile the patient chose (its key), until the session ends: what a rating is about."""
        self.tasks.busy_changed.connect(self._on_tasks_busy_changed)
        self.idle.countdown.connect(self._on_idle_countdown)
        self.idle.expired.connect(self._on_idle_expired)
        self.countdown.more.clicked.connect(self.idle.poke)
        self.translator.language_changed.connect(self._retranslate)
        for id_card_read in self.registry.id_card_signals():
            id_card_read.connect(self.offer_elder_mode)
        self._his_online = True
        self._gated_out = False
        # Device threads report status changes; only the signal crosses into the GUI thread.
        self.device_status_changed.connect(self._on_device_status_changed)
        for need in DEVICE_NEEDS:
            device = getattr(services, need.value)
            if device is not None:
                device.subscribe(lambda name, status: self.device_status_changed.emit(name, status))
        self._retranslate()
        self.show_screen(self.home)
        self._update_availability()
        self._health_timer = QTimer(self)
        self._health_timer.timeout.connect(self.check_his)
        # recovery closes and reopens tasks in the background; the home screen follows within seconds
        self._gating_timer = QTimer(self)
        self._gating_timer.timeout.connect(self._update_availability)
        self._gating_timer.start(GATING_REFRESH_MS)

    # --- chrome -------------------------------------------------------------------------------------------
    def _build_header(self) -> QWidget:
        header = QWidget()
        header.setObjectName("header")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        row = QHBoxLayout(header)
        row.setContentsMargins(32, 16, 32, 16)
        self.hospital = label("", name="hospital")  # wraps: a long English name must not push the buttons off
        self.repeat_voice = button("", name="repeat_voice")
        self.repeat_voice.clicked.connect(lambda: self._announce(self.current_screen))
        self.elder_button = button("", name="elder")
        self.elder_button.setCheckable(True)
        self.elder_button.clicked.connect(self._on_elder_clicked)
        self.language = button("", name="lang")
        self.language.clicked.connect(self.translator_toggle)
        row.setSpacing(16)
        row.addWidget(self.hospital, 1)
        for widget in (self.repeat_voice, self.elder_button, self.language):
            row.addWidget(widget)
        return header

    def _build_footer(self) -> QWidget:
        footer = QWidget()
        footer.setObjectName("footer")
        footer.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        row = QHBoxLayout(footer)
        row.setContentsMargins(32, 15, 32, 15)
        self.back = button("", name="back")
        self.home_button = button("", name="home")
        self.back.setMinimumWidth(240)
        self.home_button.setMinimumWidth(240)
        self.back.clicked.connect(self._on_back_clicked)
        self.home_button.clicked.connect(self.go_home)
        row.addWidget(self.back)
        row.addStretch(1)
        row.addWidget(self.home_button)
        self.footer = footer
        return footer

    def translator_toggle(self) -> None:
        self.translator.toggle()
        self._announce(self.current_screen)

    def _retranslate(self) -> None:
        t = self.translator
        kiosk = self.services.config.kiosk
        self.hospital.setText(kiosk.hospital_name_en if t.is_english and kiosk.hospital_name_en else kiosk.hospital_name)
        self.language.setText(t.tr("lang.toggle"))
        self.repeat_voice.setText(t.tr("voice.repeat"))
        self.elder_button.setText(t.tr("elder"))
        self.back.setText(t.tr("nav.back"))
        self.home_button.setText(t.tr("nav.home"))
        self.countdown.more.setText(t.tr("idle.more"))
        self.stepbar.set_steps([t.tr(key) for key in self._step_keys])
        if self.idle.remaining <= WARN_SECONDS and self.countdown.isVisible():
            self._on_idle_countdown(self.idle.remaining)
        for screen in self.screens:
            screen.retranslate()

    # --- navigation ------------------------------------------------------------------------------------------
    @property
    def current_screen(self) -> Screen:
        return self.stack.currentWidget()  # type: ignore[return-value]

    def show_screen(self, screen: Screen, step: int = 0) -> None:
        self.stack.setCurrentWidget(screen)
        task_screen = screen.show_navigation
        self.stepbar.setVisible(task_screen and not self.elder)  # elder mode: fewer things on the screen
        self.footer.setVisible(task_screen)
        self.stepbar.set_current(step)
        self._announce(screen)
        if task_screen or screen in (self.admin_pin, self.diagnostics):
            self.idle.arm()
        else:
            self.idle.disarm()
            self.countdown.hide()

    @property
    def voice_on(self) -> bool:
        """Elder mode always speaks; otherwise the hospital decides (`[kiosk] voice`)."""
        return self.elder or self.services.config.kiosk.voice

    def _announce(self, screen: Screen) -> None:
        """Each screen's prompt is its heading, spoken off the GUI thread (recorded as muted when voice is off).
        A newer prompt interrupts the one being spoken."""
        heading = screen.findChild(QLabel, "title")
        if heading is None or not heading.text():
            return
        lang = language_code(self.translator.language)
        self.prompts.say(heading.text(), lang, muted=not self.voice_on)
        if self.voice_on:
            self.voice.say(Utterance(screen.name, heading.text(), lang, slow=self.elder))

    def set_elder(self, on: bool) -> None:
        """长辈模式: text 1.5x, targets of 90 px and more, voice on; ends with the session."""
        if on == self.elder:
            return
        self.elder = on
        self.elder_button.setChecked(on)
        self.idle.timeout_s = self.services.config.kiosk.idle_timeout_s * (ELDER_IDLE_FACTOR if on else 1)
        self.idle.poke()
        self.centralWidget().setProperty("elder", on)
        for screen in self.screens:  # before the restyle moves the cards: a list notes the patient's place
            screen.set_elder(on)
        self.setStyleSheet(stylesheet(elder=on))
        self.stepbar.setVisible(self.current_screen.show_navigation and not on)
        self._retranslate()
        if not self.voice_on:
            self.voice.silence()

    def _on_elder_clicked(self, on: bool) -> None:
        self.set_elder(on)
        self._announce(self.current_screen)

    def set_language(self, code: str) -> None:
        """Switch to 'zh' or 'en' (the automation port's codes)."""
        if language_code(self.translator.language) != code:
            self.translator_toggle()

    def offer_elder_mode(self, card: IdCardData) -> None:
        """An ID card of someone 65 or older switches elder mode on; the `elder` toggle switches it off."""
        if age_on(card.birth_date, dt.date.today()) >= ELDER_AGE:
            self.set_elder(True)

    def go_home(self) -> None:
        """The patient leaves. From a task's result, when the hospital asks (`[kiosk] satisfaction`), the
        satisfaction question comes first: the task's data is forgotten at once, language and mode stay."""
        if (self.services.config.kiosk.satisfaction and self._task is not None
                and self.current_screen.name == "result"):
            self._end_sessions()
            self.show_screen(self.satisfaction, len(self._step_keys) - 1)
            return
        self.end_session()

    def _on_satisfaction_rated(self, rating: Rating) -> None:
        if self._task is not None:
            self.services.metrics.satisfaction(self._task, rating)
        self.end_session()

    def end_session(self) -> None:
        """Forget every patient datum, back to the default language and the home screen."""
        self._task = None
        self._end_sessions()
        self.busy.hide()
        self.translator.reset()
        self.set_elder(False)
        if self.current_screen is not self.out_of_service:
            self.show_screen(self.home)
        self._update_availability()

    def _end_sessions(self) -> None:
        """Forget every patient of every task. The tasks first: they see whether a payment is still in
        flight (then its worker ends their journal session once the engine returns)."""
        self.registry.reset()
        self.payment.reset()

    def show_out_of_service(self, reason: str = "") -> None:
        """暂停服务: for when something essential is missing; `reason` is for technicians (no patient data)."""
        self._end_sessions()
        self.out_of_service.set_reason(reason)
        self.show_screen(self.out_of_service)

    def leave_out_of_service(self) -> None:
        self.show_screen(self.home)

    def _on_back_clicked(self) -> None:
        task = self.registry.active
        if self.current_screen is self.satisfaction:
            self.end_session()
        elif task is not None:
            task.controller.back(self.current_screen)
        elif not self.payment.back(self.current_screen):
            self.go_home()

    def _on_corner_taps_triggered(self) -> None:
        if self.current_screen in (self.home, self.out_of_service):
            self.admin.enter()

    def _on_home_task_chosen(self, key: str) -> None:
        if key not in self.registry:
            return
        task = self.registry[key]
        self._task = key
        self._end_sessions()
        self._set_task_steps(task.step_keys)
        task.controller.start()

    def _set_task_steps(self, keys: tuple[str, ...]) -> None:
        self._step_keys = keys
        self.stepbar.set_steps([self.translator.tr(key) for key in keys])

    def _on_payment_money_moving(self, moving: bool) -> None:
        """Back and Home stay on screen but cannot abandon money the terminal or the HIS is moving."""
        self.back.setEnabled(not moving)
        self.home_button.setEnabled(not moving)

    # --- availability of the hospital system ----------------------------------------------------------------
    def start_health_checks(self, interval_s: float = 30.0) -> None:
        """Ask the HIS now and then; while it does not answer, the tasks that need it say so on the home screen."""
        self.check_his()
        self._health_timer.start(int(interval_s * 1000))

    def check_his(self) -> None:
        his = self.services.his
        if his is None:
            return
        self.tasks.submit(
            his.health, lambda _: self._set_his_online(True), lambda _: self._set_his_online(False)
        )

    def _set_his_online(self, online: bool) -> None:
        self._his_online = online
        self._update_availability()

    def need_states(self) -> dict[Need, NeedState]:
        """What each need of the tasks is doing now (an absent device or HIS client is left out)."""
        s = self.services
        states: dict[Need, NeedState] = {}
        for need in DEVICE_NEEDS:
            device = getattr(s, need.value)
            if device is not None:
                status = device.status()
                states[need] = NeedState(Health.of(status), status.detail)
        if s.his is not None:
            states[Need.HIS] = NeedState(Health.OK if self._his_online else Health.OFFLINE)
        return states

    def _update_availability(self) -> None:
        """Close exactly the tasks whose needs fail, reopen the rest; 暂停服务 when none is left."""
        closed = closed_tasks(self.need_states(), self.registry.needs())
        if PAYMENT_TASK in self.services.closed_tasks():  # recovery cannot settle a charge yet: no new payments
            for task in self.registry:
                if task.closes_without_payment_recovery:
                    closed.setdefault(task.key, "task.payment_closed")
        for task in TASKS:
            if task.active:
                self.home.set_unavailable(task.key, closed.get(task.key))
        open_tasks = [task.key for task in TASKS if task.active and task.key not in closed]
        if not open_tasks and self.current_screen is self.home:
            self._gated_out = True
            reasons = sorted(set(closed.values()))
            log.warning("no task possible: out of service", extra={"reasons": ",".join(reasons)})
            self.show_out_of_service(" · ".join(self.translator.tr(r) for r in reasons))
        elif open_tasks and self._gated_out and self.current_screen is self.out_of_service:
            self._gated_out = False
            log.info("a task is possible again: back in service", extra={"tasks": ",".join(open_tasks)})
            self.leave_out_of_service()

    def _on_device_status_changed(self, name: str, status: DeviceStatus) -> None:
        self._update_availability()
        self.registry.on_device_status(name, status)

    # --- busy and idle -----------------------------------------------------------------------------------------
    def _on_tasks_busy_changed(self, busy: bool, text: str) -> None:
        if busy:
            self.busy.show_text(text)
        else:
            self.busy.hide()

    def _on_idle_countdown(self, seconds: int) -> None:
        if seconds <= 0:
            self.countdown.hide()
            return
        self.countdown.text.setText(self.translator.tr("idle.countdown", seconds=seconds))
        self.countdown.show()

    def _on_idle_expired(self) -> None:
        log.info("idle timeout: session cleared")
        self.services.metrics.idle_wipe()
        self.countdown.hide()
        self.end_session()  # never the satisfaction question: nobody is there to answer it

    def resizeEvent(self, event: QResizeEvent) -> None:
        compact = event.size().height() < COMPACT_BELOW_PX
        if compact != dynamic_property(self.centralWidget(), "compact"):
            self.centralWidget().setProperty("compact", compact)
            self.setStyleSheet(self.styleSheet())  # re-evaluate the [compact="true"] rules
            for screen in self.screens:
                screen.set_compact(compact)
        super().resizeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._end_sessions()
        self.tasks.runner.shutdown()
        self.voice.close()
        super().closeEvent(event)

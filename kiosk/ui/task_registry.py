"""The task registry: every patient task the kiosk offers, each with its home-tile key, its steps (its
controller's `STEP_KEYS`), its controller and what it needs (`kiosk.flows.gating.TASK_NEEDS`).

`build_tasks` builds the five tasks and their screens for the main window, which drives them only through
`TaskController` (start, reset, back, active) and the optional hooks (`WatchesDevices`, `ReadsIdCards`):
it knows no task by name. At most one task is active at a time. 预约取号 and 门诊缴费 share one identify
screen (its booking-code button identifies only for 预约取号); 预约挂号, 报到排队 and 查询补打 share another
(no booking-code button) and one error screen; 预约挂号, 门诊缴费 and 预约取号's fee pay on the window's
payment screens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QObject, SignalInstance

from kiosk.devices.base import DeviceStatus
from kiosk.flows.gating import TASK_NEEDS, Requirement
from kiosk.flows.services import Services
from kiosk.ui.book_controller import BookController, BookScreens
from kiosk.ui.checkin_controller import CheckinController
from kiosk.ui.collect_controller import CollectController, CollectScreens
from kiosk.ui.i18n import Translator
from kiosk.ui.lookup_controller import CANCEL, REPRINT, LookupController
from kiosk.ui.patient_task_controller import Shell
from kiosk.ui.pay_controller import PayController, PayScreens
from kiosk.ui.payment_controller import PaymentController
from kiosk.ui.screens.appointments import AppointmentsScreen
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.bills import BillsScreen
from kiosk.ui.screens.choice import ChoiceScreen
from kiosk.ui.screens.code_entry import CodeEntryScreen
from kiosk.ui.screens.confirm import ConfirmScreen
from kiosk.ui.screens.done import DoneScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.home import COLLECT, PAY
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.screens.pay_result import PayResultScreen
from kiosk.ui.screens.result import ResultScreen
from kiosk.ui.tasks import TaskRunner

BOOK, CHECKIN, LOOKUP = "book", "checkin", "lookup"
"""Home-screen task keys (kiosk.ui.screens.home.TASKS)."""


class TaskController(Protocol):
    """What every task's controller offers the shell."""

    STEP_KEYS: tuple[str, ...]
    """The step bar's message keys, in order."""

    @property
    def active(self) -> bool:
        """A session of this task is under way."""

    def start(self) -> None:
        """A new session (the patient tapped the task's tile)."""

    def reset(self) -> None:
        """Forget the patient: every datum, every wait; late results are dropped."""

    def back(self, current: Screen) -> None:
        """The patient tapped Back on `current`."""


@runtime_checkable
class WatchesDevices(Protocol):
    """A task that follows the devices' status changes (GUI thread)."""

    def on_device_status(self, name: str, status: DeviceStatus) -> None: ...


@runtime_checkable
class ReadsIdCards(Protocol):
    """A task that reports each ID card it reads (IdCardData): the shell offers elder mode by its age."""

    id_card_read: SignalInstance


@dataclass(frozen=True)
class Task:
    key: str
    """The home tile's key (kiosk.ui.screens.home.TASKS), also the key of the metrics and of gating."""
    controller: TaskController
    needs: Requirement
    closes_without_payment_recovery: bool = False
    """While payment recovery cannot settle a charge, this task takes no new payments: its tile closes."""

    @property
    def step_keys(self) -> tuple[str, ...]:
        return self.controller.STEP_KEYS


class TaskRegistry:
    """The tasks in their registration order, and the screens they brought along."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self.screens: list[Screen] = []

    def register(self, task: Task, screens: Iterable[Screen] = ()) -> None:
        """Add `task` with the screens it shows (one shared with a task registered before is kept once)."""
        if task.key in self._tasks:
            raise ValueError(f"task {task.key!r} registered twice")
        self._tasks[task.key] = task
        self.screens += [screen for screen in screens if screen not in self.screens]

    def __getitem__(self, key: str) -> Task:
        return self._tasks[key]

    def __contains__(self, key: object) -> bool:
        return key in self._tasks

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    @property
    def active(self) -> Task | None:
        return next((task for task in self if task.controller.active), None)

    def needs(self) -> dict[str, Requirement]:
        return {task.key: task.needs for task in self}

    def reset(self) -> None:
        for task in self:
            task.controller.reset()

    def on_device_status(self, name: str, status: DeviceStatus) -> None:
        for task in self:
            if isinstance(task.controller, WatchesDevices):
                task.controller.on_device_status(name, status)

    def id_card_signals(self) -> list[SignalInstance]:
        return [task.controller.id_card_read for task in self if isinstance(task.controller, ReadsIdCards)]


TaskFactory = Callable[[Services, TaskRunner, Translator, Shell, PaymentController, QObject], TaskRegistry]
"""Builds the tasks with what the main window lends them (see `build_tasks`)."""


def build_tasks(
    services: Services, tasks: TaskRunner, t: Translator, shell: Shell, payment: PaymentController,
    parent: QObject,
) -> TaskRegistry:
    """The five patient tasks and their screens, in the home screen's order."""
    registry = TaskRegistry()
    identify, error = IdentifyScreen(t), ErrorScreen(t)
    collect = CollectScreens(identify, CodeEntryScreen(t), AppointmentsScreen(t), ResultScreen(t), error)
    pay = PayScreens(identify, BillsScreen(t), PayResultScreen(t), ErrorScreen(t))
    identify, error = IdentifyScreen(t), ErrorScreen(t)
    book = BookScreens(
        ChoiceScreen(t, "departments"), ChoiceScreen(t, "doctors"), ChoiceScreen(t, "dates"),
        ChoiceScreen(t, "slots"), ConfirmScreen(t), DoneScreen(t),
    )
    checkin, checkin_done = ChoiceScreen(t, "checkin", (("primary", "checkin.confirm"),)), DoneScreen(t)
    records = ChoiceScreen(t, "records", ((REPRINT, "records.reprint"), (CANCEL, "records.cancel")))
    cancel_confirm, records_done = ConfirmScreen(t), DoneScreen(t)
    common = (services, tasks, t, identify, error, shell)

    registry.register(
        Task(COLLECT, CollectController(services, tasks, t, collect, show=shell.show, current=shell.current,
                                        go_home=shell.go_home, payment=payment, parent=parent),
             TASK_NEEDS[COLLECT]),
        (collect.identify, collect.code_entry, collect.appointments, collect.result, collect.error),
    )
    registry.register(
        Task(BOOK, BookController(*common, screens=book, payment=payment, parent=parent), TASK_NEEDS[BOOK]),
        (identify, error, book.departments, book.doctors, book.dates, book.slots, book.confirm, book.result),
    )
    registry.register(
        Task(PAY, PayController(services, tasks, t, pay, payment, show=shell.show, current=shell.current,
                                go_home=shell.go_home, parent=parent),
             TASK_NEEDS[PAY], closes_without_payment_recovery=True),
        (pay.identify, pay.bills, pay.result, pay.error),
    )
    registry.register(
        Task(CHECKIN, CheckinController(*common, screen=checkin, result=checkin_done, parent=parent),
             TASK_NEEDS[CHECKIN]),
        (identify, error, checkin, checkin_done),
    )
    registry.register(
        Task(LOOKUP, LookupController(*common, screen=records, confirm=cancel_confirm, result=records_done,
                                      parent=parent),
             TASK_NEEDS[LOOKUP]),
        (identify, error, records, cancel_confirm, records_done),
    )
    return registry

"""The screens and controllers of 预约挂号, 报到排队 and 查询补打 (退号), built together for the main window
(预约挂号 takes its fee on the window's payment screens).

They share one identify screen (no booking-code button: that identifies only for 预约取号) and one
error screen; at most one of them is active at a time.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from kiosk.flows.services import Services
from kiosk.ui.book_controller import BookController, BookScreens
from kiosk.ui.checkin_controller import CheckinController
from kiosk.ui.i18n import Translator
from kiosk.ui.lookup_controller import CANCEL, REPRINT, LookupController
from kiosk.ui.patient_task_controller import PatientTaskController, Shell
from kiosk.ui.payment_controller import PaymentController
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.choice import ChoiceScreen
from kiosk.ui.screens.confirm import ConfirmScreen
from kiosk.ui.screens.done import DoneScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.tasks import TaskRunner

BOOK, CHECKIN, LOOKUP = "book", "checkin", "lookup"
"""Home-screen task keys (kiosk.ui.screens.home.TASKS)."""


class PatientTasks:
    def __init__(
        self, services: Services, tasks: TaskRunner, t: Translator, shell: Shell, payment: PaymentController,
        parent: QObject,
    ) -> None:
        identify, error = IdentifyScreen(t), ErrorScreen(t)
        book = BookScreens(
            ChoiceScreen(t, "departments"), ChoiceScreen(t, "doctors"), ChoiceScreen(t, "dates"),
            ChoiceScreen(t, "slots"), ConfirmScreen(t), DoneScreen(t),
        )
        checkin, checkin_done = ChoiceScreen(t, "checkin", (("primary", "checkin.confirm"),)), DoneScreen(t)
        records = ChoiceScreen(t, "records", ((REPRINT, "records.reprint"), (CANCEL, "records.cancel")))
        cancel_confirm, records_done = ConfirmScreen(t), DoneScreen(t)
        common = (services, tasks, t, identify, error, shell)
        self.controllers: dict[str, PatientTaskController] = {
            BOOK: BookController(*common, screens=book, payment=payment, parent=parent),
            CHECKIN: CheckinController(*common, screen=checkin, result=checkin_done, parent=parent),
            LOOKUP: LookupController(*common, screen=records, confirm=cancel_confirm, result=records_done,
                                     parent=parent),
        }
        self.screens: list[Screen] = [
            identify, error, book.departments, book.doctors, book.dates, book.slots, book.confirm, book.result,
            checkin, checkin_done, records, cancel_confirm, records_done,
        ]

    @property
    def active(self) -> PatientTaskController | None:
        return next((c for c in self.controllers.values() if c.active), None)

    def start(self, task: str) -> None:
        """Start `task` (one of `controllers`), the others reset."""
        self.reset()
        self.controllers[task].start()

    def reset(self) -> None:
        for controller in self.controllers.values():
            controller.reset()

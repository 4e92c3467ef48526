"""The task registry: the five tasks declare what gating knows, and a task registered there alone gets its
home tile, step bar, Back, Home, device status and elder-mode offer from the window."""

from __future__ import annotations

from kiosk_test_fakes import create_id_card, create_services
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel

from kiosk.devices.base import DeviceStatus
from kiosk.flows.gating import TASK_NEEDS, Need, Requirement
from kiosk.ui.patient_task_controller import Shell
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.home import TASKS
from kiosk.ui.task_registry import Task, TaskRegistry

TILE = "checkin"
"""The home tile the fake task takes over (the home screen lays out the tiles)."""


def test_the_registry_holds_every_home_tile_with_gatings_needs(make_window):
    window = make_window(create_services())

    assert [task.key for task in window.registry] == [task.key for task in TASKS]
    assert window.registry.needs() == TASK_NEEDS


class _FakeStep(Screen):
    name = "fake_step"

    def retranslate(self) -> None:
        pass


class _FakeTask(QObject):
    """A task the window has never heard of: it records what the shell asks of it."""

    STEP_KEYS = ("step.identify", "step.done")
    id_card_read = Signal(object)

    def __init__(self, shell: Shell, screen: Screen) -> None:
        super().__init__()
        self.shell, self.screen = shell, screen
        self.calls: list[object] = []
        self.active = False

    def start(self) -> None:
        self.calls.append("start")
        self.active = True
        self.shell.show(self.screen, 1)

    def reset(self) -> None:
        self.calls.append("reset")
        self.active = False

    def back(self, current: Screen) -> None:
        self.calls.append(("back", current.name))

    def on_device_status(self, name: str, status: DeviceStatus) -> None:
        self.calls.append(("status", name))


def test_a_registered_task_gets_tile_steps_back_home_devices_and_elder_mode(make_window, qtbot):
    built: list[_FakeTask] = []

    def only_the_fake(services, tasks, t, shell, payment, parent) -> TaskRegistry:
        registry = TaskRegistry()
        screen = _FakeStep(t)
        built.append(_FakeTask(shell, screen))
        registry.register(Task(TILE, built[0], Requirement((Need.IDCARD,))), (screen,))
        return registry

    services = create_services()
    window = make_window(services, task_factory=only_the_fake)
    fake = built[0]

    qtbot.mouseClick(window.home.tiles[TILE], Qt.MouseButton.LeftButton)
    assert fake.calls == ["reset", "start"]
    assert window.current_screen.name == "fake_step"
    steps = [item.text().split(maxsplit=1)[1] for item in window.stepbar.findChildren(QLabel)]  # "1  识别身份"
    assert window.stepbar.isVisible() and steps == [window.translator.tr(key) for key in _FakeTask.STEP_KEYS]

    qtbot.mouseClick(window.back, Qt.MouseButton.LeftButton)
    assert fake.calls[-1] == ("back", "fake_step")

    fake.id_card_read.emit(create_id_card())  # born 1949
    assert window.elder

    qtbot.mouseClick(window.home_button, Qt.MouseButton.LeftButton)
    assert fake.calls[-1] == "reset" and not fake.active
    assert window.current_screen is window.home and not window.elder

    services.idcard.unplug()  # the one thing it needs
    assert ("status", "idcard") in fake.calls
    assert not window.home.tiles[TILE].isEnabled()
    assert window.home.notes[TILE].text() == window.translator.tr("task.idcard_down")

"""Service gating: a need in Error/Offline closes exactly the tasks that declare it, with the reason."""

from kiosk.devices.base import Detail, DeviceState, DeviceStatus, Health
from kiosk.flows.gating import TASK_NEEDS, Need, NeedState, closed_tasks

ALL_OK = {need: NeedState(Health.OK) for need in Need}


def test_everything_serving_closes_nothing() -> None:
    assert closed_tasks(ALL_OK) == {}


def test_paper_out_closes_every_task_that_prints_and_only_those() -> None:
    states = {**ALL_OK, Need.PRINTER: NeedState(Health.ERROR, Detail.PAPER_OUT)}
    closed = closed_tasks(states)
    printing = {task for task, req in TASK_NEEDS.items() if Need.PRINTER in req.all_of}
    assert set(closed) == printing and "collect" in printing and "lookup" not in closed
    assert set(closed.values()) == {"task.printer_paper_out"}


def test_id_reader_down_leaves_the_qr_and_code_paths_open() -> None:
    states = {**ALL_OK, Need.IDCARD: NeedState(Health.OFFLINE), Need.INSURANCE: NeedState(Health.ERROR),
              Need.SCANNER: NeedState(Health.OFFLINE)}
    assert closed_tasks(states) == {}  # the typed booking code still identifies


def test_his_down_closes_every_task_and_a_missing_device_says_not_installed() -> None:
    closed = closed_tasks({**ALL_OK, Need.HIS: NeedState(Health.OFFLINE)})
    assert set(closed) == set(TASK_NEEDS) and set(closed.values()) == {"task.no_his"}
    without_printer = {need: state for need, state in ALL_OK.items() if need is not Need.PRINTER}
    assert closed_tasks(without_printer)["collect"] == "task.no_printer"


def test_paper_low_and_starting_still_serve() -> None:
    low = Health.of(DeviceStatus(DeviceState.ONLINE, Detail.PAPER_LOW))
    starting = Health.of(DeviceStatus(DeviceState.STARTING))
    assert low is Health.WARNING and starting is Health.WARNING
    assert closed_tasks({**ALL_OK, Need.PRINTER: NeedState(low, Detail.PAPER_LOW)}) == {}
    assert Health.of(DeviceStatus(DeviceState.ONLINE, Detail.CARD_PRESENT)) is Health.OK
    assert Health.of(DeviceStatus(DeviceState.NO_DEVICE)) is Health.OFFLINE

"""The background runner: results come back on the GUI thread; the busy overlay appears only for slow work."""

from __future__ import annotations

import threading

from kiosk_test_fakes import create_id_card, create_services
from kiosk_test_support import task
from PySide6.QtCore import QThread

from kiosk.ui.tasks import SyncRunner, TaskRunner, ThreadRunner


def test_thread_runner_runs_off_the_gui_thread_and_answers_on_it(qtbot) -> None:
    runner = ThreadRunner()
    seen: dict[str, object] = {}
    gui = QThread.currentThread()

    def op() -> str:
        seen["worker"] = threading.current_thread().name
        return "ok"

    runner.run(
        op,
        lambda result: seen.update(result=result, on_gui=QThread.currentThread() is gui),
        lambda exc: seen.update(error=exc),
    )
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == "ok" and seen["on_gui"] is True
    assert str(seen["worker"]).startswith("ui-task")

    runner.run(lambda: 1 / 0, lambda result: seen.update(bad=result), lambda exc: seen.update(error=exc))
    qtbot.waitUntil(lambda: "error" in seen, timeout=5000)
    assert isinstance(seen["error"], ZeroDivisionError)
    runner.shutdown()


def test_busy_overlay_only_for_slow_work(qtbot, make_window) -> None:
    runner = ThreadRunner()
    window = make_window(create_services(), runner=runner)
    release = threading.Event()
    results: list[str] = []
    window.tasks.submit(
        lambda: release.wait(10) and "done", results.append, results.append, busy_text="请稍候"
    )
    assert window.tasks.busy
    qtbot.waitUntil(window.busy.isVisible, timeout=5000)
    assert window.busy.text.text() == "请稍候"
    release.set()
    qtbot.waitUntil(lambda: results == ["done"], timeout=5000)
    assert not window.busy.isVisible() and not window.tasks.busy

    # the synchronous runner finishes before the 300 ms timer: no flash of the overlay
    sync = TaskRunner(SyncRunner())
    flashes: list[bool] = []
    sync.busy_changed.connect(lambda busy, _: flashes.append(busy))
    sync.submit(lambda: 1, lambda _: None, lambda _: None, busy_text="x")
    qtbot.wait(350)
    assert True not in flashes
    runner.shutdown()


def test_idle_countdown_pauses_while_the_patient_waits_on_us(qtbot, make_window) -> None:
    runner = ThreadRunner()
    window = make_window(create_services(idle_timeout_s=10), runner=runner)
    task(window, "collect").start()
    release = threading.Event()
    window.tasks.submit(lambda: release.wait(10), lambda _: None, lambda _: None, busy_text="…")
    for _ in range(30):
        window.idle.tick()
    assert window.current_screen is task(window, "collect").screens.identify  # not timed out while busy
    release.set()
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=5000)
    runner.shutdown()


def test_whole_flow_with_worker_threads(qtbot, make_window) -> None:
    """The real threaded runner end to end: card read, HIS calls and printing all off the GUI thread."""
    services = create_services(cards=[create_id_card()])
    runner = ThreadRunner()
    window = make_window(services, runner=runner)
    window.home.tiles["collect"].click()
    qtbot.waitUntil(lambda: window.current_screen is task(window, "collect").screens.appointments, timeout=5000)
    task(window, "collect").screens.appointments.cards["A1"].click()
    task(window, "collect").screens.appointments.confirm.click()
    qtbot.waitUntil(lambda: window.current_screen is task(window, "collect").screens.result, timeout=5000)
    assert len(services.printer.printed) == 1
    window.go_home()
    runner.shutdown()

"""Service gating and the technician's screens, driven through the automation port as a tester would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk_test_support import wait_for

SHOTS = Path("/tmp/ui-shots")


def _text(kiosk: Any, element_id: str) -> str:
    element = kiosk.element(element_id)
    assert element is not None, f"{element_id} is not on {kiosk.screen()['screen']}"
    return str(element["text"])


def test_paper_out_closes_the_printing_tasks_and_refill_reopens_them(kiosk: Any) -> None:
    """GIVEN the home screen WHEN the printer runs out of paper THEN every task that prints closes saying
    why (查询补打 stays: it needs no printer to show records); WHEN paper is back THEN they reopen."""
    kiosk.sim("printer/fault", fault="paper_out")
    assert wait_for(lambda: (kiosk.element("task-collect") or {}).get("enabled") is False, 20)
    for tile in ("task-collect", "task-book", "task-checkin"):
        assert not kiosk.element(tile)["enabled"]
    assert kiosk.element("task-records")["enabled"]
    kiosk.sim("printer/fault", fault="ok")
    assert wait_for(lambda: (kiosk.element("task-collect") or {}).get("enabled") is True, 20)


def test_id_reader_unplugged_leaves_collection_open(kiosk: Any) -> None:
    """GIVEN the ID card reader unplugged THEN 预约取号 stays open (scan or typed code still identify)."""
    kiosk.sim("unplug", device="idcard")
    try:
        kiosk.tap(id="task-collect")
        kiosk.wait("identify")
        kiosk.tap(id="home")
        kiosk.wait("home")
    finally:
        kiosk.sim("replug", device="idcard")


def test_technician_pin_diagnostics_self_test_and_back(kiosk: Any) -> None:
    """GIVEN a configured PIN WHEN the technician taps the top-left corner five times THEN admin_pin; a
    wrong PIN says how many tries are left, the right one opens diagnostics, where the printer's
    self-test prints a test page; leaving returns to home."""
    for _ in range(5):
        kiosk.kiosk.tap(at=(30, 30))
    kiosk.wait("admin_pin")
    kiosk.type("111111")
    kiosk.tap(id="primary")
    assert _text(kiosk, "pin_message") == "密码错误，还可尝试 4 次"
    kiosk.type(kiosk.admin_pin)
    kiosk.tap(id="primary")
    kiosk.wait("diagnostics")
    assert _text(kiosk, "health-printer") == "正常" and _text(kiosk, "health-his") == "正常"
    jobs_before = len(kiosk.jobs())
    kiosk.tap(id="selftest-printer")
    kiosk.wait("diagnostics")
    assert "selftest printer: 成功" in _text(kiosk, "diag_action")
    assert "打印机自检" in kiosk.jobs()[jobs_before]["text"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "40-e2e-diagnostics.png").write_bytes(kiosk.kiosk.screenshot())
    kiosk.tap(id="home")
    kiosk.wait("home")

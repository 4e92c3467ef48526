"""Service gating and the technician's screens, driven through the automation port as a tester would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHOTS = Path("/tmp/ui-shots")


def _text(kiosk: Any, element_id: str) -> str:
    element = kiosk.element(element_id)
    assert element is not None, f"{element_id} is not on {kiosk.screen()['screen']}"
    return str(element["text"])


def test_paper_out_closes_the_kiosk_and_refill_reopens_it(kiosk: Any) -> None:
    """GIVEN the home screen WHEN the printer runs out of paper THEN 预约取号 (the only task, it prints)
    closes and the kiosk says 暂停服务 with where the staffed window is; WHEN paper is back THEN home."""
    kiosk.sim("printer/fault", fault="paper_out")
    kiosk.wait("out_of_service")
    assert _text(kiosk, "oos_reason") == "打印机缺纸，请联系工作人员"
    assert _text(kiosk, "oos_window").startswith("人工窗口：")
    kiosk.sim("printer/fault", fault="ok")
    kiosk.wait("home")
    tile = kiosk.element("task-collect")
    assert tile is not None and tile["enabled"]


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

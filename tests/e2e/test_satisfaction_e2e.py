"""The satisfaction question end to end (the e2e kiosk's config has `[kiosk] satisfaction = true`): after
预约取号's result the patient sees three faces, one tap counts the rating for the task and goes home."""

from __future__ import annotations

import json
import time
from typing import Any

from kiosk.domain.idnumber import mask_name

EXPORT_WAIT_S = 20.0
"""The tally's file is written with the metrics, every 15 s."""


def _counted(kiosk: Any) -> dict[str, dict[str, int]]:
    path = kiosk.out / "data" / "satisfaction-tally.json"
    return json.loads(path.read_text(encoding="utf-8"))["counts"] if path.exists() else {}


def test_one_tap_after_collecting_counts_for_collect(kiosk: Any) -> None:
    """GIVEN a patient who collected by ID card WHEN they tap 完成 THEN `satisfaction` shows 满意 / 一般 /
    不满意 and no patient data, its heading is the spoken prompt; 一般 goes home and the kiosk's tally
    counts one more `ok` for collect."""
    before = _counted(kiosk).get("collect", {}).get("ok", 0)
    patient, _ = kiosk.patient_with_booking()
    kiosk.collect_with_id_card(patient)
    kiosk.wait("result")
    kiosk.tap(id="primary")
    kiosk.sim("idcard/remove")

    screen = kiosk.wait("satisfaction")
    texts = {e["id"]: e["text"] for e in screen["elements"]}
    assert (texts["rate-good"], texts["rate-ok"], texts["rate-bad"]) == ("满意", "一般", "不满意")
    assert all(screen_text.find(mask_name(patient["name"])) < 0 for screen_text in texts.values())
    assert kiosk.kiosk.speech()[-1]["text"] == texts["title"]
    assert kiosk.tap(id="rate-ok")["screen"] == "home"

    deadline = time.monotonic() + EXPORT_WAIT_S
    while _counted(kiosk).get("collect", {}).get("ok", 0) != before + 1:
        assert time.monotonic() < deadline, f"the tally still says {_counted(kiosk)}"
        time.sleep(0.5)

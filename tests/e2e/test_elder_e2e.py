"""预约挂号 in elder mode (长辈模式) through the automation port: the lists come a few cards a page, the
tester pages with `page-next` to reach a later slot, and a card on another page is not on the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kiosk.domain.errors import AutomationRefused
from kiosk.ui.automation.a11y import problems


def _items(screen: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in screen["elements"] if e["role"] == "item"]


def _element(screen: dict[str, Any], element_id: str) -> dict[str, Any]:
    return next(e for e in screen["elements"] if e["id"] == element_id)


def test_booking_in_elder_mode_pages_to_a_later_slot(kiosk: Any) -> None:
    patient = kiosk.fresh_patient()
    kiosk.tap(id="task-book")
    kiosk.wait("identify")
    assert kiosk.tap(id="elder")["mode"] == "elder"
    kiosk.sim("idcard/insert", patient_id=patient["id"])
    departments = kiosk.wait("departments")
    assert [e["id"] for e in departments["elements"] if e["id"].startswith("hint-")] == [
        "hint-0", "hint-1", "hint-2", "hint-3"]
    kiosk.tap(id="item-0")
    kiosk.tap(id=_items(kiosk.wait("doctors"))[0]["id"])
    # a day with more slots than one page holds (today's may be nearly gone)
    for day in range(len(_items(kiosk.wait("dates")))):
        kiosk.tap(id=f"item-{day}")
        first_page = kiosk.wait("slots")
        if any(e["id"] == "page" for e in first_page["elements"]):
            break
        kiosk.tap(id="back")
    else:
        pytest.fail("no day of this doctor has more than one page of slots")

    assert problems(first_page) == []
    assert [e["id"] for e in _items(first_page)] == [f"item-{n}" for n in range(len(_items(first_page)))]
    assert 1 <= len(_items(first_page)) <= 4
    assert _element(first_page, "page")["text"].startswith("第 1/")
    assert not _element(first_page, "page-prev")["enabled"] and _element(first_page, "page-next")["enabled"]
    later = f"item-{len(_items(first_page)) + 1}"  # the second card of page 2
    with pytest.raises(AutomationRefused) as refused:
        kiosk.tap(id=later)
    assert refused.value.status == 404 and refused.value.code == "ELEMENT_NOT_FOUND"

    second_page = kiosk.tap(id="page-next")
    assert _element(second_page, "page")["text"].startswith("第 2/") and _element(second_page, "page-prev")["enabled"]
    card = _element(second_page, later)
    time = re.search(r"\d\d:\d\d-\d\d:\d\d", card["text"]).group(0)
    kiosk.tap(id=later)
    confirm = kiosk.wait("confirm")
    assert time in " ".join(e["text"] for e in confirm["elements"])
    kiosk.tap(id="primary")
    kiosk.wait("pay_method")
    kiosk.tap(id="pay-later")  # this hospital lets the fee wait for collection
    result = kiosk.wait("result")
    assert result["mode"] == "elder"

    booked = kiosk.his("GET", f"/appointments?patient_id={patient['id']}")["appointments"]
    assert len(booked) == 1 and booked[0]["status"] == "booked"
    assert time.split("-")[0] in kiosk.jobs()[-1]["text"]  # the slip prints the slot chosen on page 2

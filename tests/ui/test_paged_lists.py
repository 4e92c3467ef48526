"""Elder mode's pages (kiosk/ui/widgets/paged_list.py) on the booking's slots, read and tapped the way the
automation port does: a few cards a page with 上一页 / 下一页 instead of a scroll bar, cards keeping their
list-wide ids, the patient's place kept when elder mode is switched on or off mid-list."""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import BookingHis, _slot, create_id_card, create_services

from kiosk.domain.errors import AutomationRefused
from kiosk.domain.schedule import Slot
from kiosk.ui.automation.a11y import problems
from kiosk.ui.automation.driver import AutomationDriver
from kiosk.ui.tour import LANDSCAPE, PORTRAIT

SLOTS = 24
YOUNG = "11010520000101002"
"""Born 2000: elder mode stays off until the patient taps `elder`."""


@dataclasses.dataclass
class ManySlotsHis(BookingHis):
    """A morning of SLOTS quarter-hour slots for every session."""

    def slots(self, schedule_id: str) -> list[Slot]:
        return [_slot(schedule_id, 9 + n // 4, 15 * (n % 4)) for n in range(SLOTS)]


@pytest.fixture
def driver(make_window):
    services = create_services(ManySlotsHis())
    services.idcard.insert(create_id_card(first17=YOUNG))
    window = make_window(services)
    driver = AutomationDriver(window)
    driver.tap("task-book")
    for screen in ("doctors", "dates", "slots"):
        driver.tap("item-0")
        assert driver.screen().screen == screen
    return driver


def _ids(state, role: str = "item") -> list[str]:
    return [e.id for e in state.elements if e.role == role]


def _element(state, element_id: str):
    return next((e for e in state.elements if e.id == element_id), None)


def _slot_times(state) -> list[str]:
    return [e.text.split()[1] for e in state.elements if e.role == "item"]


def test_normal_mode_scrolls_every_slot_and_shows_no_page_buttons(driver) -> None:
    state = driver.screen()
    assert _ids(state)[:4] == ["item-0", "item-1", "item-2", "item-3"] and len(_ids(state)) > 4
    assert _element(state, "page-next") is None and _element(state, "page-prev") is None


def test_elder_mode_shows_pages_of_four_with_their_numbers_and_ends(driver) -> None:
    driver.tap("elder")
    pages = []
    while True:
        state = driver.screen()
        assert problems(state.as_json()) == []  # 36 px text, 90 px targets, nothing clipped
        assert not driver.window.current_screen.cards.scroll.verticalScrollBar().isVisible()
        pages.append((_ids(state), _element(state, "page").text, _element(state, "page-prev").enabled,
                      _element(state, "page-next").enabled))
        if not _element(state, "page-next").enabled:
            break
        driver.tap("page-next")
    assert pages == [([f"item-{n}" for n in range(4 * k, 4 * k + 4)], f"第 {k + 1}/6 页", k > 0, k < 5)
                     for k in range(6)]
    assert min(_element(state, b).rect[3] for b in ("page-prev", "page-next")) >= 90
    with pytest.raises(AutomationRefused) as refused:  # on page 1 only: the tester pages first
        driver.tap("item-1")
    assert refused.value.status == 404 and refused.value.code == "ELEMENT_NOT_FOUND"

    driver.tap("page-prev")
    driver.tap("lang")
    state = driver.screen()
    assert _element(state, "page").text == "Page 5 of 6" and _ids(state)[0] == "item-16"
    assert _element(state, "page-prev").text.endswith("Previous") and _element(state, "page-next").text.startswith("Next")


def test_a_card_on_page_two_books_that_slot(driver) -> None:
    driver.tap("elder")
    driver.tap("page-next")
    chosen = _slot_times(driver.screen())[1]
    state = driver.tap("item-5")
    assert state.screen == "confirm"
    assert chosen in " ".join(e.text for e in state.elements)


def test_switching_elder_mode_mid_list_keeps_the_place(driver) -> None:
    scroll = driver.window.current_screen.cards.scroll
    driver.screen()
    card = driver.window.current_screen.findChild(type(driver.window.elder_button), "item-5")
    scroll.verticalScrollBar().setValue(card.y())  # the patient scrolled down to 10:15
    assert _ids(driver.screen())[0] == "item-5"

    state = driver.tap("elder")
    assert _ids(state) == ["item-4", "item-5", "item-6", "item-7"] and _element(state, "page").text == "第 2/6 页"

    driver.tap("page-next")
    state = driver.tap("elder")  # off again: the list scrolled to where the page began
    assert state.mode == "normal" and _ids(state)[0] == "item-8"
    assert _element(state, "page-next") is None

    state = driver.tap("elder")
    assert _ids(state) == ["item-8", "item-9", "item-10", "item-11"]


def test_turning_the_screen_keeps_the_page_and_uses_two_columns_in_landscape(driver) -> None:
    driver.tap("elder")
    driver.tap("page-next")
    state = driver.view(LANDSCAPE, None, None)
    assert problems(state.as_json()) == []
    shown = _ids(state)
    assert "item-4" in shown and len(shown) <= 4
    rects = {e.id: e.rect for e in state.elements if e.role == "item"}
    assert len({x for x, _, _, _ in rects.values()}) == 2  # side by side
    state = driver.view(PORTRAIT, None, None)
    assert "item-4" in _ids(state)


def test_elder_departments_offer_three_hints_and_all_departments_in_portrait_none_in_landscape(make_window) -> None:
    services = create_services(ManySlotsHis())
    services.idcard.insert(create_id_card(first17=YOUNG))
    driver = AutomationDriver(make_window(services))
    driver.tap("task-book")
    assert len([i for i in _ids(driver.screen(), "button") if i.startswith("hint-")]) == 6
    state = driver.tap("elder")
    hints = [e for e in state.elements if e.id.startswith("hint-")]
    assert [e.text for e in hints] == ["头痛", "胸痛", "咳嗽", "全部科室"]
    assert len({e.rect[1] for e in hints}) == 1  # one row
    assert problems(state.as_json()) == []
    state = driver.view(LANDSCAPE, None, None)  # the row would cost half of each page: the cards get it
    assert [e.id for e in state.elements if e.id.startswith("hint-")] == [] and "item-0" in _ids(state)
    state = driver.view(None, None, "normal")
    assert len([e for e in state.elements if e.id.startswith("hint-")]) == 6

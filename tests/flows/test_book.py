"""预约挂号, 报到排队, 查询补打 and 退号 flows against an in-memory HIS: the refusals and the unknowns."""

from __future__ import annotations

import dataclasses

import pytest
from kiosk_test_fakes import NOW, TOMORROW, BookingHis, create_booking_his, create_id_card, create_services

from kiosk.domain.errors import HisRefused
from kiosk.domain.messages import message_for
from kiosk.domain.money import Money
from kiosk.domain.payment import PaymentRecord
from kiosk.flows.book import BookFlow, BookStep
from kiosk.flows.checkin import CheckinFlow, CheckinStep
from kiosk.flows.lookup import LookupFlow
from kiosk.flows.records import LookupStep, payment_key
from kiosk.sync.journal import EntryState, Journal


@pytest.fixture
def his() -> BookingHis:
    return create_booking_his()


@pytest.fixture
def services(his, tmp_path):
    services = dataclasses.replace(create_services(his), journal=Journal(tmp_path / "j.db"))
    yield services
    services.journal.close()


def _at_slots(flow: BookFlow, doctor: str = "DR1"):
    state = flow.identify_id_card(flow.start(), create_id_card())
    state = flow.choose_department(state, "D1")
    state = flow.choose_doctor(state, doctor)
    return flow.choose_date(state, TOMORROW)


def test_doctors_show_title_fee_free_slots_and_the_general_clinic(services) -> None:
    flow = BookFlow(services)
    state = flow.choose_department(flow.identify_id_card(flow.start(), create_id_card()), "D1")
    choices = {c.key: c for c in state.choices}
    assert choices["DR1"].fee == Money(4100) and choices["DR1"].free == 3
    assert choices["DR2"].substitute is not None and choices["DR2"].substitute.name == "李四"
    assert choices["general"].doctor is None
    assert [d.id for d in state.shown_departments] == ["D1"]  # the group 内科 is a heading, not a choice


def test_slot_taken_offers_the_next_free_slot(services, his) -> None:
    flow = BookFlow(services)
    state = _at_slots(flow)
    his.taken.add(state.slots[0].slot.id)
    refused = flow.choose_slot(state, state.slots[0].slot.id)
    assert refused.step is BookStep.ERROR and refused.error.code == "SLOT_TAKEN"
    assert refused.next_free is not None and refused.next_free.slot.id == state.slots[1].slot.id
    held = flow.take_next_free(refused)
    assert held.step is BookStep.CONFIRM and held.slot_id == state.slots[1].slot.id


def test_substitute_doctor_must_be_confirmed_before_booking(services) -> None:
    flow = BookFlow(services)
    state = flow.choose_slot(_at_slots(flow, "DR2"), "S2-1400")
    assert state.substitute is not None and state.needs_substitute_confirmation
    with pytest.raises(ValueError):
        flow.book(state)
    assert flow.book(flow.confirm_substitute(state)).step is BookStep.PAYING


def test_a_lost_booking_answer_is_asked_again_with_the_same_key(services, his) -> None:
    flow = BookFlow(services)
    held = flow.choose_slot(_at_slots(flow), "S1-0900")
    his.lose_next_book_answer = True
    unknown = flow.book(held)
    assert unknown.step is BookStep.ERROR and unknown.can_retry
    assert services.journal.get(held.book_key).state is EntryState.INTENT  # open until settled
    done = flow.retry(unknown)
    assert done.step is BookStep.PAYING and len(his.booked) == 1
    assert services.journal.get(held.book_key).state is EntryState.CONFIRMED


@pytest.mark.parametrize(
    ("code", "details", "words"),
    [
        ("NO_SHOW_BANNED", {"banned_until": "2027-05-22"}, "2027-05-22"),
        ("DAILY_DEPARTMENT_LIMIT", {}, "2个科室"),
        ("SAME_DEPARTMENT_DOCTOR_LIMIT", {}, "1位医生"),
        ("WEEKLY_LIMIT", {}, "3次"),
        ("FIRST_VISIT_EXPERT_LIMIT", {}, "初诊专家号"),
        ("OUTSIDE_BOOKING_WINDOW", {}, "预约范围"),
        ("OUTSIDE_BOOKING_WINDOW", {"reason": "not_released", "opens_at": "2026-11-23T08:30:00+08:00"}, "08:30 放号"),
        ("OUTSIDE_BOOKING_WINDOW", {"reason": "tomorrow_closed", "closes_at": "2026-11-23T15:00:00+08:00"}, "15:00 截止"),
        ("OUTSIDE_BOOKING_WINDOW", {"reason": "too_far", "last_day": "2026-11-30"}, "预约范围"),
        ("SCHEDULE_CLOSED", {}, "停止预约"),
    ],
)
def test_each_booking_rule_refusal_is_shown_in_plain_words(services, his, code, details, words) -> None:
    flow = BookFlow(services)
    his.refuse_hold = HisRefused(code, "", "", details)
    refused = flow.choose_slot(_at_slots(flow), "S1-0900")
    assert refused.step is BookStep.ERROR and refused.failed_at is BookStep.SLOTS
    assert words in message_for(refused.error, "zh_CN")
    assert flow.back(refused).step is BookStep.SLOTS


def test_hold_expired_at_booking_goes_back_to_fresh_slots(services, his) -> None:
    flow = BookFlow(services)
    held = flow.choose_slot(_at_slots(flow), "S1-0900")
    his.refuse_book = HisRefused("HOLD_EXPIRED", "", "")
    expired = flow.book(held)
    assert expired.hold is None and "超时" in message_for(expired.error, "zh_CN")
    assert flow.back(expired).step is BookStep.SLOTS


def test_back_and_home_release_the_hold(services, his) -> None:
    flow = BookFlow(services)
    held = flow.choose_slot(_at_slots(flow), "S1-0900")
    assert flow.back(held).step is BookStep.SLOTS and his.released == [held.hold.id]
    again = flow.choose_slot(_at_slots(flow), "S1-0900")
    assert flow.release(again).hold is None and his.released[-1] == again.hold.id


def test_checkin_prints_the_queue_ticket(services) -> None:
    flow = CheckinFlow(services)
    state = flow.identify_id_card(flow.start(), create_id_card())
    assert state.selected_id == "A0"  # the one collected visit comes selected
    done = flow.print_ticket(flow.check_in(state))
    assert done.step is CheckinStep.DONE
    ticket = services.printer.printed[-1].plain_text()
    assert "排队小票" in ticket and "N007" in ticket and "前面还有 4 人" in ticket


def test_reprints_are_marked_and_counted_in_the_journal(services) -> None:
    flow = LookupFlow(services)
    state = flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1")
    first = flow.reprint(state)
    second = flow.reprint(state)
    assert (first.reprint_count, second.reprint_count) == (1, 2)
    assert "【补打】第 2 次" in services.printer.printed[-1].plain_text()
    again = LookupFlow(services).reprint(state)  # another session, the same kiosk: the count goes on
    assert again.reprint_count == 3


def test_cancel_after_the_deadline_sends_the_patient_to_the_window(services) -> None:
    flow = LookupFlow(services)
    state = flow.ask_cancel(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    refused = flow.cancel(state)
    assert refused.step is LookupStep.ERROR and "人工窗口" in message_for(refused.error, "zh_CN")
    assert services.journal.get(state.key).state is EntryState.FAILED


def test_recovery_settles_a_booking_whose_answer_was_lost_after_the_patient_left(services, his) -> None:
    from kiosk.flows.task_recovery import TaskSettler
    from kiosk.sync.recovery import Recovery

    flow = BookFlow(services)
    held = flow.choose_slot(_at_slots(flow), "S1-0900")
    his.lose_next_book_answer = True
    assert flow.book(held).step is BookStep.ERROR
    recovery = Recovery(services.journal, [TaskSettler(services.journal, his)])
    assert held.book_key not in recovery.run().confirmed  # the session still owns it
    flow.end_session()  # home or idle: the patient has gone
    assert recovery.run().confirmed == [held.book_key]
    assert len(his.booked) == 1 and services.journal.get(held.book_key).state is EntryState.CONFIRMED


def test_todays_payments_are_listed_and_a_receipt_reprinted(services, his) -> None:
    paid = PaymentRecord("PM1", "paid", Money(12345), NOW, "R0001", "wechat", None, None)
    his.payments_made = [paid]
    flow = LookupFlow(services)
    state = flow.identify_id_card(flow.start(), create_id_card())
    assert state.payments == (paid,)
    done = flow.reprint(flow.select(state, payment_key(paid)))
    receipt = services.printer.printed[-1].plain_text()
    assert done.reprint_count == 1 and "缴费凭条" in receipt and "【补打】第 1 次" in receipt
    assert "¥123.45" in receipt and "微信" in receipt and "R0001" in receipt

"""预约取号 flow against fake ports and a fake HIS: both identification paths, errors, reprint, journal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest
from kiosk_test_fakes import create_his, create_id_card, create_insurance_card, create_services

from kiosk.domain.appointment import AppointmentStatus
from kiosk.domain.errors import CardExpired, HisRefused, HisUnavailable, PaperOut
from kiosk.domain.messages import message_for
from kiosk.flows.collect import CollectFlow, CollectStep
from kiosk.sync.journal import EntryState, Journal


def _flow(**kwargs):
    services = create_services(**kwargs)
    return services, CollectFlow(services)


def test_id_card_path_collects_and_prints_the_slip() -> None:
    """GIVEN a patient with two collectable appointments WHEN they use the ID card, pick one
    THEN the HIS collects it and the printed slip shows the masked name, doctor and queue number."""
    services, flow = _flow()
    state = flow.identify_id_card(flow.start(), create_id_card())
    assert state.step is CollectStep.CHOOSE_APPOINTMENT
    assert [a.id for a in state.collectable] == ["A1", "A2"]  # A0 already collected: not offered
    assert state.selected_id is None  # two choices: the patient picks

    state = flow.select(state, "A2")
    state = flow.collect(state)
    assert state.step is CollectStep.PRINTING and state.collected is not None
    state = flow.print_slip(state)
    assert state.step is CollectStep.DONE and state.printed

    [slip] = services.printer.printed
    text = slip.plain_text()
    assert "张*三" in text and "张小三" not in text
    assert "消化内科" in text and "王五 副主任医师" in text
    assert state.collected.queue_number in text
    assert "CHECKIN:A2" in text and "K01" in text
    assert services.his.appointments[1].status is AppointmentStatus.COLLECTED


def test_booking_code_path_preselects_the_coded_appointment() -> None:
    _services, flow = _flow()
    state = flow.identify_booking_code(flow.start(), "87654321", create_id_card().id_number.last4)
    assert state.step is CollectStep.CHOOSE_APPOINTMENT
    assert state.selected_id == "A2" and state.collect_key


def test_wrong_last4_with_a_booking_code_is_not_found() -> None:
    _, flow = _flow()
    state = flow.identify_booking_code(flow.start(), "87654321", "0000")
    assert state.step is CollectStep.ERROR and state.failed_at is CollectStep.IDENTIFY
    assert "未找到" in message_for(state.error)


def test_malformed_booking_code_is_refused_before_any_call() -> None:
    services, flow = _flow()
    state = flow.identify_booking_code(flow.start(), "1234", "5678")
    assert state.step is CollectStep.ERROR
    assert services.his.calls == []


def test_expired_id_card_is_rejected() -> None:
    services, flow = _flow()
    card = create_id_card(valid_to=dt.date(2020, 1, 1))
    state = flow.identify_id_card(flow.start(), card)
    assert isinstance(state.error, CardExpired)
    assert services.his.calls == []


def test_first_visit_creates_the_patient_record() -> None:
    services, flow = _flow()
    card = create_id_card(name="李四", first17="44030419900101003")
    state = flow.identify_id_card(flow.start(), card)
    assert state.step is CollectStep.CHOOSE_APPOINTMENT
    assert state.patient.first_visit and state.appointments == ()
    assert services.his.calls == ["resolve", "create_patient", "list"]


def test_insurance_card_and_visit_card_scan_identify_the_same_patient() -> None:
    _, flow = _flow()
    by_card = flow.identify_insurance_card(flow.start(), create_insurance_card())
    by_scan = flow.identify_scan(flow.start(), "V0001234")  # not a QR credential: tried as a visit card
    assert by_card.patient.id == by_scan.patient.id == "P1"


def test_single_collectable_appointment_is_preselected() -> None:
    his = create_his()
    his.appointments = his.appointments[:1]
    _, flow = _flow(his=his)
    state = flow.identify_id_card(flow.start(), create_id_card())
    assert state.selected_id == "A1"


def test_lost_answer_retry_uses_the_same_key_and_collects_once() -> None:
    """GIVEN the HIS collects but its answer is lost WHEN the patient retries
    THEN the same idempotency key is sent and the stored answer comes back (one queue number)."""
    services, flow = _flow()
    services.his.lose_next_collect_answer = True
    state = flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1")
    failed = flow.collect(state)
    assert failed.step is CollectStep.ERROR and isinstance(failed.error, HisUnavailable) and failed.can_retry
    done = flow.retry(failed)
    assert done.step is CollectStep.PRINTING
    assert list(services.his.collect_keys) == [state.collect_key]


def test_refusal_shows_the_rule_and_back_returns_to_the_list() -> None:
    services, flow = _flow()
    services.his.refuse_collect = HisRefused(
        "OUTSIDE_COLLECTION_WINDOW",
        "不在取号时间",
        "not now",
        {"window_start": "07:30", "window_end": "10:30"},
    )
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    assert state.step is CollectStep.ERROR
    assert "07:30" in message_for(state.error) and "10:30" in message_for(state.error)
    back = flow.back(state)
    assert back.step is CollectStep.CHOOSE_APPOINTMENT and back.error is None


def test_paper_out_keeps_the_collection_and_reprints() -> None:
    services, flow = _flow()
    services.printer.fail_with = PaperOut("paper out")
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    failed = flow.print_slip(state)
    assert failed.step is CollectStep.ERROR and failed.failed_at is CollectStep.PRINTING
    assert failed.collected is not None and failed.can_reprint
    assert flow.back(failed) is failed  # collected: no way back into the list
    services.printer.fail_with = None
    done = flow.retry(failed)
    assert done.step is CollectStep.DONE and len(services.printer.printed) == 1
    assert services.his.calls.count("collect") == 1


def test_his_down_at_identification_is_an_error_state() -> None:
    services, flow = _flow()
    services.his.down = True
    state = flow.identify_id_card(flow.start(), create_id_card())
    assert state.step is CollectStep.ERROR
    assert message_for(state.error) == "医院系统暂时无法连接，请稍后再试或到人工窗口办理。"


def test_collection_is_journaled_before_and_after(tmp_path) -> None:
    services, _ = _flow()
    services = dataclasses.replace(services, journal=Journal(tmp_path / "j.db"))
    flow = CollectFlow(services)
    services.his.lose_next_collect_answer = True
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    [entry] = services.journal.entries("collect")
    assert entry.key == state.collect_key and entry.state is EntryState.INTENT  # open: recovery retries
    flow.retry(state)
    [entry] = services.journal.entries("collect")
    assert entry.state is EntryState.CONFIRMED and entry.outcome["queue_number"]
    assert "张小三" not in str(entry.payload)
    services.journal.close()


def test_no_name_or_id_number_in_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, flow = _flow()
    card = create_id_card(name="赵钱孙", first17="44030419900101003")
    state = flow.identify_id_card(flow.start(), card)
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert state.patient is not None
    assert card.id_number.value not in logged and "赵钱孙" not in logged


def _journaled_flow(tmp_path):
    services, _ = _flow()
    services = dataclasses.replace(services, journal=Journal(tmp_path / "j.db"))
    return services, CollectFlow(services)


def test_in_progress_then_success_confirms_the_open_entry(tmp_path) -> None:
    """GIVEN the HIS still running the first copy of the collection (IDEMPOTENCY_IN_PROGRESS after the
    client's retries) WHEN the patient presses retry and the HIS answers THEN the entry, left open
    (unknown, not failed), is confirmed and the slip is ready: no unexpected error."""
    services, flow = _journaled_flow(tmp_path)
    services.his.collect_errors.append(HisRefused("IDEMPOTENCY_IN_PROGRESS", "处理中", "in progress"))
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    assert state.step is CollectStep.ERROR and state.can_retry
    [entry] = services.journal.entries("collect")
    assert entry.state is EntryState.INTENT and entry.outcome["unknown"] == "HisRefused"
    state = flow.retry(state)
    assert state.step is CollectStep.PRINTING and state.collected is not None
    [entry] = services.journal.entries("collect")
    assert entry.state is EntryState.CONFIRMED and entry.outcome["queue_number"] == state.collected.queue_number
    services.journal.close()


def test_a_refusal_closes_the_entry_as_failed(tmp_path) -> None:
    services, flow = _journaled_flow(tmp_path)
    services.his.refuse_collect = HisRefused("IDENTITY_MISMATCH", "证件与预约人不一致", "mismatch")
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    assert message_for(state.error) == "证件与预约人不一致，无法取号。"
    [entry] = services.journal.entries("collect")
    assert entry.state is EntryState.FAILED and entry.outcome["code"] == "IDENTITY_MISMATCH"
    services.journal.close()


def test_recovery_leaves_a_live_session_alone_and_settles_it_once_ended(tmp_path) -> None:
    """GIVEN a collection whose answer was lost, its patient still at the screen WHEN recovery's 30 s
    drain runs THEN it does not replay it; once the session ends, recovery settles it exactly once."""
    from kiosk.flows.collect_recovery import CollectSettler
    from kiosk.sync.recovery import Recovery

    services, flow = _journaled_flow(tmp_path)
    services.his.lose_next_collect_answer = True
    state = flow.collect(flow.select(flow.identify_id_card(flow.start(), create_id_card()), "A1"))
    recovery = Recovery(services.journal, [CollectSettler(services.journal, services.his)])
    calls = services.his.calls.count("collect")
    report = recovery.run()
    assert report.confirmed == [] and report.pending == []
    assert services.his.calls.count("collect") == calls  # not replayed under the live session
    flow.end(state)
    assert recovery.run().confirmed == [state.collect_key]
    [entry] = services.journal.entries("collect")
    assert entry.state is EntryState.CONFIRMED and entry.outcome["recovered"] == "yes"
    # a late retry of the session gets the HIS's stored answer: the same queue number, one collection
    again = flow.retry(state)
    assert again.collected is not None and again.collected.queue_number == entry.outcome["queue_number"]
    assert len(services.his.collect_keys) == 1
    services.journal.close()

"""The collect flow against the reference HIS (simulators.his) with a fake printer: both paths, for real."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import requests
from kiosk_test_fakes import create_services

from kiosk.domain.errors import HisRefused
from kiosk.domain.idnumber import IdNumber, Sex
from kiosk.domain.messages import message_for
from kiosk.domain.patient import IdCardData
from kiosk.flows.collect import CollectFlow, CollectStep
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.sync.client import HisClient
from kiosk.sync.journal import EntryState, Journal
from simulators.his.clock import Clock
from simulators.his.server import ServerHandle, start_in_thread

NOW = dt.datetime(2026, 11, 23, 8, 10)
TOKEN = "demo-kiosk-token"


@pytest.fixture(scope="module")
def his(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, dict]]:
    db = tmp_path_factory.mktemp("his") / "his.db"
    with start_in_thread(f"sqlite:///{db}", seed=1, clock=Clock("Asia/Shanghai", NOW)) as handle:
        answer = requests.get(
            f"{handle.url}/_test/fixtures", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        yield handle, answer.json()


@pytest.fixture
def flow_parts(his, tmp_path):
    handle, fixtures = his
    client = HisClient(handle.url, TOKEN, "K01", timeout_s=10)
    services = dataclasses.replace(
        create_services(),
        his=client,
        clock=lambda: NOW.replace(tzinfo=HOSPITAL_TZ),
        journal=Journal(tmp_path / "j.db"),
    )
    yield services, CollectFlow(services), fixtures
    services.journal.close()
    client.close()


def _morning(fixtures: dict, skip: int) -> tuple[dict, dict]:
    """The `skip`-th patient with exactly one booked morning appointment today, and that appointment."""
    today = [a for a in fixtures["appointments"] if a["date"] == NOW.date().isoformat()]
    counts: dict[str, int] = {}
    for a in today:
        counts[a["patient_id"]] = counts.get(a["patient_id"], 0) + 1
    candidates = [
        a for a in today if a["status"] == "booked" and a["period"] == "am" and counts[a["patient_id"]] == 1
    ]
    appt = candidates[skip]
    return next(p for p in fixtures["patients"] if p["id"] == appt["patient_id"]), appt


def _card(p: dict) -> IdCardData:
    number = IdNumber(p["id_number"])
    return IdCardData(
        p["name"],
        Sex(p["sex"]),
        p.get("ethnicity") or "汉",
        number.birth_date,
        p.get("address") or "",
        number,
        "公安局",
        dt.date(2020, 1, 1),
        None,
    )


def test_id_card_path_against_the_his(flow_parts) -> None:
    services, flow, fixtures = flow_parts
    patient, appt = _morning(fixtures, 0)
    state = flow.identify_id_card(flow.start(), _card(patient))
    assert state.step is CollectStep.CHOOSE_APPOINTMENT and state.selected_id == appt["id"]
    state = flow.print_slip(flow.collect(state))
    assert state.step is CollectStep.DONE
    text = services.printer.printed[0].plain_text()
    assert patient["name"] not in text and state.collected.queue_number in text
    assert patient["id_number"] not in text
    [entry] = services.journal.entries("collect")
    assert entry.state is EntryState.CONFIRMED


def test_booking_code_path_against_the_his(flow_parts) -> None:
    services, flow, fixtures = flow_parts
    patient, appt = _morning(fixtures, 1)
    state = flow.identify_booking_code(flow.start(), appt["booking_code"], patient["id_number"][-4:])
    assert state.selected_id == appt["id"]
    state = flow.print_slip(flow.collect(state))
    assert state.step is CollectStep.DONE and state.collected.appointment.department in (
        services.printer.printed[0].plain_text()
    )


def test_collecting_again_gives_the_same_queue_number(flow_parts) -> None:
    _, flow, fixtures = flow_parts
    patient, appt = _morning(fixtures, 2)
    state = flow.identify_booking_code(flow.start(), appt["booking_code"], patient["id_number"][-4:])
    first = flow.collect(state)
    again = flow.collect(dataclasses.replace(state, collect_key=str(uuid.uuid4())))  # a second session
    assert again.step is CollectStep.PRINTING
    assert again.collected.queue_number == first.collected.queue_number


def test_afternoon_appointment_in_the_morning_is_shown_with_when_it_opens(flow_parts) -> None:
    """GIVEN an afternoon appointment at 08:10 WHEN the patient is identified THEN the HIS's collection
    window comes with it: it is listed as opening at 13:30 and cannot be chosen (not even by its code);
    a HIS that sends no window still refuses the collection, in plain words saying when."""
    _, flow, fixtures = flow_parts
    appt = next(
        a
        for a in fixtures["appointments"]
        if a["date"] == NOW.date().isoformat() and a["status"] == "booked" and a["period"] == "pm"
    )
    patient = next(p for p in fixtures["patients"] if p["id"] == appt["patient_id"])
    state = flow.identify_booking_code(flow.start(), appt["booking_code"], patient["id_number"][-4:])
    listed = next(a for a in state.appointments if a.id == appt["id"])
    assert f"{listed.collect_from:%H:%M}" == "13:30" and listed.opens_later
    assert listed.department_en.isascii() and listed.department_en != listed.department  # name_en, for English
    assert listed not in state.collectable and state.selected_id != appt["id"]
    with pytest.raises(ValueError):
        flow.select(state, appt["id"])
    blind = dataclasses.replace(
        state, appointments=tuple(dataclasses.replace(a, window_open=None) for a in state.appointments)
    )
    refused = flow.collect(flow.select(blind, appt["id"]))
    assert refused.step is CollectStep.ERROR and isinstance(refused.error, HisRefused)
    assert refused.error.code == "OUTSIDE_COLLECTION_WINDOW"
    words = message_for(refused.error)
    assert "取号" in words and "Traceback" not in words and refused.collected is None
    assert "+08:00" not in words and "13:30" in words  # times as a patient reads them

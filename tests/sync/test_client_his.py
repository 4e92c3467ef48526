"""HisClient against the reference HIS (simulators.his) on loopback: the contract, end to end."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import requests

from kiosk.domain.appointment import AppointmentStatus
from kiosk.domain.errors import HisRefused, HisUnavailable, NotFound
from kiosk.domain.idnumber import IdNumber, check_char
from kiosk.domain.patient import IdCardData, Identity, IdentityKind
from kiosk.domain.schedule import ScheduleState
from kiosk.sync.client import HisClient
from simulators.his.clock import Clock
from simulators.his.server import ServerHandle, start_in_thread

NOW = dt.datetime(2026, 11, 23, 8, 0)  # hospital time, inside the morning collection window
TOKEN = "demo-kiosk-token"


@pytest.fixture(scope="module")
def his(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    db = tmp_path_factory.mktemp("his") / "his.db"
    with start_in_thread(f"sqlite:///{db}", seed=1, clock=Clock("Asia/Shanghai", NOW)) as handle:
        yield handle


@pytest.fixture(scope="module")
def fixtures(his: ServerHandle) -> dict:
    answer = requests.get(
        f"{his.url}/_test/fixtures", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def client(his: ServerHandle) -> Iterator[HisClient]:
    with HisClient(his.url, TOKEN, "K01", timeout_s=10) as c:
        yield c


def _booked_today(fixtures: dict) -> list[dict]:
    """This morning's booked appointments (collectable at 08:00), one per patient; tests use distinct ones."""
    seen: set[str] = set()
    found = []
    for a in fixtures["appointments"]:
        morning = a["date"] == NOW.date().isoformat() and a["status"] == "booked" and a["period"] == "am"
        if morning and a["patient_id"] not in seen:
            seen.add(a["patient_id"])
            found.append(a)
    return found


def _patient(fixtures: dict, patient_id: str) -> dict:
    return next(p for p in fixtures["patients"] if p["id"] == patient_id)


def test_health(client: HisClient) -> None:
    health = client.health()
    assert health.ok and health.server_time is not None and health.server_time.date() == NOW.date()


def test_resolve_by_every_credential(client: HisClient, fixtures: dict) -> None:
    p = next(p for p in fixtures["patients"] if p["insurance_card"] and p["qr"] and p["visit_card"])
    for kind, value in (
        (IdentityKind.ID_CARD, p["id_number"]),
        (IdentityKind.INSURANCE_CARD, p["insurance_card"]),
        (IdentityKind.QR, p["qr"]),
        (IdentityKind.VISIT_CARD, p["visit_card"]),
    ):
        patient = client.resolve_patient(Identity(kind, value))
        assert patient.id == p["id"] and patient.name == p["name"]
        assert p["id_number"] not in patient.id_number_masked


def test_resolve_by_booking_code_needs_the_right_last4(client: HisClient, fixtures: dict) -> None:
    appt = _booked_today(fixtures)[0]
    last4 = _patient(fixtures, appt["patient_id"])["id_number"][-4:]
    patient = client.resolve_patient(Identity(IdentityKind.BOOKING_CODE, appt["booking_code"], last4))
    assert patient.id == appt["patient_id"]
    wrong = "0000" if last4 != "0000" else "1111"
    with pytest.raises(NotFound):
        client.resolve_patient(Identity(IdentityKind.BOOKING_CODE, appt["booking_code"], wrong))


def test_list_and_collect_with_idempotency(client: HisClient, fixtures: dict) -> None:
    appt = _booked_today(fixtures)[1]
    [listed] = [a for a in client.list_appointments(appt["patient_id"], NOW.date()) if a.id == appt["id"]]
    assert (
        listed.status is AppointmentStatus.BOOKED and listed.department and listed.fee.fen == appt["fee_fen"]
    )
    assert listed.start.utcoffset() == dt.timedelta(hours=8)

    key = str(uuid.uuid4())
    first = client.collect(appt["id"], appt["patient_id"], key)
    again = client.collect(appt["id"], appt["patient_id"], key)  # a retry after a lost answer
    assert first.queue_number and again.queue_number == first.queue_number
    assert first.appointment.status is AppointmentStatus.COLLECTED
    assert first.fee_due.fen == appt["fee_fen"] - appt["paid_fen"]


def test_collect_refusals_keep_code_and_words(client: HisClient, fixtures: dict) -> None:
    a, b = _booked_today(fixtures)[2:4]
    with pytest.raises(HisRefused) as info:
        client.collect(a["id"], b["patient_id"], str(uuid.uuid4()))
    assert info.value.code == "IDENTITY_MISMATCH" and info.value.status == 409 and info.value.server_message


def test_first_visit_creates_a_patient_once(client: HisClient) -> None:
    first17 = "44030419900101003"
    number = IdNumber(first17 + check_char(first17))
    card = IdCardData(
        "新病人",
        number.sex,
        "汉",
        number.birth_date,
        "深圳市",
        number,
        "深圳市公安局",
        dt.date(2020, 1, 1),
        None,
    )
    with pytest.raises(NotFound):
        client.resolve_patient(Identity(IdentityKind.ID_CARD, number.value))
    created = client.create_patient(card, idempotency_key=str(uuid.uuid4()))
    assert created.first_visit and created.name == "新病人"
    assert client.create_patient(card).id == created.id
    assert client.resolve_patient(Identity(IdentityKind.ID_CARD, number.value)).id == created.id


def test_catalogue_schedules_and_slots(client: HisClient) -> None:
    departments = client.departments()
    assert len(departments) >= 20 and all(d.name for d in departments)
    doctors = client.doctors(departments[0].id)
    assert doctors and {d.department_id for d in doctors} == {departments[0].id}
    tomorrow = NOW.date() + dt.timedelta(days=1)
    schedules = client.schedules(departments[0].id, tomorrow)
    assert schedules and all(s.date == tomorrow for s in schedules)
    open_one = next(s for s in schedules if s.state is ScheduleState.OPEN and s.available)
    slots = client.slots(open_one.id)
    assert slots and any(s.available for s in slots) and slots[0].start < slots[0].end


def test_unknown_token_is_refused(his: ServerHandle) -> None:
    with HisClient(his.url, "wrong", "K01") as c, pytest.raises(HisRefused) as info:
        c.departments()
    assert info.value.status == 401 and info.value.code == "UNAUTHORIZED"


def test_server_down_is_unavailable(his: ServerHandle, client: HisClient) -> None:
    faults = f"{his.url}/_test/faults"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    requests.post(faults, json={"down": True}, headers=auth, timeout=10).raise_for_status()
    try:
        with pytest.raises(HisUnavailable):
            client.departments()
    finally:
        requests.post(
            faults, json={"down": False, "latency_ms": 0, "error_rate": 0}, headers=auth, timeout=10
        )
    assert client.departments()

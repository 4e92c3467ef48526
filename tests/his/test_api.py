"""The contract's endpoints, shapes and codes (HIS-API.md) against a seeded hospital."""

from __future__ import annotations

import datetime as dt

from kiosk.domain.idnumber import IdNumber, check_char
from simulators.his.rules import Title
from simulators.his.testing import AUTH, TODAY, His, error_code


def test_health_needs_no_token_and_everything_else_does(his: His) -> None:
    r = his.client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["time"].endswith("+08:00")
    for path in ("/api/v1/departments", "/api/v1/_nope", "/api/v1/bills?patient_id=P000101"):
        r = his.client.get(path)
        assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"
    r = his.client.get("/api/v1/departments", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = his.client.get("/api/v1/departments", headers={"Authorization": "Basic " + "demo-kiosk-token"})
    assert r.status_code == 401


def test_openapi_is_published_with_every_path(his: His) -> None:
    r = his.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/v1/patients/resolve",
        "/api/v1/patients",
        "/api/v1/departments",
        "/api/v1/doctors",
        "/api/v1/schedules",
        "/api/v1/schedules/{schedule_id}/slots",
        "/api/v1/holds",
        "/api/v1/holds/{hold_id}",
        "/api/v1/appointments",
        "/api/v1/appointments/{appointment_id}/cancel",
        "/api/v1/appointments/{appointment_id}/collect",
        "/api/v1/queue/checkin",
        "/api/v1/queue/{department_id}",
        "/api/v1/bills",
        "/api/v1/insurance/presettle",
        "/api/v1/insurance/presettle/{presettlement_id}/cancel",
        "/api/v1/payments",
        "/api/v1/payments/{payment_id}/reverse",
        "/api/v1/kiosks/{kiosk_id}/heartbeat",
    ):
        assert path in paths, path


def test_unknown_path_and_method_use_the_error_shape(his: His) -> None:
    r = his.client.get("/api/v1/nothing-here", headers=AUTH)
    assert r.status_code == 404 and error_code(r) == "NOT_FOUND"
    r = his.client.put("/api/v1/departments", headers=AUTH)
    assert r.status_code == 405 and error_code(r) == "METHOD_NOT_ALLOWED"


def test_seeded_hospital_is_big_enough(his: His) -> None:
    deps = his.get("/departments").json()["departments"]
    assert len(deps) >= 20
    assert all(set(d) == {"id", "name", "name_en", "floor", "room", "parent"} for d in deps)
    assert any("\u4e00" <= d["name"][0] <= "\u9fff" for d in deps)
    doctors = his.get("/doctors").json()["doctors"]
    assert len(doctors) >= 100
    assert {d["title"] for d in doctors} == {t.value for t in Title}
    assert all(d["title_en"] for d in doctors)
    one_dep = his.get("/doctors", department_id="D01").json()["doctors"]
    assert one_dep and all(d["department_id"] == "D01" for d in one_dep)
    days = set()
    states = set()
    for offset in range(8):
        day = TODAY + dt.timedelta(days=offset)
        schedules = his.get("/schedules", department_id="D01", date=day.isoformat()).json()["schedules"]
        assert {s["period"] for s in schedules} == {"am", "pm"}
        days.add(day)
        for sc in schedules:
            assert set(sc) >= {
                "id",
                "doctor_id",
                "date",
                "period",
                "state",
                "substitute_doctor_id",
                "fee_fen",
                "available",
            }
            assert isinstance(sc["fee_fen"], int) and isinstance(sc["available"], int)
    for dep in deps:
        for sc in his.get("/schedules", department_id=dep["id"]).json()["schedules"]:
            states.add(sc["state"])
    assert {"open", "full", "closed", "stopped", "suspended", "substituted"} <= states
    assert len(days) >= 7
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    assert len(fixtures["patients"]) >= 1000
    for p in fixtures["patients"]:
        IdNumber(p["id_number"])  # a valid GB 11643 number
        assert {"id", "name", "id_number", "insurance_card", "qr", "visit_card", "sex", "birth_date"} <= set(
            p
        )
    today_appts = [a for a in fixtures["appointments"] if a["date"] == TODAY.isoformat()]
    assert len(today_appts) > 100
    assert {"booked", "collected", "checked_in"} <= {a["status"] for a in today_appts}
    assert all(len(a["booking_code"]) == 8 and a["booking_code"].isdigit() for a in fixtures["appointments"])
    assert any(b["status"] == "unpaid" for b in fixtures["bills"])


def test_fees_follow_the_title(his: His) -> None:
    fees = {}
    doctors = {d["id"]: d for d in his.get("/doctors").json()["doctors"]}
    for sc in his.get("/schedules", date=TODAY.isoformat()).json()["schedules"]:
        if sc["doctor_id"] and sc["state"] != "substituted":
            fees.setdefault(doctors[sc["doctor_id"]]["title"], set()).add(sc["fee_fen"])
    rules = his.hub.rules
    assert fees == {t.value: {rules.fee_for(t)} for t in Title}
    order = [rules.fee_for(t) for t in Title]
    assert order == sorted(order) and len(set(order)) == 5


def test_slots_have_15_or_30_minutes_and_every_state(his: His) -> None:
    schedules = his.get(
        "/schedules", department_id="D01", date=(TODAY + dt.timedelta(days=2)).isoformat()
    ).json()
    lengths = set()
    for sc in schedules["schedules"]:
        slots = his.get(f"/schedules/{sc['id']}/slots").json()["slots"]
        for sl in slots:
            start, end = dt.datetime.fromisoformat(sl["start"]), dt.datetime.fromisoformat(sl["end"])
            assert start.utcoffset() == dt.timedelta(hours=8)
            assert isinstance(sl["available"], bool)
            lengths.add(int((end - start).total_seconds() // 60))
    assert lengths == {15, 30}
    r = his.get("/schedules/NOPE/slots")
    assert r.status_code == 404 and error_code(r) == "NOT_FOUND"


def test_resolve_every_kind(his: His) -> None:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    p = next(x for x in fixtures["patients"] if x["insurance_card"] and x["id"] == "P000101")
    for kind, value in (
        ("id_card", p["id_number"]),
        ("insurance_card", p["insurance_card"]),
        ("qr", p["qr"]),
        ("qr", p["visit_card"]),
        ("visit_card", p["visit_card"]),
    ):
        r = his.post("/patients/resolve", {"kind": kind, "value": value})
        assert r.status_code == 200, (kind, r.text)
        patient = r.json()["patient"]
        assert patient["id"] == p["id"]
        assert patient["id_number_masked"] != p["id_number"] and patient["id_number_masked"].endswith(
            p["id_number"][-4:]
        )
        assert set(patient) >= {
            "id",
            "name",
            "sex",
            "birth_date",
            "id_number_masked",
            "visit_card",
            "first_visit",
        }
    appt = next(a for a in fixtures["appointments"] if a["patient_id"] == p["id"])
    r = his.post(
        "/patients/resolve",
        {"kind": "booking_code", "value": appt["booking_code"], "id_last4": p["id_number"][-4:]},
    )
    assert r.status_code == 200 and r.json()["patient"]["id"] == p["id"]
    assert r.json()["appointment"]["id"] == appt["id"]
    wrong = "0000" if p["id_number"][-4:] != "0000" else "1111"
    r = his.post(
        "/patients/resolve", {"kind": "booking_code", "value": appt["booking_code"], "id_last4": wrong}
    )
    assert r.status_code == 404 and error_code(r) == "NOT_FOUND"
    r = his.post("/patients/resolve", {"kind": "booking_code", "value": appt["booking_code"]})
    assert r.status_code == 422 and error_code(r) == "VALIDATION"
    r = his.post("/patients/resolve", {"kind": "visit_card", "value": "no-such-card"})
    assert r.status_code == 404
    r = his.post("/patients/resolve", {"kind": "face", "value": "x"})
    assert r.status_code == 422


def _new_id_number(birth: dt.date, seq: int) -> str:
    first17 = f"110101{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def test_create_patient_validates_against_the_id_number(his: His) -> None:
    number = _new_id_number(dt.date(1990, 5, 17), 123)  # odd sequence: male
    body = {
        "id_number": number,
        "name": "测试者",
        "sex": "male",
        "birth_date": "1990-05-17",
        "address": "北京",
    }
    r = his.post("/patients", body)
    assert r.status_code == 201, r.text
    created = r.json()["patient"]
    assert created["first_visit"] is True and created["visit_card"]
    again = his.post("/patients", body)
    assert again.status_code == 200 and again.json()["patient"]["id"] == created["id"]
    resolved = his.post("/patients/resolve", {"kind": "id_card", "value": number}).json()["patient"]
    assert resolved["id"] == created["id"]
    bad_check = number[:17] + ("0" if number[17] != "0" else "1")
    before = his.count(__import__("simulators.his.models", fromlist=["Patient"]).Patient)
    for wrong in (
        {**body, "id_number": bad_check},
        {**body, "birth_date": "1990-05-18"},
        {**body, "sex": "female"},
        {**body, "sex": "other"},
        {**body, "birth_date": "not a date"},
    ):
        r = his.post("/patients", wrong)
        assert r.status_code == 422 and error_code(r) == "VALIDATION", wrong
    number2 = _new_id_number(dt.date(1991, 1, 2), 124)
    r = his.post(
        "/patients",
        {**body, "id_number": number2, "birth_date": "1991-01-02", "sex": "female", "valid_to": "2020-01-01"},
    )
    assert r.status_code == 409 and error_code(r) == "CARD_EXPIRED"
    from simulators.his import models as m

    assert his.count(m.Patient) == before


def test_appointments_list_is_wrapped(his: His) -> None:
    r = his.get("/appointments", patient_id="P000101", date=TODAY.isoformat())
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["appointments"]
    a = body["appointments"][0]
    assert {"id", "booking_code", "patient_id", "slot", "doctor", "department", "fee_fen", "status"} <= set(a)
    assert a["slot"]["start"].endswith("+08:00")
    assert his.get("/appointments", patient_id="P000001").json() == {"appointments": []}
    assert his.get("/appointments").status_code == 422


def test_heartbeat_is_recorded(his: His) -> None:
    r = his.post(
        "/kiosks/K01/heartbeat", {"devices": {"printer": {"state": "ok"}}, "version": "1.0", "backlog": 0}
    )
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = his.post("/kiosks/K01/heartbeat", [1, 2])
    assert r.status_code == 422


def test_faults_make_the_server_slow_flaky_or_down(his: His) -> None:
    r = his.client.post("/api/v1/_test/faults", json={"down": True})
    assert r.status_code == 200
    r = his.get("/departments")
    assert r.status_code == 503 and error_code(r) == "UNAVAILABLE"
    assert his.client.get("/api/v1/_test/fixtures").status_code == 200  # test mode stays reachable
    his.client.post("/api/v1/_test/faults", json={"error_rate": 1.0})
    assert his.get("/departments").status_code == 503
    his.client.post("/api/v1/_test/faults", json={"latency_ms": 1})
    assert his.get("/departments").status_code == 200
    his.client.post("/api/v1/_test/faults", json={})
    assert his.get("/departments").status_code == 200


def test_clock_is_settable(his: His) -> None:
    r = his.client.put("/api/v1/_test/clock", json={"now": "2026-11-25T14:59:00+08:00"})
    assert r.status_code == 200 and r.json()["now"].startswith("2026-11-25T14:59")
    assert his.client.get("/api/v1/health").json()["time"].startswith("2026-11-25T14:59")

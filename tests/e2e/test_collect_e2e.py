"""预约取号 end to end, through the automation port: the real window offscreen, the real drivers on the
simulators, the reference HIS in its own process (its clock at 08:40, inside the morning window).

GIVEN `kiosk demo --automation-port` (the production composition root, devices and HIS simulated)
WHEN a patient collects today's appointment by ID card, and another by booking code + last 4
THEN the printed slip (as the printer's jobs show it) carries the masked name, the department, the
doctor and the queue number the screen showed, and the HIS records the collection.
"""

from __future__ import annotations

from typing import Any

import requests

from kiosk.domain.idnumber import mask_name


def _his_get(kiosk: Any, path: str) -> Any:
    response = requests.get(f"{kiosk.his_url}{path}", headers={"Authorization": "Bearer demo-kiosk-token"},
                            timeout=10)
    response.raise_for_status()
    return response.json()


def _department_name(kiosk: Any, department_id: str) -> str:
    return next(d["name"] for d in _his_get(kiosk, "/departments")["departments"] if d["id"] == department_id)


def _text(screen: dict[str, Any], element_id: str) -> str:
    return next(e["text"] for e in screen["elements"] if e["id"] == element_id)


def test_collect_by_id_card(kiosk: Any) -> None:
    patient, booking = kiosk.patient_with_booking()
    printed = len(kiosk.jobs())
    kiosk.tap(id="task-collect")
    kiosk.wait("identify")
    kiosk.sim("idcard/insert", patient_id=patient["id"])
    shown = kiosk.wait("appointments")
    items = [e for e in shown["elements"] if e["role"] == "item"]
    assert len(items) == 1 and items[0]["enabled"]
    assert _department_name(kiosk, booking["department_id"]) in items[0]["text"]
    kiosk.tap(id="item-0")
    kiosk.tap(id="primary")
    result = kiosk.wait("result")
    queue = _text(result, "queue_number")

    jobs = kiosk.jobs()
    assert len(jobs) == printed + 1 and jobs[-1]["cut"]
    slip = jobs[-1]["text"]
    assert f"姓名：{mask_name(patient['name'])}" in slip and patient["name"] not in slip
    assert patient["id_number"] not in slip
    assert _department_name(kiosk, booking["department_id"]) in slip
    assert queue and queue in slip
    appointment = next(a for a in _his_get(kiosk, f"/appointments?patient_id={patient['id']}")["appointments"]
                       if str(a["id"]) == str(booking["id"]))
    assert appointment["status"] == "collected"
    doctor = appointment["doctor"]
    assert f"医生：{doctor['name']} {doctor['title']}" in slip


def test_collect_by_booking_code(kiosk: Any) -> None:
    patient, booking = kiosk.patient_with_booking()
    printed = len(kiosk.jobs())
    kiosk.enter_code(booking["booking_code"], patient["id_number"][-4:])
    kiosk.wait("appointments")
    kiosk.tap(id="primary")
    result = kiosk.wait("result")

    slip = kiosk.jobs()[printed]["text"]
    assert _text(result, "queue_number") in slip
    assert booking["booking_code"] in slip
    assert mask_name(patient["name"]) in slip
    assert _department_name(kiosk, booking["department_id"]) in slip


def test_unknown_booking_code_and_his_down_show_plain_words(kiosk: Any) -> None:
    printed = len(kiosk.jobs())
    for down, expected in ((False, "未找到您的就诊信息"), (True, "医院系统暂时无法连接")):
        kiosk.sim("his/faults", down=down)
        kiosk.wait("home")
        kiosk.enter_code("00000000", "0000")
        error = kiosk.wait("error")
        message = _text(error, "error_message")
        assert expected in message and "Traceback" not in message
        kiosk.tap(id="home")
    assert len(kiosk.jobs()) == printed

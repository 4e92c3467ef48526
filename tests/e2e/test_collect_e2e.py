"""预约取号 end to end: the real window, the real drivers, the simulators on pty/TCP, the real HIS.

GIVEN the kiosk built by the production composition root against the simulator rig and the embedded
reference HIS (its clock at 08:40, inside the morning collection window)
WHEN a patient collects today's appointment by ID card, and another by booking code + last 4
THEN the printed slip (parsed back from the ESC/POS stream) shows the masked name, the department,
the doctor and the queue number the screen showed, and the HIS records the collection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.app import App, build
from kiosk.config import Config
from kiosk.domain.idnumber import mask_name
from kiosk.flows.services import HOSPITAL_TZ
from kiosk.ui.demo import DEMO_TIME, Walk, pump, today_bookings
from kiosk.ui.main_window import MainWindow
from simulators.rig import SimulatorRig


@pytest.fixture
def rig() -> Iterator[SimulatorRig]:
    now = dt.datetime.combine(dt.datetime.now(HOSPITAL_TZ).date(), DEMO_TIME, HOSPITAL_TZ)
    rig = SimulatorRig.start(Config(), ["idcard", "printer", "payment", "scanner"], his=True, his_now=now)
    yield rig
    rig.stop()


@pytest.fixture
def kiosk(rig: SimulatorRig, tmp_path: Path, qtbot: Any) -> Iterator[tuple[App, MainWindow]]:
    base = Config()
    config = dataclasses.replace(
        base,
        his=dataclasses.replace(base.his, url=rig.his_url),
        kiosk=dataclasses.replace(base.kiosk, data_dir=str(tmp_path / "data")),
    )
    app = build(config, rig)
    window = MainWindow(app.services)
    qtbot.addWidget(window)
    window.resize(1080, 1500)
    window.show()
    yield app, window
    app.close()


def _his_get(rig: SimulatorRig, path: str) -> Any:
    response = requests.get(f"{rig.his_url}{path}", headers={"Authorization": "Bearer demo-kiosk-token"}, timeout=10)
    response.raise_for_status()
    return response.json()


def _department_name(rig: SimulatorRig, department_id: str) -> str:
    return next(d["name"] for d in _his_get(rig, "/departments")["departments"] if d["id"] == department_id)


def test_collect_by_id_card_and_by_booking_code(rig: SimulatorRig, kiosk: tuple[App, MainWindow],
                                                tmp_path: Path) -> None:
    _, w = kiosk
    walk = Walk(w, rig, tmp_path)
    booked, patients = today_bookings(rig)
    by_card = next(a for a in booked if a["doctor_id"])  # a named doctor, to check doctor + title
    by_code = next(a for a in booked[1:] if a["patient_id"] != by_card["patient_id"])

    # --- the ID-card path ----------------------------------------------------------------------
    walk.on(w.home)
    walk.collect_by_id_card(by_card["patient_id"], str(by_card["id"]))
    queue = w.result.queue.text()
    slip = walk.receipt("id-card", 1)
    name = patients[by_card["patient_id"]]["name"]
    assert f"姓名：{mask_name(name)}" in slip and name not in slip
    assert patients[by_card["patient_id"]]["id_number"] not in slip
    assert _department_name(rig, by_card["department_id"]) in slip
    assert queue and queue in slip
    appointment = next(a for a in _his_get(rig, f"/appointments?patient_id={by_card['patient_id']}")["appointments"]
                       if str(a["id"]) == str(by_card["id"]))
    assert appointment["status"] == "collected"
    doctor = appointment["doctor"]
    assert f"医生：{doctor['name']} {doctor['title']}" in slip
    walk.finish()

    # --- the booking-code path -----------------------------------------------------------------
    walk.collect_by_code(by_code["booking_code"], patients[by_code["patient_id"]]["id_number"][-4:])
    slip = walk.receipt("booking-code", 2)
    assert w.result.queue.text() in slip
    assert by_code["booking_code"] in slip
    assert mask_name(patients[by_code["patient_id"]]["name"]) in slip
    assert _department_name(rig, by_code["department_id"]) in slip


def test_unknown_booking_code_and_his_down_show_plain_words(rig: SimulatorRig, kiosk: tuple[App, MainWindow],
                                                            tmp_path: Path) -> None:
    _, w = kiosk
    walk = Walk(w, rig, tmp_path)
    for down, expected in ((False, "未找到您的就诊信息"), (True, "医院系统暂时无法连接")):
        rig.set_his_faults(down=down)
        walk.on(w.home)
        walk.refused_code("00000000", "0000")
        assert expected in w.error.message.text()
        assert "Traceback" not in w.error.message.text()
        walk.click(w.home_button)
    rig.set_his_faults()
    assert rig.printer.receipts == []


def test_id_reader_replug_on_the_identify_screen(rig: SimulatorRig, kiosk: tuple[App, MainWindow],
                                                 tmp_path: Path) -> None:
    """GIVEN the identify screen WHEN the real ID-card reader (GA 467 over a pty) is unplugged THEN the
    heading stops asking for the ID card and the warning shows; WHEN it is plugged back THEN the warning
    goes and a card laid on it identifies the patient (no 25 s dead wait)."""
    _, w = kiosk
    walk = Walk(w, rig, tmp_path)
    booked, _ = today_bookings(rig)
    walk.click(w.home.tiles["collect"])
    walk.on(w.identify)
    rig.unplug("idcard")
    walk.wait("the reader warning", w.identify.warning.isVisible)
    assert w.identify.title.text() == "请插入医保卡、扫码，或输入预约码"
    rig.replug("idcard")
    walk.wait("the warning to go", lambda: not w.identify.warning.isVisible())
    assert w.identify.title.text() == "请将身份证放在读卡区"
    rig.insert_id_card(next(p for p in rig.patients(10_000) if p.id == booked[0]["patient_id"]))
    walk.on(w.appointments)


def test_paper_out_before_and_during_the_slip(rig: SimulatorRig, kiosk: tuple[App, MainWindow],
                                              tmp_path: Path) -> None:
    """GIVEN the real printer driver and the simulated ESC/POS printer
    WHEN the paper runs out while the appointment list is shown THEN 确认取号 collects nothing (the HIS
    keeps the booking) and says the printer is out of paper;
    WHEN the paper runs out in the middle of the slip THEN the collection stands and is shown as a success
    with the note that the slip did not print, and 重新打印 prints it once paper is back."""
    _, w = kiosk
    walk = Walk(w, rig, tmp_path)
    first = today_bookings(rig)[0][0]
    walk.click(w.home.tiles["collect"])
    walk.on(w.identify)
    rig.insert_id_card(next(p for p in rig.patients(10_000) if p.id == first["patient_id"]))
    walk.on(w.appointments)
    rig.printer.set_paper_out(True)
    walk.click(w.appointments.cards[str(first["id"])])
    walk.click(w.appointments.confirm)
    walk.on(w.error)
    assert w.error.message.text().startswith("打印机缺纸，暂不能办理，您的预约没有改变")
    status = next(a["status"] for a in _his_get(rig, f"/appointments?patient_id={first['patient_id']}")["appointments"]
                  if str(a["id"]) == str(first["id"]))
    assert status == "booked"
    rig.printer.refill()
    walk.click(w.back)
    walk.on(w.appointments)
    rig.printer.paper_out_after_bytes(200)
    walk.click(w.appointments.confirm)
    walk.on(w.result)
    assert w.result.not_printed.isVisible() and w.result.queue.text() in w.result.not_printed.text()
    rig.printer.refill()
    walk.click(w.result.reprint)
    walk.wait("the reprint", lambda: not w.result.not_printed.isVisible() and not w.tasks.busy)
    assert w.result.queue.text() in walk.receipt("reprinted", 1)


@pytest.fixture
def insurance_kiosk(tmp_path: Path, qtbot: Any) -> Iterator[tuple[SimulatorRig, MainWindow]]:
    """The kiosk with the real PC/SC driver on vpcd's first slot (taken in turn with other test runs)."""
    from simulators.pcscd import slot_lock

    now = dt.datetime.combine(dt.datetime.now(HOSPITAL_TZ).date(), DEMO_TIME, HOSPITAL_TZ)
    with slot_lock(35963):
        rig = SimulatorRig.start(Config(), ["insurance", "printer"], his=True, his_now=now)
        base = Config()
        config = dataclasses.replace(base, his=dataclasses.replace(base.his, url=rig.his_url),
                                     kiosk=dataclasses.replace(base.kiosk, data_dir=str(tmp_path / "data")))
        app = build(config, rig)
        window = MainWindow(app.services)
        qtbot.addWidget(window)
        window.resize(1080, 1500)
        window.show()
        yield rig, window
        app.close()
        rig.stop()


def test_insurance_card_left_in_does_not_identify_again(insurance_kiosk: tuple[SimulatorRig, MainWindow],
                                                       tmp_path: Path) -> None:
    """GIVEN a patient identified by the insurance card, left in the reader WHEN 返回 is tapped THEN the
    identify screen stays (the code entry can be reached); WHEN the card is taken out and put back THEN
    it identifies the patient again."""
    rig, w = insurance_kiosk
    walk = Walk(w, rig, tmp_path)
    booked, _ = today_bookings(rig)
    carded = {p.id: p for p in rig.patients(10_000) if p.insurance_card}
    patient = next(carded[a["patient_id"]] for a in booked if a["patient_id"] in carded)
    walk.click(w.home.tiles["collect"])
    walk.on(w.identify)
    rig.insert_insurance_card(patient)
    walk.on(w.appointments)
    walk.click(w.back)
    walk.on(w.identify)
    pump(1500)  # more than a read and a re-arm: a card that re-triggered would have left this screen
    assert w.current_screen is w.identify
    walk.click(w.identify.code)
    walk.on(w.code_entry)
    walk.click(w.back)
    walk.on(w.identify)
    rig.remove_insurance_card()
    rig.insert_insurance_card(patient)
    walk.on(w.appointments)

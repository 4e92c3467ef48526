"""`kiosk sim` and the tester's panel: simulators a tester drives by HTTP or by clicking, with the real
drivers on the other end."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import requests

from kiosk.config import Config
from kiosk.devices.idcard import Ga467Reader
from kiosk.devices.scanner import SerialScanner
from simulators.rig import SimulatorRig


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_kiosk_sim_prints_endpoints_and_obeys_the_control_port(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--log-level", "WARNING", "sim", "idcard", "scanner",
         "--control-port", str(port), "--write-config", str(tmp_path / "kiosk.toml")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert proc.stdout is not None
        text = ""
        while not text.rstrip().endswith("}") or text.count("{") != text.count("}"):
            line = proc.stdout.readline()
            assert line, "kiosk sim exited before printing its endpoints"
            text += line
        info = json.loads(text)
        control = info["control"]["url"]
        assert "his" not in info and set(info) == {"idcard", "scanner", "control"}

        from kiosk import config as kiosk_config

        written = kiosk_config.load(tmp_path / "kiosk.toml")  # --write-config: the real drivers, pointed here
        assert (written.devices.idcard.driver, written.devices.idcard.device) == ("ga467-serial",
                                                                                  info["idcard"]["device"])
        reader = Ga467Reader.from_config(written.devices.idcard)
        reader.open()
        try:
            assert requests.post(control + "idcard/insert", json={"test_card": "female"}, timeout=5).ok
            assert reader.read_card(5).name == "李四"
        finally:
            reader.close()

        scanner = SerialScanner(info["scanner"]["device"])
        scanner.open()
        got: dict[str, Any] = {}
        waiting = threading.Thread(target=lambda: got.update(code=scanner.read_code(5)))
        waiting.start()
        for _ in range(50):  # the scanner driver only takes codes scanned while it waits
            requests.post(control + "scanner/scan", json={"value": "ECV-TEST-0001"}, timeout=5)
            waiting.join(0.1)
            if not waiting.is_alive():
                break
        scanner.close()
        assert got["code"] == "ECV-TEST-0001"

        ctl = subprocess.run([sys.executable, "-m", "kiosk", "simctl", "idcard/insert", "test_card=expired",
                              "--url", control], check=False, capture_output=True, text=True, timeout=30)
        assert ctl.returncode == 0 and json.loads(ctl.stdout) == {"ok": True}
        reader.open()
        try:
            assert reader.read_card(5).name == "王五"
        finally:
            reader.close()
        refused = subprocess.run([sys.executable, "-m", "kiosk", "simctl", "printer/fault", "fault=on-fire",
                                  "--url", control], check=False, capture_output=True, text=True, timeout=30)
        assert refused.returncode == 1 and json.loads(refused.stdout)["ok"] is False

        bad = requests.post(control + "idcard/insert", json={"test_card": "nope"}, timeout=5)
        assert bad.status_code == 400 and bad.json()["ok"] is False
        assert requests.post(control + "no/such/action", json={}, timeout=5).status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_panel_buttons_act_on_the_simulators(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QGroupBox, QPushButton

    from simulators.panel import ControlPanel

    rig = SimulatorRig.start(Config(), ["idcard", "printer"], his=True)
    try:
        panel = ControlPanel(rig)
        qtbot.addWidget(panel)
        panel.show()
        groups = {g.title(): g for g in panel.findChildren(QGroupBox)}

        def buttons(group: str) -> dict[str, QPushButton]:
            return {b.text(): b for b in groups[group].findChildren(QPushButton)}

        buttons("身份证 ID card")["放卡 Insert"].click()
        assert "✓" in panel.result.text()
        assert rig.idcard.state.value == "present"
        buttons("打印机 Printer")["paper_out"].click()
        assert rig.printer.faults.paper_out
        buttons("打印机 Printer")["ok"].click()
        assert not rig.printer.faults.paper_out
        buttons("支付终端 Payment")["decline"].click()  # no terminal in this rig: said, not crashed
        assert panel.result.text().startswith("✗ payment/behaviour")
        panel.grab().save(str(tmp_path / "panel.png"))
        assert (tmp_path / "panel.png").stat().st_size > 10_000
    finally:
        rig.stop()


def test_panel_lists_useful_patients_first_and_shows_the_last_printout(qtbot: Any) -> None:
    from kiosk.devices.printer import EscposReceiptPrinter
    from kiosk.domain.document import Document, Text
    from simulators.panel import ControlPanel

    rig = SimulatorRig.start(Config(), ["printer"], his=True)
    try:
        panel = ControlPanel(rig)
        qtbot.addWidget(panel)
        first = panel.patients[0]
        assert "appointments_today" in first.tags
        assert "— 今日有预约 has a booking today" in panel.patient_box.itemText(0)
        tags = [p.tags for p in panel.patients]
        last_booked = max(i for i, t in enumerate(tags) if "appointments_today" in t)
        assert all("appointments_today" in t for t in tags[: last_booked + 1])  # all of them before any other

        printer = EscposReceiptPrinter.from_config(dataclasses.replace(Config().devices.printer,
                                                                       **rig.endpoint_for("printer")))
        printer.open()
        try:
            printer.print_document(Document("test", (Text("挂号凭条 第 A012 号"),)))
        finally:
            printer.close()
        panel.show_last_printout()
        assert "挂号凭条 第 A012 号" in panel.printout.text()
    finally:
        rig.stop()


def test_simctl_patient_card_without_an_his_is_refused_in_plain_words() -> None:
    from simulators.rig import control_server

    rig = SimulatorRig.start(Config(), ["idcard"])
    server = control_server(rig, 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        ctl = subprocess.run([sys.executable, "-m", "kiosk", "simctl", "idcard/insert", "patient_id=P000100",
                              "--url", url], check=False, capture_output=True, text=True, timeout=30)
        assert ctl.returncode == 1
        answer = json.loads(ctl.stdout)
        assert answer["ok"] is False and "--his-url" in answer["error"] and "test_card" in answer["error"]
        assert requests.get(url, timeout=5).json()["simulators"]["idcard"]  # the control port lives on
        assert requests.get(url + "idcard", timeout=5).json() is None
        assert requests.post(url + "idcard/insert", json={"test_card": "female"}, timeout=5).ok
        assert requests.get(url + "idcard", timeout=5).json()["name"] == "李四"
    finally:
        server.shutdown()
        rig.stop()


def test_write_config_points_the_real_drivers_at_the_simulators(tmp_path: Path) -> None:
    from kiosk import config as kiosk_config
    from simulators.rig import kiosk_config as write_config

    rig = SimulatorRig.start(Config(), ["idcard", "printer"])
    try:
        path = tmp_path / "kiosk.toml"
        path.write_text(write_config(rig, Config()), encoding="utf-8")
        loaded = kiosk_config.load(path)
        assert loaded.devices.idcard.driver == "ga467-serial"
        assert loaded.devices.idcard.device == rig.endpoint_for("idcard")["device"]
        assert (loaded.devices.printer.driver, loaded.devices.printer.port) == (
            "escpos-network", rig.endpoint_for("printer")["port"])
        reader = Ga467Reader.from_config(loaded.devices.idcard)
        reader.open()
        try:
            rig.insert_test_id_card("female")
            assert reader.read_card(5).name == "李四"
        finally:
            reader.close()
    finally:
        rig.stop()


def test_the_terminals_ledger_and_the_printers_jobs_as_an_auditor_reads_them() -> None:
    import pytest

    from kiosk.devices.payment import EcrPaymentTerminal, new_reference
    from kiosk.devices.printer import EscposReceiptPrinter
    from kiosk.domain.document import Document, Text
    from kiosk.domain.errors import PaymentCancelled, PaymentDeclined
    from kiosk.domain.money import Money
    from simulators.control_client import ControlClient
    from simulators.rig import control_server

    rig = SimulatorRig.start(Config(), ["payment", "printer"])
    server = control_server(rig, 0)
    sims = ControlClient(f"http://127.0.0.1:{server.server_address[1]}")
    devices = Config().devices
    terminal = EcrPaymentTerminal.from_config(dataclasses.replace(devices.payment, **rig.endpoint_for("payment")))
    printer = EscposReceiptPrinter.from_config(dataclasses.replace(devices.printer, **rig.endpoint_for("printer")))
    terminal.open()
    printer.open()
    try:
        assert sims.ledger() == [] and sims.jobs() == []
        sale, void = new_reference("K01"), new_reference("K01")
        terminal.sale(sale, Money(1250))
        terminal.void(void, sale)
        sims.act("payment/behaviour", behaviour="decline")
        with pytest.raises(PaymentDeclined):
            terminal.sale(declined := new_reference("K01"), Money(300))
        sims.act("payment/behaviour", behaviour="cancelled")
        with pytest.raises(PaymentCancelled):
            terminal.sale(cancelled := new_reference("K01"), Money(400))
        ledger = sims.ledger()
        assert [(t["ref"], t["type"], t["amount_fen"], t["result"]) for t in ledger] == [
            (sale, "sale", 1250, "approved"), (void, "void", 1250, "approved"),
            (declined, "sale", 300, "declined"), (cancelled, "sale", 400, "cancelled")]
        assert ledger[1]["original_ref"] == sale and "original_ref" not in ledger[0]
        assert all(t["at"] for t in ledger)

        printer.print_document(Document("test", (Text("挂号凭条"), Text("第 A012 号"))))
        [job] = sims.jobs()
        assert job["text"].splitlines()[:2] == ["挂号凭条", "第 A012 号"] and job["cut"] is True and job["at"]
    finally:
        terminal.close()
        printer.close()
        server.shutdown()
        rig.stop()

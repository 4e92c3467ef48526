"""The tester's control panel: a small Qt window that plays the patient and the hardware faults."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from simulators import controls
from simulators.rig import Action, SimulatorRig, TestPatient, perform

log = logging.getLogger(__name__)

PANEL_PATIENTS = 200
# What a tester can do with a patient, most useful first (the HIS's test tags).
USES = (
    ("appointments_today", "今日有预约 has a booking today"),
    ("unpaid_bills", "有待缴费 has unpaid bills"),
    ("clean", "无记录 no record"),
)
PRINTOUT_REFRESH_MS = 1000


def useful_first(patients: list[TestPatient]) -> list[TestPatient]:
    """Patients with a booking today first, then with unpaid bills, then with no record, then the rest."""
    def rank(patient: TestPatient) -> int:
        return next((i for i, (tag, _) in enumerate(USES) if tag in patient.tags), len(USES))

    return sorted(patients, key=rank)


def patient_label(patient: TestPatient) -> str:
    uses = " · ".join(label for tag, label in USES if tag in patient.tags)
    who = f"{patient.name}  {patient.id_number[:6]}…{patient.id_number[-4:]}  ({patient.id})"
    return f"{who}  — {uses}" if uses else who


class ControlPanel(QWidget):
    """Buttons for every tester action of the rig; the last result shows at the bottom."""

    def __init__(self, rig: SimulatorRig) -> None:
        super().__init__()
        self.rig = rig
        self.setWindowTitle("模拟器控制台 / Simulator panel")
        everyone = rig.patients(limit=10_000) if rig.his_url is not None else []
        self.patients: list[TestPatient] = useful_first(everyone)[:PANEL_PATIENTS]
        layout = QVBoxLayout(self)

        self.patient_box = QComboBox()
        for p in self.patients:
            self.patient_box.addItem(patient_label(p))
        layout.addWidget(QLabel("测试患者 / Test patient"))
        layout.addWidget(self.patient_box)

        layout.addWidget(self._group("身份证 ID card", [
            ("放卡 Insert", lambda: self._act(Action.INSERT_ID_CARD, {"patient_id": self._patient().id})),
            ("取卡 Remove", lambda: self._act(Action.REMOVE_ID_CARD, {})),
        ], extra=self._test_card_row()))
        layout.addWidget(self._group("医保卡 Insurance card", [
            ("插卡 Insert", lambda: self._act(Action.INSERT_INSURANCE_CARD, {"patient_id": self._patient().id})),
            ("拔卡 Remove", lambda: self._act(Action.REMOVE_INSURANCE_CARD, {})),
        ]))
        layout.addWidget(self._group("扫码 Scanner", [
            ("扫患者码 Scan patient QR", lambda: self._act(Action.SCAN, {"value": self._patient().qr})),
        ], extra=self._scan_row()))
        layout.addWidget(self._group("打印机 Printer", [
            (fault, lambda _checked=False, f=fault: self._act(Action.PRINTER, {"fault": f})) for fault in controls.PRINTER_FAULTS
        ]))
        layout.addWidget(self._group("支付终端 Payment", [
            (b, lambda _checked=False, b=b: self._act(Action.PAYMENT, {"behaviour": b})) for b in controls.payment_behaviours()
        ]))
        layout.addWidget(self._group("拔插 Unplug / replug", [
            (f"{verb} {kind}", lambda _checked=False, v=verb, k=kind: self._act(Action.UNPLUG if v == "unplug" else Action.REPLUG,
                                                             {"device": k}))
            for kind in ("idcard", "printer", "payment", "scanner") for verb in ("unplug", "replug")
        ]))
        layout.addWidget(self._group("医院系统 HIS", [
            ("正常 OK", lambda: self._act(Action.HIS_FAULTS, {})),
            ("慢 2s", lambda: self._act(Action.HIS_FAULTS, {"latency_ms": 2000})),
            ("故障 50%", lambda: self._act(Action.HIS_FAULTS, {"error_rate": 0.5})),
            ("断开 Down", lambda: self._act(Action.HIS_FAULTS, {"down": True})),
        ]))
        self.result = QLabel("")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        self.printout = QLabel("")
        self.printout.setStyleSheet("font-family: monospace; background: #ffffff; padding: 6px;")
        self._printed = 0
        if rig.printer is not None:
            layout.addWidget(QLabel("最近打印 Last printout"))
            layout.addWidget(self.printout)
            self._printout_timer = QTimer(self)
            self._printout_timer.timeout.connect(self.show_last_printout)
            self._printout_timer.start(PRINTOUT_REFRESH_MS)

    def show_last_printout(self) -> None:
        """The text of the last slip the printer cut (the tester's view of the paper)."""
        printer = self.rig.printer
        if printer is None:  # the rig was stopped
            return
        receipts = printer.receipts
        if len(receipts) != self._printed:
            self._printed = len(receipts)
            self.printout.setText(receipts[-1].text if receipts else "")

    def _patient(self) -> TestPatient:
        return self.patients[max(0, self.patient_box.currentIndex())]

    def _group(self, title: str, buttons: list[tuple[str, Callable[[], None]]],
               extra: QWidget | None = None) -> QGroupBox:
        box = QGroupBox(title)
        grid = QGridLayout(box)
        for i, (label, slot) in enumerate(buttons):
            button = QPushButton(label)
            button.clicked.connect(slot)
            grid.addWidget(button, i // 3, i % 3)
        if extra is not None:
            grid.addWidget(extra, (len(buttons) + 2) // 3, 0, 1, 3)
        return box

    def _test_card_row(self) -> QWidget:
        from simulators.idcard import TEST_CARDS

        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        combo = QComboBox()
        combo.addItems(list(TEST_CARDS))
        button = QPushButton("放测试卡 Insert test card")
        button.clicked.connect(lambda: self._act(Action.INSERT_ID_CARD, {"test_card": combo.currentText()}))
        h.addWidget(combo)
        h.addWidget(button)
        return row

    def _scan_row(self) -> QWidget:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit()
        edit.setPlaceholderText("任意码值 / any code")
        button = QPushButton("扫描 Scan")
        button.clicked.connect(lambda: self._act(Action.SCAN, {"value": edit.text()}))
        h.addWidget(edit)
        h.addWidget(button)
        return row

    def _act(self, action: Action, body: dict[str, Any]) -> None:
        try:
            perform(self.rig, action, body)
        except Exception as exc:  # the panel reports, it never dies
            log.exception("panel action failed")
            self.result.setText(f"✗ {action.value}: {exc}")
            return
        self.result.setText(f"✓ {action.value}")


def run_panel(rig: SimulatorRig) -> int:
    app = QApplication.instance() or QApplication([])
    panel = ControlPanel(rig)
    panel.show()
    return app.exec()

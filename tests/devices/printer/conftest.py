"""Fixtures for the receipt printer tests: the TCP simulator, a driver on it, a registration slip."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.devices.printer import EscposReceiptPrinter, NetworkLink
from kiosk.domain.document import Align, Barcode, Document, Feed, QrCode, Rule, Text
from simulators.printer import PrinterSimulator

# Short: the fault tests wait this long for a silent printer.
TIMEOUT_S = 0.5


@pytest.fixture
def sim() -> Iterator[PrinterSimulator]:
    simulator = PrinterSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def printer(sim: PrinterSimulator) -> Iterator[EscposReceiptPrinter]:
    driver = EscposReceiptPrinter(NetworkLink(sim.host, sim.port), timeout_s=TIMEOUT_S)
    driver.open()
    yield driver
    driver.close()


@pytest.fixture
def slip() -> Document:
    """A registration slip as a flow would lay it out (name already masked)."""
    return registration_slip()


def registration_slip() -> Document:
    return Document(
        title="挂号凭条",
        blocks=(
            Text("示范医院", Align.CENTER, width=2, height=2, bold=True),
            Text("挂号凭条 Registration", Align.CENTER),
            Rule(),
            Text("姓名: 张*三"),
            Text("科室: 心血管内科  诊室 3"),
            Text("医生: 李医生 (主任医师)"),
            Text("就诊时间: 2024-05-06 09:30-10:00"),
            Text("序号 No.", Align.CENTER),
            Text("17", Align.CENTER, width=3, height=3, bold=True),
            Text("挂号费: ¥50.00", Align.RIGHT),
            QrCode("REG-20240506-K01-000017", size=6),
            Barcode("R000017"),
            Feed(1),
            Text("请于就诊前15分钟到诊区签到", Align.CENTER),
            Text("机号 K01  2024-05-06 08:12:33"),
        ),
    )

"""EscposReceiptPrinter against the printer simulator over real TCP and a pty, with every named fault."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from kiosk_test_support import wait_for

from kiosk.config import PrinterSection, parse
from kiosk.devices.base import Capability, Detail, DeviceState, DeviceStatus
from kiosk.devices.printer import EscposReceiptPrinter, NetworkLink, SerialLink, UsbLink
from kiosk.domain.document import Document, Rule, Text
from kiosk.domain.errors import (
    ConfigError,
    CoverOpen,
    DeviceOffline,
    PaperOut,
    PrintFailed,
    ProtocolError,
)
from simulators.printer import PrinterSimulator
from simulators.receipt_render import QrRow, TextRow

TIMEOUT_S = 0.5


def lines_without_rule(document: Document) -> list[str]:
    return [line for line in document.plain_text().split("\n") if not set(line) <= {"-"} or not line]


def receipt_lines_without_rule(text: str) -> list[str]:
    return [line for line in text.split("\n") if line != "-" * 48]


def assert_state(printer: EscposReceiptPrinter, state: DeviceState, detail: Detail) -> None:
    status = printer.status()
    assert (status.state, status.detail) == (state, detail), status


# --- the happy path -----------------------------------------------------------------------------
def test_slip_with_chinese_double_size_qr_and_cut_arrives(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    """GIVEN a healthy printer WHEN a registration slip is printed THEN one cut receipt reads back as sent."""
    printer.print_document(slip)

    receipt = sim.wait_for_receipt(timeout=2)
    assert len(sim.receipts) == 1
    assert receipt_lines_without_rule(receipt.text) == lines_without_rule(slip)
    assert "姓名: 张*三" in receipt.lines
    title = receipt.rows[0]
    assert isinstance(title, TextRow) and title.text == "示范医院"
    assert (title.segments[0].width, title.segments[0].height) == (2, 2)
    assert [r.data for r in receipt.rows if isinstance(r, QrRow)] == [b"REG-20240506-K01-000017"]
    assert receipt.complete
    assert_state(printer, DeviceState.ONLINE, Detail.NONE)


def test_status_events_and_capabilities(sim: PrinterSimulator, slip: Document) -> None:
    driver = EscposReceiptPrinter(NetworkLink(sim.host, sim.port), timeout_s=TIMEOUT_S)
    seen: list[tuple[DeviceState, Detail]] = []

    def listener(name: str, status: DeviceStatus) -> None:
        seen.append((status.state, status.detail))

    driver.subscribe(listener)
    with driver:
        driver.print_document(slip)
        driver.print_document(slip)
    assert seen == [
        (DeviceState.ONLINE, Detail.NONE),
        (DeviceState.BUSY, Detail.NONE),
        (DeviceState.ONLINE, Detail.NONE),
        (DeviceState.BUSY, Detail.NONE),
        (DeviceState.ONLINE, Detail.NONE),
        (DeviceState.OFFLINE, Detail.NONE),  # closed
    ]
    assert driver.capabilities() == {
        Capability.CUT,
        Capability.PAPER_LOW_SENSOR,
        Capability.QR,
        Capability.BARCODE,
    }


def test_self_test_prints_a_test_page(sim: PrinterSimulator, printer: EscposReceiptPrinter) -> None:
    result = printer.self_test()
    assert result.ok, result.lines
    text = sim.wait_for_receipt(timeout=2).text
    assert text.startswith("打印机自检\nPrinter self test\n")
    assert "[QR SELFTEST-QR]" in text and "[BARCODE SELFTEST128]" in text


def test_slow_printer_print_returns_after_the_paper_is_out(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    """The driver waits for the status after the print, which a slow printer gives only when done."""
    sim.set_slow_ms_per_line(10)
    printer.print_document(slip)
    assert len(sim.receipts) == 1  # already there when print_document returned: no waiting needed


# --- paper ----------------------------------------------------------------------------------------
def test_paper_low_prints_and_reports_paper_low(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    sim.set_paper_low()
    printer.print_document(slip)
    assert len(sim.receipts) == 1
    assert_state(printer, DeviceState.ONLINE, Detail.PAPER_LOW)


def test_paper_out_before_printing_is_refused(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    sim.set_paper_out()
    received = sim.bytes_received
    with pytest.raises(PaperOut):
        printer.print_document(slip)
    assert sim.bytes_received - received == 12  # only the four status requests were sent
    assert sim.receipts == [] and sim.torn_receipts == []
    assert_state(printer, DeviceState.USER_ERROR, Detail.PAPER_OUT)


def test_paper_out_mid_receipt_then_reprint_after_refill(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    """GIVEN paper that runs out mid-slip WHEN printing THEN PaperOut, nothing counts as printed;
    after a refill the same slip reprints whole."""
    sim.paper_out_after_bytes(150)
    with pytest.raises(PaperOut, match="during printing"):
        printer.print_document(slip)
    assert_state(printer, DeviceState.USER_ERROR, Detail.PAPER_OUT)
    assert sim.receipts == []
    torn = sim.torn_receipts
    assert len(torn) == 1 and not torn[0].complete
    assert torn[0].text.startswith("示范医院")

    with pytest.raises(PaperOut, match="before printing"):
        printer.print_document(slip)

    sim.refill()
    printer.print_document(slip)
    assert len(sim.receipts) == 1
    assert receipt_lines_without_rule(sim.receipts[0].text) == lines_without_rule(slip)
    assert_state(printer, DeviceState.ONLINE, Detail.NONE)


# --- cover, hardware, link ----------------------------------------------------------------------
def test_cover_open_refuses_then_prints_when_closed(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    sim.set_cover_open()
    with pytest.raises(CoverOpen):
        printer.print_document(slip)
    assert_state(printer, DeviceState.USER_ERROR, Detail.COVER_OPEN)
    sim.set_cover_open(False)
    printer.print_document(slip)
    assert len(sim.receipts) == 1


def test_hardware_error_is_print_failed(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    sim.set_hardware_error()
    with pytest.raises(PrintFailed):
        printer.print_document(slip)
    assert printer.status().state is DeviceState.HARDWARE_ERROR


def test_offline_then_back_online(
    sim: PrinterSimulator, printer: EscposReceiptPrinter, slip: Document
) -> None:
    """GIVEN a printer that drops off the network WHEN printing THEN DeviceOffline and OFFLINE status
    (both for the dropped connection and the refused reconnect); once back, the next call reconnects."""
    sim.set_offline()
    with pytest.raises(DeviceOffline):
        printer.print_document(slip)
    assert printer.status().state is DeviceState.OFFLINE
    with pytest.raises(DeviceOffline, match="cannot connect"):
        printer.print_document(slip)
    assert sim.receipts == []

    sim.set_offline(False)
    printer.print_document(slip)
    assert len(sim.receipts) == 1
    assert_state(printer, DeviceState.ONLINE, Detail.NONE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_open_without_a_printer_does_not_raise(slip: Document) -> None:
    driver = EscposReceiptPrinter(NetworkLink("127.0.0.1", free_port()), timeout_s=TIMEOUT_S)
    driver.open()
    try:
        assert driver.status().state is DeviceState.OFFLINE
        with pytest.raises(DeviceOffline):
            driver.print_document(slip)
    finally:
        driver.close()


class _FakeDevice:
    """A TCP peer that answers each `DLE EOT n` with byte n-1 of `reply` (or does not answer at all)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(2)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(10):  # the driver reconnects after each failure
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    while data := conn.recv(64):
                        for n in range(1, 5):
                            if self.reply is not None and bytes((0x10, 0x04, n)) in data:
                                conn.sendall(self.reply[n - 1 : n])
                except OSError:
                    continue

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.server.close()
        self.thread.join(3)


@pytest.fixture
def fake_device(request: pytest.FixtureRequest) -> Iterator[_FakeDevice]:
    device = _FakeDevice(request.param)
    yield device
    device.close()


@pytest.mark.parametrize("fake_device", [b"\x00\xff\x00\xff"], indirect=True)
def test_garbled_status_reply_is_protocol_error(fake_device: _FakeDevice, slip: Document) -> None:
    with EscposReceiptPrinter(NetworkLink("127.0.0.1", fake_device.port), timeout_s=TIMEOUT_S) as driver:
        with pytest.raises(ProtocolError):
            driver.print_document(slip)
        assert_state(driver, DeviceState.OFFLINE, Detail.LINK_LOST)


@pytest.mark.parametrize("fake_device", [None], indirect=True)
def test_silent_printer_times_out_as_offline(fake_device: _FakeDevice, slip: Document) -> None:
    with EscposReceiptPrinter(NetworkLink("127.0.0.1", fake_device.port), timeout_s=0.2) as driver:
        assert driver.status().state is DeviceState.OFFLINE
        with pytest.raises(DeviceOffline, match="no status reply"):
            driver.refresh()


# --- serial over a pty --------------------------------------------------------------------------
@pytest.fixture
def serial_sim() -> Iterator[tuple[PrinterSimulator, str]]:
    simulator = PrinterSimulator()
    path = simulator.open_serial()
    yield simulator, path
    simulator.stop()


def test_serial_transport_over_a_pty(serial_sim: tuple[PrinterSimulator, str], slip: Document) -> None:
    sim, path = serial_sim
    section = PrinterSection(driver="escpos-serial", device=path, baudrate=115200, timeout_s=TIMEOUT_S)
    with EscposReceiptPrinter.from_config(section) as driver:
        assert isinstance(driver.link, SerialLink)
        driver.print_document(slip)
        assert receipt_lines_without_rule(sim.wait_for_receipt(2).text) == lines_without_rule(slip)

        sim.paper_out_after_bytes(300)
        with pytest.raises(PaperOut):
            driver.print_document(slip)
        sim.refill()
        driver.print_document(slip)
        assert len(sim.receipts) == 2

        sim.set_offline()  # a pty cannot refuse: the printer just stops answering
        with pytest.raises(DeviceOffline, match="no status reply"):
            driver.print_document(slip)
        sim.set_offline(False)
        driver.print_document(slip)
        assert len(sim.receipts) == 3
        assert_state(driver, DeviceState.ONLINE, Detail.NONE)


def test_serial_device_missing_is_offline(tmp_path: pytest.TempPathFactory) -> None:
    with EscposReceiptPrinter(SerialLink(f"{tmp_path}/ttyNONE", 19200), timeout_s=TIMEOUT_S) as driver:
        assert driver.status().state is DeviceState.OFFLINE
        with pytest.raises(DeviceOffline):
            driver.print_document(Document("t", (Text("x"), Rule())))


# --- configuration ------------------------------------------------------------------------------
def test_from_config_picks_the_link_by_driver_name() -> None:
    net = EscposReceiptPrinter.from_config(
        PrinterSection(driver="escpos-network", host="10.0.0.9", port=9101)
    )
    assert isinstance(net.link, NetworkLink) and (net.link.host, net.link.port) == ("10.0.0.9", 9101)
    ser = EscposReceiptPrinter.from_config(
        PrinterSection(driver="escpos-serial", device="/dev/ttyS3", baudrate=38400, timeout_s=2.0)
    )
    assert isinstance(ser.link, SerialLink) and (ser.link.device, ser.link.baudrate) == ("/dev/ttyS3", 38400)
    assert ser.timeout_s == 2.0
    usb = EscposReceiptPrinter.from_config(
        PrinterSection(driver="escpos-usb", vendor_id=0x0416, product_id=0x5011)
    )
    assert isinstance(usb.link, UsbLink) and (usb.link.vendor_id, usb.link.product_id) == (0x0416, 0x5011)
    with pytest.raises(ConfigError, match="'devices.printer.driver' = 'escpos-parallel' is not one of"):
        parse('[devices.printer]\ndriver = "escpos-parallel"\n')  # refused where the file is read


def test_usb_printer_absent_is_offline_not_a_crash() -> None:
    """No USB printer here (and maybe no pyusb): open() reports OFFLINE, printing raises DeviceOffline."""
    with EscposReceiptPrinter(UsbLink(0x0416, 0x5011), timeout_s=TIMEOUT_S) as driver:
        assert driver.status().state is DeviceState.OFFLINE
        with pytest.raises(DeviceOffline):
            driver.print_document(Document("t", (Text("x"),)))


def test_calls_after_close_raise_offline(printer: EscposReceiptPrinter, slip: Document) -> None:
    printer.close()
    with pytest.raises(DeviceOffline):
        printer.print_document(slip)


# --- the "print finished" confirmation (GS r 1), both ways --------------------------------------
def test_printer_without_gs_r_is_trusted_on_its_real_time_status(slip: Document) -> None:
    """GIVEN a clone that has never answered GS r WHEN it prints THEN the job stands on its clean DLE EOT
    status and the driver stops asking; paper out is still caught by the status after the job."""
    with PrinterSimulator(answers_gs_r=False) as sim:
        clone = EscposReceiptPrinter(NetworkLink(sim.host, sim.port), timeout_s=0.2)
        with clone:
            clone.print_document(Document("t", (Text("x"),)))
            assert clone.confirm_print is False
            clone.print_document(slip)
            sim.paper_out_after_bytes(150)
            with pytest.raises(PaperOut):
                clone.print_document(slip)
        assert len(sim.receipts) == 2


def test_printer_that_stops_answering_gs_r_fails_the_print(slip: Document) -> None:
    """GIVEN a printer that answered GS r before WHEN a job's answer does not come THEN PrintFailed: the
    print may or may not be on paper, so the flow must not silently call it done."""
    with PrinterSimulator() as sim:
        strict = EscposReceiptPrinter(NetworkLink(sim.host, sim.port), timeout_s=0.2)
        with strict:
            strict.print_document(slip)
            sim.answers_gs_r = False
            with pytest.raises(PrintFailed, match="GS r 1"):
                strict.print_document(Document("t", (Text("x"),)))
        link = NetworkLink(sim.host, sim.port)
        with EscposReceiptPrinter(link, timeout_s=TIMEOUT_S, confirm_print=False) as driver:
            driver.print_document(slip)
        assert len(sim.receipts) == 3  # the unconfirmed one did print


def test_printer_answering_only_dle_eot_1_and_4(slip: Document) -> None:
    """GIVEN a printer that answers DLE EOT 1 and 4 but not 2 and 3 WHEN it prints THEN the job is done,
    the driver stops asking for the causes, and paper low / out still come through DLE EOT 4."""
    with PrinterSimulator() as sim:
        sim.answers_cause_requests = False
        with EscposReceiptPrinter(NetworkLink(sim.host, sim.port), timeout_s=TIMEOUT_S) as driver:
            driver.print_document(slip)
            sim.set_paper_low(True)
            driver.print_document(slip)
            assert_state(driver, DeviceState.ONLINE, Detail.PAPER_LOW)
            sim.set_paper_out(True)
            with pytest.raises(PaperOut):
                driver.print_document(slip)
        assert len(sim.receipts) == 2


def test_status_recovers_by_itself_when_the_fault_clears(slip: Document) -> None:
    """GIVEN a printer out of paper, reported as such WHEN paper is loaded THEN the driver's idle poll
    shows it ready again, with no print needed to find out; the same after it was offline."""
    with PrinterSimulator() as sim:
        sim.set_paper_out(True)
        link = NetworkLink(sim.host, sim.port)
        with EscposReceiptPrinter(link, timeout_s=TIMEOUT_S, poll_interval_s=0.05) as driver:
            assert_state(driver, DeviceState.USER_ERROR, Detail.PAPER_OUT)
            sim.refill()
            assert wait_for(lambda: driver.status().state is DeviceState.ONLINE, timeout_s=10)
            sim.set_offline(True)
            assert wait_for(lambda: driver.status().state is DeviceState.OFFLINE, timeout_s=10)
            sim.set_offline(False)
            assert wait_for(lambda: driver.status().state is DeviceState.ONLINE, timeout_s=10)
            driver.print_document(slip)
        assert len(sim.receipts) == 1

"""ESC/POS receipt printer driver over python-escpos: network (raw 9100), serial and USB links.

`render_escpos(document)` turns a Document into bytes (pure, no I/O). `EscposReceiptPrinter` sends them
and checks the real-time status (`DLE EOT 1..4`) before and after every print: a print is done only
when the status after it is clean, so paper running out mid-receipt raises PaperOut and the flow
can reprint once the paper is refilled.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol, Self, TypeVar

import serial
from escpos.constants import QR_ECLEVEL_M
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy, Network, Serial, Usb
from escpos.printer import usb as escpos_usb

from kiosk.config import PrinterSection
from kiosk.devices import escpos_status
from kiosk.devices.base import (
    Capability,
    Detail,
    DeviceState,
    DeviceStatus,
    PublishesStatus,
    SelfTestResult,
    StatusPublisher,
)
from kiosk.domain.document import Align, Barcode, Block, Document, Feed, QrCode, Rule, Text
from kiosk.domain.errors import (
    ConfigError,
    CoverOpen,
    DeviceError,
    DeviceOffline,
    DeviceTimeout,
    PaperOut,
    PrintFailed,
    ProtocolError,
)

log = logging.getLogger(__name__)

# An 80 mm, 203 dpi printer: 576 dots, 48 columns of font A. The escpos profile supplies the paper
# width (centring and images need it) and says native QR, CODE128 (function B) and full cut exist.
PROFILE = "TM-T20II"
PAPER_DOTS = 576
COLUMNS = 48
FS_CHINESE_ON = b"\x1c&"
# A generous printing speed for the "wait for the status after the print" timeout (real: ~70 lines/s).
SECONDS_PER_LINE = 0.05
CAPABILITIES = frozenset({Capability.CUT, Capability.PAPER_LOW_SENSOR, Capability.QR, Capability.BARCODE})

T = TypeVar("T")


# --- Document -> ESC/POS bytes ------------------------------------------------------------------
def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


def _printable(text: str) -> str:
    """Control characters in data would be commands to the printer: show them as spaces."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def _code128(data: str) -> bytes:
    # Code set B; "{" starts a code-set switch in ESC/POS CODE128 data, so a literal one is doubled.
    payload = b"{B" + _printable(data).encode("ascii").replace(b"{", b"{{")
    if len(payload) > 255:
        raise ValueError(f"barcode data too long ({len(payload)} bytes)")
    return b"\x1dh\x50" + b"\x1dw\x02" + b"\x1dH\x02" + b"\x1dk\x49" + bytes((len(payload),)) + payload


def _rule_line(char: str) -> str:
    char = _printable(char)[:1] or "-"
    wide = unicodedata.east_asian_width(char) in ("W", "F")
    return char * (COLUMNS // 2 if wide else COLUMNS)


def _block(cmd: Dummy, block: Block) -> None:
    if isinstance(block, Text):
        cmd.set(
            align=block.align.value,
            bold=block.bold,
            custom_size=True,
            width=_clamp(block.width, 1, 8),
            height=_clamp(block.height, 1, 8),
        )
        cmd._raw(_printable(block.text).encode("gb18030") + b"\n")
    elif isinstance(block, QrCode):
        cmd.set(align=Align.CENTER.value)
        cmd.qr(block.data, ec=QR_ECLEVEL_M, size=_clamp(block.size, 1, 16), native=True)
    elif isinstance(block, Barcode):
        cmd.set(align=Align.CENTER.value)
        cmd._raw(_code128(block.data))
    elif isinstance(block, Feed):
        cmd.print_and_feed(_clamp(block.lines, 0, 255))
    elif isinstance(block, Rule):
        cmd.set(align=Align.LEFT.value, bold=False, custom_size=True, width=1, height=1)
        cmd._raw(_rule_line(block.char).encode("gb18030") + b"\n")


def render_escpos(document: Document) -> bytes:
    """The whole printout: reset, Chinese (GB18030) mode, the blocks, feed and full cut."""
    cmd = Dummy(profile=PROFILE)
    cmd.hw("INIT")
    cmd._raw(FS_CHINESE_ON)  # escpos's code pages are single-byte: send GB18030 raw in Chinese mode
    for block in document.blocks:
        _block(cmd, block)
    cmd.set(align=Align.LEFT.value, bold=False, custom_size=True, width=1, height=1)
    cmd.cut()
    return cmd.output


def estimated_lines(document: Document) -> int:
    """Printed lines, roughly, for the print-time allowance."""
    lines = 8  # feed before the cut
    for block in document.blocks:
        if isinstance(block, Text):
            lines += _clamp(block.height, 1, 8)
        elif isinstance(block, Feed):
            lines += max(block.lines, 0)
        elif isinstance(block, QrCode):
            lines += 12
        else:
            lines += 5
    return lines


# --- links: python-escpos transports with a timeout on every operation --------------------------
CAUSE_PROBE_S = 0.5
"""How long the first DLE EOT 2/3 waits for an answer before the printer is taken not to speak them."""


class Link(Protocol):
    """A byte pipe to the printer. Raises DeviceOffline (gone) or DeviceTimeout (stuck), nothing else."""

    description: str

    def open(self, timeout_s: float) -> None: ...

    def close(self) -> None: ...

    @property
    def is_open(self) -> bool: ...

    def write(self, data: bytes, timeout_s: float) -> None: ...

    def read_exact(self, n: int, timeout_s: float) -> bytes: ...

    def discard_input(self) -> None: ...


class NetworkLink:
    """Raw TCP (port 9100) through `escpos.printer.Network`."""

    def __init__(self, host: str, port: int = 9100) -> None:
        self.host, self.port = host, port
        self.description = f"tcp://{host}:{port}"
        self._printer: Network | None = None
        self._sock: socket.socket | None = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def open(self, timeout_s: float) -> None:
        printer = Network(self.host, self.port, timeout=timeout_s, profile=PROFILE)
        try:
            printer.open()
        except DeviceNotFoundError as exc:
            raise DeviceOffline(f"cannot connect to {self.description}: {exc}") from exc
        sock: socket.socket = printer.device
        # Status requests are tiny writes right after the data: without NODELAY, Nagle and delayed
        # ACKs hold each one back ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._printer, self._sock = printer, sock

    def close(self) -> None:
        printer, self._printer, self._sock = self._printer, None, None
        if printer is not None:
            printer.close()

    def write(self, data: bytes, timeout_s: float) -> None:
        sock, printer = self._require()
        sock.settimeout(timeout_s)
        try:
            printer._raw(data)
        except TimeoutError as exc:
            raise DeviceTimeout(f"{self.description}: printer stopped taking data") from exc
        except OSError as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc

    def read_exact(self, n: int, timeout_s: float) -> bytes:
        sock, _ = self._require()
        deadline = time.monotonic() + timeout_s
        got = b""
        try:
            while len(got) < n:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(n - len(got))
                if not chunk:
                    raise DeviceOffline(f"{self.description}: connection closed")
                got += chunk
        except TimeoutError as exc:
            raise DeviceOffline(f"{self.description}: no status reply in {timeout_s:.1f}s") from exc
        except OSError as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc
        return got

    def discard_input(self) -> None:
        sock, _ = self._require()
        sock.setblocking(False)
        try:
            for _ in range(64):  # bounded: stale replies are a few bytes
                if not sock.recv(4096):
                    raise DeviceOffline(f"{self.description}: connection closed")
        except BlockingIOError:
            pass
        except OSError as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc

    def _require(self) -> tuple[socket.socket, Network]:
        if self._sock is None or self._printer is None:
            raise DeviceOffline(f"{self.description}: not connected")
        return self._sock, self._printer


class _EscposDeviceLink:
    """What the serial and USB links share: an `escpos.printer` object opened on demand and closed once."""

    description: str

    def __init__(self) -> None:
        self._printer: Serial | Usb | None = None

    @property
    def is_open(self) -> bool:
        return self._printer is not None

    def _open(self, printer: Serial | Usb) -> None:
        try:
            printer.open()
        except DeviceNotFoundError as exc:
            raise DeviceOffline(f"cannot open {self.description}: {exc}") from exc
        self._printer = printer

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except (OSError, serial.SerialException):
                log.warning("closing %s failed", self.description)

    def _escpos_device(self):  # type: ignore[no-untyped-def]  # a serial.Serial or a usb.core.Device
        if self._printer is None or not self._printer.device:
            raise DeviceOffline(f"{self.description}: not open")
        return self._printer.device


class SerialLink(_EscposDeviceLink):
    """RS-232 / USB-serial through `escpos.printer.Serial` (pyserial underneath)."""

    def __init__(self, device: str, baudrate: int = 19200) -> None:
        super().__init__()
        self.device, self.baudrate = device, baudrate
        self.description = f"serial://{device}@{baudrate}"

    def open(self, timeout_s: float) -> None:
        # dsrdtr off: kiosk printers are wired TX/RX/GND more often than with handshake lines.
        self._open(Serial(self.device, self.baudrate, timeout=timeout_s, dsrdtr=False, profile=PROFILE))

    def write(self, data: bytes, timeout_s: float) -> None:
        port = self._port()
        port.write_timeout = timeout_s + len(data) * 10 / self.baudrate  # 8N1 = 10 bits a byte
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"{self.description}: printer stopped taking data") from exc
        except (OSError, serial.SerialException) as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc

    def read_exact(self, n: int, timeout_s: float) -> bytes:
        port = self._port()
        deadline = time.monotonic() + timeout_s
        got = b""
        try:
            while len(got) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeviceOffline(f"{self.description}: no status reply in {timeout_s:.1f}s")
                port.timeout = left
                got += port.read(n - len(got))
        except (OSError, serial.SerialException) as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc
        return got

    def discard_input(self) -> None:
        try:
            self._port().reset_input_buffer()
        except (OSError, serial.SerialException) as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc

    def _port(self) -> serial.Serial:
        port: serial.Serial = self._escpos_device()
        return port


class UsbLink(_EscposDeviceLink):
    """USB printer class device through `escpos.printer.Usb` (needs pyusb: the `usb` extra)."""

    def __init__(self, vendor_id: int, product_id: int, in_ep: int = 0x82, out_ep: int = 0x01) -> None:
        super().__init__()
        self.vendor_id, self.product_id = vendor_id, product_id
        self.in_ep, self.out_ep = in_ep, out_ep
        self.description = f"usb://{vendor_id:04x}:{product_id:04x}"

    def open(self, timeout_s: float) -> None:
        if not escpos_usb.is_usable():
            raise DeviceOffline(f"{self.description}: pyusb is not installed (pip install kiosk[usb])")
        self._open(
            Usb(
                self.vendor_id,
                self.product_id,
                timeout=int(timeout_s * 1000),
                in_ep=self.in_ep,
                out_ep=self.out_ep,
                profile=PROFILE,
            )
        )

    def write(self, data: bytes, timeout_s: float) -> None:
        device = self._escpos_device()
        try:
            device.write(self.out_ep, data, int(timeout_s * 1000))
        except OSError as exc:  # usb.core.USBError is an OSError; USBTimeoutError is one of them
            raise DeviceOffline(f"{self.description}: {exc}") from exc

    def read_exact(self, n: int, timeout_s: float) -> bytes:
        device = self._escpos_device()
        deadline = time.monotonic() + timeout_s
        got = b""
        try:
            while len(got) < n:
                left_ms = int((deadline - time.monotonic()) * 1000)
                if left_ms <= 0:
                    raise DeviceOffline(f"{self.description}: no status reply in {timeout_s:.1f}s")
                got += bytes(device.read(self.in_ep, 64, left_ms))
        except OSError as exc:
            raise DeviceOffline(f"{self.description}: {exc}") from exc
        return got[:n]

    def discard_input(self) -> None:
        """USB replies come in whole packets per request: nothing stale to drain."""



LINKS: dict[str, Callable[[PrinterSection], Link]] = {
    "escpos-network": lambda s: NetworkLink(s.host, s.port),
    "escpos-serial": lambda s: SerialLink(s.device, s.baudrate),
    "escpos-usb": lambda s: UsbLink(s.vendor_id, s.product_id),
}


# --- the driver ---------------------------------------------------------------------------------
def classify(st: escpos_status.RealTimeStatus) -> tuple[DeviceState, Detail, str]:
    """Map the printer's status bits to the kiosk's status model (worst first)."""
    if st.cover_open:
        return DeviceState.USER_ERROR, Detail.COVER_OPEN, "cover open"
    if st.paper_out:
        return DeviceState.USER_ERROR, Detail.PAPER_OUT, "paper out"
    if st.error:
        kind = (
            "autocutter"
            if st.autocutter_error
            else "unrecoverable"
            if st.unrecoverable_error
            else "auto-recoverable"
            if st.auto_recoverable_error
            else "mechanism"
        )
        return DeviceState.HARDWARE_ERROR, Detail.NONE, f"{kind} error"
    if not st.online:
        return DeviceState.OFFLINE, Detail.NONE, "printer reports offline"
    if st.paper_low:
        return DeviceState.ONLINE, Detail.PAPER_LOW, "paper low"
    return DeviceState.ONLINE, Detail.NONE, ""


def _error_for(st: escpos_status.RealTimeStatus, when: str) -> DeviceError:
    if st.cover_open:
        return CoverOpen(f"cover open {when}")
    if st.paper_out:
        return PaperOut(f"paper out {when}")
    if st.error:
        return PrintFailed(f"{classify(st)[2]} {when}")
    return DeviceOffline(f"printer offline {when}")


def _self_test_page() -> Document:
    return Document(
        title="self test",
        blocks=(
            Text("打印机自检", Align.CENTER, 2, 2, bold=True),
            Text("Printer self test", Align.CENTER),
            Rule(),
            Text("中文 GB18030: 门诊自助服务机"),
            Text("Double size 倍高倍宽", width=2, height=2),
            Text("Bold 粗体", bold=True),
            Text("Right 右对齐", Align.RIGHT),
            QrCode("SELFTEST-QR"),
            Barcode("SELFTEST128"),
            Feed(1),
        ),
    )


def _on_device_thread(method: Callable[..., T]) -> Callable[..., T]:
    """Mark low-level methods that must only run on the printer's own I/O thread."""

    @functools.wraps(method)
    def wrapper(self: EscposReceiptPrinter, *args: object, **kwargs: object) -> T:
        assert threading.current_thread().name.startswith(self._thread_prefix), "printer I/O off its thread"
        return method(self, *args, **kwargs)

    return wrapper


class EscposReceiptPrinter(PublishesStatus):
    """A ReceiptPrinter (kiosk.devices.ports) for any ESC/POS printer on a network, serial or USB link.

    All I/O runs on one worker thread; each public call waits for it with a bounded timeout.
    A failed link is closed and reopened on the next call (reconnect on demand).
    """

    def __init__(
        self,
        link: Link,
        *,
        timeout_s: float = 5.0,
        name: str = "printer",
        confirm_print: bool = True,
        poll_interval_s: float = 1.0,
    ) -> None:
        """`confirm_print`: end each job with GS r 1 and wait for its answer, which a printer gives only
        once everything before it has printed. DLE EOT alone is answered at once, while the buffer may
        still be printing. Turn it off only for a printer without GS r."""
        self.name = name
        self.link = link
        self.timeout_s = timeout_s
        self.confirm_print = confirm_print
        self._confirmation_seen = False
        """Whether this printer has ever answered GS r 1 (then a missing answer is a failure)."""
        self._causes_answered: bool | None = None
        """Whether this printer answers DLE EOT 2/3 (None: not asked yet)."""
        self.poll_interval_s = poll_interval_s
        """Seconds between status polls while idle: a refilled, closed or re-plugged printer shows as
        ready without anyone having to print first."""
        self._stop_polling = threading.Event()
        self._poller: threading.Thread | None = None
        self._thread_prefix = f"dev-{name}"
        self._publisher = StatusPublisher(name)
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, section: PrinterSection) -> EscposReceiptPrinter:
        factory = LINKS.get(section.driver)
        if factory is None:
            raise ConfigError(f"devices.printer.driver = {section.driver!r}: not one of {sorted(LINKS)}")
        return cls(factory(section), timeout_s=section.timeout_s, confirm_print=section.confirm_print,
                   poll_interval_s=section.poll_interval_s)

    # --- Device ---------------------------------------------------------------------------
    def open(self) -> None:
        """Connect and read the status. Never raises: an absent printer is reported OFFLINE."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._thread_prefix)
        try:
            self.refresh()
        except DeviceError as exc:
            log.warning("printer not ready at open: %s (code %s)", exc, exc.code)
        if self._poller is None:
            self._stop_polling.clear()
            self._poller = threading.Thread(target=self._poll, name=f"{self._thread_prefix}-poll", daemon=True)
            self._poller.start()

    def _poll(self) -> None:
        while not self._stop_polling.wait(self.poll_interval_s):
            try:
                self.refresh()
            except DeviceError:
                pass  # already published as the status; the next poll tries again

    def close(self) -> None:
        self._stop_polling.set()
        if self._poller is not None:
            self._poller.join(timeout=self.timeout_s * 3 + 2)
            self._poller = None
        executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.submit(self.link.close)
        executor.shutdown(wait=True)  # every queued operation is bounded by its own timeouts
        self._publisher.set(DeviceState.OFFLINE, Detail.NONE, "closed")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES

    def self_test(self) -> SelfTestResult:
        """Print a test page (Chinese, double size, QR, barcode, cut) and report each step."""
        lines = [f"link: {self.link.description}"]
        try:
            self.refresh()
            lines.append(f"status before: {self.status().state.value}/{self.status().detail.value}")
            self.print_document(_self_test_page())
            lines.append("test page printed and cut")
        except DeviceError as exc:
            lines.append(f"FAILED code {exc.code}: {exc}")
            return SelfTestResult(False, tuple(lines))
        lines.append(f"status after: {self.status().state.value}/{self.status().detail.value}")
        return SelfTestResult(True, tuple(lines))

    # --- ReceiptPrinter -------------------------------------------------------------------
    def refresh(self) -> DeviceStatus:
        """Ask the printer for its status now (reconnecting if needed) and publish it."""
        self._submit(self._query_status, self.timeout_s * 3 + 1)
        return self.status()

    def print_document(self, document: Document) -> None:
        """Print and cut; return only when the status after the print is clean.

        Raises PaperOut / CoverOpen / PrintFailed / DeviceOffline before printing if the printer is not
        ready, and the same after printing if it failed meanwhile (then nothing counts as printed).
        """
        data = render_escpos(document)
        wait_s = self.timeout_s + SECONDS_PER_LINE * estimated_lines(document)
        self._submit(lambda: self._print(data, wait_s), self.timeout_s * 4 + wait_s + 1)

    # --- device thread --------------------------------------------------------------------
    def _submit(self, op: Callable[[], T], budget_s: float) -> T:
        if self._executor is None:
            raise DeviceOffline(f"{self.name} is not open")
        future: Future[T] = self._executor.submit(op)
        try:
            return future.result(timeout=budget_s)
        except FutureTimeout as exc:
            self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, "operation timed out")
            raise DeviceTimeout(f"{self.name}: no result in {budget_s:.1f}s") from exc

    @_on_device_thread
    def _print(self, data: bytes, wait_s: float) -> None:
        before = self._query_status()
        if not before.clean:
            raise _error_for(before, "before printing")
        detail = Detail.PAPER_LOW if before.paper_low else Detail.NONE
        self._publisher.set(DeviceState.BUSY, detail, "printing")
        if not self.confirm_print:
            self._io(lambda: self.link.write(data, self.timeout_s))
            after = self._query_status(wait_s)
        else:
            self._io(lambda: self.link.write(data + escpos_status.TRANSMIT_PAPER_STATUS, self.timeout_s))
            confirmed = self._await_confirmation(wait_s)
            after = self._query_status()  # real-time: answered even when the job is stuck
        if not after.clean:
            raise _error_for(after, "during printing: reprint")
        if self.confirm_print and not confirmed:
            if not self._confirmation_seen:
                # This printer has never answered GS r: it does not speak it (many clones don't). The
                # real-time status after the job is clean, so the job stands; stop asking from now on.
                log.warning("printer ignores GS r 1; relying on DLE EOT status only", extra={"device": self.name})
                self.confirm_print = False
                return
            raise PrintFailed(f"no confirmation in {wait_s:.1f}s that the print finished (GS r 1)")

    @_on_device_thread
    def _await_confirmation(self, wait_s: float) -> bool:
        """True once the GS r 1 answer arrives; False if none came (a fault stopped the job, or no GS r)."""
        try:
            marker = self.link.read_exact(1, wait_s)
        except DeviceOffline:
            return False  # the real-time status that follows says whether the printer is still there
        try:
            escpos_status.decode_transmitted_paper(marker[0])
        except ProtocolError:
            self._drop(Detail.LINK_LOST, f"garbled print confirmation {marker.hex()}")
            raise
        self._confirmation_seen = True
        return True

    @_on_device_thread
    def _query_status(self, read_timeout_s: float | None = None) -> escpos_status.RealTimeStatus:
        reply = self._io(lambda: self._ask_status(read_timeout_s or self.timeout_s))
        try:
            st = escpos_status.decode(reply)
        except ProtocolError:
            self._drop(Detail.LINK_LOST, f"garbled status reply {reply.hex()}")
            raise
        self._publisher.set(*classify(st))
        return st

    def _ask_status(self, first_timeout_s: float) -> bytes:
        """DLE EOT 1..4, one at a time. Every ESC/POS printer answers 1 (printer) and 4 (paper); a
        printer that has never answered 2 and 3 (the offline and error causes) is asked once, briefly,
        and then read as having no cause bits set."""
        S = escpos_status.StatusRequest
        self.link.discard_input()
        replies: dict[escpos_status.StatusRequest, bytes] = {}
        timeout_s = first_timeout_s
        for request in (S.PRINTER, S.PAPER, S.OFFLINE_CAUSE, S.ERROR_CAUSE):
            if request in (S.OFFLINE_CAUSE, S.ERROR_CAUSE) and self._causes_answered is False:
                replies[request] = bytes((escpos_status.FIXED_PATTERN,))
                continue
            self.link.write(request.command(), self.timeout_s)
            probing = request in (S.OFFLINE_CAUSE, S.ERROR_CAUSE) and self._causes_answered is None
            try:
                replies[request] = self.link.read_exact(1, CAUSE_PROBE_S if probing else timeout_s)
            except DeviceOffline:
                if not probing:
                    raise
                log.warning("printer does not answer DLE EOT 2/3; using DLE EOT 1 and 4 only",
                            extra={"device": self.name})
                self._causes_answered = False
                replies[request] = bytes((escpos_status.FIXED_PATTERN,))
                continue
            if probing:
                self._causes_answered = True
            timeout_s = self.timeout_s
        return b"".join(replies[r] for r in escpos_status.ALL_REQUESTS)

    @_on_device_thread
    def _io(self, op: Callable[[], T]) -> T:
        """Run a link operation, connecting first; on failure drop the link so the next call reconnects."""
        try:
            if not self.link.is_open:
                self.link.open(self.timeout_s)
            return op()
        except (DeviceOffline, DeviceTimeout) as exc:
            self._drop(Detail.LINK_LOST, str(exc))
            raise

    def _drop(self, detail: Detail, message: str) -> None:
        self.link.close()
        self._publisher.set(DeviceState.OFFLINE, detail, message)

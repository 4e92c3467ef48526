"""QR/barcode scanners: `SerialScanner` (serial line mode, code + CR/LF) and `HidScanner` (USB keyboard
wedge read from evdev). Codes scanned while nobody waits are stale and dropped: a code only counts once
`read_code` is waiting for it.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kiosk.config import ScannerSection
from kiosk.devices.base import (
    Cancel,
    Capability,
    Detail,
    DeviceState,
    PublishesStatus,
    SelfTestResult,
    StatusPublisher,
)
from kiosk.devices.serial_link import Reconnector, SerialLink
from kiosk.domain.errors import DeviceOffline, DeviceTimeout, UserCancelled

log = logging.getLogger(__name__)

MAX_CODE_LEN = 4096
"""Longer input without a terminator is noise (or a terminator-less scanner): it is dropped."""
_DRAIN_LIMIT = 1000  # bound on reads when dropping stale input


def decode_code(raw: bytes) -> str:
    """Scanner output as text: UTF-8 when valid, else GB18030 (Chinese scanners' default for QR text)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def take_line(buf: bytearray) -> bytes | None:
    """Cut the first non-empty CR/LF-terminated line off `buf` (so CR LF counts as one terminator)."""
    while True:
        ends = [i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0]
        if not ends:
            if len(buf) > MAX_CODE_LEN:
                log.warning("dropping %d bytes without a line end", len(buf))
                buf.clear()
            return None
        end = min(ends)
        line = bytes(buf[:end]).strip()
        del buf[: end + 1]
        if line:
            return line


class _ScannerBase(PublishesStatus):
    """Status, reconnect loop and the read_code wait shared by both scanner kinds."""

    def __init__(self, name: str, reconnect_interval_s: float) -> None:
        self.name = name
        self._publisher = StatusPublisher(name)
        self._lock = threading.RLock()
        self._reconnector = Reconnector(name, self._tick, reconnect_interval_s)

    # subclass hooks
    def _connected(self) -> bool:
        raise NotImplementedError

    def _connect(self) -> None:
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    def _poll(self, timeout_s: float) -> str | None:
        """Wait up to `timeout_s` for input; a finished code or None. DeviceOffline if the device died."""
        raise NotImplementedError

    def _reset_input(self) -> None:
        raise NotImplementedError

    def open(self) -> None:
        """Connect if the scanner is there (never raises); re-connect in the background either way."""
        with self._lock:
            self._connect()
        self._reconnector.start()

    def close(self) -> None:
        self._reconnector.stop()
        with self._lock:
            self._disconnect()
        self._publisher.set(DeviceState.OFFLINE, Detail.NONE, "closed")

    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.QR, Capability.BARCODE})

    def self_test(self) -> SelfTestResult:
        """A scanner cannot be asked anything: the test is that it is connected."""
        with self._lock:
            if not self._connected():
                self._connect()
            ok = self._connected()
        status = self.status()
        return SelfTestResult(ok, (f"{self.name}: {status.state.value} {status.message}".rstrip(),))

    def read_code(self, timeout_s: float, cancel: Cancel | None = None) -> str:
        """Wait up to `timeout_s` for one scanned code; DeviceTimeout if none comes."""
        cancel = cancel or Cancel()
        deadline = time.monotonic() + timeout_s
        with self._lock:  # held throughout: the background tick must not eat the code
            if not self._connected():
                self._connect()
            if not self._connected():
                raise DeviceOffline(self.status().message or f"{self.name} is not connected")
            try:
                self._reset_input()
                self._publisher.set(DeviceState.BUSY)
                while True:
                    if cancel.cancelled:
                        raise UserCancelled("scan cancelled")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise DeviceTimeout(f"no code scanned within {timeout_s:g} s")
                    code = self._poll(min(0.05, remaining))
                    if code is not None:
                        log.info("code scanned", extra={"device": self.name, "length": len(code)})
                        return code
            except DeviceOffline as exc:
                self._lost(exc.detail)
                raise
            finally:
                if self.status().state is DeviceState.BUSY:
                    self._publisher.set(DeviceState.ONLINE)

    def _tick(self) -> None:
        """Background: re-connect when closed; when idle, drop stale input (and notice a dead device)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if not self._connected():
                self._connect()
            else:
                self._reset_input()
        except DeviceOffline as exc:
            self._lost(exc.detail)
        finally:
            self._lock.release()

    def _lost(self, why: str) -> None:
        self._disconnect()
        self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, why)


class SerialScanner(_ScannerBase):
    """CodeScanner for a scanner in serial (or USB-CDC) line mode: each code ends with CR or CR LF."""

    def __init__(
        self, device: str, baudrate: int = 9600, *, name: str = "scanner", reconnect_interval_s: float = 1.0
    ) -> None:
        super().__init__(name, reconnect_interval_s)
        self._link = SerialLink(device, baudrate)
        self._buf = bytearray()

    @classmethod
    def from_config(cls, section: ScannerSection) -> SerialScanner:
        return cls(section.device, section.baudrate)

    def _connected(self) -> bool:
        return self._link.is_open

    def _connect(self) -> None:
        if self._link.is_open:
            return
        if not self._link.present():
            self._publisher.set(DeviceState.NO_DEVICE, Detail.NONE, f"no device at {self._link.device}")
            return
        try:
            self._link.open()
        except DeviceOffline as exc:
            self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, exc.detail)
            return
        self._publisher.set(DeviceState.ONLINE)

    def _disconnect(self) -> None:
        self._link.close()
        self._buf.clear()

    def _reset_input(self) -> None:
        self._buf.clear()
        self._link.discard_input()
        # A pty (and some USB-CDC drivers) ignore the flush: read away what is already there, and notice
        # an unplugged port while doing so.
        for _ in range(_DRAIN_LIMIT):
            if not self._link.read(4096):
                break
        if not self._link.present():  # udev removed the node: the port is a zombie
            raise DeviceOffline(f"{self._link.device} disappeared")

    def _poll(self, timeout_s: float) -> str | None:
        # The link's chunk timeout (50 ms) bounds the wait, so this may overrun `timeout_s` by one chunk.
        self._buf += self._link.read(256)
        line = take_line(self._buf)
        return None if line is None else decode_code(line)


# --- HID keyboard wedge ----------------------------------------------------------------------------
EV_KEY = 1
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58


def _row(first_code: int, plain: str, shifted: str) -> dict[int, tuple[str, str]]:
    return {first_code + i: (p, s) for i, (p, s) in enumerate(zip(plain, shifted, strict=True))}


# Linux input-event codes (input-event-codes.h) for a US layout, the layout wedge scanners emulate.
KEYMAP: dict[int, tuple[str, str]] = {
    **_row(2, "1234567890-=", "!@#$%^&*()_+"),
    **_row(16, "qwertyuiop[]", "QWERTYUIOP{}"),
    **_row(30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    **_row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
    57: (" ", " "),
    55: ("*", "*"),
    **_row(71, "789-456+1230.", "789-456+1230."),
    98: ("/", "/"),
}


class KeyTranslator:
    """Key events -> text: tracks Shift and Caps Lock, and returns the code when Enter is pressed."""

    def __init__(self) -> None:
        self._chars: list[str] = []
        self._shift: set[int] = set()
        self._caps = False

    def reset(self) -> None:
        self._chars.clear()

    def feed(self, code: int, value: int) -> str | None:
        """One EV_KEY event (value 1 press, 0 release, 2 repeat); the finished code on Enter."""
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value:
                self._shift.add(code)
            else:
                self._shift.discard(code)
            return None
        if value != 1:  # releases and auto-repeat carry no new character
            return None
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self._chars = "".join(self._chars), []
            return text or None
        if code in KEYMAP:
            plain, shifted = KEYMAP[code]
            upper = bool(self._shift) != (self._caps and plain.isalpha())
            self._chars.append(shifted if upper else plain)
            if len(self._chars) > MAX_CODE_LEN:
                self._chars.clear()
        return None


class KeyEventSource(Protocol):
    """Where key events come from: evdev in production, a fake in tests."""

    def read(self, timeout_s: float) -> list[tuple[int, int, int]]:
        """(type, code, value) events that arrived within `timeout_s`. OSError when the device is gone."""

    def close(self) -> None: ...


class _EvdevSource:
    """An evdev input device, grabbed so that scanned "keystrokes" never reach the kiosk UI."""

    def __init__(self, path: str) -> None:
        try:
            import evdev
        except ImportError as exc:
            raise ImportError("python-evdev is not installed: pip install 'kiosk[hid]'") from exc
        self._device = evdev.InputDevice(path)
        self._device.grab()

    def read(self, timeout_s: float) -> list[tuple[int, int, int]]:
        ready, _, _ = select.select([self._device.fd], [], [], timeout_s)
        if not ready:
            return []
        return [(event.type, event.code, event.value) for event in self._device.read()]

    def close(self) -> None:
        try:
            self._device.ungrab()
        except OSError:  # already gone with the device
            pass
        self._device.close()


class HidScanner(_ScannerBase):
    """CodeScanner for a USB scanner in keyboard-wedge mode, read from `/dev/input/...` with evdev."""

    def __init__(
        self,
        device: str,
        *,
        name: str = "scanner",
        reconnect_interval_s: float = 1.0,
        source_factory: Callable[[str], KeyEventSource] = _EvdevSource,
    ) -> None:
        super().__init__(name, reconnect_interval_s)
        self.device = device
        self._factory = source_factory
        self._source: KeyEventSource | None = None
        self._keys = KeyTranslator()
        self._pending: list[str] = []

    @classmethod
    def from_config(cls, section: ScannerSection) -> HidScanner:
        return cls(section.device)

    def capabilities(self) -> frozenset[Capability]:
        return super().capabilities() | {Capability.HID}

    def _connected(self) -> bool:
        return self._source is not None

    def _connect(self) -> None:
        if self._source is not None:
            return
        try:
            self._source = self._factory(self.device)
        except ImportError as exc:
            self._publisher.set(DeviceState.HARDWARE_ERROR, Detail.NONE, str(exc))
            return
        except FileNotFoundError:
            self._publisher.set(DeviceState.NO_DEVICE, Detail.NONE, f"no input device at {self.device}")
            return
        except OSError as exc:
            self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, f"cannot open {self.device}: {exc}")
            return
        self._publisher.set(DeviceState.ONLINE)

    def _disconnect(self) -> None:
        source, self._source = self._source, None
        self._keys.reset()
        self._pending.clear()
        if source is not None:
            try:
                source.close()
            except OSError:
                log.debug("closing a vanished input device failed", exc_info=True)

    def _events(self, timeout_s: float) -> list[tuple[int, int, int]]:
        if self._source is None:
            raise DeviceOffline(f"{self.device} is not open")
        try:
            return self._source.read(timeout_s)
        except OSError as exc:
            raise DeviceOffline(f"input device {self.device} lost: {exc}") from None

    def _reset_input(self) -> None:
        for _ in range(_DRAIN_LIMIT):
            if not self._events(0):
                break
        self._keys.reset()
        self._pending.clear()

    def _poll(self, timeout_s: float) -> str | None:
        if not self._pending:
            for kind, code, value in self._events(timeout_s):
                if kind == EV_KEY and (text := self._keys.feed(code, value)) is not None:
                    self._pending.append(text)
        return self._pending.pop(0) if self._pending else None

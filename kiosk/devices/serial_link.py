"""A serial port that reports unplugging as DeviceOffline, plus the background re-connect loop.

Shared by the serial drivers (ID-card reader, scanner): pyserial raises SerialException or OSError
(EIO) when a USB adapter is pulled; here that becomes one `DeviceOffline` and a closed link that the
driver's `Reconnector` re-opens once the device path reappears.
"""

from __future__ import annotations

import logging
import os
import termios
import threading
from collections.abc import Callable

import serial

from kiosk.domain.errors import DeviceOffline

log = logging.getLogger(__name__)

# What a vanished port raises: pyserial wraps most OS errors, but not tcflush's termios.error (EIO).
_LINK_ERRORS = (serial.SerialException, OSError, termios.error)


class SerialLink:
    """One pyserial port (8N1) at `device`; closed until `open()` succeeds, closed again when it dies."""

    def __init__(self, device: str, baudrate: int, chunk_timeout_s: float = 0.05) -> None:
        self.device = device
        self.baudrate = baudrate
        self._chunk_timeout_s = chunk_timeout_s
        self._port: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def present(self) -> bool:
        """True if the device node (or the udev symlink) exists."""
        return os.path.exists(self.device)

    def open(self) -> None:
        """Open the port; DeviceOffline if that fails (absent, busy, no permission)."""
        if self._port is not None:
            return
        try:
            self._port = serial.Serial(
                self.device, self.baudrate, bytesize=8, parity="N", stopbits=1, timeout=self._chunk_timeout_s
            )
        except _LINK_ERRORS as exc:
            raise DeviceOffline(f"cannot open {self.device}: {exc}") from None

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except _LINK_ERRORS:  # closing a dead port: nothing left to release
                log.debug("close of a dead port failed", exc_info=True)

    def _lost(self, exc: Exception) -> DeviceOffline:
        self.close()
        return DeviceOffline(f"serial link to {self.device} lost: {exc}")

    def _require(self) -> serial.Serial:
        if self._port is None:
            raise DeviceOffline(f"{self.device} is not open")
        return self._port

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
        except _LINK_ERRORS as exc:
            raise self._lost(exc) from None

    def read(self, max_bytes: int) -> bytes:
        """Up to `max_bytes`, waiting at most one chunk timeout; b"" when nothing came."""
        port = self._require()
        try:
            return port.read(max_bytes)
        except _LINK_ERRORS as exc:
            raise self._lost(exc) from None

    def discard_input(self) -> None:
        """Drop stale bytes (late replies to a timed-out command) before a new command."""
        port = self._require()
        try:
            port.reset_input_buffer()
        except _LINK_ERRORS as exc:
            raise self._lost(exc) from None


class Reconnector:
    """A daemon thread that calls `tick()` every `interval_s` between `start()` and `stop()`.

    Both are idempotent, so a device's open/close (which a technician may repeat) just call them.
    """

    def __init__(self, name: str, tick: Callable[[], None], interval_s: float) -> None:
        self._name = name
        self._tick = tick
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name=f"dev-{self._name}-reconnect", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        if thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval_s):
            try:
                self._tick()
            except Exception:  # the loop must survive any one failed attempt
                log.exception("reconnect tick failed")

"""A QR/barcode scanner in serial line mode on a pty: `scan(value)` sends the code and its terminator."""

from __future__ import annotations

from typing import Self

from simulators.serialsim import PtyPort


class ScannerSimulator:
    """Plays a serial scanner behind a stable symlink (`link_path`; default a temp dir `kiosk-scanner`)."""

    def __init__(
        self, link_path: str | None = None, terminator: bytes = b"\r", encoding: str = "utf-8"
    ) -> None:
        self.port = PtyPort(link_path, name="kiosk-scanner")
        self.terminator = terminator
        """b"\\r" (the usual factory setting) or b"\\r\\n"."""
        self.encoding = encoding
        """utf-8, or gb18030 as many Chinese scanners send QR text."""

    @property
    def path(self) -> str:
        return self.port.path

    def start(self) -> str:
        """Plug in; returns the path the driver opens."""
        return self.port.open()

    def stop(self) -> None:
        self.port.close()

    def scan(self, value: str) -> None:
        """The patient holds a code under the scanner. Dropped while unplugged, as on a real cable."""
        self.port.write(value.encode(self.encoding) + self.terminator)

    def unplug(self) -> None:
        self.port.unplug()

    def replug(self) -> str:
        return self.port.replug()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

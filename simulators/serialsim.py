"""A serial device's socket for simulators: a raw pty pair behind a stable symlink, with unplug/replug.

The driver opens `path` (the symlink, like udev's `/dev/kiosk-idcard`); the simulator reads and writes
the master side. `unplug()` closes the pair and removes the link, so the driver's next read fails with
EIO and a re-open finds nothing; `replug()` makes a new pair and points the link at it.
"""

from __future__ import annotations

import os
import pty
import select
import tempfile
import threading
import tty
from pathlib import Path
from typing import Self


class PtyPort:
    """One pty pair at a time behind `link_path`. Thread-safe: I/O and re-plugging share one lock."""

    def __init__(self, link_path: str | os.PathLike[str] | None = None, name: str = "kiosk-serial") -> None:
        self._tmpdir: str | None = None
        if link_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix=f"{name}-")
            link_path = Path(self._tmpdir) / name
        self.path = str(link_path)
        self._master: int | None = None
        # The simulator keeps the slave open too: without an opener, reads on the master fail with EIO
        # whenever the driver closes its port.
        self._slave: int | None = None
        self._lock = threading.RLock()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def open(self) -> str:
        """Create the pair (raw mode) and point the link at it; returns the link path."""
        with self._lock:
            if self._master is None:
                master, slave = pty.openpty()
                tty.setraw(slave)
                tty.setraw(master)
                self._master, self._slave = master, slave
                tmp = f"{self.path}.{os.getpid()}.tmp"
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(os.ttyname(slave), tmp)
                os.replace(tmp, self.path)  # atomic re-point: a driver never sees a half-made link
            return self.path

    def unplug(self) -> None:
        """Close the pair and remove the link, as when the USB cable is pulled."""
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if os.path.lexists(self.path):
                os.unlink(self.path)

    def replug(self) -> str:
        """A new pair at a new /dev/pts path behind the same link."""
        with self._lock:
            self.unplug()
            return self.open()

    def close(self) -> None:
        self.unplug()
        if self._tmpdir is not None and os.path.isdir(self._tmpdir):
            os.rmdir(self._tmpdir)
            self._tmpdir = None

    def read(self, max_bytes: int = 4096, timeout_s: float = 0.05) -> bytes:
        """Bytes the driver sent, waiting up to `timeout_s`; b"" when none (or unplugged)."""
        master = self._master
        if master is None:
            return b""
        # Wait outside the lock so a writer (e.g. `scan()` from a test thread) is never starved.
        try:
            ready, _, _ = select.select([master], [], [], timeout_s)
        except (OSError, ValueError):  # unplugged while waiting
            return b""
        with self._lock:
            if not ready or self._master != master:
                return b""
            try:
                return os.read(master, max_bytes)
            except OSError:  # the driver side vanished mid-read: nothing to return
                return b""

    def write(self, data: bytes) -> None:
        """Send bytes to the driver; silently dropped while unplugged (the wire is cut)."""
        with self._lock:
            if self._master is None:
                return
            view = memoryview(data)
            while view:
                written = os.write(self._master, view)
                view = view[written:]

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Find or start the pcscd (with the vpcd virtual readers) that the insurance-card simulator plugs into.

Only one pcscd may run. `ensure_pcscd()` reuses a running one, or starts `pcscd -f` and records its pid
in `PID_FILE`. Only a pcscd recorded there ("project-owned") is ever restarted, and only by that pid;
`stop()` ends it only through the handle that started it (or the CLI `stop`). CLI for CI scripts: `python -m simulators.pcscd start|stop|status`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from smartcard import scard

PID_FILE = Path(os.environ.get("KIOSK_PCSCD_PIDFILE", "/tmp/kiosk-pcscd.pid"))
LOCK_FILE = PID_FILE.with_suffix(".lock")
PCSCD = "pcscd"
VPCD_READER = "Virtual PCD"
_POLL_S = 0.05

_children: dict[int, subprocess.Popen[bytes]] = {}  # pcscds this process started, kept to reap them


def readers() -> list[str] | None:
    """The PC/SC reader names, or None if no pcscd answers."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, names = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        return list(names) if hresult == scard.SCARD_S_SUCCESS else None
    finally:
        scard.SCardReleaseContext(context)


def vpcd_ready() -> bool:
    names = readers()
    return bool(names) and any(VPCD_READER in name for name in names or ())


def wait_slot_empty(reader: str, timeout_s: float = 3.0) -> bool:
    """Wait until pcscd reports no card in `reader` (it notices a pulled card on its next poll)."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return False
    try:
        known = scard.SCARD_STATE_UNAWARE
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            hresult, states = scard.SCardGetStatusChange(context, 100, [(reader, known)])
            if hresult == scard.SCARD_S_SUCCESS:
                known = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if known & scard.SCARD_STATE_EMPTY:
                    return True
            elif hresult != scard.SCARD_E_TIMEOUT:
                return False
        return False
    finally:
        scard.SCardReleaseContext(context)


def _alive_pcscd(pid: int) -> bool:
    """True if `pid` is a running pcscd (a zombie waiting for its parent to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, _, rest = stat.partition(" (")[2].rpartition(") ")
    return name == PCSCD and rest[:1] not in ("Z", "X")


def _owned_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive_pcscd(pid) else None


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialise start/stop between test sessions and CI scripts running at the same time."""
    with open(LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def slot_lock(port: int, timeout_s: float = 300.0) -> Iterator[None]:
    """Hold vpcd slot `port` for this process: test sessions running at once take turns on a slot."""
    with open(PID_FILE.with_name(f"kiosk-vpcd-{port}.lock"), "a") as lock:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"vpcd slot {port} stayed busy for {timeout_s} s") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class PcscdHandle:
    """The pcscd in use. `pid` is set when it is project-owned; `started` when this call started it."""

    pid: int | None
    started: bool

    @property
    def owned(self) -> bool:
        return self.pid is not None

    def stop(self) -> None:
        """If this handle started the project's pcscd, stop it (or whatever restart replaced it with).

        A pcscd that was found running is left alone.
        """
        if self.started:
            with _locked():
                pid = _owned_pid() or self.pid
                if pid is not None:
                    _stop_pid(pid)

    def restart(self, timeout_s: float = 10.0) -> PcscdHandle:
        """Stop and start a project-owned pcscd (a reader/pcscd outage for tests)."""
        if self.pid is None:
            raise RuntimeError("the running pcscd was not started by the project; refusing to restart it")
        with _locked():
            _stop_pid(self.pid)
            pid = _start(timeout_s)
        return PcscdHandle(pid, started=self.started)


def _stop_pid(pid: int, timeout_s: float = 5.0) -> None:
    if _alive_pcscd(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive_pcscd(pid) and time.monotonic() < deadline:
            child = _children.get(pid)
            if child is not None and child.poll() is not None:
                break
            time.sleep(_POLL_S)
        if _alive_pcscd(pid):
            os.kill(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=timeout_s)
    if _owned_pid() in (pid, None):
        PID_FILE.unlink(missing_ok=True)


def _start(timeout_s: float) -> int:
    proc = subprocess.Popen(
        [PCSCD, "-f"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _children[proc.pid] = proc
    PID_FILE.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _children.pop(proc.pid, None)
            PID_FILE.unlink(missing_ok=True)
            raise RuntimeError(f"pcscd exited at start with status {proc.returncode}")
        if vpcd_ready():
            return proc.pid
        time.sleep(_POLL_S)
    _stop_pid(proc.pid)
    raise RuntimeError(f"pcscd did not list the vpcd readers within {timeout_s} s")


def ensure_pcscd(timeout_s: float = 10.0) -> PcscdHandle:
    """A pcscd with the vpcd readers: the running one, or a new `pcscd -f` (pid recorded)."""
    with _locked():
        owned = _owned_pid()
        if vpcd_ready():
            return PcscdHandle(owned, started=False)
        if owned is not None:  # ours but not answering: replace it
            _stop_pid(owned)
        return PcscdHandle(_start(timeout_s), started=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.pcscd", description=__doc__)
    parser.add_argument("action", choices=("start", "stop", "status"))
    args = parser.parse_args(argv)
    if args.action == "start":
        handle = ensure_pcscd()
        print(f"pcscd ready (pid {handle.pid or 'not project-owned'})")
        # The child outlives this short CLI process on purpose; it is stopped by `stop` via PID_FILE.
        _children.clear()
    elif args.action == "stop":
        pid = _owned_pid()
        PcscdHandle(pid, started=True).stop()
        print("stopped" if pid else "no project-owned pcscd")
    else:
        print(f"readers: {readers()}; project-owned pid: {_owned_pid()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

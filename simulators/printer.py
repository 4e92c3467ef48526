"""Receipt printer simulator: an ESC/POS device on raw TCP (port 9100) and/or a pty, with named faults.

It plays the printer's side with its own parser (`simulators.escpos_parser`) and print head
(`simulators.receipt_render`); each cut is one finished `Receipt` with `.text` and `.png(path)`.
`GS r n` is answered in stream order, after everything sent before it printed, and not at all once the
paper is out (it is stuck in the buffer, as on a real printer). `DLE EOT n` is real-time: answered even
then. (Unlike a real printer, which answers DLE EOT at once, the simulator reaches it in order too.)

Run `python -m simulators.printer --port 9100 --out /tmp/receipts` to keep one on the desk.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pty
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from simulators import escpos_parser as p
from simulators.receipt_render import PrintHead, Receipt

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often blocked threads look at the stop flag
JOIN_S = 2.0


@dataclass
class Faults:
    """What is wrong with the printer right now (all False = healthy)."""

    paper_low: bool = False
    paper_out: bool = False
    cover_open: bool = False
    offline: bool = False
    hardware_error: bool = False
    slow_ms_per_line: int = 0
    paper_left_bytes: int | None = None  # the roll ends after this many more bytes

    @property
    def stopped(self) -> bool:
        """The mechanism will not print (a real printer goes offline for these)."""
        return self.paper_out or self.cover_open or self.hardware_error


def status_byte(faults: Faults, n: int) -> int:
    """The printer's answer to DLE EOT n (fixed bits 0x12, see the Epson ESC/POS reference)."""
    byte = 0x12
    if n == 1 and faults.stopped:
        byte |= 0x08
    elif n == 2:
        byte |= (0x04 if faults.cover_open else 0) | (0x20 if faults.paper_out else 0)
        byte |= 0x40 if faults.hardware_error else 0
    elif n == 3 and faults.hardware_error:
        byte |= 0x20
    elif n == 4:
        byte |= 0x60 if faults.paper_out else 0x0C if faults.paper_low else 0
    return byte


def transmit_status_byte(faults: Faults, n: int) -> int:
    """The answer to GS r n (bit 4 fixed 0): 1 = paper sensors (bits 0-1 near end, 2-3 end), 2 = drawer."""
    if n in (1, 49):
        return (0x03 if faults.paper_low else 0) | (0x0C if faults.paper_out else 0)
    return 0x00


Reply = Callable[[bytes], None]


class PrinterSimulator:
    """A fake 80 mm ESC/POS printer. `start()` serves TCP; `open_serial()` adds a pty; `stop()` ends both."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        chinese_by_default: bool = False,
        answers_gs_r: bool = True,
    ) -> None:
        """`answers_gs_r=False` plays a clone printer that ignores GS r n (transmit status)."""
        self.host = host
        self.port = port
        self.answers_gs_r = answers_gs_r
        self.answers_cause_requests = True
        """False plays a printer that answers only DLE EOT 1 and 4 (no offline/error cause bytes)."""
        self.faults = Faults()
        self._head = PrintHead(chinese_by_default=chinese_by_default)
        self._receipts: list[Receipt] = []
        self._cut_at: list[float] = []
        self._listeners: list[Callable[[Receipt], None]] = []
        self._torn: list[Receipt] = []
        self._lock = threading.RLock()
        self._printed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._pty: tuple[int, int] | None = None
        self.serial_path: str | None = None
        self.bytes_received = 0

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        """Listen on TCP (port 0 picks a free one); returns (host, port)."""
        self._stopping.clear()
        self._listen()
        return self.host, self.port

    def open_serial(self) -> str:
        """Also speak on a raw pty; returns the slave path a driver opens like /dev/ttyUSB0."""
        master, slave = pty.openpty()
        tty.setraw(slave)  # or the line discipline rewrites CR/LF and eats control bytes
        self._pty = (master, slave)
        self.serial_path = os.ttyname(slave)
        self._spawn(self._serve_pty, master)
        return self.serial_path

    def stop(self) -> None:
        self._stopping.set()
        self._close_server()
        self._drop_connections()
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(JOIN_S)
        if self._pty:
            for fd in self._pty:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pty = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults ----------------------------------------------------------------------------
    def set_paper_low(self, on: bool = True) -> None:
        with self._lock:
            self.faults.paper_low = on

    def set_paper_out(self, on: bool = True) -> None:
        with self._lock:
            self.faults.paper_out = on
            self.faults.paper_left_bytes = None
            if on:
                self._tear_partial()

    def paper_out_after_bytes(self, n: int) -> None:
        """The roll runs out after `n` more bytes: the rest of that receipt is lost."""
        with self._lock:
            self.faults.paper_left_bytes = max(n, 0)

    def refill(self) -> None:
        """A new roll: paper neither out nor low."""
        with self._lock:
            self.faults.paper_out = False
            self.faults.paper_low = False
            self.faults.paper_left_bytes = None

    def set_cover_open(self, on: bool = True) -> None:
        with self._lock:
            self.faults.cover_open = on

    def set_hardware_error(self, on: bool = True) -> None:
        with self._lock:
            self.faults.hardware_error = on

    def set_slow_ms_per_line(self, ms: int) -> None:
        with self._lock:
            self.faults.slow_ms_per_line = max(ms, 0)

    def set_offline(self, on: bool = True) -> None:
        """Offline: TCP refuses connections and drops open ones; the pty stops answering."""
        with self._lock:
            self.faults.offline = on
        if on:
            self._close_server()
            self._drop_connections()
        elif self.port and self._server is None and not self._stopping.is_set():
            self._listen()

    # --- what was printed ------------------------------------------------------------------
    @property
    def receipts(self) -> list[Receipt]:
        with self._lock:
            return list(self._receipts)

    @property
    def jobs(self) -> list[tuple[Receipt, float]]:
        """Every finished document with the Unix time it was cut, in order."""
        with self._lock:
            return list(zip(self._receipts, self._cut_at, strict=True))

    def on_receipt(self, listener: Callable[[Receipt], None]) -> None:
        """Call `listener` (on the printer's thread) with every document cut from now on."""
        with self._lock:
            self._listeners.append(listener)

    @property
    def torn_receipts(self) -> list[Receipt]:
        """Pieces left when the paper ran out before the cut (incomplete)."""
        with self._lock:
            return list(self._torn)

    @property
    def last_receipt(self) -> Receipt | None:
        with self._lock:
            return self._receipts[-1] if self._receipts else None

    def wait_for_receipt(self, timeout: float = 5.0, count: int = 1) -> Receipt:
        """Wait until at least `count` receipts were cut; return the latest. TimeoutError otherwise."""
        with self._printed:
            if not self._printed.wait_for(lambda: len(self._receipts) >= count, timeout):
                raise TimeoutError(f"{len(self._receipts)} of {count} receipts after {timeout}s")
            return self._receipts[-1]

    def clear(self) -> None:
        with self._lock:
            self._receipts.clear()
            self._cut_at.clear()
            self._torn.clear()

    # --- the device ------------------------------------------------------------------------
    def feed(self, parser: p.EscposStreamParser, data: bytes, reply: Reply) -> None:
        """Process bytes from one connection; public so tests can drive the device without a socket."""
        head: bytes | None = None
        with self._lock:
            if self.faults.offline:
                return
            self.bytes_received += len(data)
            left = self.faults.paper_left_bytes
            if left is not None and len(data) > left:
                head, data = data[:left], data[left:]
            elif left is not None:
                self.faults.paper_left_bytes = left - len(data)
        if head is not None:
            self._run(parser, head, reply)
            with self._lock:
                self.faults.paper_left_bytes = None
                self.faults.paper_out = True
                self._tear_partial()
        self._run(parser, data, reply)

    def _run(self, parser: p.EscposStreamParser, data: bytes, reply: Reply) -> None:
        for cmd in parser.feed(data):
            receipt: Receipt | None = None
            with self._lock:
                if isinstance(cmd, p.StatusQuery):
                    answered = self.answers_cause_requests or cmd.n in (1, 4)
                    answer = bytes((status_byte(self.faults, cmd.n),)) if answered else b""
                elif self.faults.stopped:
                    continue  # paper out / cover open: the rest is lost, GS r n included
                elif isinstance(cmd, p.TransmitStatus):
                    answer = bytes((transmit_status_byte(self.faults, cmd.n),)) if self.answers_gs_r else b""
                else:
                    answer = b""
                    receipt = self._head.apply(cmd)
                    if receipt is not None:
                        self._receipts.append(receipt)
                        self._cut_at.append(time.time())
                        self._printed.notify_all()
                slow = self.faults.slow_ms_per_line
                listeners = list(self._listeners) if receipt is not None else []
            for listener in listeners:
                try:
                    listener(receipt)  # type: ignore[arg-type]
                except Exception:  # a listener (the demo saving slips) never stops the printer
                    log.exception("a receipt listener failed")
            if answer:
                reply(answer)
            elif slow and isinstance(cmd, p.LineFeed | p.FeedLines | p.Cut):
                lines = cmd.lines if isinstance(cmd, p.FeedLines) else 1
                self._stopping.wait(slow * lines / 1000)

    def _tear_partial(self) -> None:
        if self._head.has_content:
            self._torn.append(self._head.take(complete=False))

    # --- transports ------------------------------------------------------------------------
    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="sim-printer")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _listen(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            # Coming back online reuses the port; the old listener may take a poll to let go of it.
            for attempt in range(int(JOIN_S / POLL_S)):
                try:
                    server.bind((self.host, self.port))
                    break
                except OSError:
                    if attempt + 1 == int(JOIN_S / POLL_S):
                        raise
                    time.sleep(POLL_S)
            server.listen(8)
        except OSError:
            server.close()
            raise
        server.settimeout(POLL_S)
        self.port = server.getsockname()[1]
        self._server = server
        self._spawn(self._accept_loop, server)

    def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept()
            server.close()

    def _drop_connections(self) -> None:
        with self._lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept_loop(self, server: socket.socket) -> None:
        while not self._stopping.is_set() and self._server is server:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(POLL_S)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # status bytes go out at once
            with self._lock:
                self._conns.add(conn)
            self._spawn(self._serve_conn, conn)

    def _serve_conn(self, conn: socket.socket) -> None:
        parser = p.EscposStreamParser()
        try:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                self.feed(parser, data, conn.sendall)
        except OSError:
            return  # dropped by set_offline/stop, or the driver went away
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _serve_pty(self, master: int) -> None:
        parser = p.EscposStreamParser()

        def reply(data: bytes) -> None:
            os.write(master, data)

        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([master], [], [], POLL_S)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except (OSError, ValueError):
                return
            self.feed(parser, data, reply)


def main(argv: list[str] | None = None) -> None:
    """Serve on TCP and write every receipt as NNN.txt + NNN.png into --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9100)
    ap.add_argument("--out", type=Path, default=Path("receipts"))
    ap.add_argument("--chinese-by-default", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sim = PrinterSimulator(args.host, args.port, chinese_by_default=args.chinese_by_default)
    host, port = sim.start()
    print(f"ESC/POS printer simulator on {host}:{port}, receipts in {args.out}")
    done = 0
    try:
        while True:
            try:
                receipt = sim.wait_for_receipt(timeout=1.0, count=done + 1)
            except TimeoutError:
                continue
            done += 1
            (args.out / f"{done:03d}.txt").write_text(receipt.text + "\n", encoding="utf-8")
            receipt.png(args.out / f"{done:03d}.png")
            print(f"receipt {done}: {len(receipt.lines)} lines")
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()

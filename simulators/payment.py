"""A bank-card payment terminal that speaks the kiosk ECR protocol on a pseudo-terminal.

This is the *device* side, written from PROTOCOLS.md with its own framing code (it never imports the
kiosk's codec). It keeps a transaction log by REF (query, duplicate REF → DU), batch totals for
settlement, sends progress frames, and can be told to misbehave (`Behaviour`). The driver opens a
stable symlink (`path`), re-pointed at a new pty on `replug()`, like a udev name.

Run by hand: `python -m simulators.payment --link /tmp/kiosk-payment --behaviour approve`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pty
import queue
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from kiosk.domain.money import Money

_STX, _ETX, _ACK, _NAK, _FS = b"\x02", b"\x03", b"\x06", b"\x15", b"\x1c"
_RETRIES = 3
_POLL_S = 0.02


class Behaviour(str, Enum):
    """How the terminal answers the next money transactions (sale, void, refund)."""

    APPROVE = "approve"
    DECLINE = "decline"  # RC from `decline_rc`
    PIN_TIMEOUT = "pin_timeout"  # RC TO after ENTER_PIN
    CARD_REMOVED = "card_removed"  # RC UC after INSERT_CARD
    CANCELLED = "cancelled"  # RC UC: the cardholder pressed cancel
    # Unplugs after ENTER_PIN; the terminal still finishes (approved) on its own.
    LINK_LOST_MID_TRANSACTION = "link_lost_mid_transaction"
    APPROVED_BUT_RESPONSE_LOST = "approved_but_response_lost"  # charges and records, never sends the final
    # Charges, then answers DU: the request reached it twice (a resent frame) and the first one ran.
    DUPLICATE_REF = "duplicate_ref"
    GARBLE_NEXT_FRAME = "garble_next_frame"  # next frame sent has a bad LRC once; otherwise approve
    NAK_NEXT_FRAME = "nak_next_frame"  # next good frame received is NAKed once; otherwise approve
    NO_ACK = "no_ack"  # ignores every frame: no ACK, no answer
    PAPER_OUT = "paper_out"  # status PAPER_OUT; money commands answered ER
    SIGN_IN = "sign_in"  # status SIGN_IN; money commands answered ER


@dataclass(frozen=True)
class TerminalTiming:
    """How long the cardholder and the bank take, as on a real terminal: insert the card, type the
    PIN, wait for the host. About 3 s in all by default, so that a kill can land mid-transaction;
    `instant()` for tests where speed matters."""

    card_s: float = 1.0
    pin_s: float = 1.5
    host_s: float = 0.5

    @classmethod
    def instant(cls) -> TerminalTiming:
        return cls(0.0, 0.0, 0.0)

    @classmethod
    def lasting(cls, total_s: float) -> TerminalTiming:
        """The default's proportions (card, PIN, host) stretched or shrunk to `total_s` in all."""
        default = cls()
        scale = total_s / default.total_s
        return cls(default.card_s * scale, default.pin_s * scale, default.host_s * scale)

    @property
    def total_s(self) -> float:
        return self.card_s + self.pin_s + self.host_s


@dataclass
class SimTransaction:
    """One entry of the terminal's log (every final answer it produced, delivered or not)."""

    command: str
    ref: str
    amount_fen: int
    rc: str
    message: str
    orig_ref: str = ""
    card: str = ""
    auth: str = ""
    rrn: str = ""
    trace: str = ""
    datetime: str = ""
    batch: str = ""
    voided: bool = False

    @property
    def approved(self) -> bool:
        return self.rc == "00"


@dataclass
class SimStats:
    """Link-level counters a test can check."""

    frames_received: int = 0
    bad_frames_received: int = 0
    frames_ignored: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    resends: int = 0
    requests: list[str] = field(default_factory=list)


_RC_MESSAGES = {
    "00": "交易成功",
    "05": "交易拒绝",
    "51": "余额不足",
    "55": "密码错误",
    "54": "卡已过期",
    "91": "发卡行无法连接",
    "UC": "交易已取消",
    "TO": "交易超时",
    "NF": "无此交易",
    "DU": "参考号重复",
}
_STEP_MESSAGES = {
    "INSERT_CARD": "请插卡或挥卡",
    "ENTER_PIN": "请输入密码",
    "PROCESSING": "交易处理中，请稍候",
    "REMOVE_CARD": "请取走卡片",
}


# --- the device's own framing -------------------------------------------------------------------
def _checksum(body: bytes) -> int:
    value = 0
    for byte in body:
        value ^= byte
    return value


def _frame(data: bytes, garble: bool = False) -> bytes:
    body = len(data).to_bytes(2, "big") + data + _ETX
    check = _checksum(body) ^ (0xFF if garble else 0)
    return _STX + body + bytes([check])


class _Deframer:
    """Splits the byte stream into ('ack'|'nak'|'frame'|'bad', data) events."""

    def __init__(self) -> None:
        self.buf = b""

    def events(self, chunk: bytes) -> list[tuple[str, bytes]]:
        self.buf += chunk
        out: list[tuple[str, bytes]] = []
        while self.buf:
            head = self.buf[:1]
            if head == _ACK or head == _NAK:
                out.append(("ack" if head == _ACK else "nak", b""))
                self.buf = self.buf[1:]
            elif head != _STX:
                self.buf = self.buf[1:]
            elif len(self.buf) < 3:
                break
            else:
                size = int.from_bytes(self.buf[1:3], "big")
                if size < 2 or size > 1024:
                    out.append(("bad", b""))
                    self.buf = self.buf[1:]
                    continue
                if len(self.buf) < size + 5:
                    break
                whole, self.buf = self.buf[: size + 5], self.buf[size + 5 :]
                if whole[3 + size : 4 + size] != _ETX or _checksum(whole[1 : 4 + size]) != whole[-1]:
                    out.append(("bad", b""))
                else:
                    out.append(("frame", whole[3 : 3 + size]))
        return out


# --- the pseudo-terminal ------------------------------------------------------------------------
class _Pty:
    """One pty pair in raw mode. The simulator keeps the slave open too, so reads never hit EIO."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class _Unplugged(Exception):
    """The link went away while the terminal was talking."""


class PaymentTerminalSimulator:
    """The terminal. `start()` returns the path to open; behaviours switch at any time."""

    def __init__(
        self,
        link_path: str | None = None,
        *,
        latency_s: float = 0.0,
        ack_timeout_s: float = 0.5,
        decline_rc: str = "05",
        pin_timeout_s: float = 0.0,
        timing: TerminalTiming | None = None,
    ) -> None:
        self._own_dir = None if link_path else tempfile.mkdtemp(prefix="kiosk-payment-")
        self.path = link_path or os.path.join(self._own_dir or "", "payment")
        self.latency_s = latency_s
        self.ack_timeout_s = ack_timeout_s
        self.decline_rc = decline_rc
        self.pin_timeout_s = pin_timeout_s
        self.timing = timing or TerminalTiming()
        self.stats = SimStats()
        self._behaviour = Behaviour.APPROVE
        self._garble_pending = False
        self._nak_pending = False
        self._log: dict[str, SimTransaction] = {}
        self._batch_no = 1
        self._trace_no = 0
        self._pty: _Pty | None = None
        self._deframer = _Deframer()
        self._backlog: list[bytes] = []
        self._commands: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- control API ----------------------------------------------------------------------------
    def start(self) -> str:
        self._plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="sim-payment", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._unplug()
        if self._own_dir:
            try:
                os.rmdir(self._own_dir)
            except OSError:
                pass

    @property
    def behaviour(self) -> Behaviour:
        return self._behaviour

    @behaviour.setter
    def behaviour(self, value: Behaviour) -> None:
        value = Behaviour(value)
        with self._lock:
            self._behaviour = value
            self._garble_pending = value is Behaviour.GARBLE_NEXT_FRAME
            self._nak_pending = value is Behaviour.NAK_NEXT_FRAME

    def unplug(self) -> None:
        """Pull the cable: the driver's reads fail with EIO and the symlink disappears."""
        self._on_thread(self._unplug)

    def replug(self) -> None:
        """Plug back in: a new pty, the same symlink path. The log and batch survive."""
        self._on_thread(self._plug)

    @property
    def plugged(self) -> bool:
        return self._pty is not None

    @property
    def transactions(self) -> list[SimTransaction]:
        with self._lock:
            return list(self._log.values())

    def charged_total(self) -> Money:
        """Money taken from cards: approved sales not voided, minus approved refunds."""
        with self._lock:
            fen = 0
            for tx in self._log.values():
                if tx.approved and tx.command == "01" and not tx.voided:
                    fen += tx.amount_fen
                elif tx.approved and tx.command == "03":
                    fen -= tx.amount_fen
            return Money(fen)

    def _on_thread(self, fn: Callable[[], None]) -> None:
        # The serving thread owns the pty fds; closing them under its select() would be a race.
        if self._thread is None or not self._thread.is_alive():
            fn()
            return
        done = threading.Event()
        self._commands.put((fn, done))
        done.wait(timeout=5)

    def _plug(self) -> None:
        self._unplug()
        self._pty = _Pty()
        self._deframer = _Deframer()
        tmp = f"{self.path}.new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(self._pty.path, tmp)
        os.replace(tmp, self.path)  # atomic re-point, like udev

    def _unplug(self) -> None:
        if self._pty is not None:
            self._pty.close()
            self._pty = None
        if os.path.lexists(self.path):
            os.unlink(self.path)

    # --- serving --------------------------------------------------------------------------------
    def _run_commands(self) -> None:
        while True:
            try:
                fn, done = self._commands.get_nowait()
            except queue.Empty:
                return
            fn()
            done.set()

    def _read(self, timeout: float) -> list[tuple[str, bytes]]:
        self._run_commands()
        if self._stop.is_set() or self._pty is None:
            self._stop.wait(min(timeout, _POLL_S))
            raise _Unplugged()
        return self._deframer.events(self._pty.read(timeout))

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                if self._backlog:
                    self._handle(self._backlog.pop(0))
                    continue
                for kind, data in self._read(_POLL_S):
                    self._receive(kind, data)
            except _Unplugged:
                self._backlog.clear()

    def _receive(self, kind: str, data: bytes) -> None:
        """A frame or control byte arrived while idle."""
        if kind == "bad":
            self.stats.bad_frames_received += 1
            if self._behaviour is not Behaviour.NO_ACK:
                self._write(_NAK)
        elif kind == "frame" and self._accept(data):
            self._backlog.append(data)

    def _accept(self, data: bytes) -> bool:
        """Link-level answer to a good frame: ACK (True), or NAK / silence (False)."""
        self.stats.frames_received += 1
        if self._behaviour is Behaviour.NO_ACK:
            self.stats.frames_ignored += 1
            return False
        if self._nak_pending:
            self._nak_pending = False
            self.stats.naks_sent += 1
            self._write(_NAK)
            return False
        self._write(_ACK)
        return True

    def _write(self, data: bytes) -> None:
        if self._pty is None:
            raise _Unplugged()
        self._pty.write(data)

    def _pause(self, seconds: float) -> None:
        """Wait (the cardholder, the bank) while obeying the control API; an unplug meanwhile ends the
        transaction unfinished, as pulling a real terminal's cable would."""
        link = self._pty
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self._stop.is_set():
            self._run_commands()
            if self._pty is not link:
                raise _Unplugged()
            self._stop.wait(min(left, _POLL_S))

    def _send(self, data: bytes) -> bool:
        """Send a frame until ACKed (at most 1 + 3 sends); frames arriving meanwhile wait their turn."""
        self._pause(self.latency_s)
        for attempt in range(1 + _RETRIES):
            garble = self._garble_pending
            self._garble_pending = False
            self._write(_frame(data, garble=garble))
            deadline = time.monotonic() + self.ack_timeout_s
            while (left := deadline - time.monotonic()) > 0:
                answer = None
                for kind, payload in self._read(min(left, _POLL_S)):
                    if kind in ("ack", "nak") and answer is None:
                        answer = kind
                    elif kind == "frame" and self._accept(payload):
                        self._backlog.append(payload)
                if answer == "ack":
                    return True
                if answer == "nak":
                    self.stats.naks_received += 1
                    break
            if attempt < _RETRIES:
                self.stats.resends += 1
        return False

    # --- the terminal's application -------------------------------------------------------------
    def _handle(self, data: bytes) -> None:
        parts = data.split(_FS)
        try:
            fields = [p.decode("ascii") for p in parts]
        except UnicodeDecodeError:
            return
        command = fields[0]
        self.stats.requests.append(command)
        if command == "06" and len(fields) == 1:
            state = {Behaviour.PAPER_OUT: "PAPER_OUT", Behaviour.SIGN_IN: "SIGN_IN"}.get(
                self._behaviour, "READY"
            )
            self._send(self._answer("06", "00", state, "终端正常" if state == "READY" else "终端需处理"))
        elif command == "05" and len(fields) == 1:
            self._settle()
        elif command == "04" and len(fields) == 2:
            self._query(fields[1])
        elif command in ("01", "02", "03"):
            self._money(command, fields)

    @staticmethod
    def _answer(*fields: str) -> bytes:
        *ascii_fields, message = fields
        return _FS.join([f.encode("ascii") for f in ascii_fields] + [message.encode("gb18030")])

    def _tx_answer(self, command: str, tx: SimTransaction) -> bytes:
        return self._answer(
            command,
            tx.rc,
            tx.ref,
            f"{tx.amount_fen:012d}",
            tx.card,
            tx.auth,
            tx.rrn,
            tx.trace,
            tx.datetime,
            tx.message,
        )

    def _query(self, ref: str) -> None:
        with self._lock:
            tx = self._log.get(ref)
        if tx is None:
            self._send(self._answer("04", "NF", ref, "000000000000", "", "", "", "", "", _RC_MESSAGES["NF"]))
        else:
            self._send(self._tx_answer("04", tx))

    def _settle(self) -> None:
        with self._lock:
            batch = f"{self._batch_no:06d}"
            items = [tx for tx in self._log.values() if tx.batch == batch and tx.approved]
            total = sum(tx.amount_fen if tx.command == "01" else -tx.amount_fen for tx in items)
            self._batch_no += 1
        total_text = f"{total:012d}" if total >= 0 else f"-{-total:011d}"
        self._send(self._answer("05", "00", str(len(items)), total_text, batch, "结算成功"))

    def _money(self, command: str, fields: list[str]) -> None:
        valid = {"01": 3, "02": 3, "03": 4}[command] == len(fields)
        ref = fields[1] if len(fields) > 1 and fields[1] else "?"
        amount = fields[2] if command in ("01", "03") and valid else "0" * 12
        if not valid or not amount.isdigit() or len(amount) != 12:
            self._send(self._answer(command, "ER", ref, "0" * 12, "", "", "", "", "", "请求格式错误"))
            return
        with self._lock:
            seen = ref in self._log
        if seen:
            self._send(self._answer(command, "DU", ref, amount, "", "", "", "", "", _RC_MESSAGES["DU"]))
            return
        if self._behaviour in (Behaviour.PAPER_OUT, Behaviour.SIGN_IN):
            why = "打印纸用完" if self._behaviour is Behaviour.PAPER_OUT else "终端未签到"
            self._send(self._answer(command, "ER", ref, amount, "", "", "", "", "", why))
            return
        orig_ref = fields[-1] if command in ("02", "03") else ""
        tx = SimTransaction(
            command=command, ref=ref, amount_fen=int(amount), rc="00", message="", orig_ref=orig_ref
        )
        problem = self._check_original(tx)
        if problem:
            self._send(self._answer(command, "ER", ref, amount, "", "", "", "", "", problem))
            return
        self._run_card_steps(tx)

    def _check_original(self, tx: SimTransaction) -> str:
        """For void/refund: '' if the original allows it, else why not (and fill amount/card)."""
        if tx.command == "01":
            return ""
        with self._lock:
            orig = self._log.get(tx.orig_ref)
            if orig is None or orig.command != "01" or not orig.approved or orig.voided:
                return "原交易不存在或不可撤销"
            tx.card = orig.card
            refunded = sum(
                t.amount_fen
                for t in self._log.values()
                if t.command == "03" and t.orig_ref == orig.ref and t.approved
            )
            if tx.command == "02":
                if orig.batch != f"{self._batch_no:06d}":
                    return "原交易不在本批次"
                if refunded:  # part of it went back already: voiding the whole would give it back twice
                    return "原交易已退货，不可撤销"
                tx.amount_fen = orig.amount_fen
                return ""
            if tx.amount_fen > orig.amount_fen - refunded:
                return "退货金额超过原交易"
        return ""

    def _progress(self, step: str) -> None:
        self._send(self._answer("90", step, _STEP_MESSAGES[step]))

    def _run_card_steps(self, tx: SimTransaction) -> None:
        behaviour = self._behaviour
        needs_card = tx.command in ("01", "03")
        if needs_card:
            self._progress("INSERT_CARD")
            self._pause(self.timing.card_s)
            if not tx.card:
                tx.card = "622202******" + f"{len(self._log) + 1234:04d}"[-4:]
        if behaviour in (Behaviour.CARD_REMOVED, Behaviour.CANCELLED):
            self._finish(tx, "UC")
            return
        if tx.command == "01":
            self._progress("ENTER_PIN")
            self._pause(self.timing.pin_s)
        if behaviour is Behaviour.PIN_TIMEOUT:
            self._pause(self.pin_timeout_s)
            self._finish(tx, "TO")
            return
        if behaviour is Behaviour.LINK_LOST_MID_TRANSACTION:
            # The terminal finishes with the card on its own; the kiosk never hears the answer.
            self._record(tx, "00")
            self._unplug()
            raise _Unplugged()
        self._progress("PROCESSING")
        self._pause(self.timing.host_s)
        rc = self.decline_rc if behaviour is Behaviour.DECLINE else "00"
        if needs_card:
            self._progress("REMOVE_CARD")
        if behaviour is Behaviour.APPROVED_BUT_RESPONSE_LOST:
            self._record(tx, rc)
            return
        if behaviour is Behaviour.DUPLICATE_REF:
            self._record(tx, rc)
            self._send(self._answer(tx.command, "DU", tx.ref, f"{tx.amount_fen:012d}", "", "", "", "", "",
                                    _RC_MESSAGES["DU"]))
            return
        self._finish(tx, rc)

    def _record(self, tx: SimTransaction, rc: str) -> None:
        with self._lock:
            self._trace_no += 1
            tx.rc = rc
            tx.message = _RC_MESSAGES.get(rc, "交易拒绝")
            tx.trace = f"{self._trace_no:06d}"
            tx.datetime = dt.datetime.now().strftime("%Y%m%d%H%M%S")
            tx.batch = f"{self._batch_no:06d}"
            if rc == "00":
                tx.auth = f"{(self._trace_no * 7919) % 1_000_000:06d}"
                tx.rrn = f"{tx.datetime[2:8]}{tx.trace}"
                if tx.command == "02":
                    self._log[tx.orig_ref].voided = True
            self._log[tx.ref] = tx

    def _finish(self, tx: SimTransaction, rc: str) -> None:
        self._record(tx, rc)
        self._send(self._tx_answer(tx.command, tx))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", default="/tmp/kiosk-payment", help="symlink the driver opens")
    parser.add_argument("--behaviour", default="approve", choices=[b.value for b in Behaviour])
    parser.add_argument("--latency", type=float, default=0.3, help="seconds before each frame")
    parser.add_argument("--card-s", type=float, default=TerminalTiming.card_s, help="seconds to insert the card")
    parser.add_argument("--pin-s", type=float, default=TerminalTiming.pin_s, help="seconds to type the PIN")
    parser.add_argument("--host-s", type=float, default=TerminalTiming.host_s, help="seconds the bank's host takes")
    args = parser.parse_args(argv)
    timing = TerminalTiming(args.card_s, args.pin_s, args.host_s)
    sim = PaymentTerminalSimulator(args.link, latency_s=args.latency, timing=timing)
    sim.behaviour = Behaviour(args.behaviour)
    print(f"payment terminal on {sim.start()} ({args.behaviour}); Ctrl-C stops")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()

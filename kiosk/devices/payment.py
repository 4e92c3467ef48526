"""`EcrPaymentTerminal`: the PaymentTerminal port over the kiosk ECR protocol on a serial line.

Link layer (PROTOCOLS.md): every frame is ACKed within T1 or repeated (after NAK / no ACK) at most 3
times, then the link has failed; every frame received is ACKed, or NAKed when it is bad. A transaction
waits T2 for its first progress or final frame and T4 for the whole. A money command whose final answer
never arrives raises PaymentOutcomeUnknown: the caller must `query(ref)`, never assume.

All serial I/O runs on one device thread (`dev-payment`); public calls block the caller until done.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import serial

from kiosk.config import PaymentSection
from kiosk.devices import ecr
from kiosk.devices.base import (
    Cancel,
    Capability,
    Detail,
    DeviceState,
    PublishesStatus,
    SelfTestResult,
    StatusPublisher,
)
from kiosk.devices.ecr import Command, Control, Progress, ResponseCode, StatusAnswer, TerminalState
from kiosk.devices.ports import PaymentResult, ProgressCallback, Settlement
from kiosk.domain.errors import (
    DeviceBusy,
    DeviceError,
    DeviceOffline,
    DeviceTimeout,
    PaymentCancelled,
    PaymentDeclined,
    PaymentLinkFailed,
    PaymentOutcomeUnknown,
    ProtocolError,
    UserCancelled,
)
from kiosk.domain.money import Money

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIES = 3
"""Repeats of an unacknowledged frame (so at most 1 + 3 sends)."""
READ_SLICE_S = 0.02
"""Serial read timeout: how often a waiting loop looks at its deadline and the cancel token."""

_LINK_ERRORS = (serial.SerialException, OSError)
_REF_ALPHABET = string.ascii_letters + string.digits

_STATE_STATUS: dict[TerminalState, tuple[DeviceState, Detail]] = {
    TerminalState.READY: (DeviceState.ONLINE, Detail.NONE),
    TerminalState.BUSY: (DeviceState.BUSY, Detail.NONE),
    TerminalState.PAPER_OUT: (DeviceState.USER_ERROR, Detail.PAPER_OUT),
    TerminalState.SIGN_IN: (DeviceState.USER_ERROR, Detail.NEEDS_SIGN_IN),
}


def new_reference(kiosk_id: str, now: dt.datetime | None = None) -> str:
    """A transaction REF unique per kiosk: `<kiosk id>-<YYMMDDhhmmssfff>-<6 random letters/digits>`,
    ≤ 32 chars. 62^6 tails: two REFs in the same millisecond practically never collide (a DU)."""
    now = now or dt.datetime.now()
    kiosk = re.sub(r"[^0-9A-Za-z_]", "", kiosk_id)[:8] or "K"
    stamp = now.strftime("%y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
    tail = "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
    return f"{kiosk}-{stamp}-{tail}"


class _LinkDown(Exception):
    """The serial port failed under us (unplugged): internal, mapped per operation.

    `request_sent` is True when a whole request frame had been written before the failure, so the
    terminal may have received it.
    """

    request_sent = False


class EcrPaymentTerminal(PublishesStatus):
    """A bank-card terminal on a serial ECR link (driver key `ecr-serial`)."""

    name = "payment"

    def __init__(
        self,
        device: str,
        baudrate: int = 9600,
        *,
        t1_s: float = 0.5,
        t2_s: float = 5.0,
        t4_s: float = 120.0,
        retries: int = RETRIES,
        reconnect_interval_s: float = 2.0,
        serial_factory: Callable[..., Any] = serial.Serial,
    ) -> None:
        self.device = device
        self.baudrate = baudrate
        self.t1_s = t1_s
        self.t2_s = t2_s
        self.t4_s = t4_s
        self.retries = retries
        self.reconnect_interval_s = reconnect_interval_s
        self._serial_factory = serial_factory
        self._port: Any = None
        self._reader = ecr.FrameReader()
        self._controls: deque[Control] = deque()
        self._frames: deque[bytes] = deque()
        self._last_rx = 0.0
        self._publisher = StatusPublisher(self.name)
        self._executor: ThreadPoolExecutor | None = None
        self._op_lock = threading.Lock()
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None

    @classmethod
    def from_config(cls, section: PaymentSection) -> EcrPaymentTerminal:
        return cls(section.device, section.baudrate, t1_s=section.t1_s, t2_s=section.t2_s, t4_s=section.t4_s)

    # --- lifecycle and status -------------------------------------------------------------------
    def open(self) -> None:
        """Start the device thread and try to connect; never raises (status says OFFLINE/NO_DEVICE)."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dev-payment")
        self._stop.clear()
        with self._op_lock:
            self._call(self._try_connect)
        self._monitor = threading.Thread(target=self._watch, name="payment-monitor", daemon=True)
        self._monitor.start()

    def close(self) -> None:
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
            self._monitor = None
        if self._executor is not None:
            with self._op_lock:
                self._call(self._disconnect)
            self._executor.shutdown(wait=True)
            self._executor = None
        self._publisher.set(DeviceState.OFFLINE, Detail.NONE, "closed")

    def capabilities(self) -> frozenset[Capability]:
        return frozenset(
            {Capability.CONTACT, Capability.VOID, Capability.REFUND, Capability.QUERY, Capability.SETTLEMENT}
        )

    def self_test(self) -> SelfTestResult:
        lines = [f"port {self.device} @ {self.baudrate} baud"]
        try:
            state = self.terminal_state()
        except DeviceError as exc:
            lines.append(f"status command failed: {type(exc).__name__} (code {exc.code}) {exc.detail}")
            return SelfTestResult(False, tuple(lines))
        lines.append(f"terminal state {state}")
        return SelfTestResult(state == TerminalState.READY.value, tuple(lines))

    # --- operations -----------------------------------------------------------------------------
    def sale(
        self,
        ref: str,
        amount: Money,
        on_progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
    ) -> PaymentResult:
        """Charge `amount` under `ref`. Approved → result; PaymentDeclined / PaymentCancelled when the
        terminal says so; PaymentOutcomeUnknown when it never gave a final answer (query `ref` then)."""
        request = ecr.build_sale(ref, amount)
        return self._operate(
            lambda: self._money_command(Command.SALE, ref, amount, request, on_progress, cancel)
        )

    def void(
        self,
        ref: str,
        orig_ref: str,
        on_progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
    ) -> PaymentResult:
        """Void `orig_ref` (same batch) under the new `ref`; outcomes as for `sale`."""
        request = ecr.build_void(ref, orig_ref)
        return self._operate(
            lambda: self._money_command(Command.VOID, ref, None, request, on_progress, cancel)
        )

    def refund(
        self,
        ref: str,
        amount: Money,
        orig_ref: str,
        on_progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
    ) -> PaymentResult:
        """Refund `amount` of `orig_ref` under the new `ref`; outcomes as for `sale`."""
        request = ecr.build_refund(ref, amount, orig_ref)
        return self._operate(
            lambda: self._money_command(Command.REFUND, ref, amount, request, on_progress, cancel)
        )

    def query(self, ref: str) -> PaymentResult | None:
        """The final result of `ref` (approved or not), or None if the terminal never saw it (RC NF).
        DeviceTimeout when the terminal does not answer within T2."""
        request = ecr.build_query(ref)
        return self._operate(lambda: self._query(ref, request))

    def settle(self) -> Settlement:
        """Close the batch; DeviceError unless the terminal answers RC 00."""
        return self._operate(self._settle)

    def terminal_state(self) -> str:
        """READY / BUSY / PAPER_OUT / SIGN_IN (command 06); also updates `status()`."""
        return self._operate(self._status_command).state.value

    # --- operation plumbing ---------------------------------------------------------------------
    def _operate(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise DeviceOffline("payment terminal not opened")
        if not self._op_lock.acquire(blocking=False):
            raise DeviceBusy("payment terminal busy with another operation")
        try:
            return self._call(fn)
        finally:
            self._op_lock.release()

    def _call(self, fn: Callable[[], T]) -> T:
        assert self._executor is not None
        return self._executor.submit(fn).result()

    def _assert_device_thread(self) -> None:
        assert threading.current_thread().name.startswith("dev-payment"), "serial I/O off the device thread"

    def _watch(self) -> None:
        """Reconnect after an unplug, and notice an unplug while idle (reads fail with EIO)."""
        while not self._stop.wait(self.reconnect_interval_s):
            if self._op_lock.locked():
                continue  # an operation is running; it sees link problems itself
            # Not under _op_lock: a caller arriving now must queue behind this short check on the
            # device thread, not get DeviceBusy.
            try:
                self._call(self._check_link)
            except Exception:  # the monitor must survive anything
                log.exception("payment monitor")

    def _check_link(self) -> None:
        if self._port is not None:
            try:
                self._probe()
            except _LinkDown:
                pass
        # Also re-ask a terminal that stopped answering or needed paper / a sign-in: it may be fixed.
        if self._port is None or not self._publisher.status().state.usable:
            self._try_connect()

    # --- connection -----------------------------------------------------------------------------
    def _try_connect(self) -> bool:
        """Open the port and ask the terminal's state; on failure set OFFLINE/NO_DEVICE, never raise."""
        try:
            self._ensure_open()
            self._status_command()
            return True
        except DeviceError as exc:
            log.info("payment terminal not available: %s", exc.detail)
            return False

    def _ensure_open(self) -> None:
        self._assert_device_thread()
        if self._port is not None:
            return
        try:
            self._port = self._serial_factory(
                self.device, self.baudrate, bytesize=8, parity="N", stopbits=1, timeout=READ_SLICE_S
            )
        except _LINK_ERRORS as exc:
            self._publisher.set(DeviceState.NO_DEVICE, Detail.LINK_LOST, "serial port unavailable")
            raise DeviceOffline(f"cannot open {self.device}: {exc}") from None
        self._reader.reset()
        self._controls.clear()
        self._frames.clear()

    def _disconnect(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except _LINK_ERRORS:
                pass
            self._port = None

    def _link_lost(self) -> _LinkDown:
        self._disconnect()
        self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, "serial link lost")
        return _LinkDown()

    # --- link layer -----------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except _LINK_ERRORS:
            raise self._link_lost() from None

    def _pump(self, wait_s: float) -> None:
        """Read what arrives within `wait_s` (at least one non-blocking look); ACK/NAK received frames."""
        self._assert_device_thread()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                waiting = self._port.in_waiting
                chunk = self._port.read(max(1, waiting)) if wait_s > 0 else self._port.read(waiting)
            except _LINK_ERRORS:
                raise self._link_lost() from None
            now = time.monotonic()
            if chunk:
                self._last_rx = now
                self._reader.feed(chunk)
            elif self._reader.in_frame and now - self._last_rx > self.t1_s:
                # The sender went quiet mid-frame: a length error, answered with NAK.
                self._reader.drop_partial()
                self._write(bytes([ecr.NAK]))
            self._drain_reader()
            if self._controls or self._frames or now >= deadline:
                return

    def _probe(self) -> None:
        """While idle: take in unsolicited bytes and notice a vanished port."""
        self._assert_device_thread()
        try:
            # in_waiting is 0 on a pty whose master is gone; only a read surfaces the EIO.
            chunk = self._port.read(max(1, self._port.in_waiting))
        except _LINK_ERRORS:
            raise self._link_lost() from None
        if chunk:
            self._last_rx = time.monotonic()
            self._reader.feed(chunk)
        self._drain_reader()

    def _drain_reader(self) -> None:
        for _ in range(10_000):  # bounded: every event consumes bytes
            try:
                event = self._reader.next_event()
            except ProtocolError as exc:
                log.warning("payment: bad frame from terminal (%s), NAK", exc.detail)
                self._write(bytes([ecr.NAK]))
                continue
            if event is None:
                return
            if isinstance(event, Control):
                self._controls.append(event)
            else:
                self._write(bytes([ecr.ACK]))
                self._frames.append(event)

    def _send(self, data: bytes) -> None:
        """Send one frame until ACKed; PaymentLinkFailed after the last repeat (_LinkDown if unplugged)."""
        frame = ecr.encode_frame(data)
        for attempt in range(1 + self.retries):
            self._controls.clear()
            self._write(frame)
            deadline = time.monotonic() + self.t1_s
            while True:
                try:
                    self._pump(deadline - time.monotonic())
                except _LinkDown as exc:
                    exc.request_sent = True
                    raise
                if self._controls:
                    reply = self._controls.popleft()
                    if reply is Control.ACK:
                        return
                    log.info("payment: NAK for frame (attempt %d)", attempt + 1)
                    break
                if time.monotonic() >= deadline:
                    log.info("payment: no ACK within T1 (attempt %d)", attempt + 1)
                    break
        self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, "terminal does not acknowledge")
        raise PaymentLinkFailed(f"no ACK after {1 + self.retries} sends")

    def _discard_stale(self) -> None:
        """Before a new request: ACK and drop frames left from an earlier exchange (e.g. late answers)."""
        self._pump(0.0)
        while self._frames:
            log.warning("payment: dropping stale frame from terminal (%d bytes)", len(self._frames.popleft()))
        self._controls.clear()

    def _receive(self, until: float, cancel: Cancel | None = None) -> ecr.Response | None:
        """The next parsed frame before monotonic time `until` (None on timeout or cancel)."""
        while True:
            if self._frames:
                data = self._frames.popleft()
                try:
                    return ecr.parse_response(data)
                except ProtocolError as exc:
                    # Well framed but meaningless: already ACKed, so all we can do is skip it.
                    log.warning("payment: unparseable frame skipped (%s)", exc.detail)
                    continue
            if cancel is not None and cancel.cancelled:
                return None
            left = until - time.monotonic()
            if left <= 0:
                return None
            self._pump(min(left, 0.1))

    def _exchange(
        self,
        request: bytes,
        accept: Callable[[ecr.Response], bool],
        on_progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
    ) -> ecr.Response | None:
        """Send `request`, pass progress on, return the first frame `accept`s (None: no final answer).

        Raises PaymentLinkFailed / DeviceOffline when the request never got through, _LinkDown when
        the link dies after the terminal may have received it.
        """
        self._ensure_open()
        try:
            self._discard_stale()
            self._send(request)
        except _LinkDown as exc:
            if exc.request_sent:
                raise
            raise PaymentLinkFailed("serial link lost while sending") from None
        start = time.monotonic()
        first_frame_by = start + self.t2_s
        done_by = start + self.t4_s
        seen_frame = False
        while True:
            response = self._receive(done_by if seen_frame else min(done_by, first_frame_by), cancel)
            if response is None:
                return None
            seen_frame = True
            if isinstance(response, Progress):
                self._report_progress(response, on_progress)
            elif accept(response):
                return response
            else:
                log.warning("payment: unexpected answer ignored: %s", type(response).__name__)

    @staticmethod
    def _report_progress(progress: Progress, on_progress: ProgressCallback | None) -> None:
        if on_progress is None:
            return
        try:
            on_progress(progress.step, progress.message)
        except Exception:  # a broken screen callback must never lose a payment answer
            log.exception("payment progress callback failed")

    # --- commands (device thread) ---------------------------------------------------------------
    def _money_command(
        self,
        command: Command,
        ref: str,
        amount: Money | None,
        request: bytes,
        on_progress: ProgressCallback | None,
        cancel: Cancel | None,
    ) -> PaymentResult:
        if cancel is not None and cancel.cancelled:
            raise UserCancelled("cancelled before the request was sent")

        def accept(response: ecr.Response) -> bool:
            return (
                isinstance(response, PaymentResult)
                and response.command == command.value
                and response.ref == ref
            )

        self._publisher.set(DeviceState.BUSY, Detail.NONE, f"{command.name.lower()} running")
        try:
            response = self._exchange(request, accept, on_progress, cancel)
        except _LinkDown:
            raise PaymentOutcomeUnknown(f"link lost during {command.name.lower()} {ref}") from None
        if response is None:
            self._set_online_if_busy()
            why = "cancelled by the kiosk" if cancel is not None and cancel.cancelled else "no final answer"
            raise PaymentOutcomeUnknown(f"{command.name.lower()} {ref}: {why}; query the REF")
        assert isinstance(response, PaymentResult)
        self._set_online_if_busy()
        if response.rc == ResponseCode.DUPLICATE.value:
            log.warning("payment: terminal has seen REF %s already; querying it", ref)
            return self._resolve_duplicate(ref, amount)
        return self._final(response)

    def _resolve_duplicate(self, ref: str, amount: Money | None) -> PaymentResult:
        try:
            earlier = self._query(ref, ecr.build_query(ref))
        except DeviceError as exc:
            raise PaymentOutcomeUnknown(f"duplicate REF {ref} and its query failed: {exc.detail}") from None
        if earlier is None:
            raise PaymentOutcomeUnknown(f"terminal says REF {ref} is a duplicate but does not know it")
        if amount is not None and earlier.amount != amount:
            # The REF belongs to another transaction: this request was refused, nothing was charged for it.
            raise DeviceError(f"REF {ref} already used for {earlier.amount.fen} fen, not {amount.fen}")
        return self._final(earlier)

    def _final(self, result: PaymentResult) -> PaymentResult:
        """Map a final answer: approved → result, otherwise the matching error."""
        rc = ResponseCode.lookup(result.rc)
        if rc is ResponseCode.APPROVED:
            return result
        if rc is ResponseCode.CANCELLED:
            raise PaymentCancelled(f"cancelled at the terminal: {result.message}")
        if rc is ResponseCode.TIMED_OUT:
            # TO is not a final no: the terminal may still settle it with the host. Query the REF.
            raise PaymentOutcomeUnknown(f"timed out at the terminal (TO): {result.message}; query the REF")
        if rc is ResponseCode.TERMINAL_ERROR:
            self._refresh_state()
            raise DeviceError(f"terminal error: {result.message}")
        # The listed declines (05/51/55/54/91) and any code this protocol version does not know:
        # only 00 means money was taken.
        raise PaymentDeclined(f"declined {result.rc}: {result.message}", response_code=result.rc)

    def _query(self, ref: str, request: bytes) -> PaymentResult | None:
        def accept(response: ecr.Response) -> bool:
            return isinstance(response, PaymentResult) and response.command == Command.QUERY.value

        response = self._simple(request, accept, "query")
        assert isinstance(response, PaymentResult)
        if response.rc == ResponseCode.NOT_FOUND.value:
            return None
        if response.rc == ResponseCode.TERMINAL_ERROR.value:
            raise DeviceError(f"query refused: {response.message}")
        if response.ref != ref:
            raise ProtocolError(f"query for {ref} answered for {response.ref}")
        return response

    def _settle(self) -> Settlement:
        response = self._simple(ecr.build_settlement(), lambda r: isinstance(r, Settlement), "settlement")
        assert isinstance(response, Settlement)
        if response.rc != ResponseCode.APPROVED.value:
            raise DeviceError(f"settlement refused {response.rc}: {response.message}")
        return response

    def _status_command(self) -> StatusAnswer:
        response = self._simple(ecr.build_status(), lambda r: isinstance(r, StatusAnswer), "status")
        assert isinstance(response, StatusAnswer)
        state, detail = _STATE_STATUS[response.state]
        self._publisher.set(state, detail, f"terminal {response.state.value}")
        return response

    def _refresh_state(self) -> None:
        try:
            self._status_command()
        except DeviceError:
            pass

    def _simple(self, request: bytes, accept: Callable[[ecr.Response], bool], what: str) -> ecr.Response:
        """A request that moves no money: any failure is just an error, nothing to reconcile."""
        try:
            response = self._exchange(request, accept)
        except _LinkDown:
            raise DeviceOffline(f"link lost during {what}") from None
        if response is None:
            raise DeviceTimeout(f"no answer to {what}")
        return response

    def _set_online_if_busy(self) -> None:
        if self._publisher.status().state is DeviceState.BUSY:
            self._publisher.set(DeviceState.ONLINE, Detail.NONE, "terminal READY")

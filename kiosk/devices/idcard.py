"""`Ga467Reader`: the resident ID-card reader driver (GA 467 SAM_A frames over a serial port).

One lock guards the port, so the caller's `read_card` and the background health/reconnect tick never
interleave frames. The driver reports what the card says; whether an expired card is acceptable is the
flow's decision (`IdCardData.valid_to`), so it never raises CardExpired.
"""

from __future__ import annotations

import logging
import threading
import time

from kiosk.config import IdCardSection
from kiosk.devices import ga467
from kiosk.devices.base import (
    Cancel,
    Capability,
    Detail,
    DeviceState,
    PublishesStatus,
    SelfTestResult,
    StatusPublisher,
)
from kiosk.devices.ga467 import CardType, Command, Response, ResultCode
from kiosk.devices.serial_link import Reconnector, SerialLink
from kiosk.domain.errors import (
    CardRemoved,
    CardUnreadable,
    DeviceError,
    DeviceOffline,
    DeviceTimeout,
    NoCard,
    ProtocolError,
    UserCancelled,
)
from kiosk.domain.patient import IdCardData

log = logging.getLogger(__name__)

_SAM_FAULTS = frozenset({ResultCode.SAM_SELF_CHECK_FAILED, ResultCode.SAM_NOT_AUTHORIZED})
# The reader says *our* frame arrived damaged: line noise, so sending it again is right.
_RESEND = frozenset({ResultCode.CHECKSUM_ERROR, ResultCode.LENGTH_ERROR})


class Ga467Reader(PublishesStatus):
    """IdCardReader over pyserial (115200 8N1 by default). Timeouts are in seconds."""

    def __init__(
        self,
        device: str,
        baudrate: int = 115200,
        *,
        name: str = "idcard",
        poll_interval_s: float = 0.2,
        reply_timeout_s: float = 0.5,
        read_timeout_s: float = 3.0,
        retries: int = 2,
        reconnect_interval_s: float = 1.0,
        health_interval_s: float = 5.0,
        read_appended_address: bool = True,
    ) -> None:
        self.name = name
        self.poll_interval_s = poll_interval_s
        self.reply_timeout_s = reply_timeout_s
        """Seconds to wait for the answer to a short command (find, select, SAM status)."""
        self.read_timeout_s = read_timeout_s
        """Seconds to wait for the 1295-byte text+photo answer (a real reader needs about 1 s)."""
        self.retries = retries
        """Re-sends of a command whose answer was garbled, before ProtocolError."""
        self.health_interval_s = health_interval_s
        """Seconds of idleness after which the background tick checks the SAM (detects unplugging)."""
        self.read_appended_address = read_appended_address
        self.sam_id: str | None = None
        """Hex of the SAM_A serial (16 bytes), once read; for the diagnostics screen."""
        self.last_card_type: CardType | None = None
        self._link = SerialLink(device, baudrate)
        self._frames = ga467.FrameReader()
        self._lock = threading.RLock()
        self._publisher = StatusPublisher(name)
        self._reconnector = Reconnector(name, self._tick, reconnect_interval_s)
        self._last_traffic = 0.0

    @classmethod
    def from_config(cls, section: IdCardSection) -> Ga467Reader:
        return cls(section.device, section.baudrate, poll_interval_s=section.poll_interval_s)

    # --- lifecycle and status -----------------------------------------------------------------
    def open(self) -> None:
        """Connect now if the reader is there; either way keep re-connecting in the background."""
        self._connect()
        self._reconnector.start()

    def close(self) -> None:
        self._reconnector.stop()
        with self._lock:
            self._link.close()
        self._publisher.set(DeviceState.OFFLINE, Detail.NONE, "closed")

    def capabilities(self) -> frozenset[Capability]:
        caps = {Capability.CONTACTLESS}
        if self.read_appended_address:
            caps.add(Capability.APPENDED_ADDRESS)
        return frozenset(caps)

    def self_test(self) -> SelfTestResult:
        """SAM self-check and SAM id, as a technician sees them on the diagnostics screen."""
        lines = [f"port {self._link.device} @ {self._link.baudrate} 8N1"]
        try:
            with self._lock:
                self._ensure_open()
                sam = self._transact(Command.SAM_STATUS, self.reply_timeout_s)
                lines.append(f"SAM status: {ga467.describe(sam.sw3)}")
                if sam.sw3 != ResultCode.SUCCESS:
                    self._sam_fault(sam)
                    return SelfTestResult(False, tuple(lines))
                self._read_sam_id()
                lines.append(f"SAM id: {self.sam_id or 'unknown'}")
        except DeviceError as exc:
            lines.append(f"failed: {exc.__class__.__name__} (code {exc.code}): {exc.detail}")
            return SelfTestResult(False, tuple(lines))
        self._publisher.set(DeviceState.ONLINE)
        return SelfTestResult(True, tuple(lines))

    # --- the operation ------------------------------------------------------------------------
    def read_card(self, timeout_s: float, cancel: Cancel | None = None) -> IdCardData:
        """Poll find -> select -> read until a card is read or `timeout_s` passes (NoCard)."""
        cancel = cancel or Cancel()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._ensure_open()
        self._publisher.set(DeviceState.BUSY)
        try:
            while True:
                if cancel.cancelled:
                    raise UserCancelled("card read cancelled")
                with self._lock:
                    card = self._try_read_once()
                if card is not None:
                    return card
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoCard(f"no ID card within {timeout_s:g} s")
                if cancel.wait(min(self.poll_interval_s, remaining)):
                    raise UserCancelled("card read cancelled")
        finally:
            if self.status().state is DeviceState.BUSY:
                self._publisher.set(DeviceState.ONLINE)

    def _try_read_once(self) -> IdCardData | None:
        """One find/select/read round; None when no card is on the reader."""
        found = self._command(Command.FIND_CARD)
        if found.sw3 != ResultCode.FIND_SUCCESS:
            return None
        selected = self._command(Command.SELECT_CARD)
        if selected.sw3 != ResultCode.SUCCESS:
            return None  # lifted between find and select, or a poor contact: keep polling
        return self._read_selected()

    def _read_selected(self) -> IdCardData:
        for attempt in (1, 2):
            try:
                reply: Response | None = self._command(Command.READ_TEXT_PHOTO, self.read_timeout_s)
            except DeviceTimeout:
                reply = None
            if reply is not None and reply.sw3 == ResultCode.SUCCESS:
                return self._decode(reply)
            # The read failed: a card that has gone is "removed", one still there is unreadable.
            if self._command(Command.FIND_CARD).sw3 != ResultCode.FIND_SUCCESS:
                raise CardRemoved("the card left the reader during the read")
            if attempt == 2:
                why = "no answer" if reply is None else ga467.describe(reply.sw3)
                raise CardUnreadable(f"read failed twice with the card in place ({why})")
            if self._command(Command.SELECT_CARD).sw3 != ResultCode.SUCCESS:
                raise CardRemoved("the card left the reader during the read")
        raise AssertionError("unreachable")

    def _decode(self, reply: Response) -> IdCardData:
        blocks = ga467.split_card_blocks(reply.data)
        self.last_card_type = ga467.card_type(blocks.text)
        card = ga467.decode_text_block(blocks.text)
        if self.read_appended_address:
            card = self._with_appended_address(card)
        log.info("ID card read", extra={"device": self.name, "id_number": card.id_number.masked})
        return card

    def _with_appended_address(self, card: IdCardData) -> IdCardData:
        """The 追加住址 (address after a move) is the current one; any failure keeps the printed address."""
        try:
            reply = self._command(Command.READ_APPENDED_ADDRESS)
            if reply.sw3 != ResultCode.SUCCESS:
                return card
            address = ga467.decode_appended_address(reply.data)
        except (DeviceTimeout, ProtocolError, CardUnreadable):
            return card
        if not address:
            return card
        return IdCardData(
            card.name, card.sex, card.ethnicity, card.birth_date, address, card.id_number,
            card.authority, card.valid_from, card.valid_to,
        )  # fmt: skip

    # --- commands -----------------------------------------------------------------------------
    def _command(self, command: Command, timeout_s: float | None = None) -> Response:
        """A command during a card read: a SAM fault is a hardware error, silence means offline."""
        try:
            reply = self._transact(command, timeout_s or self.reply_timeout_s)
        except DeviceTimeout:
            if command is Command.READ_TEXT_PHOTO:
                raise
            self._offline("reader does not answer")
            raise DeviceOffline("the ID-card reader does not answer") from None
        if reply.sw3 in _SAM_FAULTS:
            self._sam_fault(reply)
            raise DeviceError(f"SAM fault: {ga467.describe(reply.sw3)}")
        return reply

    def _transact(self, command: Command, timeout_s: float) -> Response:
        """Send one command and wait for its answer; re-send on a garbled answer (caller holds the lock)."""
        frame = ga467.encode_command(command)
        last_error: ProtocolError | None = None
        for _ in range(1 + self.retries):
            try:
                self._link.discard_input()
                self._frames.clear()
                self._link.write(frame)
                reply = ga467.decode_response(self._await_frame(timeout_s))
            except ProtocolError as exc:
                log.warning("garbled reply, re-sending", extra={"device": self.name, "command": command.name})
                last_error = exc
                continue
            except DeviceOffline:
                self._offline("serial link lost")
                raise
            self._last_traffic = time.monotonic()
            if reply.sw3 in _RESEND:
                last_error = ProtocolError(f"reader reports {ga467.describe(reply.sw3)} for {command.name}")
                continue
            return reply
        assert last_error is not None
        raise ProtocolError(f"{command.name}: no clean answer after {1 + self.retries} tries: {last_error}")

    def _await_frame(self, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self._frames.next_frame()
            if frame is not None:
                return frame
            if time.monotonic() >= deadline:
                raise DeviceTimeout(f"no answer within {timeout_s:g} s")
            self._frames.feed(self._link.read(self._frames.bytes_needed()))

    # --- connection ---------------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if not self._link.is_open:
            self._connect()
        if not self._link.is_open:
            raise DeviceOffline(self.status().message or "the ID-card reader is not connected")

    def _connect(self) -> None:
        """Open the port and check the SAM; sets the status whatever happens, never raises."""
        with self._lock:
            if not self._link.is_open:
                if not self._link.present():
                    self._publisher.set(
                        DeviceState.NO_DEVICE, Detail.NO_READER, f"no device at {self._link.device}"
                    )
                    return
                try:
                    self._link.open()
                except DeviceOffline as exc:
                    self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, exc.detail)
                    return
            self._check_sam()

    def _check_sam(self) -> None:
        try:
            reply = self._transact(Command.SAM_STATUS, self.reply_timeout_s)
        except DeviceTimeout:
            self._offline("reader does not answer")
            return
        except DeviceError as exc:  # offline (already reported) or garbled after retries
            if self._link.is_open:
                self._publisher.set(DeviceState.HARDWARE_ERROR, Detail.NONE, exc.detail)
            return
        if reply.sw3 != ResultCode.SUCCESS:
            self._sam_fault(reply)
            return
        if self.sam_id is None:
            self._read_sam_id()
        if self.status().state is not DeviceState.BUSY:
            self._publisher.set(DeviceState.ONLINE)

    def _read_sam_id(self) -> None:
        try:
            reply = self._transact(Command.READ_SAM_ID, self.reply_timeout_s)
        except (DeviceTimeout, ProtocolError):
            return  # informational only; the SAM status already passed
        if reply.sw3 == ResultCode.SUCCESS:
            self.sam_id = reply.data.hex().upper()

    def _tick(self) -> None:
        """Background: re-connect when closed; when idle for a while, check the SAM (notices unplugging)."""
        if not self._lock.acquire(blocking=False):
            return  # a read is running: it reports problems itself
        try:
            if not self._link.is_open:
                self._connect()
            elif time.monotonic() - self._last_traffic >= self.health_interval_s:
                self._check_sam()
        finally:
            self._lock.release()

    def _offline(self, why: str) -> None:
        self._link.close()
        self._publisher.set(DeviceState.OFFLINE, Detail.LINK_LOST, why)

    def _sam_fault(self, reply: Response) -> None:
        self._publisher.set(DeviceState.HARDWARE_ERROR, Detail.SAM_FAULT, f"SAM: {ga467.describe(reply.sw3)}")

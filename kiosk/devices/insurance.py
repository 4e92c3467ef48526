"""The insurance / social-security card reader (社保卡) over PC/SC: `PcscInsuranceReader` (driver "pcsc").

Layers: `kiosk.devices.sscard` is the APDU codec; `_PcscLink` here is the transport (one PC/SC context,
re-established whenever pcscd restarts or the reader is unplugged); `PcscInsuranceReader` is the port.
All PC/SC calls run on the reader's own device thread, which also polls the slot while idle so the
status (NO_DEVICE, ONLINE, card present) stays current and an outage heals without a read.

The driver uses pyscard's `smartcard.scard` layer rather than `CardRequest`: waiting for a card is the
same `SCardGetStatusChange` loop (in 200 ms slices, so a `Cancel` is seen promptly), but with one
context the driver owns and can re-establish, and with the PC/SC result codes that tell a pulled card
(CardRemoved) from a dead pcscd or reader (DeviceOffline) from a card that will not talk (CardUnreadable).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from smartcard import scard

from kiosk.config import InsuranceSection
from kiosk.devices import sscard
from kiosk.devices.base import (
    Cancel,
    Capability,
    Detail,
    DeviceState,
    PublishesStatus,
    SelfTestResult,
    StatusPublisher,
)
from kiosk.domain.errors import CardRemoved, CardUnreadable, DeviceOffline, NoCard, UserCancelled
from kiosk.domain.idnumber import mask_card
from kiosk.domain.patient import InsuranceCardData

log = logging.getLogger(__name__)
T = TypeVar("T")

# The service or the reader went away: drop the context and look again.
_LINK_LOST = frozenset({
    scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE,
    scard.SCARD_E_READER_UNAVAILABLE, scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_NO_READERS_AVAILABLE,
    scard.SCARD_E_INVALID_VALUE, scard.SCARD_E_COMM_DATA_LOST,
})
_CARD_GONE = frozenset({scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD})
_WAIT_SLICE_MS = 200  # one GetStatusChange; bounds how late a cancel is noticed
_REMOVAL_GRACE_MS = 1000  # vpcd and some readers report a pulled card a poll later than the failed APDU


class _PcscFailure(Exception):
    """A PC/SC call failed with `hresult` (internal: mapped to a DeviceError by the driver)."""

    def __init__(self, call: str, hresult: int) -> None:
        super().__init__(f"{call}: {scard.SCardGetErrorMessage(hresult)} ({hresult & 0xFFFFFFFF:#010x})")
        self.hresult = hresult

    @property
    def link_lost(self) -> bool:
        return self.hresult in _LINK_LOST


@dataclass(frozen=True, slots=True)
class SlotState:
    reader: str
    present: bool
    mute: bool
    event_state: int
    atr: bytes


class _PcscLink:
    """One PC/SC context and the chosen reader; every call comes from the device thread."""

    def __init__(self, reader_hint: str) -> None:
        self.reader_hint = reader_hint
        self._context: Any = None
        self.reader: str | None = None

    def _check(self, call: str, hresult: int) -> None:
        if hresult != scard.SCARD_S_SUCCESS:
            failure = _PcscFailure(call, hresult)
            if failure.link_lost:
                self.drop()
            raise failure

    def drop(self) -> None:
        """Forget the context (after pcscd restarted or the reader vanished); the next call re-opens."""
        if self._context is not None:
            scard.SCardReleaseContext(self._context)  # may fail when pcscd is gone; nothing to do then
        self._context = None
        self.reader = None

    def context(self) -> Any:
        if self._context is None:
            hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            self._check("SCardEstablishContext", hresult)
            self._context = context
        return self._context

    def readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self.context(), [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        self._check("SCardListReaders", hresult)
        return list(names)

    def find_reader(self) -> str | None:
        """The first reader whose name contains the configured hint (any reader if the hint is empty)."""
        if self.reader is None:
            self.reader = next((n for n in self.readers() if self.reader_hint in n), None)
        return self.reader

    def slot(self, known_state: int = scard.SCARD_STATE_UNAWARE, timeout_ms: int = 0) -> SlotState:
        """The reader's slot, waiting up to `timeout_ms` for it to differ from `known_state`."""
        reader = self.find_reader()
        if reader is None:
            raise _PcscFailure("find reader", scard.SCARD_E_UNKNOWN_READER)
        hresult, states = scard.SCardGetStatusChange(self.context(), timeout_ms, [(reader, known_state)])
        if hresult == scard.SCARD_E_TIMEOUT:
            return self._slot_from(reader, known_state, b"")
        self._check("SCardGetStatusChange", hresult)
        _name, event_state, atr = states[0]
        if event_state & (scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_UNKNOWN):
            self.drop()
            raise _PcscFailure("reader state", scard.SCARD_E_READER_UNAVAILABLE)
        return self._slot_from(reader, event_state, bytes(atr))

    @staticmethod
    def _slot_from(reader: str, event_state: int, atr: bytes) -> SlotState:
        # Without the CHANGED bit, so it can be handed back as the known state.
        state = event_state & ~scard.SCARD_STATE_CHANGED
        return SlotState(
            reader, bool(state & scard.SCARD_STATE_PRESENT), bool(state & scard.SCARD_STATE_MUTE), state, atr
        )

    def connect(self) -> _CardSession:
        reader = self.find_reader()
        if reader is None:
            raise _PcscFailure("find reader", scard.SCARD_E_UNKNOWN_READER)
        hresult, handle, protocol = scard.SCardConnect(
            self.context(), reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        self._check("SCardConnect", hresult)
        return _CardSession(self, handle, protocol)


class _CardSession:
    """A connected card: `transmit` for the codec, `atr`, and `close` (leaves the card powered in the slot)."""

    def __init__(self, link: _PcscLink, handle: Any, protocol: int) -> None:
        self._link = link
        self._handle = handle
        self._pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        self.apdus = 0

    def atr(self) -> bytes:
        hresult, _reader, _state, _protocol, atr = scard.SCardStatus(self._handle)
        self._link._check("SCardStatus", hresult)
        return bytes(atr)

    def transmit(self, apdu: bytes) -> bytes:
        self.apdus += 1
        hresult, response = scard.SCardTransmit(self._handle, self._pci, list(apdu))
        self._link._check("SCardTransmit", hresult)
        return bytes(response)

    def close(self) -> None:
        scard.SCardDisconnect(self._handle, scard.SCARD_LEAVE_CARD)  # fails harmlessly if the card left


class _DeviceThread:
    """Runs jobs one at a time on one thread; calls `idle()` every `idle_s` when there is no job."""

    def __init__(self, name: str, idle: Callable[[], None], idle_s: float) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._idle = idle
        self._idle_s = idle_s
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return fn()
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future.result()

    def stop(self) -> None:
        self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                try:
                    self._idle()
                except Exception:  # the poll must never kill the device thread
                    log.exception("insurance reader idle poll failed")
                continue
            if job is None:
                return
            fn, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except Exception as exc:  # noqa: BLE001 - handed to the caller, who re-raises it
                    future.set_exception(exc)


class PcscInsuranceReader(PublishesStatus):
    """InsuranceCardReader over PC/SC (pyscard): waits for a card, SELECTs SSSE, reads EF05/EF06."""

    def __init__(self, reader: str = "", *, name: str = "insurance", poll_interval_s: float = 0.5) -> None:
        self.name = name
        self.reader_hint = reader
        self.poll_interval_s = poll_interval_s
        self._publisher = StatusPublisher(name)
        self._link = _PcscLink(reader)
        self._thread: _DeviceThread | None = None
        self._open_lock = threading.Lock()

    @classmethod
    def from_config(cls, section: InsuranceSection) -> PcscInsuranceReader:
        return cls(reader=section.reader)

    # -- lifecycle and status --
    def open(self) -> None:
        """Start the device thread and look for the reader; never raises if pcscd or the reader is absent."""
        with self._open_lock:
            if self._thread is None:
                self._thread = _DeviceThread(f"dev-{self.name}", self._refresh, self.poll_interval_s)
        self._thread.call(self._refresh)

    def close(self) -> None:
        with self._open_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.call(self._link.drop)
            thread.stop()
        self._publisher.set(DeviceState.OFFLINE, message="closed")

    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.CONTACT})

    def self_test(self) -> SelfTestResult:
        """Checks pcscd, lists readers, finds the configured one and reports its slot."""
        return self._device().call(self._self_test)

    # -- the operation --
    def read_card(self, timeout_s: float, cancel: Cancel | None = None) -> InsuranceCardData:
        """Wait up to `timeout_s` for a card, then read it.

        NoCard on timeout (DeviceOffline if the reader was absent all along), CardRemoved if the card
        leaves mid-read, CardUnreadable for a card without the social-security application,
        UserCancelled when `cancel` fires.
        """
        return self._device().call(lambda: self._read_card(timeout_s, cancel or Cancel()))

    # -- device thread only below --
    def _device(self) -> _DeviceThread:
        if self._thread is None:
            raise DeviceOffline("insurance reader is not open")
        return self._thread

    def _set_slot(self, slot: SlotState) -> None:
        detail = Detail.CARD_PRESENT if slot.present else Detail.NONE
        self._publisher.set(DeviceState.ONLINE, detail, f"reader {slot.reader}")

    def _set_lost(self, failure: _PcscFailure) -> None:
        if failure.hresult in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED):
            self._publisher.set(DeviceState.NO_DEVICE, Detail.LINK_LOST, "pcscd not reachable")
        else:
            hint = f" matching '{self.reader_hint}'" if self.reader_hint else ""
            self._publisher.set(DeviceState.NO_DEVICE, Detail.NO_READER, f"no PC/SC reader{hint}")

    def _refresh(self) -> None:
        try:
            self._set_slot(self._link.slot())
        except _PcscFailure as failure:
            self._link.drop()
            self._set_lost(failure)

    def _wait_for_card(self, timeout_s: float, cancel: Cancel) -> SlotState:
        deadline = time.monotonic() + timeout_s
        known = scard.SCARD_STATE_UNAWARE
        reader_seen = False
        # Each pass waits up to one slice; the count bound only guards against a state that keeps flapping.
        for _ in range(2 * int(timeout_s * 1000 / _WAIT_SLICE_MS) + 10):
            if cancel.cancelled:
                raise UserCancelled("insurance card read cancelled")
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            try:
                slot = self._link.slot(known, min(_WAIT_SLICE_MS, remaining_ms))
            except _PcscFailure as failure:
                self._link.drop()
                self._set_lost(failure)
                known = scard.SCARD_STATE_UNAWARE
                if remaining_ms == 0:
                    break
                cancel.wait(min(_WAIT_SLICE_MS, remaining_ms) / 1000)
                continue
            reader_seen = True
            known = slot.event_state
            if slot.present:
                return slot
            self._set_slot(slot)
            if remaining_ms == 0:
                break
        if not reader_seen:
            raise DeviceOffline("no PC/SC reader while waiting for the insurance card")
        raise NoCard(f"no insurance card within {timeout_s:g} s")

    def _read_card(self, timeout_s: float, cancel: Cancel) -> InsuranceCardData:
        slot = self._wait_for_card(timeout_s, cancel)
        self._publisher.set(DeviceState.BUSY, Detail.CARD_PRESENT, "reading insurance card")
        if slot.mute:
            self._set_slot(slot)
            raise CardUnreadable("the card does not answer reset (mute)")
        session: _CardSession | None = None
        try:
            session = self._link.connect()
            atr = session.atr()
            data = sscard.read_card_data(session.transmit)
        except _PcscFailure as failure:
            raise self._failure_to_error(failure) from failure
        finally:
            if session is not None:
                session.close()
            if self.status().state is DeviceState.BUSY:
                self._refresh()
        log.info("insurance card read", extra={"card": mask_card(data.card_number), "atr": atr.hex(),
                                               "apdus": session.apdus})
        return data

    def _failure_to_error(self, failure: _PcscFailure) -> Exception:
        """A failed PC/SC call mid-read: the card left, the link went, or the card misbehaved."""
        if failure.link_lost:
            self._set_lost(failure)
            return DeviceOffline(f"PC/SC link lost during the read: {failure}")
        gone = failure.hresult in _CARD_GONE
        if not gone:
            try:
                slot = self._link.slot()
                if slot.present:
                    slot = self._link.slot(slot.event_state, _REMOVAL_GRACE_MS)
                gone = not slot.present
            except _PcscFailure as again:
                self._set_lost(again)
                return DeviceOffline(f"PC/SC link lost during the read: {again}")
        self._refresh()
        if gone:
            return CardRemoved("the insurance card was removed during the read")
        return CardUnreadable(f"insurance card read failed: {failure}")

    def _self_test(self) -> SelfTestResult:
        lines: list[str] = []
        try:
            names = self._link.readers()
            lines.append("pcscd: reachable")
            lines.append(f"readers: {', '.join(names) if names else '(none)'}")
            slot = self._link.slot()
            lines.append(f"using reader: {slot.reader}")
            lines.append(f"card: {'present, ATR ' + slot.atr.hex().upper() if slot.present else 'absent'}")
            self._set_slot(slot)
            return SelfTestResult(True, tuple(lines))
        except _PcscFailure as failure:
            self._link.drop()
            self._set_lost(failure)
            lines.append(f"FAIL: {failure}")
            return SelfTestResult(False, tuple(lines))

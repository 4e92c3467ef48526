"""The contract every device adapter keeps (CEN/XFS4IoT common status, UnifiedPOS lifecycle).

A driver has explicit `open()`/`close()`, a `status()` in one shape for every device, status-change
events, capabilities, a `self_test()`, and operations that take a timeout and a `Cancel` token.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from kiosk.domain.errors import CoverOpen, DeviceError, DeviceOffline, PaperOut

log = logging.getLogger(__name__)


class DeviceState(str, Enum):
    """XFS4IoT `common.device`, trimmed to what a kiosk sees."""

    STARTING = "starting"
    ONLINE = "online"
    BUSY = "busy"
    USER_ERROR = "user-error"
    OFFLINE = "offline"
    NO_DEVICE = "no-device"
    HARDWARE_ERROR = "hardware-error"

    @property
    def usable(self) -> bool:
        return self in READY_STATES


READY_STATES = frozenset({DeviceState.ONLINE, DeviceState.BUSY})
FAULT_STATES = frozenset(
    {DeviceState.OFFLINE, DeviceState.NO_DEVICE, DeviceState.HARDWARE_ERROR, DeviceState.USER_ERROR}
)


class Detail(str, Enum):
    """Per-component detail codes; NONE when the state says it all."""

    NONE = "none"
    PAPER_LOW = "paper-low"
    PAPER_OUT = "paper-out"
    COVER_OPEN = "cover-open"
    CARD_PRESENT = "card-present"
    CARD_JAMMED = "card-jammed"
    SAM_FAULT = "sam-fault"
    LINK_LOST = "link-lost"
    NO_READER = "no-reader"
    NEEDS_SIGN_IN = "needs-sign-in"


WARNING_DETAILS = frozenset({Detail.PAPER_LOW, Detail.NEEDS_SIGN_IN})
"""Details of a device that still serves but needs a technician soon."""


class Capability(str, Enum):
    CUT = "cut"
    PAPER_LOW_SENSOR = "paper-low-sensor"
    QR = "qr"
    BARCODE = "barcode"
    CONTACTLESS = "contactless"
    CONTACT = "contact"
    PHOTO = "photo"
    APPENDED_ADDRESS = "appended-address"
    VOID = "void"
    REFUND = "refund"
    QUERY = "query"
    SETTLEMENT = "settlement"
    HID = "hid"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """One device's status. `message` is for technicians (English, no patient data)."""

    state: DeviceState
    detail: Detail = Detail.NONE
    message: str = ""
    changed_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def same_as(self, other: DeviceStatus) -> bool:
        return (self.state, self.detail, self.message) == (other.state, other.detail, other.message)

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state.value,
            "detail": self.detail.value,
            "message": self.message,
            "changed_at": self.changed_at.isoformat(),
        }


class Health(str, Enum):
    """What a technician and the service gating read from a status: four words, worst last."""

    OK = "ok"
    WARNING = "warning"
    """Still serving (paper low, starting up); someone should look soon."""
    ERROR = "error"
    OFFLINE = "offline"

    @property
    def serving(self) -> bool:
        return self in (Health.OK, Health.WARNING)

    @classmethod
    def of(cls, status: DeviceStatus) -> Health:
        if status.state in (DeviceState.OFFLINE, DeviceState.NO_DEVICE):
            return cls.OFFLINE
        if status.state in FAULT_STATES:
            return cls.ERROR
        if status.state is DeviceState.STARTING or status.detail in WARNING_DETAILS:
            return cls.WARNING
        return cls.OK


def not_ready_error(name: str, status: DeviceStatus) -> DeviceError | None:
    """Why a device in `status` cannot do its work now, as the error its operation would raise; None
    when it is ready (paper low still prints). A device still STARTING has not answered yet: offline."""
    if status.state in READY_STATES:
        return None
    why = f"{name} is {status.state.value}"
    if status.detail is not Detail.NONE:
        why += f" ({status.detail.value})"
    if status.message:
        why += f": {status.message}"
    if status.detail is Detail.PAPER_OUT:
        return PaperOut(why)
    if status.detail is Detail.COVER_OPEN:
        return CoverOpen(why)
    if status.state in (DeviceState.STARTING, DeviceState.OFFLINE, DeviceState.NO_DEVICE):
        return DeviceOffline(why)
    return DeviceError(why)


@dataclass(frozen=True, slots=True)
class SelfTestResult:
    ok: bool
    lines: tuple[str, ...]


StatusListener = Callable[[str, DeviceStatus], None]


class StatusPublisher:
    """Holds a device's current status and tells listeners about changes (and only changes)."""

    def __init__(self, device_name: str) -> None:
        self.device_name = device_name
        self._status = DeviceStatus(DeviceState.STARTING)
        self._listeners: list[StatusListener] = []
        self._lock = threading.Lock()

    def status(self) -> DeviceStatus:
        return self._status

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener(device_name, status)` on every change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def set(self, state: DeviceState, detail: Detail = Detail.NONE, message: str = "") -> DeviceStatus:
        new = DeviceStatus(state, detail, message)
        with self._lock:
            if new.same_as(self._status):
                return self._status
            self._status = new
            listeners = list(self._listeners)
        log.info("device status", extra={"device": self.device_name, "state": state.value, "detail": detail.value})
        for listener in listeners:
            try:
                listener(self.device_name, new)
            except Exception:  # a broken listener must not break the device
                log.exception("status listener failed")
        return new


class PublishesStatus:
    """`status()` and `subscribe()` for a driver that keeps its status in `self._publisher`."""

    _publisher: StatusPublisher

    def status(self) -> DeviceStatus:
        return self._publisher.status()

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        return self._publisher.subscribe(listener)


class Cancel:
    """A cancellation token passed to long operations (waiting for a card, a payment)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if cancelled meanwhile."""
        return self._event.wait(seconds)

"""The ports the flows use: one Protocol per device class. Drivers implement these; flows see only these.

Every operation MUST honour its timeout and MAY be cancelled with a `Cancel`; on failure it raises a
`kiosk.domain.errors.DeviceError` subclass and updates `status()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from kiosk.devices.base import Cancel, Capability, DeviceStatus, SelfTestResult, StatusListener
from kiosk.domain.document import Document
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, InsuranceCardData


class Device(Protocol):
    name: str

    def open(self) -> None:
        """Claim the device. MUST NOT raise if it is absent: report OFFLINE/NO_DEVICE and retry later."""

    def close(self) -> None: ...

    def status(self) -> DeviceStatus: ...

    def subscribe(self, listener: StatusListener) -> Callable[[], None]: ...

    def capabilities(self) -> frozenset[Capability]: ...

    def self_test(self) -> SelfTestResult: ...


@runtime_checkable
class Refreshable(Protocol):
    """A device that can be asked for its status now (not only reporting it when it polls)."""

    def refresh(self) -> DeviceStatus:
        """Query the device now, publish its status and return it; DeviceError if it does not answer."""


class IdCardReader(Device, Protocol):
    def read_card(self, timeout_s: float, cancel: Cancel | None = None) -> IdCardData:
        """Wait up to `timeout_s` for an ID card, then read it. NoCard on timeout, CardRemoved mid-read."""


class InsuranceCardReader(Device, Protocol):
    def read_card(self, timeout_s: float, cancel: Cancel | None = None) -> InsuranceCardData:
        """Wait up to `timeout_s` for a card in the PC/SC reader, then read EF05/EF06."""


class ReceiptPrinter(Device, Refreshable, Protocol):
    def print_document(self, document: Document) -> None:
        """Print and cut. Returns only when the status after the print is clean (PaperOut etc. otherwise)."""


class CodeScanner(Device, Protocol):
    def read_code(self, timeout_s: float, cancel: Cancel | None = None) -> str:
        """Wait for one scanned code (QR or barcode) and return its text. DeviceTimeout on timeout."""


class PaymentStep(str, Enum):
    INSERT_CARD = "INSERT_CARD"
    ENTER_PIN = "ENTER_PIN"
    PROCESSING = "PROCESSING"
    REMOVE_CARD = "REMOVE_CARD"


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """A final terminal answer (RC 00 approved, others declined). `card` is the masked PAN."""

    command: str
    rc: str
    ref: str
    amount: Money
    card: str
    auth: str
    rrn: str
    trace: str
    datetime: str
    message: str

    @property
    def approved(self) -> bool:
        return self.rc == "00"


@dataclass(frozen=True, slots=True)
class Settlement:
    rc: str
    count: int
    total: Money
    batch: str
    message: str


ProgressCallback = Callable[[PaymentStep, str], None]


class PaymentTerminal(Device, Protocol):
    def sale(self, ref: str, amount: Money, on_progress: ProgressCallback | None = None,
             cancel: Cancel | None = None) -> PaymentResult:
        """Charge `amount`. Raises PaymentOutcomeUnknown when no final answer came: query `ref` then."""

    def void(self, ref: str, orig_ref: str) -> PaymentResult: ...

    def refund(self, ref: str, amount: Money, orig_ref: str) -> PaymentResult: ...

    def query(self, ref: str) -> PaymentResult | None:
        """The final result of transaction `ref`, or None if the terminal never saw it (RC NF)."""

    def settle(self) -> Settlement: ...

    def terminal_state(self) -> str:
        """READY / BUSY / PAPER_OUT / SIGN_IN (command 06)."""

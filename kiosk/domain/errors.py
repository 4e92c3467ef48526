"""The kiosk's one exception hierarchy.

Every error carries a `message_key`; `kiosk.domain.messages` turns the key into plain Chinese and
English words that say what to do next. The UI shows only those words, never a traceback.

Device errors also carry a stable numeric `code` a technician can look up:

====  =========================  ==============================================
code  class                      meaning
====  =========================  ==============================================
100   DeviceError                generic device failure
101   DeviceOffline              device absent, unplugged, or not answering
102   DeviceTimeout              the operation did not finish in time
103   DeviceBusy                 another operation is running
110   ProtocolError              garbled, short or badly checksummed frame
120   NoCard                     no card on / in the reader
121   CardRemoved                card taken away while it was being read
122   CardUnreadable             card present but could not be read
123   CardExpired                the card's validity has ended
130   PaperOut                   printer out of paper
131   CoverOpen                  printer cover open
132   PrintFailed                printer refused or failed mid-print
140   PaymentDeclined            the terminal declined the transaction
141   PaymentCancelled           the cardholder cancelled at the terminal
142   PaymentOutcomeUnknown      no final answer: must be queried, never assumed
143   PaymentLinkFailed          no ACK after every retry
====  =========================  ==============================================
"""

from __future__ import annotations

from typing import Any


class KioskError(Exception):
    """Base of every error the kiosk raises on purpose."""

    message_key = "error.generic"

    def __init__(self, detail: str = "", *, message_key: str | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        if message_key is not None:
            self.message_key = message_key


class UserCancelled(KioskError):
    """The patient pressed cancel/home: silent, not an error screen."""

    message_key = "error.cancelled"


class ConfigError(KioskError):
    """The config file is missing a key, has a typo or a wrong type; the detail names key and file."""

    message_key = "error.config"


# --- devices ------------------------------------------------------------------------------------
class DeviceError(KioskError):
    code = 100
    message_key = "device.error"


class DeviceOffline(DeviceError):
    code = 101
    message_key = "device.offline"


class DeviceTimeout(DeviceError):
    code = 102
    message_key = "device.timeout"


class DeviceBusy(DeviceError):
    code = 103
    message_key = "device.busy"


class ProtocolError(DeviceError):
    """A frame that does not parse. Codecs raise only this (or a subclass) on bad bytes."""

    code = 110
    message_key = "device.protocol"


class NoCard(DeviceError):
    code = 120
    message_key = "card.none"


class CardRemoved(DeviceError):
    code = 121
    message_key = "card.removed"


class CardUnreadable(DeviceError):
    code = 122
    message_key = "card.unreadable"


class CardExpired(DeviceError):
    code = 123
    message_key = "card.expired"


class PaperOut(DeviceError):
    code = 130
    message_key = "printer.paper_out"


class CoverOpen(DeviceError):
    code = 131
    message_key = "printer.cover_open"


class PrintFailed(DeviceError):
    code = 132
    message_key = "printer.failed"


class PaymentDeclined(DeviceError):
    code = 140
    message_key = "payment.declined"

    def __init__(self, detail: str = "", *, response_code: str = "05") -> None:
        super().__init__(detail)
        self.response_code = response_code


class PaymentCancelled(DeviceError):
    code = 141
    message_key = "payment.cancelled"


class PaymentOutcomeUnknown(DeviceError):
    code = 142
    message_key = "payment.unknown"


class PaymentLinkFailed(DeviceError):
    code = 143
    message_key = "payment.link_failed"


# --- hospital server ----------------------------------------------------------------------------
class HisError(KioskError):
    message_key = "his.error"


class HisUnavailable(HisError):
    """No answer, a timeout, a 5xx or 503 UNAVAILABLE: the link is down, try again later."""

    message_key = "his.unavailable"


class HisRefused(HisError):
    """A 4xx with the HIS error shape. `code` is the HIS rule code (SLOT_TAKEN, NOT_FOUND, ...)."""

    def __init__(
        self,
        code: str,
        message: str = "",
        message_en: str = "",
        details: dict[str, Any] | None = None,
        status: int = 409,
    ) -> None:
        super().__init__(f"{code}: {message_en or message}", message_key=f"his.{code}")
        self.code = code
        self.server_message = message
        self.server_message_en = message_en
        self.details = details or {}
        self.status = status


class NotFound(HisRefused):
    def __init__(self, message: str = "", message_en: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__("NOT_FOUND", message, message_en, details, status=404)


# --- the tester automation port -------------------------------------------------------------------
class AutomationRefused(KioskError):
    """A request to the automation port that cannot be done (no such element, disabled, timed out).

    `status` is the HTTP status and `code` the UPPER_SNAKE code of AUTOMATION.md; a tester reads them,
    never a patient (the generic message key is there only to keep the hierarchy's contract)."""

    def __init__(self, status: int, code: str, detail: str, screen: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.screen = screen

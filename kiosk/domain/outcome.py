"""The three outcomes of a step that moves money or a booking: done, refused, unknown.

Unknown — no answer, a timeout, a lost link, the HIS's IDEMPOTENCY_IN_PROGRESS, the terminal's DU or
TO — is never recorded as refused and never assumed done: the step's journal entry stays open until
a query (the terminal by REF, the HIS by replaying the same key) settles it.
"""

from __future__ import annotations

from enum import Enum

from kiosk.domain.errors import (
    DeviceBusy,
    DeviceOffline,
    HisRefused,
    KioskError,
    PaymentCancelled,
    PaymentDeclined,
    PaymentLinkFailed,
    UserCancelled,
)

IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"


class Outcome(str, Enum):
    DONE = "done"
    REFUSED = "refused"
    UNKNOWN = "unknown"


# Errors that prove the other side did not act: the request never left (offline, busy, cancelled before
# sending, no ACK on the link: PROTOCOLS.md says an unacknowledged frame was not taken) or the answer
# was a definitive no.
_REFUSALS = (DeviceOffline, DeviceBusy, UserCancelled, PaymentLinkFailed, PaymentDeclined, PaymentCancelled)


def outcome_of(error: KioskError) -> Outcome:
    """What a step's error says about whether it took effect."""
    if isinstance(error, HisRefused):
        return Outcome.UNKNOWN if error.code == IN_PROGRESS else Outcome.REFUSED
    if isinstance(error, _REFUSALS):
        return Outcome.REFUSED
    return Outcome.UNKNOWN

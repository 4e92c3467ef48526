"""The technician PIN: a salted scrypt hash in the config, and the gate that counts wrong tries.

The stored form is `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`; the PIN itself is never stored or logged.
Five wrong PINs lock the entry for five minutes. With no hash configured there is no entry at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_TRIES = 5
LOCKOUT_S = 300.0
PIN_DIGITS = range(6, 13)


class PinFormatError(ValueError):
    """A PIN that is not 6–12 digits, or a stored hash that is not ours."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """The stored form of `pin` (6–12 digits) with a fresh random salt."""
    if not pin.isdigit() or len(pin) not in PIN_DIGITS:
        raise PinFormatError("the PIN must be 6 to 12 digits")
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when `pin` hashes to `stored` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except ValueError as exc:
        raise PinFormatError("admin.pin_hash is not a hash written by `kiosk admin set-pin`") from exc
    return hmac.compare_digest(actual, expected)


class Verdict(str, Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    OFF = "off"


@dataclass(frozen=True)
class PinAnswer:
    verdict: Verdict
    tries_left: int = MAX_TRIES
    locked_for_s: int = 0


class PinGate:
    """Checks PINs against the configured hash; five wrong ones in a row lock it for five minutes."""

    def __init__(self, stored_hash: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._stored = stored_hash
        self._clock = clock
        self._wrong = 0
        self._locked_until = 0.0

    @property
    def enabled(self) -> bool:
        """No hash configured: no technician entry (there is no default PIN)."""
        return bool(self._stored)

    def locked_for_s(self) -> int:
        return max(0, round(self._locked_until - self._clock() + 0.499))

    def check(self, pin: str) -> PinAnswer:
        if not self.enabled:
            return PinAnswer(Verdict.OFF)
        if self.locked_for_s():
            log.warning("technician PIN refused: entry locked", extra={"locked_for_s": self.locked_for_s()})
            return PinAnswer(Verdict.LOCKED, 0, self.locked_for_s())
        if verify_pin(pin, self._stored):
            self._wrong = 0
            log.info("technician PIN accepted")
            return PinAnswer(Verdict.OK)
        self._wrong += 1
        tries_left = MAX_TRIES - self._wrong
        if tries_left > 0:
            log.warning("technician PIN wrong", extra={"tries_left": tries_left})
            return PinAnswer(Verdict.WRONG, tries_left)
        self._wrong = 0
        self._locked_until = self._clock() + LOCKOUT_S
        log.warning("technician entry locked after wrong PINs", extra={"tries": MAX_TRIES, "lockout_s": LOCKOUT_S})
        return PinAnswer(Verdict.LOCKED, 0, self.locked_for_s())

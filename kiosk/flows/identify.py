"""Turn what the patient presents (ID card, insurance card, scanned code, booking code) into a Patient."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from kiosk.domain.errors import CardExpired, HisRefused, KioskError, NotFound
from kiosk.domain.patient import IdCardData, Identity, IdentityKind, InsuranceCardData, Patient
from kiosk.flows.services import HisApi

log = logging.getLogger(__name__)

BOOKING_CODE_LENGTH = 8


class InvalidInput(KioskError):
    """What the patient typed cannot be right (wrong length, letters); nothing was sent."""

    message_key = "his.VALIDATION"


def from_id_card(card: IdCardData, today: dt.date) -> Identity:
    """An ID card read -> Identity; CardExpired if the card's validity has ended."""
    if card.is_expired(today):
        raise CardExpired("the resident ID card has expired")
    return Identity(IdentityKind.ID_CARD, card.id_number.value)


def from_insurance_card(card: InsuranceCardData, today: dt.date) -> Identity:
    if card.is_expired(today):
        raise CardExpired("the insurance card has expired")
    return Identity(IdentityKind.INSURANCE_CARD, card.card_number)


def from_scan(code: str) -> Identity:
    """A scanned e-voucher, e-health card or visit-card code; the HIS decides whose it is."""
    code = code.strip()
    if not code:
        raise InvalidInput("empty scan")
    return Identity(IdentityKind.QR, code)


def from_booking_code(code: str, id_last4: str) -> Identity:
    """8-digit booking code from the SMS + the last 4 characters of the ID number (digits or X)."""
    code, last4 = code.strip(), id_last4.strip().upper()
    if len(code) != BOOKING_CODE_LENGTH or not code.isdigit():
        raise InvalidInput("a booking code has 8 digits")
    if len(last4) != 4 or not last4[:3].isdigit() or not (last4[3].isdigit() or last4[3] == "X"):
        raise InvalidInput("the last 4 of an ID number are digits (the last may be X)")
    return Identity(IdentityKind.BOOKING_CODE, code, id_last4=last4)


@dataclass(frozen=True, slots=True)
class Identified:
    patient: Patient
    identity: Identity
    created: bool = False
    """True when this visit created the patient's record (first visit, 实名建档)."""


class Identifier:
    """Resolves an Identity with the HIS; an ID card with no record yet creates one."""

    def __init__(self, his: HisApi) -> None:
        self._his = his

    def resolve(self, identity: Identity) -> Identified:
        return Identified(self._his.resolve_patient(identity), identity)

    def resolve_id_card(self, card: IdCardData, today: dt.date) -> Identified:
        identity = from_id_card(card, today)
        try:
            return Identified(self._his.resolve_patient(identity), identity)
        except NotFound:
            pass
        # 凭二代身份证实名制建档: only a genuine card read creates a record; the kiosk never invents one.
        log.info("first visit: creating the patient record", extra={"id": card.id_number.masked})
        try:
            patient = self._his.create_patient(card, idempotency_key=str(uuid.uuid4()))
        except HisRefused as exc:
            if exc.code == "VALIDATION":  # the card's own data disagree: checking again cannot help
                exc.message_key = "his.VALIDATION.id_card"
            raise
        return Identified(patient, identity, created=True)

    def resolve_insurance_card(self, card: InsuranceCardData, today: dt.date) -> Identified:
        return self.resolve(from_insurance_card(card, today))

    def resolve_scan(self, code: str) -> Identified:
        """Try the code as a hospital visit-card barcode, then as a QR credential (e-voucher, e-health
        card). In this order: a HIS may also resolve a visit card sent as `qr`, and a visit card taken
        for an insurance e-voucher fails the pre-settlement (IDENTITY_MISMATCH)."""
        identity = from_scan(code)
        try:
            return self.resolve(Identity(IdentityKind.VISIT_CARD, identity.value))
        except NotFound:
            pass
        return self.resolve(identity)

    def resolve_booking_code(self, code: str, id_last4: str) -> Identified:
        return self.resolve(from_booking_code(code, id_last4))

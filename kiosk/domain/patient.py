"""Who the patient is: the hospital's record and the data read from the cards they present."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from kiosk.domain.idnumber import IdNumber, Sex, mask_name


def age_on(birth_date: dt.date, today: dt.date) -> int:
    """Full years of age on `today`."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True, slots=True)
class Patient:
    """The HIS's patient record as the kiosk sees it; it never holds the full ID number."""

    id: str
    name: str
    sex: Sex
    birth_date: dt.date
    id_number_masked: str
    visit_card: str
    insurance_card: str | None = None
    first_visit: bool = False

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def __repr__(self) -> str:
        return f"Patient(id={self.id!r}, name={self.masked_name!r})"


@dataclass(frozen=True, slots=True)
class IdCardData:
    """What a resident ID card (二代身份证) holds, as read by the GA 467 reader. `valid_to` None = 长期."""

    name: str
    sex: Sex
    ethnicity: str
    birth_date: dt.date
    address: str
    id_number: IdNumber
    authority: str
    valid_from: dt.date
    valid_to: dt.date | None

    def is_expired(self, today: dt.date) -> bool:
        return self.valid_to is not None and self.valid_to < today

    def __repr__(self) -> str:
        return f"IdCardData(name={mask_name(self.name)!r}, id_number={self.id_number.masked!r})"


@dataclass(frozen=True, slots=True)
class InsuranceCardData:
    """What a social-security / medical-insurance card (社保卡) holds (EF05 and EF06)."""

    card_number: str
    name: str
    id_number: str
    sex: Sex | None
    region: str
    issued: dt.date | None
    expires: dt.date | None

    def is_expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def __repr__(self) -> str:
        return f"InsuranceCardData(card={self.card_number[-4:]!r}, name={mask_name(self.name)!r})"


class IdentityKind(str, Enum):
    """How the patient identified themselves; the values are the HIS's `kind` field."""

    ID_CARD = "id_card"
    INSURANCE_CARD = "insurance_card"
    QR = "qr"
    VISIT_CARD = "visit_card"
    BOOKING_CODE = "booking_code"


@dataclass(frozen=True, slots=True)
class Identity:
    """A credential presented at the kiosk, ready for `POST /patients/resolve`."""

    kind: IdentityKind
    value: str
    id_last4: str | None = None

    def __repr__(self) -> str:
        return f"Identity({self.kind.value}, ****{self.value[-2:]})"

"""Request bodies, strictly typed: money is a non-negative int (never a float), text has no NUL."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

MAX_FEN = 10**10  # ¥100 million: anything above is a bug, and it keeps every amount inside BIGINT


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL")
    value.encode("utf-8")  # lone surrogates cannot be stored
    return value


def _id(value: Any) -> str:
    # Ids are opaque; the kiosk may send back an int or a string. bool is not an id.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("an id is a string or an integer")  # noqa: TRY004 - pydantic wants ValueError
    return str(value)


Text = Annotated[str, Field(min_length=0, max_length=500, strict=True), AfterValidator(_clean_text)]
Id = Annotated[str, BeforeValidator(_id), Field(min_length=1, max_length=64), AfterValidator(_clean_text)]
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN)]


class Body(BaseModel):
    # Fields are strict one by one (ints, bools, text); enums and dates arrive as JSON strings.
    model_config = ConfigDict(extra="ignore")


class ResolveKind(str, Enum):
    ID_CARD = "id_card"
    INSURANCE_CARD = "insurance_card"
    QR = "qr"
    VISIT_CARD = "visit_card"
    BOOKING_CODE = "booking_code"


class ResolveRequest(Body):
    kind: ResolveKind
    value: Text
    id_last4: Text | None = None


class SexIn(str, Enum):
    MALE = "male"
    FEMALE = "female"


class NewPatientRequest(Body):
    id_number: Text
    name: Annotated[str, Field(min_length=1, max_length=50, strict=True), AfterValidator(_clean_text)]
    sex: SexIn
    birth_date: dt.date
    ethnicity: Text | None = None
    address: Text | None = None
    valid_to: dt.date | None = None


class HoldRequest(Body):
    slot_id: Id
    patient_id: Id


class BookRequest(Body):
    hold_id: Id
    pay_now: StrictBool = False


class CollectRequest(Body):
    patient_id: Id


class CheckinRequest(Body):
    appointment_id: Id


class InsuranceKind(str, Enum):
    CARD = "card"
    E_VOUCHER = "e_voucher"


class Insurance(Body):
    kind: InsuranceKind
    value: Text


class PresettleRequest(Body):
    patient_id: Id
    bill_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    insurance: Insurance


class PayMethod(str, Enum):
    BANK_CARD = "bank_card"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY_QR = "unionpay_qr"
    INSURANCE_ONLY = "insurance_only"


class PaymentRequest(Body):
    patient_id: Id
    bill_ids: Annotated[list[Id], Field(min_length=1, max_length=100)] | None = None
    appointment_id: Id | None = None
    presettlement_id: Id | None = None
    amount_fen: Fen
    method: PayMethod
    terminal_ref: Text | None = None


class ClockRequest(Body):
    now: dt.datetime


class FaultsRequest(Body):
    latency_ms: Annotated[StrictInt, Field(ge=0, le=60_000)] = 0
    error_rate: Annotated[float, Field(ge=0.0, le=1.0, strict=False)] = 0.0
    down: StrictBool = False


class TitleRequest(Body):
    title: Text

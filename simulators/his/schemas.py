"""Request bodies, strictly typed: money is a non-negative int (never a float), text has no NUL."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    model_validator,
)

from simulators.his.rules import Title

MAX_FEN = 10**10  # ¥100 million: anything above is a bug, and it keeps every amount inside BIGINT
MAX_INT_ID = 2**53 - 1  # an integer id is exact as a JSON number in every client (IEEE double)
NO_NUL = r"^[^\x00]*$"
ID_NUMBER = r"^[0-9]{17}[0-9Xx]$"  # the check digit and the birth date are checked after the pattern
BOOKING_CODE = r"^[0-9]{8}$"
ID_LAST4 = r"^[0-9]{3}[0-9Xx]$"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# RFC 3339 with an offset; this century only (the clock's arithmetic never leaves datetime's range).
CLOCK_TIME = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-][0-2][0-9]:[0-5][0-9])$"


def _clean_text(value: str) -> str:
    # NUL is refused by the pattern already; lone surrogates cannot be stored (JSON Schema cannot say so).
    value.encode("utf-8")
    return value


def _id(value: Any) -> Any:
    # Ids are opaque; the kiosk may send back an int or a string. bool is not an id.
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 7.0 is the integer 7 in JSON (and in JSON Schema); money stays strict
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("an id is a string or an integer")  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, int):
        if not 0 <= value <= MAX_INT_ID:
            raise ValueError(f"an integer id is 0..{MAX_INT_ID}")
        return str(value)
    return value


def _iso_date(value: Any) -> dt.date:
    # Only YYYY-MM-DD: pydantic alone would also take a number (Unix time) or a datetime string.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or _ISO_DATE.fullmatch(value) is None:
        raise ValueError("a date is YYYY-MM-DD")
    return dt.date.fromisoformat(value)


def _clock_time(value: Any) -> dt.datetime:
    if not isinstance(value, str) or re.fullmatch(CLOCK_TIME, value) is None:
        raise ValueError("a time is RFC 3339 with an offset, e.g. 2026-11-23T08:30:00+08:00, in 2000..2099")
    return dt.datetime.fromisoformat(value)


_ID_SCHEMA = {
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL},
        {"type": "integer", "minimum": 0, "maximum": MAX_INT_ID},
    ]
}

Text = Annotated[
    str, Field(min_length=0, max_length=500, strict=True, pattern=NO_NUL), AfterValidator(_clean_text)
]
Id = Annotated[
    str,
    BeforeValidator(_id),
    Field(min_length=1, max_length=64, strict=True, pattern=NO_NUL),
    AfterValidator(_clean_text),
    WithJsonSchema(_ID_SCHEMA),
]
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
ClockTime = Annotated[
    dt.datetime,
    BeforeValidator(_clock_time),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": CLOCK_TIME}),
]


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
    """A booking code is 8 digits and comes with the last 4 characters of the ID number."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {
                        "kind": {"enum": [k.value for k in ResolveKind if k is not ResolveKind.BOOKING_CODE]}
                    }
                },
                {
                    "required": ["id_last4"],
                    "properties": {
                        "kind": {"const": ResolveKind.BOOKING_CODE.value},
                        "value": {"type": "string", "pattern": BOOKING_CODE},
                        "id_last4": {"type": "string", "pattern": ID_LAST4},
                    },
                },
            ]
        }
    )

    kind: ResolveKind
    value: Text
    id_last4: Text | None = None

    @model_validator(mode="after")
    def _booking_code(self) -> ResolveRequest:
        if self.kind is ResolveKind.BOOKING_CODE:
            if re.fullmatch(BOOKING_CODE, self.value) is None:
                raise ValueError("a booking code is 8 digits")
            if self.id_last4 is None or re.fullmatch(ID_LAST4, self.id_last4) is None:
                raise ValueError(
                    "booking_code needs id_last4: the ID number's last 3 digits and a digit or X"
                )
        return self


class SexIn(str, Enum):
    MALE = "male"
    FEMALE = "female"


class NewPatientRequest(Body):
    id_number: Annotated[str, Field(strict=True, pattern=ID_NUMBER)]
    name: Annotated[
        str, Field(min_length=1, max_length=50, strict=True, pattern=NO_NUL), AfterValidator(_clean_text)
    ]
    sex: SexIn
    birth_date: IsoDate
    ethnicity: Text | None = None
    address: Text | None = None
    valid_to: IsoDate | None = None


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


_ONE_TARGET = {
    "oneOf": [
        {"required": ["bill_ids"], "properties": {"bill_ids": {"type": "array"}}},
        {"required": ["appointment_id"], "properties": {"appointment_id": {"not": {"type": "null"}}}},
    ]
}


class PaidFor(Body):
    """What a payment pays: either bill_ids (clinic fees) or appointment_id (a registration fee)."""

    model_config = ConfigDict(json_schema_extra=_ONE_TARGET)

    patient_id: Id
    bill_ids: Annotated[list[Id], Field(min_length=1, max_length=100)] | None = None
    appointment_id: Id | None = None
    presettlement_id: Id | None = None
    amount_fen: Fen

    @model_validator(mode="after")
    def _one_target(self) -> PaidFor:
        if (self.bill_ids is None) == (self.appointment_id is None):
            raise ValueError("give either bill_ids or appointment_id")
        return self


class PaymentRequest(PaidFor):
    method: PayMethod
    terminal_ref: Text | None = None


class QrChannel(str, Enum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY_QR = "unionpay_qr"


class QrMode(str, Enum):
    SHOW = "show"
    SCAN = "scan"


class QrOrderRequest(PaidFor):
    """A QR payment; `auth_code` (付款码, 18 digits) in scan mode, none in show mode."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                _ONE_TARGET,
                {
                    "if": {"properties": {"mode": {"const": "scan"}}, "required": ["mode"]},
                    "then": {"required": ["auth_code"], "properties": {"auth_code": {"type": "string"}}},
                    "else": {"properties": {"auth_code": {"type": "null"}}},
                },
            ]
        }
    )

    channel: QrChannel
    mode: QrMode
    auth_code: Annotated[str, Field(pattern=r"^[0-9]{18}$")] | None = None

    @model_validator(mode="after")
    def _code_with_scan(self) -> QrOrderRequest:
        if (self.mode is QrMode.SCAN) != (self.auth_code is not None):
            raise ValueError("scan mode needs auth_code (the patient's payment code); show mode takes none")
        return self

    def payment(self, terminal_ref: str) -> PaymentRequest:
        """The payment this order makes once paid (its method is the channel, its reference the order)."""
        return PaymentRequest(
            patient_id=self.patient_id, bill_ids=self.bill_ids, appointment_id=self.appointment_id,
            presettlement_id=self.presettlement_id, amount_fen=self.amount_fen,
            method=PayMethod(self.channel.value), terminal_ref=terminal_ref,
        )


class ClockRequest(Body):
    now: ClockTime


class FaultsRequest(Body):
    latency_ms: Annotated[StrictInt, Field(ge=0, le=60_000)] = 0
    error_rate: Annotated[float, Field(ge=0.0, le=1.0, strict=True)] = 0.0
    down: StrictBool = False


class TitleRequest(Body):
    title: Title


class ScheduleStateRequest(Body):
    """Test mode: the hospital stops a session or the doctor is called away (停诊) after it was listed."""

    state: Literal["open", "closed", "stopped", "suspended", "substituted"]
    """As the desk stores it: `full` is not a state of its own, it is an open session with no free slot."""


class BillItemRequest(Body):
    """Test mode: the doctor adds one self-pay item to an unpaid order (its amount changes)."""

    name: Annotated[str, Field(strict=True, min_length=1, max_length=100, pattern=NO_NUL)]
    unit_price_fen: Fen

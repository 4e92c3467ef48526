"""What a payment is about and what it produced: bills, the insurance split, HIS payment records, QR
orders. Amounts are Money (integer fen); ids are opaque strings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from kiosk.domain.money import Money, total


class PayMethod(str, Enum):
    """How the self-pay part is paid (HIS-API `method`)."""

    BANK_CARD = "bank_card"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY_QR = "unionpay_qr"
    INSURANCE_ONLY = "insurance_only"

    @property
    def is_qr(self) -> bool:
        return self in (PayMethod.WECHAT, PayMethod.ALIPAY, PayMethod.UNIONPAY_QR)

    @property
    def label(self) -> str:
        """The method as printed on the receipt."""
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    PayMethod.BANK_CARD: "银行卡",
    PayMethod.WECHAT: "微信支付",
    PayMethod.ALIPAY: "支付宝",
    PayMethod.UNIONPAY_QR: "云闪付",
    PayMethod.INSURANCE_ONLY: "医保结算",
}


class QrMode(str, Enum):
    SHOW = "show"
    """The kiosk shows a QR; the patient's phone scans it."""
    SCAN = "scan"
    """The scanner reads the patient's payment code (付款码)."""


class InsuranceKind(str, Enum):
    CARD = "card"
    E_VOUCHER = "e_voucher"


@dataclass(frozen=True, slots=True)
class Insurance:
    """The credential that pre-settles with the insurer (the card number or the e-voucher code)."""

    kind: InsuranceKind
    value: str


@dataclass(frozen=True, slots=True)
class BillItem:
    name: str
    quantity: int
    unit_price: Money
    amount: Money


@dataclass(frozen=True, slots=True)
class Bill:
    """One unpaid order (处方, 检验, 检查...) with its items and where to go once it is paid."""

    id: str
    order_no: str
    kind: str
    items: tuple[BillItem, ...]
    amount: Money
    next_step: str


def bills_total(bills: tuple[Bill, ...] | list[Bill]) -> Money:
    return total([b.amount for b in bills])


@dataclass(frozen=True, slots=True)
class InsuranceSplit:
    """A pre-settlement: the insurance fund (统筹), the personal account (个人账户) and the self-pay
    part (自费) add up to the total, to the fen."""

    presettlement_id: str
    total: Money
    fund: Money
    account: Money
    self_pay: Money

    def __post_init__(self) -> None:
        if self.fund + self.account + self.self_pay != self.total:
            raise ValueError(
                f"insurance split {self.fund.fen}+{self.account.fen}+{self.self_pay.fen} != {self.total.fen} fen"
            )


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """The HIS's record of a payment (POST /payments, or a paid QR order)."""

    id: str
    status: str
    amount: Money
    paid_at: dt.datetime
    receipt_no: str
    method: str = ""
    terminal_ref: str | None = None
    appointment_id: str | None = None
    """Set when the payment was a registration fee (挂号费) rather than bills."""


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """The HIS's record that a payment went back to the patient (after 退号), at most one per payment."""

    id: str
    payment_id: str
    amount: Money
    method: str
    refunded_at: dt.datetime
    terminal_ref: str | None = None
    """The original card sale's REF (the kiosk's terminal gives that sale back)."""


class QrStatus(str, Enum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class QrOrder:
    id: str
    status: QrStatus
    amount: Money
    qr_content: str | None
    expires_at: dt.datetime | None
    payment: PaymentRecord | None = None


_CODE_CHANNELS = (("10", "15", PayMethod.WECHAT), ("25", "30", PayMethod.ALIPAY), ("62", "62", PayMethod.UNIONPAY_QR))


def channel_for_payment_code(code: str) -> PayMethod:
    """Which wallet a patient's payment code (付款码) belongs to, from its first two digits (WeChat
    10–15, Alipay 25–30, UnionPay 62); an unknown prefix goes to WeChat's aggregator."""
    prefix = code.strip()[:2]
    for low, high, method in _CODE_CHANNELS:
        if low <= prefix <= high:
            return method
    return PayMethod.WECHAT

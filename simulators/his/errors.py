"""The HIS error shape: ApiError with a rule code, plain Chinese and English words, and details."""

from __future__ import annotations

import json
from typing import Any

# code -> (HTTP status, Chinese message, English message)
CATALOGUE: dict[str, tuple[int, str, str]] = {
    "UNAUTHORIZED": (401, "终端未授权，请联系工作人员", "This kiosk is not authorised; please call staff"),
    "NOT_FOUND": (404, "没有找到相关记录", "No matching record was found"),
    "METHOD_NOT_ALLOWED": (405, "不支持的操作", "This operation is not supported"),
    "VALIDATION": (422, "请求内容有误", "The request is malformed"),
    "IDEMPOTENCY_KEY_REUSED": (
        422,
        "重复的请求编号用于不同的请求",
        "The idempotency key was used for another request",
    ),
    "BODY_TOO_LARGE": (413, "请求内容过大", "The request body is too large"),
    "UNAVAILABLE": (
        503,
        "医院系统暂时无法访问，请稍后再试",
        "The hospital system is unavailable; try again later",
    ),
    "IDEMPOTENCY_IN_PROGRESS": (
        409,
        "上一次请求仍在处理中，请稍候",
        "The same request is still being processed",
    ),
    "SLOT_TAKEN": (409, "该号源已被预约，请选择其他时段", "This slot has been taken; please choose another"),
    "HOLD_EXPIRED": (409, "锁号已超时，请重新选择号源", "The slot hold has expired; please choose again"),
    "SCHEDULE_CLOSED": (409, "该排班暂停预约", "This session is not open for booking"),
    "OUTSIDE_BOOKING_WINDOW": (409, "不在可预约时间范围内", "This date is outside the booking window"),
    "DAILY_DEPARTMENT_LIMIT": (409, "每人每天最多预约两个科室", "At most two departments per day"),
    "SAME_DEPARTMENT_DOCTOR_LIMIT": (
        409,
        "同一科室每天只能预约一次",
        "Only one booking per department per day",
    ),
    "WEEKLY_LIMIT": (409, "七天内最多预约三次", "At most three bookings in any seven days"),
    "FIRST_VISIT_EXPERT_LIMIT": (
        409,
        "初诊患者每周只能预约一次专家号",
        "First-visit patients: one expert booking a week",
    ),
    "NO_SHOW_BANNED": (409, "因多次爽约，暂停预约", "Bookings are suspended after repeated no-shows"),
    "OUTSIDE_COLLECTION_WINDOW": (409, "不在取号时间内", "Outside the collection hours"),
    "IDENTITY_MISMATCH": (409, "身份信息与预约不符", "The identity does not match the booking"),
    "CANCEL_DEADLINE_PASSED": (
        409,
        "已过自助退号时间，请到人工窗口办理",
        "Too late to cancel here; please go to a staffed window",
    ),
    "ALREADY_PAID": (409, "该费用已缴清", "This has already been paid"),
    "AMOUNT_MISMATCH": (409, "金额与应缴金额不符", "The amount does not match what is due"),
    "CARD_EXPIRED": (409, "卡已过期", "The card has expired"),
    "NOT_COLLECTED": (409, "请先取号", "Please collect the appointment first"),
    "NOT_CANCELLABLE": (409, "该预约无法退号", "This appointment cannot be cancelled"),
    "PRESETTLEMENT_INVALID": (
        409,
        "医保预结算已失效，请重新结算",
        "The insurance pre-settlement is no longer valid",
    ),
    "NOTHING_TO_PAY": (409, "没有需要缴纳的费用", "Nothing is due"),
    "PAYMENT_DECLINED": (409, "付款未成功，未扣款", "The payment was declined; nothing was charged"),
    "ORDER_EXPIRED": (409, "支付订单已过期", "The payment order has expired"),
    "ALREADY_REFUNDED": (409, "该笔费用已退款", "This payment has already been refunded"),
    "NOT_REFUNDABLE": (409, "该笔费用不能在此退款，请到收费窗口办理", "This cannot be refunded here; please go to the cashier's window"),
}


class ApiError(Exception):
    """A refusal the server answers with the error shape; status comes from the catalogue."""

    def __init__(self, code: str, details: dict[str, Any] | None = None, message: str | None = None) -> None:
        status, zh, en = CATALOGUE[code]
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = message or zh
        self.message_en = en
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "message_en": self.message_en,
                "details": self.details,
            }
        }

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False).encode("utf-8")

    @property
    def stored(self) -> bool:
        """Refusals kept under an idempotency key: accepted for processing (not 422 / 401 / 5xx)."""
        return self.status in (404, 409)

"""Plain-language words for every message key, in Chinese and English, each saying what to do next."""

from __future__ import annotations

import datetime as dt

from kiosk.domain.errors import HisRefused, KioskError

# key -> (zh_CN, en)
MESSAGES: dict[str, tuple[str, str]] = {
    "error.generic": ("系统出现问题，请到人工窗口办理。", "Something went wrong. Please go to a staffed window."),
    "error.cancelled": ("已取消。", "Cancelled."),
    "error.config": ("设备配置有误，暂停服务，请联系工作人员。", "The kiosk is misconfigured. Please call staff."),
    "device.error": ("设备故障，请到人工窗口办理。", "A device failed. Please go to a staffed window."),
    "device.offline": ("设备未连接，请联系工作人员或到人工窗口办理。", "A device is not connected. Please call staff."),
    "device.timeout": ("设备无响应，请重试。", "The device did not answer. Please try again."),
    "device.busy": ("设备忙，请稍候再试。", "The device is busy. Please wait and try again."),
    "device.protocol": ("设备通讯出错，请重试。", "Device communication failed. Please try again."),
    "card.none": ("未检测到卡片，请将卡片放在感应区。", "No card found. Please place your card on the reader."),
    "card.removed": ("读卡时卡片被移开，请重新放好卡片。", "The card was moved while reading. Please place it again."),
    "card.unreadable": ("无法读取卡片，请重新放置或更换证件。", "The card could not be read. Try again or use another card."),
    "card.expired": ("证件已过有效期，请到人工窗口办理。", "Your card has expired. Please go to a staffed window."),
    "printer.paper_out": ("打印机缺纸，请联系工作人员，可稍后补打凭条。", "The printer is out of paper. Please call staff; you can reprint later."),
    "printer.cover_open": ("打印机盖未关闭，请联系工作人员。", "The printer cover is open. Please call staff."),
    "printer.failed": ("打印失败，请到人工窗口补打凭条。", "Printing failed. Please get a reprint at a staffed window."),
    "ready.paper_out": ("打印机缺纸，暂不能办理，您的预约没有改变。请联系工作人员加纸，或到人工窗口办理。",
                        ("The printer is out of paper, so nothing was done: your booking is unchanged. "
                        "Please call staff, or go to a staffed window.")),
    "ready.cover_open": ("打印机盖未关，暂不能办理，您的预约没有改变。请联系工作人员，或到人工窗口办理。",
                         ("The printer cover is open, so nothing was done: your booking is unchanged. "
                         "Please call staff, or go to a staffed window.")),
    "ready.printer_down": ("打印机暂不可用，暂不能办理，您的预约没有改变。请到人工窗口办理。",
                   ("The printer is not working, so nothing was done: your booking is unchanged. "
                   "Please go to a staffed window.")),
    "payment.declined": ("支付未成功，卡内未扣款，请换卡或换其他方式支付。", "Payment declined; nothing was charged. Try another card or method."),
    "payment.cancelled": ("支付已取消，未扣款。", "Payment cancelled; nothing was charged."),
    "payment.unknown": ("正在确认支付结果，请勿离开。若已扣款将自动处理。", "Checking the payment result. Please wait; any charge will be handled."),
    "payment.link_failed": ("支付终端无响应，未扣款，请稍后再试。", "The payment terminal did not answer; nothing was charged."),
    "payment.pending": ("支付结果暂未确认，系统会自动核实：已扣款而未入账的将自动撤销退回。如有疑问请到人工窗口咨询。", "The payment result is not confirmed yet. The kiosk checks it automatically: a charge that was not recorded is reversed. Ask at a staffed window if in doubt."),
    "payment.not_recorded": ("医院系统未能入账，刚才的扣款已撤销，款项将退回原卡。请稍后再试或到人工窗口缴费。", "The hospital system could not record the payment; the charge was voided and goes back to your card. Try later or pay at a staffed window."),
    "payment.bill_changed": ("账单已变更，未扣款（已扣的款项已撤销）。请重新查看账单后再缴费。", "Your bill has changed; nothing was charged (any charge was voided). Please check the bill again and pay."),
    "payment.manual": ("已扣款但医院系统暂未入账，请持打印的凭条到人工窗口处理。", "You were charged but the hospital has no record yet. Take the printed slip to a staffed window."),
    "payment.qr_declined": ("付款未成功，未扣款。请换其他方式支付。", "The payment did not go through; nothing was charged. Please choose another way to pay."),
    "payment.qr_cancelled": ("二维码支付已取消，未扣款。", "The QR payment was cancelled; nothing was charged."),
    "payment.done": ("缴费成功，请取走凭条，按凭条提示前往下一步。", "Paid. Please take your receipt and follow its next steps."),
    "payment.done_not_printed": ("缴费成功，但凭条未能打印。请点击补打，或稍后在查询补打中打印。", "Paid, but the receipt was not printed. Tap reprint, or reprint it later under Lookup & reprint."),
    "payment.closed": ("自助缴费暂停，请到人工窗口缴费；其他业务可正常办理。", "Payments are paused here; please pay at a staffed window. Other services work as usual."),
    "his.error": ("医院系统返回错误，请到人工窗口办理。", "The hospital system returned an error. Please go to a staffed window."),
    "his.unavailable": ("医院系统暂时无法连接，请稍后再试或到人工窗口办理。", "The hospital system is unreachable. Try again later or go to a staffed window."),
    "his.NOT_FOUND": ("未找到您的就诊信息，请核对后重试或到人工窗口办理。", "No record found. Please check and try again, or go to a staffed window."),
    "his.VALIDATION": ("信息格式有误，请核对后重试。", "The information is not valid. Please check and try again."),
    "his.VALIDATION.id_card": ("身份证信息有误，无法建立就诊档案，请到人工窗口办理。", "The data on your ID card do not agree, so no record can be made from it. Please go to a staffed window."),
    "his.SLOT_TAKEN": ("该时段已被预约，请选择其他时段。", "That time slot has just been taken. Please choose another."),
    "his.HOLD_EXPIRED": ("号源锁定已超时，请重新选择。", "Your hold on the slot expired. Please choose again."),
    "his.SCHEDULE_CLOSED": ("该号源已停止预约（停诊或截止），请选择其他医生或日期。", "Booking for this session has closed (doctor away or cut-off). Please choose another doctor or day."),
    "his.OUTSIDE_BOOKING_WINDOW": ("该日期或时段已不在可预约范围内，请选择其他日期。", "That day or time can no longer be booked. Please choose another day."),
    "his.OUTSIDE_BOOKING_WINDOW.not_released": ("该日的号源今天 {opens_at} 放号，请到时再来预约，或选择其他日期。", "Slots for that day are released today at {opens_at}. Please come back then, or choose another day."),
    "his.OUTSIDE_BOOKING_WINDOW.tomorrow_closed": ("明天的预约已于今天 {closes_at} 截止，请选择其他日期，或明天来当日挂号。", "Booking for tomorrow closed today at {closes_at}. Please choose another day, or register on the day tomorrow."),
    "his.OUTSIDE_BOOKING_WINDOW.same_day_cutoff": ("该时段的当日挂号已于 {closes_at} 截止，请选择其他时段或日期，或到人工窗口咨询。", "Same-day registration for that session closed at {closes_at}. Please choose another session or day, or ask at a staffed window."),
    "his.DAILY_DEPARTMENT_LIMIT": ("同一天最多预约2个科室，请选择其他日期。", "At most 2 departments a day can be booked. Please choose another day."),
    "his.SAME_DEPARTMENT_DOCTOR_LIMIT": ("同一科室同一天只能预约1位医生，您已有该科室当天的预约，可在“查询补打”查看。", "You already have a booking in this department that day (one a day); see it in “Look up and reprint”."),
    "his.WEEKLY_LIMIT": ("7天内最多预约3次，请在已有预约就诊后再预约，或到人工窗口咨询。", "At most 3 bookings in 7 days. Please book again after a visit, or ask at a staffed window."),
    "his.FIRST_VISIT_EXPERT_LIMIT": ("初诊患者每周最多预约1次初诊专家号，请选择主治医师或普通号。", "A first visit may book one expert a week. Please choose an attending doctor or the general clinic."),
    "his.NO_SHOW_BANNED": ("因多次爽约，暂停预约至 {banned_until}，期间请到人工窗口挂号。", "Bookings are suspended until {banned_until} after repeated no-shows; please register at a staffed window meanwhile."),
    "his.OUTSIDE_COLLECTION_WINDOW": ("当前不在取号时间，请在 {window_start} 至 {window_end} 之间取号。", "Not collection time. Please come back between {window_start} and {window_end}."),
    "his.IDENTITY_MISMATCH": ("证件与预约人不一致，无法取号。", "This card does not match the booking. Collection refused."),
    "his.CANCEL_DEADLINE_PASSED": ("已过退号时间，请到人工窗口办理。", "Too late to cancel here. Please go to a staffed window."),
    "his.NOT_COLLECTED": ("请先到自助机“预约取号”后再报到。", "Please collect your booking (Collect booking) before checking in."),
    "his.NOT_CANCELLABLE": ("该预约已取号或已失效，不能退号，请到人工窗口咨询。", "This booking was already collected or is no longer valid. Please ask at a staffed window."),
    "his.ALREADY_PAID": ("该费用已支付，无需重复缴费。", "This has already been paid."),
    "his.AMOUNT_MISMATCH": ("账单已变更，未扣款。请重新查看账单后再缴费。", "Your bill has changed; nothing was charged. Please check the bill again and pay."),
    "his.PAYMENT_DECLINED": ("付款码支付未成功，未扣款。请换其他方式支付。", "The payment code was declined; nothing was charged. Please choose another way to pay."),
    "his.ORDER_EXPIRED": ("支付二维码已过期，未扣款。请重新发起支付。", "The payment QR expired; nothing was charged. Please start again."),
    "his.PRESETTLEMENT_INVALID": ("医保结算已失效，未扣款。请重新缴费。", "The insurance settlement is no longer valid; nothing was charged. Please start again."),
    "his.IDEMPOTENCY_IN_PROGRESS": ("医院系统正在处理上一次请求，请稍候再试。", "The hospital system is still working on the last request. Please wait and try again."),
    "his.CARD_EXPIRED": ("证件已过有效期，请到人工窗口办理。", "Your card has expired. Please go to a staffed window."),
    "his.UNAVAILABLE": ("医院系统暂时无法连接，请稍后再试或到人工窗口办理。", "The hospital system is unreachable. Try again later."),
}


def message_for(error: KioskError, language: str = "zh_CN") -> str:
    """The words to show the patient for `error`, in `language` ('zh_CN' or 'en')."""
    index = 1 if language.startswith("en") else 0
    pair = MESSAGES.get(error.message_key)
    if isinstance(error, HisRefused):  # the HIS's reason, where it changes what the patient can do
        pair = MESSAGES.get(f"{error.message_key}.{error.details.get('reason')}", pair)
    if pair is None and isinstance(error, HisRefused):
        server = error.server_message_en if index else error.server_message
        if server:
            return server
    text = (pair or MESSAGES["error.generic"])[index]
    if isinstance(error, HisRefused) and error.details:
        try:
            return text.format(**{k: _plain(v) for k, v in error.details.items()})
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _plain(value: object) -> object:
    """An ISO time from the HIS ('2026-11-23T13:30:00+08:00') as a patient reads it ('13:30')."""
    if isinstance(value, str) and "T" in value:
        try:
            return dt.datetime.fromisoformat(value).strftime("%H:%M")
        except ValueError:
            return value
    return value


def text(key: str, language: str = "zh_CN") -> str:
    """The words for a plain message key (no error object)."""
    pair = MESSAGES.get(key, MESSAGES["error.generic"])
    return pair[1 if language.startswith("en") else 0]

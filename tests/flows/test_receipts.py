"""The registration slip (挂号凭条) layout: masking, big queue number, check-in QR, unpaid fee."""

from __future__ import annotations

from kiosk_test_fakes import NOW, create_appointment, create_his

from kiosk.domain.appointment import Collected
from kiosk.domain.document import QrCode, Text
from kiosk.domain.money import Money
from kiosk.flows.receipts import (
    RefundLine,
    SlipContext,
    checkin_code,
    parse_checkin_code,
    refund_slip,
    registration_slip,
)


def _slip(fee_due: int = 0, doctor: str | None = "李四"):
    patient = create_his().patients["P1"]
    collected = Collected(
        create_appointment(doctor=doctor, title=None if doctor is None else "主任医师"),
        "A015",
        "305诊室",
        "3楼",
        Money(fee_due),
    )
    return registration_slip(patient, collected, SlipContext("示范医院", "K07", NOW, "tx-1"))


def test_slip_masks_patient_data_and_shows_the_visit() -> None:
    slip = _slip()
    text = slip.plain_text()
    for expected in (
        "示范医院",
        "挂号凭条",
        "姓名：张*三",
        "心血管内科",
        "李四 主任医师",
        "2026-11-23 上午",
        "09:00-09:30",
        "3楼 305诊室",
        "挂号费：¥50.00",
        "已预付",
        "流水号：tx-1",
        "打印时间：2026-11-23 08:15:00",
        "终端号：K07",
    ):
        assert expected in text, expected
    assert "证件：110***********" in text and "就诊卡：****1234" in text
    assert "V0001234" not in text


def test_queue_number_is_the_biggest_text_and_qr_checks_in() -> None:
    slip = _slip()
    texts = [b for b in slip.blocks if isinstance(b, Text)]
    biggest = max(texts, key=lambda t: t.width * t.height)
    assert biggest.text == "A015" and biggest.width >= 3
    [qr] = [b for b in slip.blocks if isinstance(b, QrCode)]
    assert parse_checkin_code(qr.data) == "A1"
    assert parse_checkin_code("WXP://whatever") is None and checkin_code("9") == "CHECKIN:9"


def test_unpaid_fee_and_general_clinic() -> None:
    text = _slip(fee_due=1500, doctor=None).plain_text()
    assert "普通号" in text and "应缴 ¥15.00" in text


def test_refund_slip_says_how_each_payment_went_back_with_its_references() -> None:
    patient = create_his().patients["P1"]
    lines = (RefundLine(Money(5000), "bank_card", "back", "K01-S1", "K01-V1"), RefundLine(Money(600), "wechat", "open"))
    text = refund_slip(patient, create_appointment(), lines, SlipContext("示范医院", "K01", NOW, "TX-9")).plain_text()
    assert "退费凭条" in text and "状态：已退号" in text and "预约码：12345678" in text
    assert "退款金额：¥50.00" in text and "原支付方式：银行卡" in text and "已原路退回" in text
    assert "原交易流水：K01-S1" in text and "退款流水：K01-V1" in text
    assert "原支付方式：微信" in text and "退款处理中" in text and "处理号：TX-9" in text
    assert patient.name not in text and "张*三" in text

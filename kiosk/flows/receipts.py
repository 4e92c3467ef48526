"""Printout layouts as kiosk.domain.document.Document: the registration slip (挂号凭条) at collection
and at booking, the queue ticket (排队小票), a reprint's 补打 mark, the payment receipt (缴费凭条) and
the slip for a charge only a staffed window can settle (请到人工窗口处理) and the refund slip after 退号
(退费凭条)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from kiosk.devices.ports import PaymentResult
from kiosk.domain.appointment import Appointment, Collected
from kiosk.domain.document import Align, Block, Document, Feed, QrCode, Rule, Text
from kiosk.domain.idnumber import mask_card, mask_id_number, mask_name
from kiosk.domain.money import Money
from kiosk.domain.patient import Patient
from kiosk.domain.payment import Bill, InsuranceSplit, PaymentRecord, PayMethod
from kiosk.domain.schedule import QueueTicket

CHECKIN_PREFIX = "CHECKIN:"
_PERIODS = {"am": "上午", "pm": "下午"}


def checkin_code(appointment_id: str) -> str:
    """The text of the slip's QR code, scanned at the department's check-in point (报到)."""
    return f"{CHECKIN_PREFIX}{appointment_id}"


def parse_checkin_code(code: str) -> str | None:
    """The appointment id in a scanned slip QR, or None if the code is something else."""
    if not code.startswith(CHECKIN_PREFIX):
        return None
    return code[len(CHECKIN_PREFIX) :] or None


@dataclass(frozen=True, slots=True)
class SlipContext:
    """Where and when the slip is printed, and how the fee was settled."""

    hospital_name: str
    kiosk_id: str
    printed_at: dt.datetime
    transaction_no: str
    payment_method: str | None = None
    """How the fee was paid at this kiosk ('银行卡', '微信'...); None = paid when booking, or not yet."""


def _heading(ctx: SlipContext, title: str) -> list[Block]:
    """Every printout's top: the hospital, large, then what the paper is."""
    return [Text(ctx.hospital_name, Align.CENTER, width=2, height=2, bold=True), Text(title, Align.CENTER, bold=True),
            Rule()]


def _slip_head(patient: Patient, appt: Appointment, ctx: SlipContext) -> list[Block]:
    """A 挂号凭条's top: hospital, title, the masked patient, and the visit (department, doctor, when)."""
    doctor = " ".join(p for p in (appt.doctor or "普通号", appt.doctor_title or "") if p)
    blocks: list[Block] = [
        *_heading(ctx, "挂号凭条"),
        Text(f"姓名：{mask_name(patient.name)}"),
        Text(f"证件：{mask_id_number(patient.id_number_masked)}"),
    ]
    if patient.visit_card:
        blocks.append(Text(f"就诊卡：{mask_card(patient.visit_card)}"))
    return blocks + [
        Rule(),
        Text(f"科室：{appt.department}"),
        Text(f"医生：{doctor}"),
        Text(f"日期：{appt.date.isoformat()} {_PERIODS.get(appt.period, appt.period)}"),
        Text(f"时段：{appt.time_text}"),
    ]


def registration_slip(patient: Patient, collected: Collected, ctx: SlipContext) -> Document:
    """挂号凭条: everything a patient and the clinic need, with the patient's name and numbers masked."""
    appt = collected.appointment
    where = " ".join(p for p in (collected.floor, collected.room) if p)
    blocks = _slip_head(patient, appt, ctx)
    blocks += [
        Rule(),
        Text("排队号", Align.CENTER),
        Text(collected.queue_number, Align.CENTER, width=4, height=4, bold=True),
    ]
    if where:
        blocks.append(Text(f"就诊地点：{where}", Align.CENTER, width=2, height=2))
    blocks += [
        Rule(),
        Text(f"挂号费：{appt.fee}"),
        Text(f"支付方式：{_payment_text(collected, ctx.payment_method)}"),
        Text(f"预约码：{appt.booking_code}"),
        Text(f"流水号：{ctx.transaction_no}"),
        Feed(),
        QrCode(checkin_code(appt.id)),
        Text("到诊区报到时请出示此码", Align.CENTER),
        *_footer(ctx),
        Text("请妥善保管，遗失不补", Align.CENTER),
    ]
    return Document(title="挂号凭条", blocks=tuple(blocks))


def _payment_text(collected: Collected, method: str | None) -> str:
    if method:
        return method
    if collected.fee_due:
        return f"未支付，应缴 {collected.fee_due}，请到收费窗口缴费"
    return "已预付"


def booking_slip(patient: Patient, appt: Appointment, ctx: SlipContext) -> Document:
    """挂号凭条 of a booking (预约挂号): the booking code to collect with, since the queue number comes then."""
    where = " ".join(p for p in (appt.floor, appt.room) if p)
    paid = ctx.payment_method or ("已支付" if appt.paid >= appt.fee else "未支付，请于取号时缴费")
    blocks = _slip_head(patient, appt, ctx)
    if where:
        blocks.append(Text(f"就诊地点：{where}"))
    blocks += [
        Rule(),
        Text("预约码", Align.CENTER),
        Text(appt.booking_code, Align.CENTER, width=2, height=2, bold=True),
        Text("排队号：就诊当日取号时分配", Align.CENTER),
        Rule(),
        Text(f"挂号费：{appt.fee}"),
        Text(f"支付方式：{paid}"),
        Text(f"流水号：{ctx.transaction_no}"),
        Feed(),
        QrCode(checkin_code(appt.id)),
        Text("就诊当日凭身份证或预约码取号", Align.CENTER),
        *_footer(ctx),
    ]
    return Document(title="挂号凭条", blocks=tuple(blocks))


def queue_ticket(ticket: QueueTicket, ctx: SlipContext) -> Document:
    """排队小票: the big queue number, where to wait, how many are ahead and about how long."""
    where = " ".join(p for p in (ticket.floor, ticket.room) if p)
    blocks: list[Block] = [
        Text(ctx.hospital_name, Align.CENTER, bold=True),
        Text("排队小票", Align.CENTER, bold=True),
        Rule(),
        Text(ticket.department, Align.CENTER, width=2, height=2),
        Text(ticket.queue_number, Align.CENTER, width=4, height=4, bold=True),
        Text(f"候诊地点：{where}", Align.CENTER),
        Text(f"前面还有 {ticket.ahead} 人，预计等候 {ticket.estimated_wait_min} 分钟", Align.CENTER),
        Rule(),
        Text(f"流水号：{ctx.transaction_no}"),
        *_footer(ctx),
        Text("请留意叫号屏幕，过号请到分诊台", Align.CENTER),
    ]
    return Document(title="排队小票", blocks=tuple(blocks))


def reprint(document: Document, count: int, printed_at: dt.datetime) -> Document:
    """The same document marked 补打 with how many times it has been reprinted, under its title."""
    mark = Text(f"【补打】第 {count} 次  {printed_at:%Y-%m-%d %H:%M:%S}", Align.CENTER, bold=True)
    blocks = list(document.blocks)
    at = next((i + 1 for i, b in enumerate(blocks) if isinstance(b, Text) and b.text == document.title), 0)
    return dataclasses.replace(document, title=f"{document.title}（补打）", blocks=tuple(blocks[:at] + [mark] + blocks[at:]))
@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """What a 缴费凭条 shows besides the bills: how the money moved, with every reference."""

    amount_total: Money
    split: InsuranceSplit | None
    self_pay: Money
    method: PayMethod
    record: PaymentRecord
    terminal: PaymentResult | None = None
    qr_order_id: str | None = None


def payment_receipt(patient: Patient | None, bills: tuple[Bill, ...], facts: ReceiptFacts, ctx: SlipContext,
                    registration: str | None = None) -> Document:
    """缴费凭条: items with quantity and amount, the insurance split, the method, references, next steps.
    `registration` names the fee when a registration fee (not bills) was paid."""
    blocks: list[Block] = [
        *_heading(ctx, "缴费凭条"),
    ]
    if patient is not None:
        blocks += [Text(f"姓名：{mask_name(patient.name)}"), Text(f"证件：{mask_id_number(patient.id_number_masked)}")]
        blocks.append(Rule())
    if registration is not None:
        blocks.append(Text(f"{registration}  {facts.amount_total}"))
    for bill in bills:
        blocks.append(Text(f"单号 {bill.order_no}  {_KINDS.get(bill.kind, bill.kind)}", bold=True))
        blocks += [Text(f"  {i.name} x{i.quantity}  {i.amount}") for i in bill.items]
        blocks.append(Text(f"  小计 {bill.amount}", Align.RIGHT))
    blocks += [Rule(), Text(f"合计：{facts.amount_total}", bold=True)]
    if facts.split is not None:
        blocks += [
            Text(f"医保统筹：{facts.split.fund}"),
            Text(f"个人账户：{facts.split.account}"),
            Text(f"个人自付：{facts.split.self_pay}"),
        ]
    blocks += [Text(f"支付方式：{facts.method.label}  {facts.self_pay}")]
    if facts.terminal is not None:
        blocks += [
            Text(f"卡号：{facts.terminal.card}"),
            Text(f"参考号：{facts.terminal.rrn}  凭证号：{facts.terminal.trace}"),
            Text(f"终端流水：{facts.terminal.ref}"),
        ]
    if facts.qr_order_id is not None:
        blocks.append(Text(f"订单号：{facts.qr_order_id}"))
    blocks += [Text(f"收据号：{facts.record.receipt_no}"), Text(f"交易号：{facts.record.id}")]
    steps = [b.next_step for b in bills if b.next_step]
    if steps:
        blocks += [Rule(), Text("下一步：", bold=True)]
        blocks += [Text(f"{n}. {step}") for n, step in enumerate(dict.fromkeys(steps), start=1)]
    blocks += _footer(ctx)
    return Document(title="缴费凭条", blocks=tuple(blocks))


def manual_handling_slip(terminal_ref: str, amount: Money, reason: str, ctx: SlipContext) -> Document:
    """请到人工窗口处理: a charge the kiosk could neither record nor void, with what the cashier needs."""
    blocks: list[Block] = [
        Text(ctx.hospital_name, Align.CENTER, width=2, height=2, bold=True),
        Text("请到人工窗口处理", Align.CENTER, width=2, height=2, bold=True),
        Rule(),
        Text("您的银行卡已扣款，医院系统暂未入账，"),
        Text("请持本凭条到人工收费窗口处理。"),
        Rule(),
        Text(f"金额：{amount}", bold=True),
        Text(f"终端流水：{terminal_ref}"),
        Text(f"原因：{reason}"),
        Text(f"处理号：{ctx.transaction_no}"),
    ]
    blocks += _footer(ctx)
    return Document(title="请到人工窗口处理", blocks=tuple(blocks))


@dataclass(frozen=True, slots=True)
class RefundLine:
    """One payment of a cancelled booking and how it went back."""

    amount: Money
    method: str
    """The payment's method code (bank_card, wechat...)."""
    state: str
    """back / elsewhere / window / open (kiosk.flows.refund.Given)."""
    sale_ref: str | None = None
    refund_ref: str | None = None
    """The terminal's void or refund REF."""


_REFUND_STATES = {
    "back": "已原路退回",
    "elsewhere": "已在其他渠道退款",
    "window": "请持本凭条到收费窗口办理退费",
    "open": "退款处理中，系统将自动完成",
}


def refund_slip(patient: Patient, appt: Appointment, lines: tuple[RefundLine, ...], ctx: SlipContext) -> Document:
    """退费凭条: the cancelled visit, each payment's amount, how it goes back and the references."""
    blocks: list[Block] = [
        *_heading(ctx, "退费凭条"),
        Text(f"姓名：{mask_name(patient.name)}"),
        Text(f"科室：{appt.department}"),
        Text(f"就诊日期：{appt.date.isoformat()} {appt.time_text}"),
        Text(f"预约码：{appt.booking_code}"),
        Text("状态：已退号", bold=True),
        Rule(),
    ]
    for line in lines:
        blocks.append(Text(f"退款金额：{line.amount}", bold=True))
        blocks.append(Text(f"原支付方式：{method_label(line.method)}"))
        blocks.append(Text(f"退款状态：{_REFUND_STATES.get(line.state, line.state)}"))
        if line.sale_ref:
            blocks.append(Text(f"原交易流水：{line.sale_ref}"))
        if line.refund_ref:
            blocks.append(Text(f"退款流水：{line.refund_ref}"))
    blocks += [
        Rule(),
        Text("银行卡退款一般1-7个工作日到账；"),
        Text("逾期未到账请持本凭条到收费窗口查询。"),
        Text(f"处理号：{ctx.transaction_no}"),
    ]
    blocks += _footer(ctx)
    return Document(title="退费凭条", blocks=tuple(blocks))


def method_label(code: str) -> str:
    """The method as a patient or cashier reads it (银行卡, 微信支付...); an unknown code as it is."""
    try:
        return PayMethod(code).label
    except ValueError:
        return code


_KINDS = {"prescription": "处方", "lab": "检验", "imaging": "检查", "treatment": "治疗", "registration": "挂号"}


def _footer(ctx: SlipContext) -> list[Block]:
    return [
        Feed(),
        Text(f"打印时间：{ctx.printed_at:%Y-%m-%d %H:%M:%S}"),
        Text(f"终端号：{ctx.kiosk_id}"),
    ]


def payment_copy(patient: Patient, payment: PaymentRecord, ctx: SlipContext) -> Document:
    """缴费凭条 as the HIS's payment record has it (a reprint: the items live with the paid bills)."""
    try:
        method = PayMethod(payment.method).label
    except ValueError:
        method = payment.method
    what = "挂号费" if payment.appointment_id else "门诊费用"
    blocks: list[Block] = [
        *_heading(ctx, "缴费凭条"),
        Text(f"姓名：{mask_name(patient.name)}"),
        Text(f"证件：{mask_id_number(patient.id_number_masked)}"),
        Rule(),
        Text(f"{what}：{payment.amount}", bold=True),
        Text(f"支付方式：{method}"),
        Text(f"收据号：{payment.receipt_no}"),
        Text(f"交易时间：{payment.paid_at:%Y-%m-%d %H:%M:%S}"),
    ]
    if payment.terminal_ref:
        blocks.append(Text(f"终端流水：{payment.terminal_ref}"))
    if payment.status != "paid":
        blocks.append(Text(f"状态：{'已冲正' if payment.status == 'reversed' else payment.status}", bold=True))
    blocks += _footer(ctx)
    return Document(title="缴费凭条", blocks=tuple(blocks))

"""In-memory fakes of the ports and the HIS client for flow and UI tests (create_* factories)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kiosk.config import Config
from kiosk.devices.base import (
    Cancel,
    Capability,
    Detail,
    DeviceState,
    DeviceStatus,
    SelfTestResult,
    StatusPublisher,
)
from kiosk.devices.ports import PaymentResult, PaymentStep
from kiosk.domain.appointment import Appointment, AppointmentStatus, Collected
from kiosk.domain.document import Document
from kiosk.domain.errors import (
    DeviceError,
    DeviceOffline,
    DeviceTimeout,
    HisRefused,
    HisUnavailable,
    NoCard,
    NotFound,
    PaymentCancelled,
    PaymentDeclined,
    PaymentOutcomeUnknown,
)
from kiosk.domain.idnumber import IdNumber, Sex, check_char
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, Identity, IdentityKind, InsuranceCardData, Patient
from kiosk.domain.payment import Bill, BillItem, InsuranceSplit, PaymentRecord, QrOrder, QrStatus
from kiosk.domain.schedule import Department, Doctor, Hold, Period, QueueTicket, Schedule, ScheduleState, Slot
from kiosk.flows.services import HOSPITAL_TZ, Services
from kiosk.sync.client import Health

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 8, 15, tzinfo=HOSPITAL_TZ)


def id_number(first17: str = "11010519491231002") -> IdNumber:
    return IdNumber(first17 + check_char(first17))


def create_id_card(
    name: str = "张小三", first17: str = "11010519491231002", valid_to: dt.date | None = None
) -> IdCardData:
    number = id_number(first17)
    return IdCardData(
        name=name,
        sex=number.sex,
        ethnicity="汉",
        birth_date=number.birth_date,
        address="北京市东城区",
        id_number=number,
        authority="北京市公安局东城分局",
        valid_from=dt.date(2020, 1, 1),
        valid_to=valid_to if valid_to is not None else dt.date(2040, 1, 1),
    )


def create_insurance_card(
    card_number: str = "A12345678", expires: dt.date | None = None
) -> InsuranceCardData:
    return InsuranceCardData(card_number, "张小三", id_number().value, Sex.FEMALE, "110100", None, expires)


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(TODAY.year, TODAY.month, TODAY.day, hour, minute, tzinfo=HOSPITAL_TZ)


def create_appointment(
    id: str = "A1",
    code: str = "12345678",
    patient_id: str = "P1",
    department: str = "心血管内科",
    doctor: str | None = "李四",
    title: str | None = "主任医师",
    hour: int = 9,
    fee_fen: int = 5000,
    status: AppointmentStatus = AppointmentStatus.BOOKED,
) -> Appointment:
    return Appointment(
        id=id,
        booking_code=code,
        patient_id=patient_id,
        date=TODAY,
        period="am" if hour < 12 else "pm",
        start=_at(hour, 0),
        end=_at(hour, 30),
        department_id="D1",
        department=department,
        doctor=doctor,
        doctor_title=title,
        fee=Money(fee_fen),
        status=status,
    )


@dataclass
class FakeHis:
    """The HIS contract in memory: one patient by default, with two appointments today."""

    patients: dict[str, Patient] = field(default_factory=dict)
    credentials: dict[tuple[IdentityKind, str], str] = field(default_factory=dict)
    id_last4: dict[str, str] = field(default_factory=dict)
    appointments: list[Appointment] = field(default_factory=list)
    down: bool = False
    lose_next_collect_answer: bool = False
    refuse_collect: HisRefused | None = None
    fee_due_fen: int = 0
    """What 取号 answers as still due (the fee when the booking was not paid at once)."""
    collect_errors: list[Exception] = field(default_factory=list)
    """Raised, one per call, before the collection is looked at (e.g. IDEMPOTENCY_IN_PROGRESS)."""
    calls: list[str] = field(default_factory=list)
    collect_keys: dict[str, Collected] = field(default_factory=dict)

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise HisUnavailable(f"{call}: cannot connect")

    def health(self) -> Health:
        self._check("health")
        return Health(True, NOW)

    def resolve_patient(self, identity: Identity) -> Patient:
        self._check("resolve")
        if identity.kind is IdentityKind.BOOKING_CODE:
            for a in self.appointments:
                patient = self.patients.get(a.patient_id)
                last4 = self.id_last4.get(a.patient_id)
                if a.booking_code == identity.value and patient and last4 == identity.id_last4:
                    return patient
            raise NotFound("未找到", "not found")
        patient_id = self.credentials.get((identity.kind, identity.value))
        if patient_id is None:
            raise NotFound("未找到", "not found")
        return self.patients[patient_id]

    def create_patient(self, card: IdCardData, idempotency_key: str | None = None) -> Patient:
        self._check("create_patient")
        patient = Patient(
            f"P{len(self.patients) + 1}",
            card.name,
            card.sex,
            card.birth_date,
            card.id_number.masked,
            f"V{len(self.patients) + 1:07d}",
            first_visit=True,
        )
        self.patients[patient.id] = patient
        self.credentials[(IdentityKind.ID_CARD, card.id_number.value)] = patient.id
        self.id_last4[patient.id] = card.id_number.last4
        return patient

    def list_appointments(self, patient_id: str, date: dt.date) -> list[Appointment]:
        self._check("list")
        return [a for a in self.appointments if a.patient_id == patient_id and a.date == date]

    def collect(self, appointment_id: str, patient_id: str, idempotency_key: str) -> Collected:
        self._check("collect")
        if self.collect_errors:
            raise self.collect_errors.pop(0)
        if idempotency_key in self.collect_keys:
            return self.collect_keys[idempotency_key]
        if self.refuse_collect is not None:
            raise self.refuse_collect
        appt = next(a for a in self.appointments if a.id == appointment_id)
        if appt.patient_id != patient_id:
            raise HisRefused("IDENTITY_MISMATCH", "证件与预约人不一致", "mismatch")
        done = replace(appt, status=AppointmentStatus.COLLECTED)
        self.appointments[self.appointments.index(appt)] = done
        result = Collected(done, f"A{len(self.collect_keys) + 12:03d}", "305诊室", "3楼", Money(self.fee_due_fen))
        self.collect_keys[idempotency_key] = result
        if self.lose_next_collect_answer:
            self.lose_next_collect_answer = False
            raise HisUnavailable("answer lost")
        return result


def create_his() -> FakeHis:
    card = create_id_card()
    patient = Patient(
        "P1",
        card.name,
        card.sex,
        card.birth_date,
        card.id_number.masked,
        "V0001234",
        insurance_card="A12345678",
    )
    his = FakeHis(patients={"P1": patient})
    his.credentials[(IdentityKind.ID_CARD, card.id_number.value)] = "P1"
    his.id_last4["P1"] = card.id_number.last4
    his.credentials[(IdentityKind.INSURANCE_CARD, "A12345678")] = "P1"
    his.credentials[(IdentityKind.VISIT_CARD, "V0001234")] = "P1"
    his.appointments = [
        create_appointment("A1", "12345678", hour=9),
        create_appointment(
            "A2", "87654321", department="消化内科", doctor="王五", title="副主任医师", hour=14, fee_fen=3000
        ),
        create_appointment("A0", "11112222", status=AppointmentStatus.COLLECTED, hour=8),
    ]
    return his


class _FakeDevice:
    def __init__(self, name: str) -> None:
        self.name = name
        self._status = StatusPublisher(name)
        self._status.set(DeviceState.ONLINE)

    def open(self) -> None: ...

    def close(self) -> None: ...

    def status(self) -> DeviceStatus:
        return self._status.status()

    def subscribe(self, listener: Callable[[str, DeviceStatus], None]) -> Callable[[], None]:
        return self._status.subscribe(listener)

    def capabilities(self) -> frozenset[Capability]:
        return frozenset()

    def self_test(self) -> SelfTestResult:
        return SelfTestResult(True, ("fake",))


class FakeCardReader(_FakeDevice):
    """Hands out queued cards; with none queued it answers NoCard at once (no waiting in tests).

    `insert(card)` leaves a card in, as a PC/SC reader holds one: every read returns it and the status
    says CARD_PRESENT until `remove()`."""

    def __init__(self, name: str, cards: list | None = None) -> None:
        super().__init__(name)
        self.cards = list(cards or [])
        self.reads = 0
        self.inserted = None

    def insert(self, card) -> None:
        self.inserted = card
        self._status.set(DeviceState.ONLINE, Detail.CARD_PRESENT)

    def remove(self) -> None:
        self.inserted = None
        self._status.set(DeviceState.ONLINE)

    def unplug(self) -> None:
        self._status.set(DeviceState.NO_DEVICE, Detail.NO_READER)

    def replug(self) -> None:
        self._status.set(DeviceState.ONLINE)

    def read_card(self, timeout_s: float, cancel: Cancel | None = None):
        self.reads += 1
        if not self.status().state.usable:
            raise DeviceOffline(f"{self.name} unplugged")
        if self.inserted is not None:
            return self.inserted
        if not self.cards:
            raise NoCard("no card")
        card = self.cards.pop(0)
        if isinstance(card, Exception):
            raise card
        return card


class FakeScanner(_FakeDevice):
    def __init__(self, codes: list[str] | None = None) -> None:
        super().__init__("scanner")
        self.codes = list(codes or [])

    def read_code(self, timeout_s: float, cancel: Cancel | None = None) -> str:
        if not self.codes:
            raise NoCard("nothing scanned")
        return self.codes.pop(0)


class FakePrinter(_FakeDevice):
    """Keeps every printed Document; `fail_with` makes the next prints raise it. `run_out_of_paper()`
    empties it unseen: only a fresh `refresh()` (or a print) notices, as between two idle polls."""

    def __init__(self) -> None:
        super().__init__("printer")
        self.printed: list[Document] = []
        self.fail_with: DeviceError | None = None
        self.paper_out_unseen = False

    def run_out_of_paper(self) -> None:
        self.paper_out_unseen = True

    def refresh(self) -> DeviceStatus:
        if self.paper_out_unseen:
            self._status.set(DeviceState.USER_ERROR, Detail.PAPER_OUT)
        return self.status()

    def print_document(self, document: Document) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.printed.append(document)


def create_services(
    his: FakeHis | None = None, *, cards: list | None = None, idle_timeout_s: int = 60
) -> Services:
    config = Config()
    config = replace(
        config, kiosk=replace(config.kiosk, idle_timeout_s=idle_timeout_s, hospital_name="示范医院")
    )
    return Services(
        config=config,
        his=his if his is not None else create_his(),
        idcard=FakeCardReader("idcard", cards),
        insurance=FakeCardReader("insurance"),
        printer=FakePrinter(),
        scanner=FakeScanner(),
        clock=lambda: NOW,
    )


# --- booking (预约挂号, 报到, 查询补打, 退号) -------------------------------------------------------------
TOMORROW = NOW.date() + dt.timedelta(days=1)


def _slot(schedule: str, hour: int, minute: int, free: bool = True) -> Slot:
    start = NOW.replace(day=TOMORROW.day, hour=hour, minute=minute)
    return Slot(f"{schedule}-{hour:02d}{minute:02d}", start, start + dt.timedelta(minutes=15), free)


@dataclass
class BookingHis(FakeHis):
    """FakeHis with a catalogue: one department, a doctor (substituted on one session) and holds."""

    holds: dict[str, str] = field(default_factory=dict)
    refuse_hold: HisRefused | None = None
    refuse_book: HisRefused | None = None
    lose_next_book_answer: bool = False
    booked: dict[str, Appointment] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    payments_made: list[PaymentRecord] = field(default_factory=list)
    given_back: list[str] = field(default_factory=list)
    pay_now: dict[str, bool] = field(default_factory=dict)
    """Unpaid bookings made with pay_now and cancelled (the HIS allows that at any time)."""

    def patient_payments(self, patient_id: str, date: dt.date) -> list[PaymentRecord]:
        self._check("payments")
        return list(self.payments_made)

    def list_appointments(self, patient_id: str, date: dt.date | None) -> list[Appointment]:
        self._check("list")
        return [a for a in self.appointments if a.patient_id == patient_id and date in (None, a.date)]

    def departments(self) -> list[Department]:
        return [Department("G1", "内科", "Medicine", "2F", ""), Department("D1", "神经内科", "Neurology", "2F", "204", "G1")]

    def doctors(self, department_id: str | None = None) -> list[Doctor]:
        return [Doctor("DR1", "李四", "主任医师", "Chief physician", "头痛", "D1"),
                Doctor("DR2", "王五", "主治医师", "Attending physician", "眩晕", "D1")]

    def schedules(self, department_id: str, date: dt.date | None) -> list[Schedule]:
        return [
            Schedule("S1", "DR1", TOMORROW, Period.AM, ScheduleState.OPEN, None, Money(4100), 3),
            Schedule("S2", "DR2", TOMORROW, Period.PM, ScheduleState.SUBSTITUTED, "DR1", Money(1100), 2),
            Schedule("S3", None, TOMORROW, Period.AM, ScheduleState.OPEN, None, Money(600), 1),
        ]

    def slots(self, schedule_id: str) -> list[Slot]:
        hour = 14 if schedule_id == "S2" else 9
        return [
            replace(s, available=s.available and s.id not in self.taken)
            for s in (_slot(schedule_id, hour, 0), _slot(schedule_id, hour, 15), _slot(schedule_id, hour, 30))
        ]

    def hold(self, slot_id: str, patient_id: str, idempotency_key: str) -> Hold:
        self._check("hold")
        if self.refuse_hold is not None:
            raise self.refuse_hold
        if slot_id in self.taken:
            raise HisRefused("SLOT_TAKEN", "该时段已被预约", "taken")
        self.holds[f"H{len(self.holds) + 1}"] = slot_id
        return Hold(f"H{len(self.holds)}", NOW + dt.timedelta(minutes=15))

    def release_hold(self, hold_id: str) -> None:
        self._check("release")
        self.released.append(hold_id)

    def book(self, hold_id: str, pay_now: bool, idempotency_key: str) -> Appointment:
        self._check("book")
        if idempotency_key in self.booked:
            return self.booked[idempotency_key]
        if self.refuse_book is not None:
            raise self.refuse_book
        appointment = create_appointment("B1", "55556666", department="神经内科", status=AppointmentStatus.BOOKED)
        self.booked[idempotency_key] = appointment
        self.pay_now[appointment.id] = pay_now
        if self.lose_next_book_answer:
            self.lose_next_book_answer = False
            raise HisUnavailable("answer lost")
        return appointment

    def cancel_appointment(self, appointment_id: str, idempotency_key: str) -> Money:
        self._check("cancel")
        if self.pay_now.get(appointment_id):
            self.given_back.append(appointment_id)
            return Money.zero()
        raise HisRefused("CANCEL_DEADLINE_PASSED", "已过退号时间", "too late")

    def checkin(self, appointment_id: str, idempotency_key: str) -> QueueTicket:
        self._check("checkin")
        return QueueTicket("N007", "心血管内科", "305诊室", "3楼", 4, 20)



def create_booking_his() -> BookingHis:
    base = create_his()
    return BookingHis(patients=base.patients, credentials=base.credentials, id_last4=base.id_last4,
                      appointments=base.appointments)
# --- money ----------------------------------------------------------------------------------------
def create_bill(id: str = "B1", amount_fen: int = 12345, next_step: str = "请到一楼西药房取药") -> Bill:
    items = (BillItem("阿莫西林胶囊", 2, Money(2345), Money(4690)), BillItem("复方甘草片", 1, Money(amount_fen - 4690),
                                                                        Money(amount_fen - 4690)))
    return Bill(id, f"RX{id}", "prescription", items, Money(amount_fen), next_step)


@dataclass
class FakePayHis(FakeHis):
    """FakeHis with the money endpoints: idempotent by key, like the contract says.

    `answers_lost` loses that many answers of POST /payments after taking effect; `record_down` makes
    POST /payments unreachable (no effect); `fund_percent` is the insurance fund's share."""

    bills_by_id: dict[str, Bill] = field(default_factory=dict)
    paid_bills: set[str] = field(default_factory=set)
    payments: dict[str, dict] = field(default_factory=dict)
    """payment id -> the record body plus status."""
    presettlements: dict[str, dict] = field(default_factory=dict)
    qr_orders: dict[str, dict] = field(default_factory=dict)
    by_key: dict[str, object] = field(default_factory=dict)
    answers_lost: int = 0
    record_down: bool = False
    fund_percent: int = 70
    account_fen: int = 1000
    scan_answers_pending: bool = False

    def _keyed(self, key: str, make: Callable[[], object]) -> object:
        if key not in self.by_key:
            self.by_key[key] = make()
        result = self.by_key[key]
        if isinstance(result, Exception):
            raise result
        return result

    def bills(self, patient_id: str) -> list[Bill]:
        self._check("bills")
        return [b for b in self.bills_by_id.values() if b.id not in self.paid_bills]

    def presettle(self, body: dict, idempotency_key: str) -> InsuranceSplit:
        self._check("presettle")

        def make() -> InsuranceSplit:
            total = sum(self.bills_by_id[b].amount.fen for b in body["bill_ids"])
            fund = total * self.fund_percent // 100
            account = min(total - fund, self.account_fen)
            split = InsuranceSplit(f"PS{len(self.presettlements) + 1}", Money(total), Money(fund), Money(account),
                                   Money(total - fund - account))
            self.presettlements[split.presettlement_id] = {"status": "active", "split": split}
            return split

        return self._keyed(idempotency_key, make)  # type: ignore[return-value]

    def cancel_presettlement(self, presettlement_id: str, idempotency_key: str) -> None:
        self._check("cancel_presettlement")
        self.presettlements[presettlement_id]["status"] = "cancelled"

    def _pay(self, body: dict, method: str) -> PaymentRecord | Exception:
        bill_ids = body.get("bill_ids") or []
        if any(b in self.paid_bills for b in bill_ids):
            return HisRefused("ALREADY_PAID", "已支付", "already paid")
        expected = sum(self.bills_by_id[b].amount.fen for b in bill_ids)
        if body.get("presettlement_id"):
            expected = self.presettlements[body["presettlement_id"]]["split"].self_pay.fen
        if body.get("appointment_id"):
            expected = next(a.fee.fen for a in self.appointments if a.id == body["appointment_id"])
        if body["amount_fen"] != expected:
            return HisRefused("AMOUNT_MISMATCH", "金额不符", "amount mismatch")
        record = PaymentRecord(f"PAY{len(self.payments) + 1}", "paid", Money(body["amount_fen"]), NOW,
                               f"R{len(self.payments) + 1:06d}", method, body.get("terminal_ref"))
        self.paid_bills.update(bill_ids)
        if body.get("presettlement_id"):
            self.presettlements[body["presettlement_id"]]["status"] = "used"
        self.payments[record.id] = {**body, "status": "paid", "record": record}
        return record

    def record_payment(self, body: dict, idempotency_key: str) -> PaymentRecord:
        self._check("record_payment")
        if self.record_down:
            raise HisUnavailable("POST /payments: cannot connect")
        result = self._keyed(idempotency_key, lambda: self._pay(body, body["method"]))
        if self.answers_lost:
            self.answers_lost -= 1
            raise HisUnavailable("answer lost")
        return result  # type: ignore[return-value]

    def reverse_payment(self, payment_id: str, idempotency_key: str) -> PaymentRecord:
        self._check("reverse_payment")
        payment = self.payments[payment_id]
        payment["status"] = "reversed"
        self.paid_bills.difference_update(payment.get("bill_ids") or [])
        return replace(payment["record"], status="reversed")

    def _order(self, order_id: str) -> QrOrder:
        o = self.qr_orders[order_id]
        return QrOrder(order_id, QrStatus(o["status"]), Money(o["body"]["amount_fen"]), o.get("qr"),
                       NOW + dt.timedelta(minutes=5), o.get("payment"))

    def create_qr_order(self, body: dict, idempotency_key: str) -> QrOrder:
        self._check("create_qr_order")

        def make() -> QrOrder | Exception:
            order_id = f"QR{len(self.qr_orders) + 1}"
            code = body.get("auth_code", "")
            if code.endswith("0000"):
                return HisRefused("PAYMENT_DECLINED", "支付失败", "declined")
            self.qr_orders[order_id] = {"body": body, "status": "pending",
                                        "qr": f"weixin://pay/{order_id}" if body["mode"] == "show" else None}
            if body["mode"] == "scan" and not self.scan_answers_pending:
                self.patient_pays(order_id)
            return self._order(order_id)

        result = self._keyed(idempotency_key, make)
        assert isinstance(result, QrOrder)
        return self._order(result.id)

    def patient_pays(self, order_id: str) -> None:
        """The patient pays the order from the phone."""
        order = self.qr_orders[order_id]
        record = self._pay(order["body"], order["body"]["channel"])
        assert isinstance(record, PaymentRecord)
        order["status"], order["payment"] = "paid", record

    def qr_order(self, order_id: str) -> QrOrder:
        self._check("qr_order")
        return self._order(order_id)

    def cancel_qr_order(self, order_id: str, idempotency_key: str) -> QrOrder:
        self._check("cancel_qr_order")
        order = self.qr_orders[order_id]
        if order["status"] == "paid":
            raise HisRefused("ALREADY_PAID", "已支付", "already paid")
        order["status"] = "cancelled"
        return self._order(order_id)

    def recorded_fen(self) -> int:
        """Money the HIS holds as paid (reversed ones excluded)."""
        return sum(p["amount_fen"] for p in self.payments.values() if p["status"] == "paid")


def create_pay_his(*bills: Bill) -> FakePayHis:
    base = create_his()
    his = FakePayHis(patients=base.patients, credentials=base.credentials, id_last4=base.id_last4,
                     appointments=base.appointments)
    his.bills_by_id = {b.id: b for b in (bills or (create_bill("B1", 12345), create_bill("B2", 6789, "请到三楼检验科抽血")))}
    return his


class FakeTerminal(_FakeDevice):
    """The payment terminal port in memory, with a log by REF like a real one.

    `script` holds what the next sales do: "approve", "decline", "cancel", "lost" (charged, answer
    lost), "lost_uncharged" (no answer, nothing charged); `offline` makes every call fail (no query)."""

    def __init__(self) -> None:
        super().__init__("payment")
        self.script: list[str] = []
        self.log: dict[str, PaymentResult] = {}
        self.voided: set[str] = set()
        self.offline = False
        self.void_fails = False
        self.query_fails = False
        self.refund_script: list[str] = []
        self.steps_seen: list[str] = []

    def _result(self, command: str, ref: str, amount: Money, rc: str) -> PaymentResult:
        return PaymentResult(command, rc, ref, amount, "622202******1234", "123456", f"{len(self.log):012d}",
                             f"{len(self.log):06d}", "20261123081500", "交易成功" if rc == "00" else "交易拒绝")

    def sale(self, ref: str, amount: Money, on_progress=None, cancel: Cancel | None = None) -> PaymentResult:
        if self.offline:
            raise DeviceOffline("terminal unplugged")
        what = self.script.pop(0) if self.script else "approve"
        for step in (PaymentStep.INSERT_CARD, PaymentStep.ENTER_PIN, PaymentStep.PROCESSING, PaymentStep.REMOVE_CARD):
            if on_progress is not None:
                on_progress(step, step.value)
            self.steps_seen.append(step.value)
            if what == "cancel" and step is PaymentStep.ENTER_PIN:
                self.log[ref] = self._result("01", ref, amount, "UC")
                raise PaymentCancelled("cancelled at the PIN pad")
        if what == "lost_uncharged":
            raise PaymentOutcomeUnknown("no final answer")
        rc = "05" if what == "decline" else "00"
        self.log[ref] = self._result("01", ref, amount, rc)
        if what == "lost":
            raise PaymentOutcomeUnknown("no final answer")
        if rc != "00":
            raise PaymentDeclined("declined 05")
        return self.log[ref]

    def void(self, ref: str, orig_ref: str, on_progress=None, cancel: Cancel | None = None) -> PaymentResult:
        if self.offline or self.void_fails:
            raise DeviceOffline("terminal unplugged")
        original = self.log[orig_ref]
        self.voided.add(orig_ref)
        self.log[ref] = self._result("02", ref, original.amount, "00")
        return self.log[ref]

    def refund(self, ref: str, amount: Money, orig_ref: str) -> PaymentResult:
        """`refund_script` holds what the next refunds (03) do: "approve", "decline" or "lost"."""
        if self.offline:
            raise DeviceOffline("terminal unplugged")
        what = self.refund_script.pop(0) if self.refund_script else "approve"
        self.log[ref] = self._result("03", ref, amount, "05" if what == "decline" else "00")
        if what == "lost":
            raise PaymentOutcomeUnknown("no final answer")
        if what == "decline":
            raise PaymentDeclined("declined 05")
        return self.log[ref]

    def query(self, ref: str) -> PaymentResult | None:
        if self.offline or self.query_fails:
            raise DeviceTimeout("no answer to query")
        return self.log.get(ref)

    def charged_fen(self) -> int:
        return sum(r.amount.fen for ref, r in self.log.items()
                   if r.command == "01" and r.approved and ref not in self.voided)

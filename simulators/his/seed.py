"""A deterministic demo hospital (--seed N): departments, doctors, schedules, patients, bookings, bills."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.db import Database
from simulators.his.residentid import check_character
from simulators.his.rules import Rules, Title

# (group, name, name_en, floor)
_GROUPS = [
    ("G1", "内科", "Internal Medicine", "2F"),
    ("G2", "外科", "Surgery", "3F"),
    ("G3", "妇儿中心", "Women and Children", "4F"),
    ("G4", "五官及专科", "Specialist Clinics", "5F"),
]
_LEAVES = [
    ("G1", "心血管内科", "Cardiology"),
    ("G1", "呼吸内科", "Respiratory Medicine"),
    ("G1", "消化内科", "Gastroenterology"),
    ("G1", "神经内科", "Neurology"),
    ("G1", "内分泌科", "Endocrinology"),
    ("G1", "肾内科", "Nephrology"),
    ("G1", "血液科", "Hematology"),
    ("G1", "风湿免疫科", "Rheumatology"),
    ("G2", "普通外科", "General Surgery"),
    ("G2", "骨科", "Orthopedics"),
    ("G2", "泌尿外科", "Urology"),
    ("G2", "神经外科", "Neurosurgery"),
    ("G2", "胸外科", "Thoracic Surgery"),
    ("G3", "妇科", "Gynecology"),
    ("G3", "产科", "Obstetrics"),
    ("G3", "儿科", "Pediatrics"),
    ("G4", "眼科", "Ophthalmology"),
    ("G4", "耳鼻咽喉科", "Otolaryngology"),
    ("G4", "口腔科", "Stomatology"),
    ("G4", "皮肤科", "Dermatology"),
    ("G4", "中医科", "Traditional Chinese Medicine"),
    ("G4", "康复医学科", "Rehabilitation"),
    ("G4", "感染科", "Infectious Diseases"),
]
_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
) + [
    "欧阳",
    "司马",
    "诸葛",
]
_GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰建华玉梅志红晓东海波宁慧琳婷浩然子轩雨欣嘉怡思远"
)
_REGIONS = [
    ("110101", "北京市东城区"),
    ("110105", "北京市朝阳区"),
    ("310104", "上海市徐汇区"),
    ("440106", "广东省广州市天河区"),
    ("330106", "浙江省杭州市西湖区"),
    ("510107", "四川省成都市武侯区"),
    ("420106", "湖北省武汉市武昌区"),
    ("320102", "江苏省南京市玄武区"),
]
_STREETS = ["人民路", "中山路", "解放路", "建设路", "文化路", "和平街", "新华路", "长江路"]
_ETHNICITIES = ["汉"] * 17 + ["回", "满", "壮"]
_SPECIALTY = ["常见病、多发病诊治", "疑难病诊治", "微创治疗", "慢病管理", "急危重症", "术后随访"]
_BILL_ITEMS: dict[str, tuple[str, list[tuple[str, int, str]]]] = {
    # kind: (next step, [(item, unit price fen, insurance category)])
    "prescription": (
        "请到门诊西药房（1F）取药",
        [
            ("阿莫西林胶囊 0.25g×24粒", 1280, "a"),
            ("布洛芬缓释胶囊 0.3g×20粒", 1650, "a"),
            ("头孢克肟分散片 0.1g×6片", 3240, "b"),
            ("奥美拉唑肠溶胶囊 20mg×14粒", 2870, "b"),
            ("复方甘草片×100片", 450, "a"),
            ("维生素C泡腾片×10片", 2500, "c"),
        ],
    ),
    "lab": (
        "请到检验科（2F）抽血化验",
        [
            ("血常规", 2000, "a"),
            ("尿常规", 1000, "a"),
            ("肝功能", 6500, "a"),
            ("血脂四项", 4800, "b"),
            ("甲状腺功能", 9000, "b"),
        ],
    ),
    "imaging": (
        "请到放射科（B1）检查",
        [
            ("胸部X线正侧位", 8000, "a"),
            ("腹部B超", 12000, "a"),
            ("头颅CT平扫", 28000, "b"),
            ("膝关节MRI", 58000, "b"),
        ],
    ),
    "treatment": (
        "请到治疗室（3F）治疗",
        [("静脉输液", 1500, "a"), ("伤口换药", 2000, "a"), ("针灸", 3500, "b"), ("理疗", 4000, "c")],
    ),
}
PATIENTS = 1200


@dataclass
class _Rows:
    departments: list[dict[str, Any]] = field(default_factory=list)
    doctors: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)
    patients: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    bills: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)


def patient_id(n: int) -> str:
    return f"P{n:06d}"


def seed(db: Database, seed_value: int, clock: Clock, rules: Rules) -> None:
    """Fill an empty database with the hospital for `seed_value`, dated from the clock's today."""
    rows = _Builder(random.Random(seed_value), clock, rules).build()
    with db.write() as s:
        for model, data in (
            (m.Department, rows.departments),
            (m.Doctor, rows.doctors),
            (m.Patient, rows.patients),
            (m.Schedule, rows.schedules),
            (m.Slot, rows.slots),
            (m.Appointment, rows.appointments),
            (m.Hold, rows.holds),
            (m.Bill, rows.bills),
            (m.BillItem, rows.items),
        ):
            if data:
                s.execute(insert(model), data)
        if rows.counters:
            s.execute(
                insert(m.QueueCounter),
                [{"department_id": d, "date": day, "last": n} for (d, day), n in rows.counters.items()],
            )
        s.execute(
            insert(m.Meta),
            [
                {"key": "seed", "value": str(seed_value)},
                {"key": "seeded_on", "value": clock.today().isoformat()},
            ],
        )


class _Builder:
    def __init__(self, rng: random.Random, clock: Clock, rules: Rules) -> None:
        self.rng = rng
        self.rules = rules
        self.now = clock.local()
        self.today = self.now.date()
        self.rows = _Rows()
        self.codes: set[str] = set()
        self.doctor_title: dict[str, Title] = {}
        # (patient, date) -> departments, so seeded bookings respect the per-patient rules
        self.leaf_ids: list[str] = []

    def build(self) -> _Rows:
        self._departments()
        self._doctors()
        self._patients()
        self._schedules()
        self._appointments_today()
        self._full_schedules()
        self._history()
        self._bills()
        return self.rows

    # --- reference data -----------------------------------------------------------------------
    def _departments(self) -> None:
        floors = {}
        for gid, name, name_en, floor in _GROUPS:
            floors[gid] = floor
            self.rows.departments.append(
                {
                    "id": gid,
                    "name": name,
                    "name_en": name_en,
                    "floor": floor,
                    "room": f"{floor[:-1]}00",
                    "parent": None,
                    "queue_prefix": "G",
                }
            )
        per_group: dict[str, int] = {}
        for i, (gid, name, name_en) in enumerate(_LEAVES, start=1):
            per_group[gid] = per_group.get(gid, 0) + 1
            floor = floors[gid]
            did = f"D{i:02d}"
            self.leaf_ids.append(did)
            self.rows.departments.append(
                {
                    "id": did,
                    "name": name,
                    "name_en": name_en,
                    "floor": floor,
                    "room": f"{floor[:-1]}{per_group[gid]:02d}诊区",
                    "parent": gid,
                    "queue_prefix": chr(ord("A") + i - 1),
                }
            )

    def _name(self, sex_male: bool | None = None) -> str:
        given = self.rng.choice(_GIVEN) + (self.rng.choice(_GIVEN) if self.rng.random() < 0.7 else "")
        return self.rng.choice(_SURNAMES) + given

    def _doctors(self) -> None:
        n = 0
        titles = list(Title)
        self.doctors_by_dep: dict[str, list[str]] = {}
        for k, did in enumerate(self.leaf_ids):
            # Every department has the four ranks; every other one also a named expert.
            dep_titles = [
                Title.RESIDENT,
                Title.ATTENDING,
                Title.ATTENDING,
                Title.ASSOCIATE_CHIEF,
                Title.CHIEF,
            ]
            if k % 2 == 0:
                dep_titles.append(Title.EXPERT)
            assert set(dep_titles) <= set(titles)
            for title in dep_titles:
                n += 1
                doc_id = f"DR{n:04d}"
                self.doctor_title[doc_id] = title
                self.doctors_by_dep.setdefault(did, []).append(doc_id)
                self.rows.doctors.append(
                    {
                        "id": doc_id,
                        "name": self._name(),
                        "title": title.value,
                        "specialty": self.rng.choice(_SPECIALTY),
                        "department_id": did,
                    }
                )

    def _patients(self) -> None:
        seen_ids: set[str] = set()
        cards: set[str] = set()
        for n in range(1, PATIENTS + 1):
            region, place = self.rng.choice(_REGIONS)
            while True:
                birth = dt.date(1935, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 32000))
                if birth >= self.today:
                    continue
                seq = self.rng.randrange(0, 1000)
                first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
                number = first17 + check_character(first17)
                if number not in seen_ids:
                    seen_ids.add(number)
                    break
            male = seq % 2 == 1
            while True:
                card = f"{self.rng.choice('ABCDEFGHJK')}{self.rng.randrange(10**7, 10**8)}"
                if card not in cards:
                    cards.add(card)
                    break
            has_card = n % 10 != 0
            # A few insurance cards and ID cards have expired, so CARD_EXPIRED is reachable.
            card_valid = (
                self.today + dt.timedelta(days=365 * 5) if n % 37 else self.today - dt.timedelta(days=30)
            )
            id_valid = (
                None
                if birth.year < 1975
                else (self.today + dt.timedelta(days=1000) if n % 41 else self.today - dt.timedelta(days=10))
            )
            self.rows.patients.append(
                {
                    "id": patient_id(n),
                    "name": self._name(male),
                    "sex": "male" if male else "female",
                    "birth_date": birth,
                    "id_number": number,
                    "ethnicity": self.rng.choice(_ETHNICITIES),
                    "address": f"{place}{self.rng.choice(_STREETS)}{self.rng.randrange(1, 300)}号",
                    "id_valid_to": id_valid,
                    "visit_card": f"88{n:08d}",
                    "insurance_card": card if has_card else None,
                    "insurance_valid_to": card_valid if has_card else None,
                    "qr": f"ECV{self.rng.getrandbits(64):016X}{n:06d}",
                    "account_balance_fen": self.rng.randrange(0, 200_000),
                    "first_visit": n % 5 < 2,
                    "created_at": self.now - dt.timedelta(days=400),
                }
            )

    # --- schedules and slots ------------------------------------------------------------------
    def _schedules(self) -> None:
        n_sched = 0
        n_slot = 0
        self.open_sessions: dict[tuple[str, dt.date, str], list[str]] = {}
        self.slots_of: dict[str, list[dict[str, Any]]] = {}
        self.schedule_row: dict[str, dict[str, Any]] = {}
        for offset in range(self.rules.booking_window_days + 2):
            day = self.today + dt.timedelta(days=offset)
            for did in self.leaf_ids:
                for period in ("am", "pm"):
                    doctors: list[str | None] = [None]
                    doctors += [d for d in self.doctors_by_dep[did] if self.rng.random() < 0.55]
                    for doc in doctors:
                        n_sched += 1
                        sid = f"S{n_sched:06d}"
                        state = "open"
                        substitute = None
                        if doc is not None:
                            r = self.rng.random()
                            if r < 0.03:
                                state = "suspended"
                            elif r < 0.05:
                                state = "stopped"
                            elif r < 0.07:
                                state = "closed"
                            elif r < 0.09:
                                others = [d for d in self.doctors_by_dep[did] if d != doc]
                                state, substitute = "substituted", self.rng.choice(others)
                        row = {
                            "id": sid,
                            "department_id": did,
                            "doctor_id": doc,
                            "date": day,
                            "period": period,
                            "state": state,
                            "substitute_doctor_id": substitute,
                        }
                        self.rows.schedules.append(row)
                        self.schedule_row[sid] = row
                        title = self.doctor_title.get(doc) if doc else None
                        minutes = 30 if self.rules.is_expert(title) else 15
                        start = dt.datetime.combine(day, dt.time(8, 0) if period == "am" else dt.time(13, 30))
                        # Morning clinic 08:00-12:00, afternoon 13:30-17:00.
                        stop = dt.datetime.combine(day, dt.time(12, 0) if period == "am" else dt.time(17, 0))
                        count = int((stop - start).total_seconds() // (minutes * 60))
                        reserved = count * self.rules.followup_reserve_percent // 100
                        slots = []
                        for k in range(count):
                            n_slot += 1
                            s_start = start + dt.timedelta(minutes=minutes * k)
                            slots.append(
                                {
                                    "id": f"SL{n_slot:07d}",
                                    "schedule_id": sid,
                                    "start": s_start,
                                    "end": s_start + dt.timedelta(minutes=minutes),
                                    # the follow-up reserve: the session's last slots
                                    "reserved_followup": k >= count - reserved,
                                    "hold_id": None,
                                    "held_until": None,
                                    "appointment_id": None,
                                    "available_from": None,
                                }
                            )
                        self.rows.slots.extend(slots)
                        self.slots_of[sid] = slots
                        if state in ("open", "substituted"):
                            self.open_sessions.setdefault((did, day, period), []).append(sid)

    def _code(self) -> str:
        while True:
            code = f"{self.rng.randrange(10**7, 10**8)}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _book(self, pid: str, sid: str, status: str, paid: bool = False) -> dict[str, Any] | None:
        """Book the first free public slot of a schedule for a patient (seed-time, no rules)."""
        free = [s for s in self.slots_of[sid] if s["appointment_id"] is None and not s["reserved_followup"]]
        if not free:
            return None
        slot = free[0]
        sched = self.schedule_row[sid]
        doc = sched["substitute_doctor_id"] or sched["doctor_id"]
        title = self.doctor_title.get(doc) if doc else None
        fee = self.rules.fee_for(title)
        aid = f"A{len(self.rows.appointments) + 1:07d}"
        slot["appointment_id"] = aid
        row = {
            "id": aid,
            "booking_code": self._code(),
            "patient_id": pid,
            "slot_id": slot["id"],
            "schedule_id": sid,
            "department_id": sched["department_id"],
            "doctor_id": doc,
            "date": sched["date"],
            "period": sched["period"],
            "start": slot["start"],
            "end": slot["end"],
            "fee_fen": fee,
            "paid_fen": fee if paid else 0,
            "pay_now": paid,
            "status": status,
            "first_visit_expert": False,
            "queue_seq": None,
            "queue_number": None,
            "kiosk_id": None,
            "created_at": self.now - dt.timedelta(days=2),
            "collected_at": None,
            "checked_in_at": None,
            "cancelled_at": None,
        }
        if status in ("collected", "checked_in"):
            key = (sched["department_id"], sched["date"])
            seq = self.rows.counters.get(key, 0) + 1
            self.rows.counters[key] = seq
            prefix = next(
                d["queue_prefix"] for d in self.rows.departments if d["id"] == sched["department_id"]
            )
            row.update(
                queue_seq=seq,
                queue_number=f"{prefix}{seq:03d}",
                collected_at=self.now,
                paid_fen=fee,
                checked_in_at=self.now if status == "checked_in" else None,
            )
        self.rows.appointments.append(row)
        return row

    def _appointments_today(self) -> None:
        """Patients 100..399 booked today (a third in two departments; half paid when booking, half paying at
        取号, so the e2e tests find enough of each); some collected or checked in."""
        for n in range(100, 400):
            pid = patient_id(n)
            deps = self.rng.sample(self.leaf_ids, 2 if n % 3 == 0 else 1)
            periods = ["am", "pm"]
            self.rng.shuffle(periods)
            for did, period in zip(deps, periods):
                sessions = self.open_sessions.get((did, self.today, period))
                if not sessions:
                    continue
                r = self.rng.random()
                status = "collected" if r < 0.2 else "checked_in" if r < 0.25 else "booked"
                self._book(pid, self.rng.choice(sessions), status, paid=self.rng.random() < 0.5)
        # A few live holds so every slot state exists.
        for n in range(400, 410):
            sessions = self.open_sessions.get(
                (self.leaf_ids[n % len(self.leaf_ids)], self.today + dt.timedelta(days=2), "am")
            )
            if not sessions:
                continue
            free = [
                s
                for s in self.slots_of[sessions[0]]
                if s["appointment_id"] is None and not s["reserved_followup"] and s["hold_id"] is None
            ]
            if free:
                slot = free[-1]
                hid = f"H{n:07d}"
                slot["hold_id"], slot["held_until"] = (
                    hid,
                    self.now + dt.timedelta(minutes=self.rules.hold_minutes),
                )
                sched = self.schedule_row[sessions[0]]
                self.rows.holds.append(
                    {
                        "id": hid,
                        "slot_id": slot["id"],
                        "patient_id": patient_id(n),
                        "kiosk_id": "SEED",
                        "department_id": sched["department_id"],
                        "date": sched["date"],
                        "first_visit_expert": False,
                        "created_at": self.now,
                        "expires_at": slot["held_until"],
                        "status": "live",
                    }
                )

    def _full_schedules(self) -> None:
        """Some future sessions booked out (约满) by patients 600..1200, one booking each."""
        filler = iter(range(600, PATIENTS + 1))
        for (_did, day, _period), sessions in sorted(self.open_sessions.items()):
            if day == self.today or self.rng.random() > 0.05:
                continue
            sid = sessions[-1]
            for _ in self.slots_of[sid]:
                n = next(filler, None)
                if n is None:
                    return
                if self._book(patient_id(n), sid, "booked") is None:
                    break

    def _history(self) -> None:
        """Past no-shows: patients 50..59 have three (banned), 60..69 two (one more bans them)."""
        for n in range(50, 70):
            count = 3 if n < 60 else 2
            for k in range(count):
                day = self.today - dt.timedelta(days=10 + 20 * k)
                did = self.leaf_ids[(n + k) % len(self.leaf_ids)]
                start = dt.datetime.combine(day, dt.time(9, 0))
                self.rows.appointments.append(
                    {
                        "id": f"A{len(self.rows.appointments) + 1:07d}",
                        "booking_code": self._code(),
                        "patient_id": patient_id(n),
                        "slot_id": None,
                        "schedule_id": None,
                        "department_id": did,
                        "doctor_id": None,
                        "date": day,
                        "period": "am",
                        "start": start,
                        "end": start + dt.timedelta(minutes=15),
                        "fee_fen": self.rules.fee_for(None),
                        "paid_fen": 0,
                        "pay_now": False,
                        "status": "no_show",
                        "first_visit_expert": False,
                        "queue_seq": None,
                        "queue_number": None,
                        "kiosk_id": None,
                        "created_at": self.now - dt.timedelta(days=60),
                        "collected_at": None,
                        "checked_in_at": None,
                        "cancelled_at": None,
                    }
                )

    def _bills(self) -> None:
        """Patients 100..499: one to three unpaid bills (every fourth patient also a paid one)."""
        n_bill = 0
        kinds = list(_BILL_ITEMS)
        for n in range(100, 500):
            count = 1 + n % 3
            for k in range(count + (1 if n % 4 == 0 else 0)):
                n_bill += 1
                kind = kinds[(n + k) % len(kinds)]
                next_step, catalogue = _BILL_ITEMS[kind]
                bid = f"B{n_bill:06d}"
                total = 0
                for name, price, category in self.rng.sample(
                    catalogue, self.rng.randint(1, min(3, len(catalogue)))
                ):
                    qty = self.rng.randint(1, 3) if kind == "prescription" else 1
                    self.rows.items.append(
                        {
                            "bill_id": bid,
                            "name": name,
                            "quantity": qty,
                            "unit_price_fen": price,
                            "amount_fen": qty * price,
                            "category": category,
                        }
                    )
                    total += qty * price
                self.rows.bills.append(
                    {
                        "id": bid,
                        "patient_id": patient_id(n),
                        "order_no": f"{self.today:%Y%m%d}{n_bill:06d}",
                        "kind": kind,
                        "amount_fen": total,
                        "next_step": next_step,
                        "status": "paid" if k == count else "unpaid",
                        "payment_id": None,
                        "created_at": self.now - dt.timedelta(hours=1),
                    }
                )

"""The database tables of the reference HIS (SQLAlchemy 2 ORM); times are naive hospital-local."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Appointment statuses that occupy their slot and count toward the patient's limits.
ACTIVE_STATUSES = ("booked", "collected", "checked_in")


class Base(DeclarativeBase):
    pass


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    name_en: Mapped[str] = mapped_column(String)
    floor: Mapped[str] = mapped_column(String)
    room: Mapped[str] = mapped_column(String)
    parent: Mapped[str | None] = mapped_column(String, nullable=True)
    queue_prefix: Mapped[str] = mapped_column(String)


class Doctor(Base):
    __tablename__ = "doctors"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String)
    specialty: Mapped[str] = mapped_column(String)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_dep_date", "department_id", "date"),)
    id: Mapped[str] = mapped_column(String, primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    doctor_id: Mapped[str | None] = mapped_column(ForeignKey("doctors.id"), nullable=True)
    date: Mapped[dt.date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)
    substitute_doctor_id: Mapped[str | None] = mapped_column(ForeignKey("doctors.id"), nullable=True)


class Slot(Base):
    """A time slot. It is taken by one conditional UPDATE of hold_id/held_until or appointment_id."""

    __tablename__ = "slots"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"), index=True)
    start: Mapped[dt.datetime] = mapped_column(DateTime)
    end: Mapped[dt.datetime] = mapped_column(DateTime)
    reserved_followup: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_id: Mapped[str | None] = mapped_column(String, nullable=True)
    held_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    appointment_id: Mapped[str | None] = mapped_column(String, nullable=True, unique=True)
    available_from: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    sex: Mapped[str] = mapped_column(String)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    id_number: Mapped[str] = mapped_column(String, unique=True)
    ethnicity: Mapped[str] = mapped_column(String, default="汉")
    address: Mapped[str] = mapped_column(String, default="")
    id_valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    visit_card: Mapped[str] = mapped_column(String, unique=True)
    insurance_card: Mapped[str | None] = mapped_column(String, unique=True, nullable=True)
    insurance_valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    qr: Mapped[str] = mapped_column(String, unique=True)
    account_balance_fen: Mapped[int] = mapped_column(Integer, default=0)
    first_visit: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Hold(Base):
    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_patient_status", "patient_id", "status"),)
    id: Mapped[str] = mapped_column(String, primary_key=True)
    slot_id: Mapped[str] = mapped_column(ForeignKey("slots.id"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    kiosk_id: Mapped[str] = mapped_column(String)
    department_id: Mapped[str] = mapped_column(String)
    date: Mapped[dt.date] = mapped_column(Date)
    first_visit_expert: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String)  # live | released | booked


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_patient_date", "patient_id", "date"),
        # A second guard besides the conditional UPDATE: one active appointment per slot.
        Index(
            "ux_appointments_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status IN ('booked', 'collected', 'checked_in')"),
            postgresql_where=text("status IN ('booked', 'collected', 'checked_in')"),
        ),
    )
    id: Mapped[str] = mapped_column(String, primary_key=True)
    booking_code: Mapped[str] = mapped_column(String, unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    slot_id: Mapped[str | None] = mapped_column(ForeignKey("slots.id"), nullable=True)
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id"), nullable=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    doctor_id: Mapped[str | None] = mapped_column(ForeignKey("doctors.id"), nullable=True)
    date: Mapped[dt.date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String)
    start: Mapped[dt.datetime] = mapped_column(DateTime)
    end: Mapped[dt.datetime] = mapped_column(DateTime)
    fee_fen: Mapped[int] = mapped_column(Integer)
    paid_fen: Mapped[int] = mapped_column(Integer, default=0)
    pay_now: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String)
    first_visit_expert: Mapped[bool] = mapped_column(Boolean, default=False)
    queue_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    queue_number: Mapped[str | None] = mapped_column(String, nullable=True)
    kiosk_id: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    collected_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class QueueCounter(Base):
    __tablename__ = "queue_counters"
    department_id: Mapped[str] = mapped_column(String, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Bill(Base):
    __tablename__ = "bills"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    order_no: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String)
    amount_fen: Mapped[int] = mapped_column(Integer)
    next_step: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # unpaid | paid
    payment_id: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class BillItem(Base):
    __tablename__ = "bill_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.id"), index=True)
    name: Mapped[str] = mapped_column(String)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String)  # insurance class: a (甲) | b (乙) | c (丙)


class Presettlement(Base):
    __tablename__ = "presettlements"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    kiosk_id: Mapped[str] = mapped_column(String)
    bill_ids: Mapped[str] = mapped_column(Text)  # JSON list, sorted
    insurance_kind: Mapped[str] = mapped_column(String)
    total_fen: Mapped[int] = mapped_column(Integer)
    fund_fen: Mapped[int] = mapped_column(Integer)
    account_fen: Mapped[int] = mapped_column(Integer)
    self_pay_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String)  # active | used | cancelled
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    kiosk_id: Mapped[str] = mapped_column(String, index=True)
    bill_ids: Mapped[str] = mapped_column(Text)  # JSON list
    appointment_id: Mapped[str | None] = mapped_column(String, nullable=True)
    presettlement_id: Mapped[str | None] = mapped_column(String, nullable=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(Integer)
    fund_fen: Mapped[int] = mapped_column(Integer, default=0)
    account_fen: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String)
    terminal_ref: Mapped[str | None] = mapped_column(String, nullable=True)
    status: Mapped[str] = mapped_column(String)  # paid | reversed
    receipt_no: Mapped[str] = mapped_column(String, unique=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    paid_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class QrOrder(Base):
    """A QR payment through the hospital's payment platform (show: the patient's phone scans the kiosk's
    QR; scan: the kiosk read the patient's payment code)."""

    __tablename__ = "qr_orders"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String, index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    request: Mapped[str] = mapped_column(Text)  # JSON: the payment it makes once paid
    amount_fen: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String)
    mode: Mapped[str] = mapped_column(String)  # show | scan
    status: Mapped[str] = mapped_column(String)  # pending | paid | failed | cancelled | expired
    qr_content: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    confirm_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    """Scan mode, pending: when the patient's confirmation on the phone arrives."""
    payment_id: Mapped[str | None] = mapped_column(String, nullable=True)


class IdempotencyKey(Base):
    """A stored response, written in the same transaction as the effect it guards."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("kiosk_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(String)
    key: Mapped[str] = mapped_column(String)
    request_hash: Mapped[str] = mapped_column(String)
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class Heartbeat(Base):
    __tablename__ = "heartbeats"
    kiosk_id: Mapped[str] = mapped_column(String, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SchemaVersion(Base):
    """One row per migration step applied (migrations.py); the highest version is the schema's."""

    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(String)
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime)

"""What the OpenAPI document says beyond the request models: answers, error codes, security, headers."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from simulators.his.errors import CATALOGUE
from simulators.his.fleet import Standing
from simulators.his.gateway import PUBLIC_PATHS, TEST_PREFIX
from simulators.his.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from simulators.his.rules import Title
from simulators.his.schemas import PayMethod


# --- answers (documentation only: the routes build their JSON in views.py) ------------------------
class Answer(BaseModel):
    # The contract lets the server add fields; the kiosk ignores what it does not know.
    model_config = ConfigDict(extra="allow")


class Period(str, Enum):
    AM = "am"
    PM = "pm"


class ScheduleState(str, Enum):
    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    SUBSTITUTED = "substituted"


class AppointmentStatus(str, Enum):
    BOOKED = "booked"
    COLLECTED = "collected"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class BillKind(str, Enum):
    PRESCRIPTION = "prescription"
    LAB = "lab"
    IMAGING = "imaging"
    TREATMENT = "treatment"
    REGISTRATION = "registration"


class Patient(Answer):
    id: str
    name: str
    sex: str
    birth_date: str
    id_number_masked: str
    visit_card: str
    insurance_card: str | None = None
    first_visit: bool


class PatientAnswer(Answer):
    patient: Patient


class Department(Answer):
    id: str
    name: str
    name_en: str
    floor: str
    room: str
    parent: str | None


class Departments(Answer):
    departments: list[Department]


class Doctor(Answer):
    id: str
    name: str
    title: Title
    title_en: str
    specialty: str
    department_id: str


class Doctors(Answer):
    doctors: list[Doctor]


class Schedule(Answer):
    id: str
    department_id: str
    doctor_id: str | None
    date: str
    period: Period
    state: ScheduleState
    substitute_doctor_id: str | None
    fee_fen: int
    available: int


class Schedules(Answer):
    schedules: list[Schedule]


class Slot(Answer):
    id: str
    start: str
    end: str
    available: bool


class Slots(Answer):
    slots: list[Slot]


class Hold(Answer):
    hold_id: str
    expires_at: str
    slot_id: str
    patient_id: str


class HoldReleased(Answer):
    hold_id: str
    status: str


class Appointment(Answer):
    id: str
    booking_code: str
    patient_id: str
    date: str
    period: Period
    slot: dict[str, Any]
    department_id: str
    department: Department | None
    doctor_id: str | None
    doctor: Doctor | None
    fee_fen: int
    paid_fen: int
    status: AppointmentStatus
    queue_number: str | None
    collect_from: str | None = None
    """When collection (取号) opens for this appointment (the hospital's collection window)."""
    collect_until: str | None = None
    """When it closes: a booking not collected by then is a no-show."""
    collectable: bool | None = None
    """Whether it can be collected now, by the HIS's clock (booked, and inside its window)."""


class AppointmentAnswer(Answer):
    appointment: Appointment


class Appointments(Answer):
    appointments: list[Appointment]


class Cancelled(Answer):
    appointment: Appointment
    refund_fen: int


class Collected(Answer):
    appointment: Appointment
    queue_number: str | None
    room: str
    floor: str
    fee_due_fen: int


class Ticket(Answer):
    queue_number: str | None
    department: str
    room: str
    floor: str
    ahead: int
    estimated_wait_min: int


class TicketAnswer(Answer):
    ticket: Ticket


class Queue(Answer):
    department_id: str
    department: str
    now_serving: str | None
    waiting: int


class BillItem(Answer):
    name: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


class Bill(Answer):
    id: str
    order_no: str
    kind: BillKind
    items: list[BillItem]
    amount_fen: int
    next_step: str | None


class Bills(Answer):
    bills: list[Bill]


class Presettlement(Answer):
    presettlement_id: str
    total_fen: int
    fund_fen: int
    account_fen: int
    self_pay_fen: int


class Payment(Answer):
    id: str
    status: str
    amount_fen: int
    paid_at: str
    receipt_no: str
    method: PayMethod


class PaymentAnswer(Answer):
    payment: Payment


class Payments(Answer):
    payments: list[Payment]


class Refund(Answer):
    id: str
    payment_id: str
    status: str
    amount_fen: int
    method: PayMethod
    refunded_at: str


class RefundAnswer(Answer):
    refund: Refund
    payment: Payment


class Refunds(Answer):
    refunds: list[Refund]


class QrOrder(Answer):
    id: str
    status: str
    amount_fen: int
    channel: str
    mode: str
    qr_content: str | None
    expires_at: str
    payment: Payment | None


class QrOrderAnswer(Answer):
    order: QrOrder


class Health(Answer):
    status: str
    time: str


class HeartbeatAnswer(Answer):
    status: str
    kiosk_id: str
    server_time: str


class KioskEntry(Answer):
    kiosk_id: str
    standing: Standing
    problems: list[str]
    last_seen: str
    seconds_since: int
    version: str
    journal_backlog: int
    devices: dict[str, dict[str, Any]]
    satisfaction: dict[str, dict[str, int]] = {}
    """The kiosk's satisfaction ratings from its last heartbeat: {task: {"good"|"ok"|"bad": n}}."""
    satisfaction_since: str = ""


class KiosksAnswer(Answer):
    kiosks: list[KioskEntry]
    server_time: str
    stale_after_s: int
    satisfaction_totals: dict[str, dict[str, int]] = {}
    """Every kiosk's satisfaction ratings summed: {task: {"good"|"ok"|"bad": n}}."""


class Fixtures(Answer):
    patients: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    bills: list[dict[str, Any]]


class ClockAnswer(Answer):
    now: str


class FaultsAnswer(Answer):
    latency_ms: int
    error_rate: float
    down: bool


class TitleAnswer(Answer):
    id: str
    title: Title


class ScheduleStateAnswer(Answer):
    id: str
    state: ScheduleState
    previous: ScheduleState


# --- errors ---------------------------------------------------------------------------------------
_WHAT = {
    401: "missing or unknown kiosk token (UNAUTHORIZED)",
    404: "no such record (NOT_FOUND)",
    409: "a business refusal; `error.code` is the rule",
    413: "the body is over 1 MiB (BODY_TOO_LARGE)",
    422: "a malformed or ill-typed request (VALIDATION)",
    503: "the HIS behind the gateway is down (UNAVAILABLE)",
}


def _error_schema(codes: Iterable[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "message_en", "details"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(set(codes))},
                    "message": {"type": "string"},
                    "message_en": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    }


def _codes_of(status: int) -> list[str]:
    return [code for code, (s, _, _) in CATALOGUE.items() if s == status]


def answers(
    ok: int,
    model: type[BaseModel],
    *,
    not_found: bool = False,
    conflicts: Iterable[str] = (),
    changes: bool = False,
    public: bool = False,
    also: dict[int, type[BaseModel]] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: its success, and every error the gateway and the route can give.

    `changes`: the route runs under Idempotency-Key, so a key in use answers 409 and a reused key 422.
    `public`: no token needed (no 401) and, for the test endpoints, no injected faults (no 503).
    """
    out: dict[int | str, dict[str, Any]] = {
        ok: {"model": model, "description": "OK" if ok == 200 else "Created"}
    }
    for status, extra in (also or {}).items():
        out[status] = {"model": extra, "description": "OK" if status == 200 else "Created"}
    errors: dict[int, list[str]] = {413: ["BODY_TOO_LARGE"], 422: ["VALIDATION"]}
    if not public:
        errors[401] = ["UNAUTHORIZED"]
    if not_found:
        errors[404] = ["NOT_FOUND"]
    conflict_codes = list(conflicts)
    if changes:
        conflict_codes.append("IDEMPOTENCY_IN_PROGRESS")
        errors[422].append("IDEMPOTENCY_KEY_REUSED")
    if conflict_codes:
        unknown = [c for c in conflict_codes if CATALOGUE[c][0] != 409]
        assert not unknown, unknown
        errors[409] = conflict_codes
    for status, codes in sorted(errors.items()):
        what = _WHAT[status] if status != 409 else f"{_WHAT[409]}: {', '.join(sorted(set(codes)))}"
        out[status] = {
            "description": what,
            "content": {"application/json": {"schema": _error_schema(codes)}},
        }
    return out


def with_outage(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Add 503: the gateway answers it for every route behind it while the HIS is down (faults)."""
    return {
        **responses,
        503: {
            "description": _WHAT[503],
            "content": {"application/json": {"schema": _error_schema(["UNAVAILABLE"])}},
        },
    }


BOOKING_RULES = (
    "SLOT_TAKEN",
    "SCHEDULE_CLOSED",
    "OUTSIDE_BOOKING_WINDOW",
    "DAILY_DEPARTMENT_LIMIT",
    "SAME_DEPARTMENT_DOCTOR_LIMIT",
    "WEEKLY_LIMIT",
    "FIRST_VISIT_EXPERT_LIMIT",
    "NO_SHOW_BANNED",
)

# Told in words, not declared as a header parameter: a fuzzer that sends one constant key with changing
# bodies would meet 422 IDEMPOTENCY_KEY_REUSED, which the contract fixes but a schema cannot express.
_IDEMPOTENCY_NOTE = (
    "Accepts an `Idempotency-Key` header (a UUID the kiosk generates and journals before the call; "
    f"1-{MAX_KEY_LENGTH} printable ASCII characters matching `{KEY_PATTERN}`): the same key and body answer "
    "the first response again, with `Idempotent-Replayed: true` and no second effect; the same key with "
    "another body is 422 IDEMPOTENCY_KEY_REUSED; a key whose first request is still running is 409 "
    "IDEMPOTENCY_IN_PROGRESS."
)

IDEMPOTENT: dict[str, Any] = {"x-idempotent": True}


def document(app: FastAPI) -> None:
    """Finish the generated document: bearer security where the Gateway asks a token, the key header."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "The kiosk's token; it identifies the kiosk.",
        }
        for path, operations in schema.get("paths", {}).items():
            public = path in PUBLIC_PATHS or path.startswith(TEST_PREFIX)
            for operation in operations.values():
                operation["security"] = [] if public else [{"bearer": []}]
                if operation.pop("x-idempotent", False):
                    described = operation.get("description", "")
                    operation["description"] = f"{described}\n\n{_IDEMPOTENCY_NOTE}".strip()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

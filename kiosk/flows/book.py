"""预约挂号 / 当日挂号 — book a visit, as a typed step machine over plain data.

identify -> departments -> doctors -> dates -> slots -> confirm (the slot held 15 min) -> booking ->
paying (the payment engine; or later, at collection, where `[kiosk] registration_pay_later` allows) ->
printing -> done, `error` reachable from every step. Choosing a slot holds it (POST /holds); leaving
by back, home or idle releases the hold (`release`). Where the fee must be paid at once, the booking is
paid within what was left of the hold, and leaving before paying gives the unpaid booking back
(`give_back`, a journaled 退号 the HIS allows for an unpaid booking made with `pay_now`). The booking is journaled under its idempotency
key before it is sent, so a lost answer is settled by asking again with the same key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from kiosk.devices.base import Cancel
from kiosk.domain.appointment import Appointment
from kiosk.domain.document import Document
from kiosk.domain.errors import HisRefused, KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import Patient
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.domain.schedule import Department, Doctor, Hold, Schedule, Slot
from kiosk.flows import department_search
from kiosk.flows.cancel import CANCEL_KIND
from kiosk.flows.identify import Identified
from kiosk.flows.patient_task import PatientTask
from kiosk.flows.payment import Charge, Paid, PaymentEngine, ViewCallback
from kiosk.flows.receipts import SlipContext, booking_slip
from kiosk.flows.services import Services

log = logging.getLogger(__name__)

JOURNAL_KIND = "book"
HOLD_MINUTES = 15
"""SPEC.md: a slot is held 15 minutes (the countdown falls back to this when the clocks disagree)."""


class BookStep(str, Enum):
    IDENTIFY = "identify"
    DEPARTMENTS = "departments"
    DOCTORS = "doctors"
    DATES = "dates"
    SLOTS = "slots"
    CONFIRM = "confirm"
    BOOKING = "booking"
    PAYING = "paying"
    PRINTING = "printing"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DoctorChoice:
    """One line of the doctors screen: a doctor, or the department's general clinic (`doctor` None)."""

    doctor: Doctor | None
    fee: Money
    free: int
    substitute: Doctor | None = None
    """Who sees the patients instead (替诊) on at least one of this doctor's open sessions."""

    @property
    def key(self) -> str:
        return self.doctor.id if self.doctor else GENERAL


GENERAL = "general"


@dataclass(frozen=True, slots=True)
class SlotChoice:
    slot: Slot
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class BookState:
    """Everything the booking screens show. Holds patient data: drop it when the session ends."""

    step: BookStep = BookStep.IDENTIFY
    patient: Patient | None = None
    created: bool = False
    """This visit created the patient's record (实名建档)."""
    departments: tuple[Department, ...] = ()
    query: str = ""
    department: Department | None = None
    doctors: tuple[Doctor, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    doctor_key: str | None = None
    date: dt.date | None = None
    slots: tuple[SlotChoice, ...] = ()
    slot_id: str | None = None
    hold: Hold | None = None
    hold_seconds: int = HOLD_MINUTES * 60
    substitute_confirmed: bool = False
    book_key: str | None = None
    appointment: Appointment | None = None
    pay_until: dt.datetime | None = None
    """Booked, unpaid: the slot stays the patient's until then (what was left of the hold)."""
    paid: Paid | None = None
    slip: Document | None = None
    printed: bool = False
    next_free: SlotChoice | None = None
    """After SLOT_TAKEN: the next free slot of the same doctor and day, offered in one tap."""
    error: KioskError | None = None
    failed_at: BookStep | None = None

    # --- what the screens list ----------------------------------------------------------------
    @property
    def shown_departments(self) -> list[Department]:
        return department_search.search(self.departments, self.query)

    @property
    def choices(self) -> tuple[DoctorChoice, ...]:
        """The department's doctors with free slots first, then the general clinic if it has one."""
        doctors = {d.id: d for d in self.doctors}
        out: list[DoctorChoice] = []
        keys = [d.id for d in self.doctors] + ([GENERAL] if any(s.doctor_id is None for s in self.schedules) else [])
        for key in keys:
            mine = [s for s in self._schedules_of(key) if s.state.bookable and s.available > 0]
            if not mine:
                continue
            subs = [doctors.get(s.substitute_doctor_id or "") for s in mine if s.state.value == "substituted"]
            out.append(
                DoctorChoice(
                    doctors.get(key), min(s.fee for s in mine), sum(s.available for s in mine),
                    next((d for d in subs if d is not None), None),
                )
            )
        return tuple(out)

    @property
    def choice(self) -> DoctorChoice | None:
        return next((c for c in self.choices if c.key == self.doctor_key), None)

    @property
    def dates(self) -> tuple[dt.date, ...]:
        """The days the chosen doctor can be booked, as the HIS's schedules give them."""
        if self.doctor_key is None:
            return ()
        days = {s.date for s in self._schedules_of(self.doctor_key) if s.state.bookable and s.available > 0}
        return tuple(sorted(days))

    @property
    def selected(self) -> SlotChoice | None:
        return next((c for c in self.slots if c.slot.id == self.slot_id), None)

    @property
    def substitute(self) -> Doctor | None:
        """The doctor who replaces the booked one on the selected session (替诊), else None."""
        chosen = self.selected
        if chosen is None or chosen.schedule.state.value != "substituted":
            return None
        return next((d for d in self.doctors if d.id == chosen.schedule.substitute_doctor_id), None)

    @property
    def needs_substitute_confirmation(self) -> bool:
        return self.substitute is not None and not self.substitute_confirmed

    @property
    def can_retry(self) -> bool:
        return self.step is BookStep.ERROR and self.failed_at in (BookStep.BOOKING, BookStep.PRINTING)

    def _schedules_of(self, key: str) -> list[Schedule]:
        return [s for s in self.schedules if (s.doctor_id or GENERAL) == key]


class BookFlow(PatientTask):
    """The transitions of 预约挂号 over the injected services."""

    ERROR = BookStep.ERROR

    def __init__(
        self, services: Services, new_key: Callable[[], str] = lambda: str(uuid.uuid4()),
        engine: PaymentEngine | None = None,
    ) -> None:
        super().__init__(services, new_key)
        self._engine = engine or PaymentEngine(services)

    def start(self) -> BookState:
        return BookState()

    # --- identify -----------------------------------------------------------------------------
    def _identify(self, state: BookState, resolve: Callable[[], Identified]) -> BookState:
        try:
            identified = resolve()
            departments = tuple(self._his().departments())
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=BookStep.IDENTIFY), exc)
        log.info("book: identified", extra={"patient_id": identified.patient.id, "first_visit": identified.created})
        return BookState(
            step=BookStep.DEPARTMENTS, patient=identified.patient, created=identified.created, departments=departments
        )

    # --- choosing -----------------------------------------------------------------------------
    def search(self, state: BookState, query: str) -> BookState:
        return dataclasses.replace(state, query=query)

    def choose_department(self, state: BookState, department_id: str) -> BookState:
        department = next((d for d in state.departments if d.id == department_id), None)
        if department is None:
            raise ValueError(f"no department {department_id}")
        chosen = dataclasses.replace(state, department=department, doctor_key=None, date=None, slots=())
        try:
            his = self._his()
            doctors = tuple(his.doctors(department_id))
            schedules = tuple(his.schedules(department_id, None))
        except KioskError as exc:
            return self.fail(chosen, exc)
        return dataclasses.replace(chosen, step=BookStep.DOCTORS, doctors=doctors, schedules=schedules)

    def choose_doctor(self, state: BookState, key: str) -> BookState:
        if key not in {c.key for c in state.choices}:
            raise ValueError(f"no bookable doctor {key}")
        return dataclasses.replace(state, step=BookStep.DATES, doctor_key=key, date=None, slots=())

    def choose_date(self, state: BookState, day: dt.date) -> BookState:
        """The free slots of the chosen doctor that day, morning and afternoon, in time order."""
        assert state.doctor_key is not None
        chosen = dataclasses.replace(state, date=day, slot_id=None, next_free=None)
        try:
            slots = self._free_slots(chosen, day)
        except KioskError as exc:
            return self.fail(chosen, exc)
        return dataclasses.replace(chosen, step=BookStep.SLOTS, slots=slots)

    def _free_slots(self, state: BookState, day: dt.date) -> tuple[SlotChoice, ...]:
        his = self._his()
        sessions = [
            s for s in state._schedules_of(state.doctor_key or GENERAL)
            if s.date == day and s.state.bookable and s.available > 0
        ]
        found = [SlotChoice(slot, s) for s in sessions for slot in his.slots(s.id) if slot.available]
        return tuple(sorted(found, key=lambda c: c.slot.start))

    def choose_slot(self, state: BookState, slot_id: str) -> BookState:
        """Hold the slot (锁号). SLOT_TAKEN refreshes the slots and offers the next free one."""
        patient = state.patient
        assert patient is not None
        chosen = dataclasses.replace(
            state, step=BookStep.SLOTS, slot_id=slot_id, next_free=None, substitute_confirmed=False, error=None,
            failed_at=None,
        )
        taken = next((c for c in state.slots if c.slot.id == slot_id), None)
        if taken is None:
            raise ValueError(f"slot {slot_id} is not offered")
        try:
            hold = self._his().hold(slot_id, patient.id, self._new_key())
        except HisRefused as exc:
            if exc.code != "SLOT_TAKEN":
                return self.fail(chosen, exc)
            return self._slot_taken(chosen, taken, exc)
        except KioskError as exc:
            return self.fail(chosen, exc)
        log.info("book: slot held", extra={"hold_id": hold.id})
        return dataclasses.replace(
            chosen, step=BookStep.CONFIRM, hold=hold, hold_seconds=self._hold_seconds(hold), book_key=self._new_key()
        )

    def _slot_taken(self, state: BookState, taken: SlotChoice, exc: HisRefused) -> BookState:
        assert state.date is not None
        try:
            slots = self._free_slots(state, state.date)
        except KioskError:
            slots = tuple(c for c in state.slots if c.slot.id != taken.slot.id)
        later = [c for c in slots if c.slot.start >= taken.slot.start] or list(slots)
        refreshed = dataclasses.replace(state, slots=slots, slot_id=None, next_free=later[0] if later else None)
        return self.fail(refreshed, exc)

    def take_next_free(self, state: BookState) -> BookState:
        if state.next_free is None:
            raise ValueError("no next free slot to take")
        return self.choose_slot(dataclasses.replace(state, step=BookStep.SLOTS), state.next_free.slot.id)

    def _hold_seconds(self, hold: Hold) -> int:
        left = int((hold.expires_at - self._services.clock()).total_seconds())
        # The HIS's clock is the one that counts; when ours disagrees with it, show the rule's 15 min.
        return left if 0 < left <= HOLD_MINUTES * 60 else HOLD_MINUTES * 60

    def confirm_substitute(self, state: BookState) -> BookState:
        return dataclasses.replace(state, substitute_confirmed=True)

    # --- booking and the slip -----------------------------------------------------------------
    def book(self, state: BookState) -> BookState:
        """POST /appointments with the hold, journaled first. Next step: printing."""
        patient, hold, key = state.patient, state.hold, state.book_key
        if patient is None or hold is None or key is None:
            raise ValueError("booking needs an identified patient and a held slot")
        if state.needs_substitute_confirmation:
            raise ValueError("the substitute doctor must be confirmed first")
        booking = dataclasses.replace(state, step=BookStep.BOOKING, error=None, failed_at=None)
        pay_now = not self._services.config.kiosk.registration_pay_later
        try:
            appointment = self.journaled(
                JOURNAL_KIND, key, {"hold_id": hold.id, "patient_id": patient.id, "pay_now": str(pay_now).lower()},
                lambda: self._his().book(hold.id, pay_now, key), lambda a: {"appointment_id": a.id},
            )
        except HisRefused as exc:
            if exc.code == "HOLD_EXPIRED":
                booking = dataclasses.replace(booking, hold=None)
            return self.fail(booking, exc)
        except KioskError as exc:
            return self.fail(booking, exc)  # unknown: the intent stays open; retry asks with the same key
        log.info("book: booked", extra={"appointment_id": appointment.id, "pay_now": pay_now})
        pay_until = self._services.clock() + dt.timedelta(seconds=self._hold_seconds(hold))
        booked = dataclasses.replace(booking, appointment=appointment, hold=None, pay_until=pay_until)
        if appointment.paid < appointment.fee:
            return dataclasses.replace(booked, step=BookStep.PAYING)
        return dataclasses.replace(booked, step=BookStep.PRINTING, slip=self._slip(booked, None))

    @property
    def may_pay_later(self) -> bool:
        return self._services.config.kiosk.registration_pay_later

    def seconds_to_pay(self, state: BookState) -> int | None:
        """How long the unpaid booking stays held for paying here (None where it may be paid later)."""
        if self.may_pay_later or state.pay_until is None:
            return None
        return max(0, int((state.pay_until - self._services.clock()).total_seconds()))

    def give_back(self, state: BookState) -> BookState:
        """The fee must be paid at once and the patient left before paying: the unpaid booking is given
        back (退号, journaled, its own key). Next: the slots of that day again, freshly listed."""
        appointment = state.appointment
        if appointment is None or state.paid is not None or self.may_pay_later:
            return state
        key = self._new_key()
        try:
            self.journaled(CANCEL_KIND, key, {"appointment_id": appointment.id},
                           lambda: self._his().cancel_appointment(appointment.id, key),
                           lambda money: {"refund_fen": str(money.fen)})
            log.info("book: unpaid booking given back", extra={"appointment_id": appointment.id})
        except KioskError as exc:
            log.warning("book: unpaid booking not given back", extra={"error": type(exc).__name__})
        left = dataclasses.replace(state, appointment=None, pay_until=None, book_key=None, slot_id=None,
                                   error=None, failed_at=None)
        if left.date is None:
            return self.start()
        return self.choose_date(left, left.date)

    def pay_fee(
        self, state: BookState, method: PayMethod, on_view: ViewCallback | None = None, cancel: Cancel | None = None,
        mode: QrMode = QrMode.SHOW, auth_code: str | None = None,
    ) -> BookState:
        """Pay the registration fee now, through the one payment engine (journaled, undone on failure).
        On a failure the booking stands with the fee due at collection; a new attempt starts from the
        choice of method, and what the engine could not settle is recovery's."""
        appointment, patient = state.appointment, state.patient
        if state.step not in (BookStep.PAYING, BookStep.ERROR) or appointment is None or patient is None:
            raise ValueError("nothing booked to pay for")
        paying = dataclasses.replace(state, step=BookStep.PAYING, error=None, failed_at=None)
        due = appointment.fee - appointment.paid
        charge = Charge.for_appointment(patient, appointment.id, due, f"挂号费 {appointment.department}")
        journal = self._services.journal
        owner = self._owners.setdefault(f"pay:{appointment.id}", journal.session()) if journal else None
        try:
            paid = self._engine.start(charge, owner).pay(method, on_view, cancel, mode, auth_code)
        except KioskError as exc:
            return self.fail(paying, exc)
        paid_state = dataclasses.replace(paying, paid=paid)
        return dataclasses.replace(paid_state, step=BookStep.PRINTING, slip=self._slip(paid_state, paid.method.label))

    def pay_later(self, state: BookState) -> BookState:
        """The patient pays at collection instead (支付方式 on the slip says so). Next: printing."""
        if state.appointment is None:
            raise ValueError("nothing booked")
        if not self.may_pay_later:
            raise ValueError("this hospital takes the registration fee at once")
        return dataclasses.replace(state, step=BookStep.PRINTING, error=None, failed_at=None, slip=self._slip(state, None))

    def _slip(self, state: BookState, method: str | None) -> Document:
        assert state.patient is not None and state.appointment is not None and state.book_key is not None
        config = self._services.config.kiosk
        context = SlipContext(config.hospital_name, config.id, self._services.clock(), state.book_key, method)
        return booking_slip(state.patient, state.appointment, context)

    def print_slip(self, state: BookState) -> BookState:
        if state.slip is None:
            raise ValueError("nothing to print before the booking")
        printing = dataclasses.replace(state, step=BookStep.PRINTING, error=None, failed_at=None)
        try:
            self.print_document(state.slip)
        except KioskError as exc:
            log.warning("book: slip not printed", extra={"error": type(exc).__name__})
            return self.fail(printing, exc)
        return dataclasses.replace(printing, step=BookStep.DONE, printed=True)

    def retry(self, state: BookState) -> BookState:
        if state.failed_at is BookStep.BOOKING and state.hold is not None:
            return self.book(state)
        if state.failed_at is BookStep.PRINTING:
            return self.print_slip(state)
        raise ValueError(f"nothing to retry from {state.failed_at}")

    # --- leaving --------------------------------------------------------------------------------
    def release(self, state: BookState) -> BookState:
        """Give the held slot back (DELETE /holds/{id}); if the HIS does not answer it expires by itself."""
        if state.hold is None or state.appointment is not None:
            return state
        try:
            self._his().release_hold(state.hold.id)
            log.info("book: hold released", extra={"hold_id": state.hold.id})
        except KioskError as exc:
            log.warning("book: hold not released, it expires", extra={"error": type(exc).__name__})
        return dataclasses.replace(state, hold=None, book_key=None)

    def back(self, state: BookState) -> BookState:
        """One step back (from an error: back to the list it happened on), releasing a hold on the way.
        After the booking there is no way back."""
        if state.appointment is not None:
            return state
        failed = state.failed_at if state.step is BookStep.ERROR else None
        state = dataclasses.replace(self.release(state), error=None, failed_at=None, next_free=None)
        if failed in (BookStep.DEPARTMENTS, BookStep.DOCTORS, BookStep.DATES, BookStep.SLOTS):
            step: BookStep | None = failed
        else:
            step = _PREVIOUS.get(failed or state.step)
        if step is None:
            return self.start()
        if step is BookStep.SLOTS and state.date is not None:
            return self.choose_date(state, state.date)  # fresh slots: the one just left may be gone
        return dataclasses.replace(state, step=step)


_PREVIOUS = {
    BookStep.DOCTORS: BookStep.DEPARTMENTS,
    BookStep.DATES: BookStep.DOCTORS,
    BookStep.SLOTS: BookStep.DATES,
    BookStep.CONFIRM: BookStep.SLOTS,
    BookStep.BOOKING: BookStep.SLOTS,
}

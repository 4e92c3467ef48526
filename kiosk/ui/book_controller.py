"""Drives 预约挂号 / 当日挂号: departments -> doctors -> dates -> slots -> confirm -> the fee (the payment
screens of `PaymentController`, or later where the hospital allows) -> slip -> result."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from kiosk.devices.base import Cancel
from kiosk.domain.errors import HisRefused, KioskError
from kiosk.domain.idnumber import mask_name
from kiosk.domain.payment import PayMethod, QrMode
from kiosk.flows import department_search
from kiosk.flows.book import BookFlow, BookState, BookStep
from kiosk.flows.payment import ViewCallback
from kiosk.ui.patient_task_controller import PatientTaskController
from kiosk.ui.payment_controller import Offer, PaymentController, task_outcome
from kiosk.ui.screens.choice import ChoiceScreen, Content, Item
from kiosk.ui.screens.confirm import ConfirmScreen, Review
from kiosk.ui.screens.done import DoneScreen, Outcome

STEP_KEYS = ("step.identify", "book.step.department", "book.step.doctor", "book.step.time",
             "book.step.confirm", "step.done")
_STEP = {
    BookStep.IDENTIFY: 0, BookStep.DEPARTMENTS: 1, BookStep.DOCTORS: 2, BookStep.DATES: 3, BookStep.SLOTS: 3,
    BookStep.CONFIRM: 4, BookStep.BOOKING: 4, BookStep.PAYING: 4, BookStep.PRINTING: 4, BookStep.DONE: 5,
}
HINTS = ("头痛", "胸痛", "咳嗽", "腹痛", "牙")
"""The symptom chips above the departments (department_search.HINTS knows more)."""
_WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
_NO_RETRY = frozenset({"payment.manual", "payment.pending"})
"""Payment failures the patient cannot retry here: a window or recovery settles the money."""


@dataclass
class BookScreens:
    departments: ChoiceScreen
    doctors: ChoiceScreen
    dates: ChoiceScreen
    slots: ChoiceScreen
    confirm: ConfirmScreen
    result: DoneScreen


class BookController(PatientTaskController):
    STEP_KEYS = STEP_KEYS

    def __init__(self, *args: object, screens: BookScreens, payment: PaymentController, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.flow = BookFlow(self.services)
        self.screens = screens
        self.payment = payment
        screens.departments.chosen.connect(self._on_department_chosen)
        screens.departments.hint.connect(self._on_hint)
        screens.doctors.chosen.connect(self._on_doctor_chosen)
        screens.dates.chosen.connect(self._on_date_chosen)
        screens.slots.chosen.connect(self._on_slot_chosen)
        screens.confirm.substitute_confirmed.connect(self._on_substitute_confirmed)
        screens.confirm.confirmed.connect(self._on_confirmed)
        screens.confirm.expired.connect(self._on_hold_expired)
        screens.result.finished.connect(self.shell.go_home)

    def reset(self) -> None:
        """Leaving by home or idle: the held slot, or a booking that had to be paid at once and was not,
        goes back to the pool (in the background). A payment in flight finishes on its worker, which
        then ends the journal session."""
        state = self.state
        paying = self.active and self.payment.paying
        self._release_in_background(state)
        if isinstance(state, BookState) and state.appointment is not None and state.paid is None and not paying:
            self.tasks.submit(lambda: self.flow.give_back(state), lambda _: None, lambda _: None)
        if paying:
            self._session += 1
            self._cancel_reads()
            self.state, self.active = None, False
        else:
            super().reset()
        for screen in (self.screens.departments, self.screens.doctors, self.screens.dates, self.screens.slots):
            screen.clear()
        self.screens.confirm.clear()
        self.screens.result.clear()

    # --- rendering --------------------------------------------------------------------------------
    def _render(self) -> None:
        state: BookState | None = self.state
        if state is None:
            return
        s, step = self.screens, _STEP.get(state.step, 0)
        if state.step is BookStep.IDENTIFY:
            self._show_identify()
        elif state.step is BookStep.DEPARTMENTS:
            s.departments.show_content(self._departments)
            self.shell.show(s.departments, step)
        elif state.step is BookStep.DOCTORS:
            s.doctors.show_content(self._doctors)
            self.shell.show(s.doctors, step)
        elif state.step is BookStep.DATES:
            s.dates.show_content(self._dates)
            self.shell.show(s.dates, step)
        elif state.step is BookStep.SLOTS:
            s.slots.show_content(self._slots)
            self.shell.show(s.slots, step)
        elif state.step is BookStep.CONFIRM:
            s.confirm.show_review(self._review, state.hold_seconds, state.substitute_confirmed)
            self.shell.show(s.confirm, step)
        elif state.step is BookStep.PAYING:
            self._offer_payment(state)
        elif state.step is BookStep.PRINTING:
            self._run(lambda: self.flow.print_slip(state), "busy.print")
        elif state.step is BookStep.DONE:
            s.result.show_outcome(self._outcome)
            self.shell.show(s.result, step)
        elif state.step is BookStep.ERROR:
            self._show_book_error(state)

    def _show_book_error(self, state: BookState) -> None:
        retry, note = None, None
        if state.failed_at is BookStep.PAYING:
            assert state.error is not None
            retry = None if state.error.message_key in _NO_RETRY else "payerror.retry"
        elif state.next_free is not None:
            retry = "book.take_next"
            note = ("book.next_free", {"time": f"{state.next_free.slot.start:%m-%d %H:%M}"})
        elif state.failed_at is BookStep.PRINTING and state.appointment is not None:
            retry, note = "error.reprint", ("book.booked_note", {"code": state.appointment.booking_code})
        elif state.can_retry:
            retry = "error.retry"
        self.show_error(retry, note, _STEP.get(state.failed_at or BookStep.IDENTIFY, 0))

    def _hello(self, state: BookState) -> str:
        name = mask_name(state.patient.name) if state.patient else ""
        return self.t.tr("book.hello_new" if state.created else "appts.hello", name=name)

    def _departments(self) -> Content:
        state: BookState = self.state
        en = self.t.is_english
        items = []
        for group, members in department_search.grouped(state.departments, state.shown_departments):
            for d in members:
                items.append(Item(d.id, d.name_en if en and d.name_en else d.name,
                                  (" ".join(p for p in (d.floor, d.room) if p),), group=group if not en else ""))
        hints = tuple((h, self.t.tr(f"book.hint.{h}")) for h in HINTS) + (("", self.t.tr("book.all")),)
        return Content(self._hello(state), self.t.tr("book.departments"), tuple(items),
                       self.t.tr("book.no_department"), hints)

    def _doctors(self) -> Content:
        state: BookState = self.state
        t, en = self.t, self.t.is_english
        items = []
        for c in state.choices:
            if c.doctor is None:
                name, rank, line = t.tr("appts.general"), "", t.tr("book.general_line")
            else:
                name, rank, line = c.doctor.name, c.doctor.title_en if en else c.doctor.title, c.doctor.specialty
            if c.substitute is not None:
                line = t.tr("book.substituted", name=c.substitute.name)
            lines = tuple(x for x in (rank, f"{line}  {t.tr('book.free', count=c.free)}") if x)
            items.append(Item(c.key, name, lines, t.tr("appts.fee", fee=c.fee)))
        department = state.department
        name = (department.name_en if en and department and department.name_en else department.name) if department else ""
        return Content(name, t.tr("book.doctors"), tuple(items), t.tr("book.no_doctor"))

    def _day(self, day: dt.date) -> str:
        today = self.services.today()
        if self.t.is_english:
            text = f"{day:%a %d %b}"
        else:
            text = f"{day.month}月{day.day}日 周{_WEEKDAYS[day.weekday()]}"
        return f"{text}  ({self.t.tr('book.today')})" if day == today else text

    def _dates(self) -> Content:
        state: BookState = self.state
        items = tuple(Item(d.isoformat(), self._day(d)) for d in state.dates)
        return Content(self._chosen_doctor(state), self.t.tr("book.dates"), items, self.t.tr("book.no_doctor"))

    def _slots(self) -> Content:
        state: BookState = self.state
        items = tuple(
            Item(c.slot.id, f"{self.t.tr(f'period.{c.schedule.period.value}')}  {c.slot.time_text}",
                 corner=self.t.tr("appts.fee", fee=c.schedule.fee))
            for c in state.slots
        )
        hello = f"{self._chosen_doctor(state)}  {self._day(state.date) if state.date else ''}"
        return Content(hello, self.t.tr("book.slots"), items, self.t.tr("book.no_slot"))

    def _chosen_doctor(self, state: BookState) -> str:
        choice = state.choice
        if choice is None or choice.doctor is None:
            return self.t.tr("appts.general")
        title = choice.doctor.title_en if self.t.is_english else choice.doctor.title
        return f"{choice.doctor.name} {title}"

    def _review(self) -> Review:
        state: BookState = self.state
        t, chosen = self.t, state.selected
        assert chosen is not None and state.department is not None
        en = t.is_english
        department = state.department.name_en if en and state.department.name_en else state.department.name
        later = self.services.config.kiosk.registration_pay_later
        substitute = state.substitute
        lines = (
            (t.tr("book.patient"), mask_name(state.patient.name) if state.patient else ""),
            (t.tr("book.department"), department),
            (t.tr("book.doctor"), self._chosen_doctor(state)),
            (t.tr("book.when"), f"{self._day(chosen.slot.start.date())}  {chosen.slot.time_text}"),
            (t.tr("book.fee"), str(chosen.schedule.fee)),
        )
        return Review(
            t.tr("book.confirm_title"), lines, t.tr("book.confirm"),
            t.tr("book.pay_later" if later else "book.pay_now"),
            t.tr("book.substitute", name=substitute.name, title=substitute.title_en if en else substitute.title)
            if substitute else "",
            t.tr("book.accept_substitute"),
        )

    def _outcome(self) -> Outcome:
        state: BookState = self.state
        a, t = state.appointment, self.t
        assert a is not None
        where = " ".join(p for p in (a.floor, a.room) if p)
        en = t.is_english
        department = (a.department_en if en else "") or a.department
        title = (a.doctor_title_en if en else "") or a.doctor_title or ""
        paid = state.paid
        fee = (t.tr("book.paid", fee=paid.record.amount, method=t.tr(f"records.method.{paid.method.value}"))
               if paid is not None
               else t.tr("book.fee_due", fee=a.fee - a.paid) if a.paid < a.fee else "")
        lines = (
            " ".join(p for p in (department, a.doctor or t.tr("appts.general"), title) if p),
            f"{self._day(a.date)}  {a.time_text}",
            t.tr("result.where", where=where) if where else "",
            fee,
            t.tr("book.collect_hint"),
        )
        return Outcome(t.tr("book.done"), t.tr("book.code"), a.booking_code, tuple(x for x in lines if x),
                       t.tr("result.take_card"))

    # --- the fee ------------------------------------------------------------------------------------
    def _offer_payment(self, state: BookState) -> None:
        """Pay the fee now on the payment screens, or later where the hospital allows it."""
        appointment = state.appointment
        assert appointment is not None
        session = self._session

        def pay(method: PayMethod, on_view: ViewCallback, cancel: Cancel, mode: QrMode, code: str | None
                ) -> BookState:
            paid = self.flow.pay_fee(state, method, on_view, cancel, mode, code)
            if session != self._session:  # the patient left meanwhile (a QR cancelled on idle, say)
                if paid.paid is None:
                    self.flow.give_back(paid)  # unpaid where it had to be paid: the booking goes back
                self.flow.end_session()
            return paid

        settled, crashed = task_outcome(lambda: session == self._session, self._show_state,
                                         lambda: self.flow.fail(state, KioskError("unexpected error")))
        later = self._pay_later if self.flow.may_pay_later else None
        self.payment.begin(Offer(
            appointment.fee - appointment.paid, pay, settled, self._leave_payment, crashed, later=later,
            later_key="book.later", registration=True, hold_seconds=lambda: self.flow.seconds_to_pay(self.state),
            hold_expired=self._on_pay_hold_expired, step=_STEP[BookStep.PAYING],
        ))

    def _show_state(self, state: BookState) -> None:
        self.state = state
        self._render()

    def _pay_later(self) -> None:
        state = self.state
        self._run(lambda: self.flow.pay_later(state), "busy.print")

    def _leave_payment(self) -> None:
        """Back from the methods: pay later where allowed, else give the unpaid booking back."""
        if self.flow.may_pay_later:
            self._pay_later()
            return
        state = self.state
        self._run(lambda: self.flow.give_back(state), "busy.wait")

    def _on_pay_hold_expired(self) -> None:
        state = self.state
        expired = HisRefused("HOLD_EXPIRED", "号源锁定已超时", "hold expired")
        self._run(lambda: self.flow.fail(self.flow.give_back(state), expired), "busy.wait")

    def back(self, current: object) -> None:
        if self.payment.back(current):
            return
        state = self.state
        if isinstance(state, BookState) and state.step is BookStep.ERROR and state.failed_at is BookStep.PAYING:
            self._leave_payment()
            return
        super().back(current)  # type: ignore[arg-type]

    # --- patient actions ------------------------------------------------------------------------------
    def _on_hint(self, query: str) -> None:
        self.state = self.flow.search(self.state, query)
        self._render()

    def _on_department_chosen(self, department_id: str) -> None:
        state = self.state
        self._run(lambda: self.flow.choose_department(state, department_id), "busy.wait")

    def _on_doctor_chosen(self, key: str) -> None:
        self.state = self.flow.choose_doctor(self.state, key)
        self._render()

    def _on_date_chosen(self, day: str) -> None:
        state = self.state
        self._run(lambda: self.flow.choose_date(state, dt.date.fromisoformat(day)), "busy.wait")

    def _on_slot_chosen(self, slot_id: str) -> None:
        state = self.state
        self._run(lambda: self.flow.choose_slot(state, slot_id), "busy.hold")

    def _on_substitute_confirmed(self) -> None:
        self.state = self.flow.confirm_substitute(self.state)

    def _on_confirmed(self) -> None:
        state = self.state
        if state is None or state.needs_substitute_confirmation:
            return
        self._run(lambda: self.flow.book(state), "busy.book")

    def _on_hold_expired(self) -> None:
        state = self.state
        if isinstance(state, BookState) and state.step is BookStep.CONFIRM:
            # Our countdown may end before the HIS's clock says so: give the slot back rather than let it sit.
            self._release_in_background(state)
            expired = HisRefused("HOLD_EXPIRED", "号源锁定已超时", "hold expired")
            self.state = self.flow.fail(dataclasses.replace(state, hold=None), expired)
            self._render()

    def _release_in_background(self, state: BookState | None) -> None:
        if isinstance(state, BookState) and state.hold is not None:
            self.tasks.submit(lambda: self.flow.release(state), lambda _: None, lambda _: None)

    def retry(self) -> None:
        state = self.state
        if isinstance(state, BookState) and state.step is BookStep.ERROR and state.failed_at is BookStep.PAYING:
            self.state = dataclasses.replace(state, step=BookStep.PAYING, error=None, failed_at=None)
            self._render()  # the methods again
        elif isinstance(state, BookState) and state.next_free is not None:
            self._run(lambda: self.flow.take_next_free(state), "busy.hold")
        else:
            super().retry()

"""Drives 报到排队: identify -> today's collected appointments (`checkin`) -> queue ticket printed and shown."""

from __future__ import annotations

from kiosk.domain.appointment import Appointment
from kiosk.domain.idnumber import mask_name
from kiosk.flows.checkin import CheckinFlow, CheckinState, CheckinStep, can_check_in
from kiosk.ui.i18n import Translator
from kiosk.ui.patient_task_controller import PatientTaskController
from kiosk.ui.screens.choice import ChoiceScreen, Content, Item
from kiosk.ui.screens.done import DoneScreen, Outcome

STEP_KEYS = ("step.identify", "step.choose", "checkin.step", "step.done")
_STEP = {CheckinStep.IDENTIFY: 0, CheckinStep.CHOOSE: 1, CheckinStep.CHECKING_IN: 2, CheckinStep.PRINTING: 2,
         CheckinStep.DONE: 3}


def appointment_item(t: Translator, a: Appointment, enabled: bool) -> Item:
    """A registration as a card: department and doctor, the day and time, its status."""
    en = t.is_english
    title = (a.doctor_title_en if en else "") or a.doctor_title or ""
    doctor = " ".join(p for p in (a.doctor or t.tr("appts.general"), title) if p)
    department = (a.department_en if en else "") or a.department
    when = f"{a.date:%Y-%m-%d}  {t.tr(f'period.{a.period}')}  {a.time_text}"
    return Item(a.id, department, (doctor, when), t.tr(f"status.{a.status.value}"), enabled)


class CheckinController(PatientTaskController):
    STEP_KEYS = STEP_KEYS

    def __init__(self, *args: object, screen: ChoiceScreen, result: DoneScreen, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.flow = CheckinFlow(self.services)
        self.screen = screen
        self.result = result
        screen.chosen.connect(self._on_chosen)
        screen.action.connect(self._on_action)
        result.finished.connect(self.shell.go_home)

    def reset(self) -> None:
        super().reset()
        self.screen.clear()
        self.result.clear()

    def _render(self) -> None:
        state: CheckinState | None = self.state
        if state is None:
            return
        step = _STEP.get(state.step, 0)
        if state.step is CheckinStep.IDENTIFY:
            self._show_identify()
        elif state.step is CheckinStep.CHOOSE:
            self.screen.show_content(self._content, lambda sel: {"primary"} if sel else set(), state.selected_id)
            self.shell.show(self.screen, step)
        elif state.step is CheckinStep.PRINTING:
            self._run(lambda: self.flow.print_ticket(state), "busy.print")
        elif state.step is CheckinStep.DONE:
            self.result.show_outcome(self._outcome)
            self.shell.show(self.result, step)
        elif state.step is CheckinStep.ERROR:
            retry = {CheckinStep.CHECKING_IN: "error.retry", CheckinStep.PRINTING: "error.reprint"}.get(
                state.failed_at  # type: ignore[arg-type]
            )
            self.show_error(retry, None, _STEP.get(state.failed_at or CheckinStep.IDENTIFY, 0))

    def _content(self) -> Content:
        state: CheckinState = self.state
        items = tuple(appointment_item(self.t, a, can_check_in(a)) for a in state.appointments)
        name = mask_name(state.patient.name) if state.patient else ""
        none = "" if any(item.enabled for item in items) else self.t.tr("checkin.none")
        return Content(self.t.tr("appts.hello", name=name), self.t.tr("checkin.title"), items,
                       self.t.tr("checkin.none"), note=none)

    def _outcome(self) -> Outcome:
        ticket, t = self.state.ticket, self.t
        assert ticket is not None
        where = " ".join(p for p in (ticket.floor, ticket.room) if p)
        return Outcome(
            t.tr("checkin.done"), t.tr("result.queue"), ticket.queue_number,
            (ticket.department, t.tr("result.where", where=where),
             t.tr("checkin.ahead", ahead=ticket.ahead, minutes=ticket.estimated_wait_min)),
            t.tr("result.take_slip"),
        )

    def _on_chosen(self, appointment_id: str) -> None:
        self.state = self.flow.select(self.state, appointment_id)

    def _on_action(self, _element: str) -> None:
        state = self.state
        if state is not None and state.selected is not None:
            self._run(lambda: self.flow.check_in(state), "busy.checkin")

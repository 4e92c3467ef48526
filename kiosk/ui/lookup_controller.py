"""Drives 查询补打 and 退号: identify -> `records` (reprint / cancel) -> confirm (退号) -> result."""

from __future__ import annotations

from kiosk.domain.idnumber import mask_name
from kiosk.domain.payment import PaymentRecord, PayMethod
from kiosk.flows.cancel import can_cancel
from kiosk.flows.lookup import LookupFlow, can_reprint
from kiosk.flows.records import LookupState, LookupStep, payment_key
from kiosk.flows.records import Outcome as Done
from kiosk.ui.checkin_controller import appointment_item
from kiosk.ui.patient_task_controller import PatientTaskController
from kiosk.ui.screens.choice import ChoiceScreen, Content, Item
from kiosk.ui.screens.confirm import ConfirmScreen, Review
from kiosk.ui.screens.done import DoneScreen, Outcome

STEP_KEYS = ("step.identify", "records.step", "step.done")
_STEP = {LookupStep.IDENTIFY: 0, LookupStep.RECORDS: 1, LookupStep.REPRINTING: 1, LookupStep.CONFIRM_CANCEL: 1,
         LookupStep.CANCELLING: 1, LookupStep.DONE: 2}
REPRINT, CANCEL = "reprint", "cancel-booking"


class LookupController(PatientTaskController):
    STEP_KEYS = STEP_KEYS

    def __init__(
        self, *args: object, screen: ChoiceScreen, confirm: ConfirmScreen, result: DoneScreen, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.flow = LookupFlow(self.services)
        self.screen, self.confirm, self.result = screen, confirm, result
        screen.chosen.connect(self._on_chosen)
        screen.action.connect(self._on_action)
        confirm.confirmed.connect(self._on_cancel_confirmed)
        result.finished.connect(self.shell.go_home)

    def reset(self) -> None:
        super().reset()
        for screen in (self.screen, self.confirm, self.result):
            screen.clear()  # no screen keeps a view of the patient's records (a language switch re-reads it)

    def _render(self) -> None:
        state: LookupState | None = self.state
        if state is None:
            return
        step = _STEP.get(state.step, 0)
        if state.step is LookupStep.IDENTIFY:
            self._show_identify()
        elif state.step is LookupStep.RECORDS:
            self.screen.show_content(self._content, self._actions, state.selected_id)
            self.shell.show(self.screen, step)
        elif state.step is LookupStep.CONFIRM_CANCEL:
            self.confirm.show_review(self._review, None, True)
            self.shell.show(self.confirm, step)
        elif state.step is LookupStep.DONE:
            self.result.show_outcome(self._outcome)
            self.shell.show(self.result, step)
        elif state.step is LookupStep.ERROR:
            retry = {LookupStep.REPRINTING: "error.reprint"}.get(state.failed_at)  # type: ignore[arg-type]
            self.show_error(retry, None, _STEP.get(state.failed_at or LookupStep.IDENTIFY, 0))

    def _actions(self, selected: str | None) -> set[str]:
        state: LookupState | None = self.state
        if state is None:
            return set()
        if any(payment_key(p) == selected for p in state.payments):
            return {REPRINT}
        record = next((a for a in state.records if a.id == selected), None)
        if record is None:
            return set()
        return {name for name, ok in ((REPRINT, can_reprint(record)), (CANCEL, can_cancel(record))) if ok}

    def _content(self) -> Content:
        state: LookupState = self.state
        items = tuple(appointment_item(self.t, a, True) for a in state.records) + tuple(
            self._payment_item(p) for p in state.payments
        )
        name = mask_name(state.patient.name) if state.patient else ""
        return Content(self.t.tr("appts.hello", name=name), self.t.tr("records.title"), items,
                       self.t.tr("records.none"))

    def _payment_item(self, payment: PaymentRecord) -> Item:
        t = self.t
        what = t.tr("records.fee_paid" if payment.appointment_id else "records.bills_paid")
        try:
            method = t.tr(f"records.method.{PayMethod(payment.method).value}")
        except ValueError:
            method = payment.method
        when = f"{payment.paid_at:%Y-%m-%d %H:%M}  {t.tr('records.receipt_no', no=payment.receipt_no)}"
        corner = {"paid": method, "refunded": t.tr("records.refunded")}.get(payment.status, t.tr("records.reversed"))
        return Item(payment_key(payment), f"{what}  {payment.amount}", (when,), corner)

    def _review(self) -> Review:
        a, t = self.state.selected, self.t
        assert a is not None
        doctor = " ".join(p for p in (a.doctor or t.tr("appts.general"), a.doctor_title or "") if p)
        lines = (
            (t.tr("book.department"), a.department),
            (t.tr("book.doctor"), doctor),
            (t.tr("book.when"), f"{a.date:%Y-%m-%d}  {a.time_text}"),
            (t.tr("book.fee"), str(a.fee)),
        )
        warning = t.tr("cancel.warning")
        if a.paid:
            warning += "\n" + t.tr("cancel.will_refund", fee=a.paid)
        return Review(t.tr("cancel.title"), lines, t.tr("cancel.confirm"), warning)

    def _outcome(self) -> Outcome:
        state: LookupState = self.state
        t = self.t
        if state.outcome is Done.REPRINTED:
            return Outcome(t.tr("records.reprinted"), lines=(t.tr("records.count", count=state.reprint_count),),
                           take=t.tr("result.take_slip"))
        refunded = state.refunded
        if refunded is not None:
            key = {"refund.done": "cancel.refunded", "refund.pending": "cancel.refund_pending",
                   "refund.manual": "cancel.refund_window"}[refunded.result.message_key]
            lines: tuple[str, ...] = (t.tr(key, fee=refunded.result.due),)
            if refunded.slip is not None and not refunded.printed:
                lines += (t.tr("cancel.slip_not_printed"),)
            return Outcome(t.tr("cancel.done"), lines=lines, take=t.tr("result.take_slip"))
        refund = t.tr("cancel.refund", fee=state.refund) if state.refund.fen else ""
        return Outcome(t.tr("cancel.done"), lines=tuple(x for x in (refund,) if x))

    def _on_chosen(self, appointment_id: str) -> None:
        self.state = self.flow.select(self.state, appointment_id)

    def _on_action(self, element: str) -> None:
        state = self.state
        if state is None or state.selected_id is None:
            return
        if element == REPRINT:
            self._run(lambda: self.flow.reprint(state), "busy.print")
        else:
            self.state = self.flow.ask_cancel(state)
            self._render()

    def _on_cancel_confirmed(self) -> None:
        state = self.state
        if state is not None and state.step is LookupStep.CONFIRM_CANCEL:
            self._run(lambda: self.flow.cancel(state), "busy.cancel")

"""门诊缴费 — pay the clinic's bills, as a typed step machine over plain data (no Qt).

identify → choose_bills (unpaid bills grouped by order, all chosen by default) → choose_method (with the
insurance split when an insurance card or e-voucher identified the patient) → paying → done, with
`error` reachable from every step. The money itself is the payment engine's (`kiosk.flows.payment`):
this flow only gathers what to pay and how. Transitions block (HIS, devices): run them in a worker;
`pay()` forwards the engine's `PaymentView`s through `on_view` meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kiosk.devices.base import Cancel
from kiosk.domain.errors import HisRefused, HisUnavailable, KioskError
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, IdentityKind, InsuranceCardData, Patient
from kiosk.domain.payment import (
    Bill,
    Insurance,
    InsuranceKind,
    InsuranceSplit,
    PayMethod,
    QrMode,
    bills_total,
)
from kiosk.flows.identify import Identified, Identifier
from kiosk.flows.payment import Charge, Paid, PaymentEngine, PaymentRun, ViewCallback
from kiosk.flows.services import Services

log = logging.getLogger(__name__)

TASK = "payment"

_INSURANCE_BY_IDENTITY = {IdentityKind.INSURANCE_CARD: InsuranceKind.CARD, IdentityKind.QR: InsuranceKind.E_VOUCHER}


class PayStep(str, Enum):
    IDENTIFY = "identify"
    CHOOSE_BILLS = "choose_bills"
    CHOOSE_METHOD = "choose_method"
    PAYING = "paying"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PayState:
    """Everything the 门诊缴费 screens show. Holds patient data: drop it when the session ends."""

    step: PayStep = PayStep.IDENTIFY
    session: str | None = None
    patient: Patient | None = None
    insurance: Insurance | None = None
    """The credential that pre-settles (insurance card or e-voucher); None: the patient pays it all."""
    bills: tuple[Bill, ...] = ()
    chosen: frozenset[str] = frozenset()
    run: PaymentRun | None = None
    split: InsuranceSplit | None = None
    paid: Paid | None = None
    error: KioskError | None = None
    failed_at: PayStep | None = None

    @property
    def chosen_bills(self) -> tuple[Bill, ...]:
        return tuple(b for b in self.bills if b.id in self.chosen)

    @property
    def total(self) -> Money:
        return bills_total(self.chosen_bills)

    @property
    def to_pay(self) -> Money:
        """What the patient pays now: the self-pay part after insurance, or the whole."""
        return self.split.self_pay if self.split is not None else self.total


class PayFlow:
    """The transitions of 门诊缴费 over the injected services and the one payment engine."""

    def __init__(self, services: Services, engine: PaymentEngine | None = None) -> None:
        self._services = services
        self._engine = engine or PaymentEngine(services)

    @property
    def open(self) -> bool:
        """False while recovery keeps payments closed (an unsettled charge): the home screen greys it."""
        return TASK not in self._services.closed_tasks()

    def start(self) -> PayState:
        journal = self._services.journal
        return PayState(session=journal.session() if journal is not None else None)

    def fail(self, state: PayState, error: KioskError) -> PayState:
        return dataclasses.replace(state, step=PayStep.ERROR, error=error, failed_at=state.step)

    # --- identify -----------------------------------------------------------------------------------
    def identify_id_card(self, state: PayState, card: IdCardData) -> PayState:
        return self._identify(state, lambda ident: ident.resolve_id_card(card, self._services.today()))

    def identify_insurance_card(self, state: PayState, card: InsuranceCardData) -> PayState:
        return self._identify(state, lambda ident: ident.resolve_insurance_card(card, self._services.today()))

    def identify_scan(self, state: PayState, code: str) -> PayState:
        return self._identify(state, lambda ident: ident.resolve_scan(code))

    def _identify(self, state: PayState, resolve: Callable[[Identifier], Identified]) -> PayState:
        try:
            identified = resolve(Identifier(self._his()))
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=PayStep.IDENTIFY), exc)
        kind = _INSURANCE_BY_IDENTITY.get(identified.identity.kind)
        insurance = Insurance(kind, identified.identity.value) if kind is not None else None
        listed = dataclasses.replace(state, patient=identified.patient, insurance=insurance)
        return self.list_bills(listed)

    def list_bills(self, state: PayState) -> PayState:
        """(Re-)list the unpaid bills, all chosen; after a bill changed, this is where the patient lands."""
        assert state.patient is not None
        try:
            bills = tuple(self._his().bills(state.patient.id))
        except KioskError as exc:
            return self.fail(dataclasses.replace(state, step=PayStep.IDENTIFY), exc)
        log.info("pay: bills listed", extra={"patient_id": state.patient.id, "bills": len(bills)})
        return dataclasses.replace(state, step=PayStep.CHOOSE_BILLS, bills=bills,
                                   chosen=frozenset(b.id for b in bills), run=None, split=None, error=None,
                                   failed_at=None)

    # --- choose ---------------------------------------------------------------------------------------
    def toggle(self, state: PayState, bill_id: str) -> PayState:
        """Choose or unchoose one bill (pure)."""
        if bill_id not in {b.id for b in state.bills}:
            raise ValueError(f"no bill {bill_id}")
        return dataclasses.replace(state, chosen=state.chosen ^ {bill_id})

    def confirm(self, state: PayState) -> PayState:
        """The chosen bills, checked against the HIS (and pre-settled with insurance). Next: choose_method."""
        if state.patient is None or not state.chosen:
            raise ValueError("confirm needs an identified patient and at least one chosen bill")
        run = self._engine.start(Charge.for_bills(state.patient, state.chosen_bills), state.session)
        try:
            run.check()
            split = run.presettle(state.insurance) if state.insurance is not None else None
        except KioskError as exc:
            run.abandon()
            return self._refused(state, exc)
        return dataclasses.replace(state, step=PayStep.CHOOSE_METHOD, run=run, split=split)

    # --- pay ------------------------------------------------------------------------------------------
    def pay(self, state: PayState, method: PayMethod, on_view: ViewCallback | None = None,
            cancel: Cancel | None = None, mode: QrMode = QrMode.SHOW, auth_code: str | None = None) -> PayState:
        """Take the money by `method` (the engine journals, undoes and records). Next: done or error."""
        if state.run is None:
            raise ValueError("pay needs confirmed bills")
        paying = dataclasses.replace(state, step=PayStep.PAYING, error=None, failed_at=None)
        try:
            paid = state.run.pay(method, on_view, cancel, mode, auth_code)
        except KioskError as exc:
            return self._refused(paying, exc)
        return dataclasses.replace(paying, step=PayStep.DONE, paid=paid)

    def reprint(self, state: PayState) -> PayState:
        if state.run is None:
            raise ValueError("nothing paid to reprint")
        return dataclasses.replace(state, paid=state.run.reprint())

    def end(self, state: PayState) -> None:
        """The session is over (home, idle, done): undo what is not paid; the rest is recovery's."""
        if state.run is not None and state.paid is None:
            state.run.request_qr_cancel()
            state.run.abandon()
        if self._services.journal is not None and state.session is not None:
            self._services.journal.release(state.session)

    def _refused(self, state: PayState, error: KioskError) -> PayState:
        bill_changed = isinstance(error, HisRefused) and error.code == "AMOUNT_MISMATCH"
        if bill_changed or error.message_key == "payment.bill_changed":
            relisted = self.list_bills(state)
            return self.fail(dataclasses.replace(relisted, step=PayStep.CHOOSE_BILLS), error)
        return self.fail(state, error)

    def _his(self) -> Any:
        """The HIS client, with its money endpoints (`PaymentHis`) besides `HisApi`."""
        if self._services.his is None:
            raise HisUnavailable("no HIS client configured")
        return self._services.his

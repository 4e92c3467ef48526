"""门诊缴费 before the money moves: who the patient is, which insurance credential came with them, and
their unpaid bills. The money itself is the payment engine's (`kiosk.flows.payment`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kiosk.domain.errors import HisUnavailable
from kiosk.domain.patient import IdCardData, IdentityKind, InsuranceCardData, Patient
from kiosk.domain.payment import Bill, Insurance, InsuranceKind
from kiosk.flows.identify import Identified, Identifier
from kiosk.flows.payment_steps import PaymentHis
from kiosk.flows.services import HisApi


@dataclass(frozen=True, slots=True)
class Payer:
    """An identified patient and what pre-settles with the insurer (None: self-pay only)."""

    patient: Patient
    insurance: Insurance | None
    bills: tuple[Bill, ...]


class PayBillsFlow:
    """Identify, then list the unpaid bills. Calls block: run them off the GUI thread."""

    def __init__(self, his: HisApi | None) -> None:
        self._his = his

    def _client(self) -> HisApi:
        if self._his is None:
            raise HisUnavailable("no HIS client configured")
        return self._his

    def by_id_card(self, card: IdCardData, today: dt.date) -> Payer:
        return self._payer(Identifier(self._client()).resolve_id_card(card, today), None)

    def by_insurance_card(self, card: InsuranceCardData, today: dt.date) -> Payer:
        identified = Identifier(self._client()).resolve_insurance_card(card, today)
        return self._payer(identified, Insurance(InsuranceKind.CARD, card.card_number))

    def by_scan(self, code: str) -> Payer:
        """A medical-insurance e-voucher pre-settles; a visit card or e-health code does not."""
        identified = Identifier(self._client()).resolve_scan(code)
        voucher = identified.identity.kind is IdentityKind.QR
        return self._payer(identified, Insurance(InsuranceKind.E_VOUCHER, identified.identity.value) if voucher
                           else None)

    def relist(self, payer: Payer) -> Payer:
        """The bills again (after a bill changed on the HIS)."""
        return Payer(payer.patient, payer.insurance, self._bills(payer.patient.id))

    def _payer(self, identified: Identified, insurance: Insurance | None) -> Payer:
        return Payer(identified.patient, insurance, self._bills(identified.patient.id))

    def _bills(self, patient_id: str) -> tuple[Bill, ...]:
        his: PaymentHis = self._client()  # type: ignore[assignment]
        return tuple(his.bills(patient_id))

"""Finding a patient from what they present, and creating the record from an ID card (实名建档)."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his import views
from simulators.his.booking import effective_status
from simulators.his.context import Ctx, new_id
from simulators.his.errors import ApiError
from simulators.his.residentid import ResidentId
from simulators.his.schemas import NewPatientRequest, ResolveKind, ResolveRequest

Answer = tuple[int, dict[str, Any]]
_rng = random.SystemRandom()


def resolve(s: Session, ctx: Ctx, req: ResolveRequest) -> Answer:
    value = req.value.strip()
    extra: dict[str, Any] = {}
    if req.kind is ResolveKind.ID_CARD:
        cond = m.Patient.id_number == value.upper()
    elif req.kind is ResolveKind.INSURANCE_CARD:
        cond = m.Patient.insurance_card == value
    elif req.kind is ResolveKind.VISIT_CARD:
        cond = m.Patient.visit_card == value
    elif req.kind is ResolveKind.QR:
        # The e-voucher / e-health code, or the hospital's own visit card barcode.
        cond = or_(m.Patient.qr == value, m.Patient.visit_card == value)
    else:
        if req.id_last4 is None:
            raise ApiError("VALIDATION", {"field": "id_last4", "reason": "booking_code needs id_last4"})
        appt = s.execute(
            select(m.Appointment).where(m.Appointment.booking_code == value)
        ).scalar_one_or_none()
        patient = s.get(m.Patient, appt.patient_id) if appt else None
        # A wrong last-4 answers exactly like an unknown code: nothing leaks.
        if appt is None or patient is None or patient.id_number[-4:] != req.id_last4.strip().upper():
            raise ApiError("NOT_FOUND", {"kind": req.kind.value})
        extra["appointment"] = views.appointment(s, appt, ctx, effective_status(appt, ctx))
        return 200, {"patient": views.patient(patient, ctx), **extra}
    found = s.execute(select(m.Patient).where(cond)).scalars().first()
    if found is None:
        raise ApiError("NOT_FOUND", {"kind": req.kind.value})
    return 200, {"patient": views.patient(found, ctx)}


def _unique(s: Session, column: Any, make: Any) -> str:
    for _ in range(100):
        value = make()
        if s.execute(select(m.Patient.id).where(column == value)).first() is None:
            return value
    raise RuntimeError("no free number")


def create(s: Session, ctx: Ctx, req: NewPatientRequest) -> Answer:
    try:
        number = ResidentId.parse(req.id_number)
    except ValueError as exc:
        raise ApiError("VALIDATION", {"field": "id_number", "reason": str(exc)}) from None
    if number.birth_date != req.birth_date:
        raise ApiError("VALIDATION", {"field": "birth_date", "reason": "does not match the ID number"})
    if number.sex != req.sex.value:
        raise ApiError("VALIDATION", {"field": "sex", "reason": "does not match the ID number"})
    existing = s.execute(select(m.Patient).where(m.Patient.id_number == number.number)).scalar_one_or_none()
    if existing is not None:
        return 200, {"patient": views.patient(existing, ctx)}
    if req.valid_to is not None and req.valid_to < ctx.today:
        raise ApiError("CARD_EXPIRED", {"valid_to": req.valid_to.isoformat()})
    patient = m.Patient(
        id=new_id("P"),
        name=req.name.strip(),
        sex=number.sex,
        birth_date=number.birth_date,
        id_number=number.number,
        ethnicity=req.ethnicity or "",
        address=req.address or "",
        id_valid_to=req.valid_to,
        visit_card=_unique(s, m.Patient.visit_card, lambda: f"89{_rng.randrange(10**8):08d}"),
        insurance_card=None,
        insurance_valid_to=None,
        qr=_unique(s, m.Patient.qr, lambda: f"EHC{_rng.getrandbits(64):016X}"),
        account_balance_fen=0,
        first_visit=True,
        created_at=ctx.now,
    )
    s.add(patient)
    s.flush()
    return 201, {"patient": views.patient(patient, ctx)}

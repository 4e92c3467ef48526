"""Value types shared by every layer: money, identities, appointments, printouts, errors."""

from kiosk.domain.appointment import Appointment, AppointmentStatus, Collected
from kiosk.domain.idnumber import IdNumber, Sex, mask_card, mask_id_number, mask_name
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, Identity, IdentityKind, InsuranceCardData, Patient

__all__ = [
    "Appointment",
    "AppointmentStatus",
    "Collected",
    "IdCardData",
    "IdNumber",
    "Identity",
    "IdentityKind",
    "InsuranceCardData",
    "Money",
    "Patient",
    "Sex",
    "mask_card",
    "mask_id_number",
    "mask_name",
]

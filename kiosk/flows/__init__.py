"""flows layer of the kiosk: one UI-agnostic step machine per patient task (no Qt here)."""

from kiosk.flows.collect import CollectFlow, CollectState, CollectStep
from kiosk.flows.identify import Identified, Identifier
from kiosk.flows.pay import PayFlow, PayState, PayStep
from kiosk.flows.payment import Charge, Paid, PaymentEngine, PaymentFailed, PaymentRun, PaymentView, Phase
from kiosk.flows.services import HisApi, Services

__all__ = [
    "Charge",
    "CollectFlow",
    "CollectState",
    "CollectStep",
    "HisApi",
    "Identified",
    "Identifier",
    "Paid",
    "PayFlow",
    "PayState",
    "PayStep",
    "PaymentEngine",
    "PaymentFailed",
    "PaymentRun",
    "PaymentView",
    "Phase",
    "Services",
]

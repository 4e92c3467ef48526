"""flows layer of the kiosk: one UI-agnostic step machine per patient task (no Qt here)."""

from kiosk.flows.collect import CollectFlow, CollectState, CollectStep
from kiosk.flows.identify import Identified, Identifier
from kiosk.flows.services import HisApi, Services

__all__ = ["CollectFlow", "CollectState", "CollectStep", "HisApi", "Identified", "Identifier", "Services"]

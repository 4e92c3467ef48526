"""Service gating: which tasks the kiosk can offer now, and why a closed one is closed.

Each task declares what it needs (`TASK_NEEDS`): devices and the HIS every one of which must serve, and
groups of alternatives of which one is enough (a patient identifies by ID card, insurance card, a scanned
code or a typed booking code, so the ID reader down closes nothing). A need in Error or Offline closes
exactly the tasks that need it; when it serves again they reopen. Pure data in, pure data out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from kiosk.devices.base import Detail, Health


class Need(str, Enum):
    HIS = "his"
    IDCARD = "idcard"
    INSURANCE = "insurance"
    PRINTER = "printer"
    PAYMENT = "payment"
    SCANNER = "scanner"
    KEYPAD = "keypad"
    """The on-screen keypad (typed booking code): always there."""


@dataclass(frozen=True)
class Requirement:
    all_of: tuple[Need, ...]
    """Each MUST serve."""
    one_of: tuple[tuple[Need, ...], ...] = ()
    """From each group, at least one MUST serve."""


@dataclass(frozen=True)
class NeedState:
    health: Health
    detail: Detail = Detail.NONE
    installed: bool = True


IDENTIFY = (Need.IDCARD, Need.INSURANCE, Need.SCANNER, Need.KEYPAD)
PAY_SELF = (Need.PAYMENT, Need.SCANNER, Need.HIS)
"""Bank card on the terminal, the patient's payment code on the scanner, or a QR shown (through the HIS)."""

TASK_NEEDS: dict[str, Requirement] = {
    "collect": Requirement((Need.HIS, Need.PRINTER), (IDENTIFY,)),
    "book": Requirement((Need.HIS, Need.PRINTER), (IDENTIFY, PAY_SELF)),
    "pay": Requirement((Need.HIS, Need.PRINTER), (IDENTIFY, PAY_SELF)),
    "checkin": Requirement((Need.HIS, Need.PRINTER), (IDENTIFY,)),
    "lookup": Requirement((Need.HIS,), (IDENTIFY,)),
}
ALWAYS = NeedState(Health.OK)


def _serves(states: Mapping[Need, NeedState], need: Need) -> bool:
    state = ALWAYS if need is Need.KEYPAD else states.get(need, NeedState(Health.OFFLINE, installed=False))
    return state.installed and state.health.serving


def reason_key(need: Need, state: NeedState | None) -> str:
    """The message key shown on a tile closed because `need` does not serve."""
    if need is Need.HIS:
        return "task.no_his"
    if state is None or not state.installed:
        return f"task.no_{need.value}"
    if need is Need.PRINTER and state.detail in (Detail.PAPER_OUT, Detail.COVER_OPEN):
        return f"task.printer_{state.detail.value.replace('-', '_')}"
    return f"task.{need.value}_down"


def closed_tasks(states: Mapping[Need, NeedState], tasks: Mapping[str, Requirement] = TASK_NEEDS) -> dict[str, str]:
    """Every task that cannot run now -> the message key of (the first) reason."""
    closed: dict[str, str] = {}
    for task, requirement in tasks.items():
        missing = [need for need in requirement.all_of if not _serves(states, need)]
        missing += [group[0] for group in requirement.one_of if not any(_serves(states, n) for n in group)]
        if missing:
            closed[task] = reason_key(missing[0], states.get(missing[0]))
    return closed

"""The fleet view for hospital IT: every kiosk's last heartbeat, judged and sorted by urgency.

A kiosk whose last heartbeat is older than `STALE_AFTER_S` is down, whatever it said then. One with a
device in a fault state (out of paper, cover open, reader offline) cannot serve everything; one with paper
low, a device starting or a journal backlog needs a look soon. `GET /api/v1/kiosks` answers this list;
`GET /api/v1/fleet` is the page that shows it.

A heartbeat may carry the kiosk's satisfaction tally (`{"since", "counts": {task: {rating: n}}}`,
cumulative since `since`); the list shows each kiosk's and, summed, the fleet's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

STALE_AFTER_S = 180
"""Three missed heartbeats (the kiosk sends one a minute)."""
FAULT_STATES = frozenset({"offline", "no-device", "hardware-error", "user-error"})
WARNING_DETAILS = frozenset({"paper-low", "needs-sign-in"})


class Standing(str, Enum):
    """Worst first: the order the page lists kiosks in."""

    DOWN = "down"
    FAULT = "fault"
    WARNING = "warning"
    OK = "ok"


@dataclass(frozen=True)
class KioskView:
    kiosk_id: str
    standing: Standing
    problems: list[str]
    last_seen: str
    seconds_since: int
    version: str
    journal_backlog: int
    devices: dict[str, dict[str, str]] = field(default_factory=dict)
    satisfaction: dict[str, dict[str, int]] = field(default_factory=dict)
    """Ratings per task ({task: {"good": n, "ok": n, "bad": n}}) since `satisfaction_since`."""
    satisfaction_since: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "standing": self.standing.value}


def judge(kiosk_id: str, received_at: dt.datetime, body: dict[str, Any], now: dt.datetime) -> KioskView:
    """One kiosk's standing from its last heartbeat (`received_at` and `now` in the same zone)."""
    since = max(0, int((now - received_at).total_seconds()))
    devices = body.get("devices") if isinstance(body.get("devices"), dict) else {}
    backlog = body.get("journal_backlog") if isinstance(body.get("journal_backlog"), int) else 0
    faults, warnings = [], []
    for name, status in sorted(devices.items()):
        status = status if isinstance(status, dict) else {}
        state, detail = str(status.get("state", "")), str(status.get("detail", "none"))
        what = f"{name}: {detail if detail != 'none' else state}"
        if state in FAULT_STATES:
            faults.append(what)
        elif detail in WARNING_DETAILS or state == "starting":
            warnings.append(what)
    if backlog:
        warnings.append(f"journal backlog: {backlog}")
    if since > STALE_AFTER_S:
        standing, problems = Standing.DOWN, [f"no heartbeat for {since // 60} min", *faults, *warnings]
    elif faults:
        standing, problems = Standing.FAULT, faults + warnings
    else:
        standing, problems = (Standing.WARNING if warnings else Standing.OK), warnings
    counts, counted_since = _satisfaction(body.get("satisfaction"))
    return KioskView(kiosk_id, standing, problems, received_at.isoformat(timespec="seconds"), since,
                     str(body.get("software_version", "")), backlog, devices, counts, counted_since)


def _satisfaction(tally: Any) -> tuple[dict[str, dict[str, int]], str]:
    """The tally a heartbeat carries, what of it is well-formed (counts are non-negative integers)."""
    if not isinstance(tally, dict) or not isinstance(tally.get("counts"), dict):
        return {}, ""
    counts = {
        str(task): {str(rating): n for rating, n in by_rating.items() if isinstance(n, int) and n >= 0}
        for task, by_rating in tally["counts"].items() if isinstance(by_rating, dict)
    }
    return counts, str(tally.get("since", ""))


def satisfaction_totals(views: Iterable[KioskView]) -> dict[str, dict[str, int]]:
    """Every kiosk's ratings summed per task and rating."""
    totals: dict[str, dict[str, int]] = {}
    for view in views:
        for task, by_rating in view.satisfaction.items():
            for rating, n in by_rating.items():
                totals.setdefault(task, {})[rating] = totals.get(task, {}).get(rating, 0) + n
    return totals


def fleet(rows: Iterable[tuple[str, dt.datetime, str]], now: dt.datetime) -> list[KioskView]:
    """Every kiosk from (kiosk id, received at, heartbeat JSON), most urgent first."""
    order = list(Standing)
    views = [judge(kiosk_id, received_at, json.loads(body), now) for kiosk_id, received_at, body in rows]
    return sorted(views, key=lambda v: (order.index(v.standing), -len(v.problems), -v.seconds_since, v.kiosk_id))

"""The hospital's booking, collection, fee and insurance rules: every number configurable, SPEC defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Title(str, Enum):
    """Doctor titles (职称), cheapest first."""

    RESIDENT = "住院医师"
    ATTENDING = "主治医师"
    ASSOCIATE_CHIEF = "副主任医师"
    CHIEF = "主任医师"
    EXPERT = "知名专家"

    @property
    def english(self) -> str:
        return _TITLE_EN[self]


_TITLE_EN = {
    Title.RESIDENT: "Resident",
    Title.ATTENDING: "Attending physician",
    Title.ASSOCIATE_CHIEF: "Associate chief physician",
    Title.CHIEF: "Chief physician",
    Title.EXPERT: "Named expert",
}


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


@dataclass(frozen=True)
class Rules:
    """Defaults are SPEC.md's; a hospital overrides any of them (``Rules.from_toml``)."""

    timezone: str = "Asia/Shanghai"
    # Booking window: tomorrow .. today + booking_window_days; the last day opens at release_time.
    booking_window_days: int = 7
    release_time: dt.time = dt.time(8, 30)
    tomorrow_closes: dt.time = dt.time(15, 0)
    # Same-day registration (当日挂号) is allowed until the session's cut-off.
    same_day_cutoff_am: dt.time = dt.time(11, 0)
    same_day_cutoff_pm: dt.time = dt.time(16, 30)
    # Cancelled slots come back to the pool, but not during the quiet hours.
    quiet_start: dt.time = dt.time(23, 0)
    quiet_end: dt.time = dt.time(6, 0)
    hold_minutes: int = 15
    max_departments_per_day: int = 2
    max_per_department_per_day: int = 1
    max_bookings_per_window: int = 3
    bookings_window_days: int = 7
    max_first_visit_expert: int = 1
    first_visit_expert_window_days: int = 7
    expert_titles: tuple[Title, ...] = (Title.ASSOCIATE_CHIEF, Title.CHIEF, Title.EXPERT)
    followup_reserve_percent: int = 10
    # Fees: registration fee + consultation fee by title; the general clinic charges general_clinic_fen.
    registration_fee_fen: int = 100
    consultation_fee_fen: dict[Title, int] = field(
        default_factory=lambda: {
            Title.RESIDENT: 500,
            Title.ATTENDING: 1000,
            Title.ASSOCIATE_CHIEF: 2500,
            Title.CHIEF: 4000,
            Title.EXPERT: 10000,
        }
    )
    general_clinic_fen: int = 500
    # Collection (取号) windows; after the window's end a booked appointment is a no-show.
    collect_am: tuple[dt.time, dt.time] = (dt.time(7, 30), dt.time(10, 30))
    collect_pm: tuple[dt.time, dt.time] = (dt.time(13, 30), dt.time(16, 30))
    collect_min_before_slot: int | None = None
    cancel_deadline: dt.time = dt.time(14, 30)
    """Free cancellation until this time on the day before the appointment."""
    no_show_limit: int = 3
    no_show_window_days: int = 90
    no_show_ban_days: int = 180
    minutes_per_patient: int = 8
    # Insurance: the fund's share per item category, in percent; the rest is co-pay (account, then self).
    fund_percent: dict[str, int] = field(default_factory=lambda: {"a": 70, "b": 50, "c": 0})
    idempotency_keep_days: int = 7

    def fee_for(self, title: Title | None) -> int:
        """Registration fee + consultation fee; title None is the department's general clinic."""
        consult = self.general_clinic_fen if title is None else self.consultation_fee_fen[title]
        return self.registration_fee_fen + consult

    def is_expert(self, title: Title | None) -> bool:
        return title is not None and title in self.expert_titles

    def collection_window(self, period: str) -> tuple[dt.time, dt.time]:
        return self.collect_am if period == "am" else self.collect_pm

    def collection_times(self, day: dt.date, period: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """When an appointment on `day` in `period`, starting at `start`, can be collected: [begin, end)."""
        opens, closes = self.collection_window(period)
        begin, end = dt.datetime.combine(day, opens), dt.datetime.combine(day, closes)
        if self.collect_min_before_slot is not None:
            end = min(end, start - dt.timedelta(minutes=self.collect_min_before_slot))
        return begin, end

    def same_day_cutoff(self, period: str) -> dt.time:
        return self.same_day_cutoff_am if period == "am" else self.same_day_cutoff_pm

    @classmethod
    def from_toml(cls, path: Path) -> Rules:
        """Rules from a TOML file of top-level keys named like the fields (times as "HH:MM")."""
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Rules:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in fields:
                raise ValueError(f"unknown rule {key!r}")
            default = getattr(cls(), key)
            if isinstance(default, dt.time):
                value = _t(value)
            elif key in ("collect_am", "collect_pm"):
                value = (_t(value[0]), _t(value[1]))
            elif key == "expert_titles":
                value = tuple(Title(v) for v in value)
            elif key == "consultation_fee_fen":
                value = {Title(k): int(v) for k, v in value.items()}
            values[key] = value
        return cls(**values)

"""The patient's one-tap rating after a task (满意 / 一般 / 不满意): counted per task, never tied to a patient."""

from __future__ import annotations

from enum import Enum


class Rating(str, Enum):
    GOOD = "good"
    OK = "ok"
    BAD = "bad"

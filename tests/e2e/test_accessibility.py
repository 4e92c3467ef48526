"""The accessibility check: every screen a patient can reach, in zh/en × normal/elder × portrait/landscape,
read through the automation port of one running kiosk; fails on small text, small or crowded targets,
low contrast and anything clipped (kiosk/ui/automation/a11y.py). New routes in kiosk/ui/tour.py are
checked here without touching this file."""

from __future__ import annotations

from kiosk.ui.automation.a11y import problems
from kiosk.ui.tour import SCREENS, VARIANTS, take_tour

# out_of_service is not reachable from outside; tests/ui/test_elder_mode.py checks it in-process


def test_every_screen_passes_in_every_variant(kiosk) -> None:
    patient, _ = kiosk.patient_with_booking()
    found: list[str] = []
    looks: list[tuple[str, str]] = []

    def visit(screen, variant) -> None:
        assert (screen["lang"], screen["mode"], screen["size"]) == (variant.lang, variant.mode, list(variant.size))
        looks.append((screen["screen"], variant.name))
        found.extend(problems(screen))

    seen = take_tour(kiosk.kiosk, kiosk.sims, visit, patient["id"])

    assert sorted(seen) == sorted(SCREENS)
    assert len(looks) == len(seen) * len(VARIANTS)
    assert found == []

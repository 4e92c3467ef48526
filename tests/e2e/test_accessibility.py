"""The accessibility and translation check: every screen a patient can reach, in zh/en × normal/elder ×
portrait/landscape, read through the automation port of one running kiosk; fails on small text, small or
crowded targets, low contrast and anything clipped (kiosk/ui/automation/a11y.py), and on an English
screen with Chinese that is not the hospital's data or a raw message key (kiosk/ui/automation/untranslated.py).
New routes in kiosk/ui/tour.py are checked here without touching this file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from kiosk.domain.idnumber import mask_name
from kiosk.ui.automation.a11y import problems
from kiosk.ui.automation.untranslated import CJK, untranslated
from kiosk.ui.demo import his_fixtures
from kiosk.ui.tour import SCREENS, VARIANTS, take_tour
from simulators.his.testing import TOKEN

# out_of_service is not reachable from outside; tests/ui/test_elder_mode.py checks it in-process


def _strings(answer: Any) -> Iterator[str]:
    if isinstance(answer, str):
        yield answer
    elif isinstance(answer, dict | list):
        for value in answer.values() if isinstance(answer, dict) else answer:
            yield from _strings(value)


def his_words(his_url: str) -> set[str]:
    """The Chinese the hospital's data brings to a screen in any language: patients' names (also masked),
    departments, rooms, doctors, specialties, bill items — read from the HIS the kiosk talks to."""
    fixtures = his_fixtures(his_url)
    answers: list[Any] = [fixtures["patients"], *(mask_name(p["name"]) for p in fixtures["patients"])]
    with requests.Session() as his:
        his.headers["Authorization"] = f"Bearer {TOKEN}"
        billed = sorted({b["patient_id"] for b in fixtures["bills"] if b["status"] == "unpaid"})
        for path, params in [("departments", {}), ("doctors", {}), *(("bills", {"patient_id": p}) for p in billed)]:
            response = his.get(f"{his_url}/{path}", params=params, timeout=30)
            response.raise_for_status()
            answers.append(response.json())
    return {s for s in _strings(answers) if CJK.search(s)}


def test_every_screen_passes_in_every_variant(kiosk) -> None:
    patient, _ = kiosk.patient_with_booking()
    found: list[str] = []
    looks: list[tuple[str, str]] = []
    english: list[dict[str, Any]] = []

    def visit(screen, variant) -> None:
        assert (screen["lang"], screen["mode"], screen["size"]) == (variant.lang, variant.mode, list(variant.size))
        looks.append((screen["screen"], variant.name))
        found.extend(problems(screen))
        if variant.lang == "en":
            english.append(screen)

    seen = take_tour(kiosk.kiosk, kiosk.sims, visit, patient["id"])

    assert sorted(seen) == sorted(SCREENS)
    assert len(looks) == len(seen) * len(VARIANTS)
    assert found == []
    data = his_words(kiosk.sims.describe()["simulators"]["his"]["url"])
    assert sorted({problem for screen in english for problem in untranslated(screen, data)}) == []

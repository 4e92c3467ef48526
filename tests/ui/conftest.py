"""UI tests run offscreen with the shared fakes (tests/conftest.py) and a synchronous task runner; screenshots go to /tmp/ui-shots."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest

SHOTS = Path(os.environ.get("KIOSK_UI_SHOTS", "/tmp/ui-shots"))


class FakeVoice:
    """A voice backend that only notes what it was asked to say (no sound card in tests)."""

    def __init__(self) -> None:
        self.spoken: list[object] = []

    def speak(self, utterance, stop) -> None:
        self.spoken.append(utterance)


@pytest.fixture
def voice() -> FakeVoice:
    return FakeVoice()


@pytest.fixture
def make_window(qtbot, voice) -> Callable[..., object]:
    """Build a portrait MainWindow on fake services with the synchronous runner (or the one given);
    what it speaks goes to the `voice` fixture; `options` go to MainWindow (e.g. `task_factory`)."""
    from kiosk.ui.main_window import MainWindow
    from kiosk.ui.tasks import SyncRunner

    def make(services, runner=None, size=(1080, 1920), **options):
        window = MainWindow(services, runner=runner or SyncRunner(), voice_backend=voice, **options)
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        return window

    return make


@pytest.fixture
def shot() -> Callable[[object, str], Path]:
    from kiosk.ui.screenshots import grab

    return lambda window, name: grab(window, SHOTS / f"{name}.png")

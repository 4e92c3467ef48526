"""The kiosk's voice: speaks one short prompt at a time on its own thread; a new prompt cuts the old one off.

A prompt is an id (the screen's name), a text and a language. A recording the hospital supplies,
`<voice_dir>/<lang>/<prompt-id>.wav`, wins; otherwise espeak-ng reads the text. No Qt here: the window
calls `say()` from the GUI thread and returns at once; the speaking happens on the worker thread.
Prompts never queue: only the newest waiting prompt is kept, and it interrupts the one being spoken.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

ESPEAK_VOICES = {"zh": "cmn", "en": "en"}
"""espeak-ng voice per UI language ('zh' is Mandarin, read as Chinese characters)."""
ESPEAK_SPEED_WPM = {False: 160, True: 130}
"""Words per minute: normal, and slower for elder mode."""
STOP_WAIT_S = 2.0


@dataclass(frozen=True)
class Utterance:
    prompt_id: str
    text: str
    lang: str
    """'zh' or 'en' (the automation port's language code)."""
    slow: bool = False


class Backend(Protocol):
    """Speaks one utterance, returning when done or when `stop` is set (then as soon as it can)."""

    def speak(self, utterance: Utterance, stop: threading.Event) -> None: ...


def _run_until_stopped(command: list[str], stop: threading.Event) -> None:
    """Run a player; kill it when `stop` is set (a newer prompt came)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while process.poll() is None:
            if stop.wait(0.05):
                process.terminate()
                process.wait(STOP_WAIT_S)
                return
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_WAIT_S)


def espeak_command(utterance: Utterance, wav: Path | None = None) -> list[str]:
    """The espeak-ng command line that speaks `utterance` (to the sound card, or into `wav`)."""
    command = ["espeak-ng", "-v", ESPEAK_VOICES.get(utterance.lang, "en"), "-s", str(ESPEAK_SPEED_WPM[utterance.slow])]
    if wav is not None:
        command += ["-w", str(wav)]
    return [*command, "--", utterance.text]


class PlayerBackend:
    """Recorded prompts through `aplay`, everything else through espeak-ng."""

    def __init__(self, voice_dir: Path) -> None:
        self.voice_dir = voice_dir

    def recording(self, utterance: Utterance) -> Path | None:
        path = self.voice_dir / utterance.lang / f"{utterance.prompt_id}.wav"
        return path if path.is_file() else None

    def speak(self, utterance: Utterance, stop: threading.Event) -> None:
        recorded = self.recording(utterance)
        if recorded is not None and shutil.which("aplay"):
            _run_until_stopped(["aplay", "-q", str(recorded)], stop)
        else:
            _run_until_stopped(espeak_command(utterance), stop)


class Voice:
    """The speaking thread. `say()` replaces whatever waits and interrupts what is being spoken."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._next: Utterance | None = None
        self._stop_current = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="voice", daemon=True)
        self._thread.start()

    def say(self, utterance: Utterance) -> None:
        with self._lock:
            self._next = utterance
            self._stop_current.set()
            self._wake.notify()

    def silence(self) -> None:
        """Stop speaking and drop what waits (voice switched off, session wiped)."""
        with self._lock:
            self._next = None
            self._stop_current.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._next = None
            self._stop_current.set()
            self._wake.notify()
        self._thread.join(STOP_WAIT_S * 2)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while self._next is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                utterance, self._next = self._next, None
                stop = self._stop_current = threading.Event()
            try:
                self.backend.speak(utterance, stop)
            except Exception:  # a broken sound card must not stop the kiosk; the technician sees the log
                log.exception("voice prompt failed", extra={"prompt": utterance.prompt_id})

"""The voice engine: one prompt at a time off the GUI thread, a newer prompt cuts the old one off and
nothing stale queues up; recordings win over text-to-speech; espeak-ng really speaks Chinese."""

from __future__ import annotations

import shutil
import subprocess
import threading
import wave

from kiosk_test_support import wait_for

from kiosk.ui.voice import PlayerBackend, Utterance, Voice, espeak_command


class BlockingBackend:
    """Speaks until told to stop (or released), recording what it started and what was cut off."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.interrupted: list[str] = []
        self.threads: set[str] = set()
        self.release = threading.Event()

    def speak(self, utterance: Utterance, stop: threading.Event) -> None:
        self.started.append(utterance.text)
        self.threads.add(threading.current_thread().name)
        while not self.release.is_set():
            if stop.wait(0.01):
                self.interrupted.append(utterance.text)
                return


def test_a_new_prompt_interrupts_the_old_and_stale_ones_are_dropped() -> None:
    backend = BlockingBackend()
    voice = Voice(backend)
    try:
        voice.say(Utterance("home", "您好", "zh"))
        assert wait_for(lambda: backend.started == ["您好"])
        # three screens in quick succession while the first is still being spoken
        voice.say(Utterance("identify", "请将身份证放在读卡区", "zh"))
        voice.say(Utterance("code_entry", "请输入预约码", "zh"))
        voice.say(Utterance("appointments", "请选择要取号的预约", "zh"))
        assert wait_for(lambda: backend.started[-1] == "请选择要取号的预约")
        assert "您好" in backend.interrupted
        # at most one of the in-between prompts got a start before being cut off; none waits in a queue
        assert len(backend.started) <= 3
        backend.release.set()
        assert backend.threads == {"voice"}  # never on the caller's (the GUI) thread
    finally:
        voice.close()


def test_a_recorded_prompt_wins_over_text_to_speech(tmp_path) -> None:
    (tmp_path / "zh").mkdir()
    recorded = tmp_path / "zh" / "home.wav"
    recorded.write_bytes(b"RIFF")
    backend = PlayerBackend(tmp_path)
    assert backend.recording(Utterance("home", "您好", "zh")) == recorded
    assert backend.recording(Utterance("home", "Welcome", "en")) is None
    assert backend.recording(Utterance("identify", "请将身份证放在读卡区", "zh")) is None


def test_espeak_speaks_chinese_and_english_at_a_slower_pace_for_elders() -> None:
    zh = espeak_command(Utterance("home", "您好", "zh", slow=True))
    en = espeak_command(Utterance("home", "Welcome", "en"))
    assert zh[:3] == ["espeak-ng", "-v", "cmn"] and en[:3] == ["espeak-ng", "-v", "en"]
    assert int(zh[zh.index("-s") + 1]) < int(en[en.index("-s") + 1])
    assert zh[-1] == "您好"


def test_espeak_ng_writes_real_speech(tmp_path) -> None:
    """The real engine (Debian espeak-ng, installed by scripts/setup.sh) reads a Chinese prompt into a WAV
    that holds about a second of sound, not silence."""
    assert shutil.which("espeak-ng"), "espeak-ng is not installed (scripts/setup.sh installs it)"
    out = tmp_path / "prompt.wav"
    command = espeak_command(Utterance("identify", "请将身份证放在读卡区", "zh"), wav=out)
    subprocess.run(command, check=True, timeout=60, capture_output=True)
    with wave.open(str(out)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        frames = wav.readframes(wav.getnframes())
        width = wav.getsampwidth()
    assert 0.8 < seconds < 15
    samples = [int.from_bytes(frames[i : i + width], "little", signed=True) for i in range(0, len(frames), width)]
    loud = sum(1 for s in samples if abs(s) > 1000)
    assert loud > len(samples) // 20  # speech, not a file of silence

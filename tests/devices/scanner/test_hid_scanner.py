"""HidScanner: key-event translation and the driver over a fake event source (no /dev/input needed)."""

from __future__ import annotations

import queue
import threading

import pytest

from kiosk.devices.base import Capability, DeviceState
from kiosk.devices.scanner import EV_KEY, HidScanner, KeyTranslator
from kiosk.domain.errors import DeviceOffline, DeviceTimeout

# input-event-codes.h
KEY = {
    ch: code for code, ch in {2: "1", 3: "2", 11: "0", 30: "a", 48: "b", 46: "c", 12: "-", 39: ";"}.items()
}
LEFTSHIFT, CAPSLOCK, ENTER, KPENTER = 42, 58, 28, 96
EV_SYN = 0


def press(code: int) -> list[tuple[int, int, int]]:
    return [(EV_KEY, code, 1), (EV_SYN, 0, 0), (EV_KEY, code, 0), (EV_SYN, 0, 0)]


def typed(text: str, end: int = ENTER) -> list[tuple[int, int, int]]:
    """Events a wedge scanner emits for `text` (letters a-c, digits 0-2, '-', ';', and their shifted forms)."""
    shifted = {"A": "a", "B": "b", "C": "c", ":": ";", "_": "-", "!": "1", "@": "2", ")": "0"}
    events: list[tuple[int, int, int]] = []
    for ch in text:
        if ch in shifted:
            events += [(EV_KEY, LEFTSHIFT, 1), *press(KEY[shifted[ch]]), (EV_KEY, LEFTSHIFT, 0)]
        else:
            events += press(KEY[ch])
    return events + press(end)


def translate(events: list[tuple[int, int, int]]) -> list[str]:
    keys = KeyTranslator()
    return [text for kind, code, value in events if kind == EV_KEY and (text := keys.feed(code, value))]


def test_translation_plain_shifted_and_enter() -> None:
    assert translate(typed("ab-12")) == ["ab-12"]
    assert translate(typed("Ab:C_!@)")) == ["Ab:C_!@)"]
    assert translate(typed("a1", end=KPENTER) + typed("b2")) == ["a1", "b2"]


def test_caps_lock_and_shift_invert_letters_only() -> None:
    events = press(CAPSLOCK) + typed("abA1!") + press(CAPSLOCK) + typed("a")
    assert translate(events) == ["ABa1!", "a"]


def test_repeats_releases_and_empty_lines_give_nothing() -> None:
    keys = KeyTranslator()
    assert keys.feed(KEY["a"], 2) is None  # auto-repeat
    assert keys.feed(ENTER, 1) is None  # Enter with nothing typed
    assert keys.feed(KEY["a"], 1) is None
    assert keys.feed(999, 1) is None  # unknown key ignored
    assert keys.feed(ENTER, 1) == "a"


class FakeSource:
    """A KeyEventSource fed by the test; `fail()` makes it behave like an unplugged device."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[int, int, int]] = queue.Queue()
        self.dead = False
        self.closed = False

    def read(self, timeout_s: float) -> list[tuple[int, int, int]]:
        if self.dead:
            raise OSError(19, "No such device")
        try:
            first = self.events.get(timeout=timeout_s) if timeout_s > 0 else self.events.get_nowait()
        except queue.Empty:
            return []
        out = [first]
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def close(self) -> None:
        self.closed = True


class FakeDevices:
    """The source factory: present or absent, and hands out a fresh source per (re)connect."""

    def __init__(self) -> None:
        self.present = True
        self.sources: list[FakeSource] = []

    def __call__(self, path: str) -> FakeSource:
        if not self.present:
            raise FileNotFoundError(path)
        self.sources.append(FakeSource())
        return self.sources[-1]

    def type_when_busy(self, scanner: HidScanner, text: str) -> threading.Thread:
        def run() -> None:
            for _ in range(500):
                if scanner.status().state is DeviceState.BUSY:
                    for event in typed(text):
                        self.sources[-1].events.put(event)
                    return
                threading.Event().wait(0.01)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


@pytest.fixture
def devices() -> FakeDevices:
    return FakeDevices()


def test_hid_scanner_reads_a_code(devices: FakeDevices) -> None:
    scanner = HidScanner("/dev/input/fake", source_factory=devices, reconnect_interval_s=0.05)
    scanner.open()
    try:
        assert scanner.status().state is DeviceState.ONLINE
        assert Capability.HID in scanner.capabilities()
        devices.sources[-1].events.put((EV_KEY, KEY["c"], 1))  # stale keystrokes before the wait
        thread = devices.type_when_busy(scanner, "Ab12")
        assert scanner.read_code(timeout_s=5) == "Ab12"
        thread.join(timeout=5)
        with pytest.raises(DeviceTimeout):
            scanner.read_code(timeout_s=0.1)
    finally:
        scanner.close()
    assert devices.sources[-1].closed


def test_hid_scanner_unplug_and_replug(devices: FakeDevices) -> None:
    scanner = HidScanner("/dev/input/fake", source_factory=devices, reconnect_interval_s=0.05)
    scanner.open()
    try:
        devices.present = False
        devices.sources[-1].dead = True
        with pytest.raises(DeviceOffline):
            scanner.read_code(timeout_s=1)
        assert scanner.status().state in (DeviceState.OFFLINE, DeviceState.NO_DEVICE)
        devices.present = True
        for _ in range(500):
            if scanner.status().state is DeviceState.ONLINE:
                break
            threading.Event().wait(0.01)
        assert scanner.status().state is DeviceState.ONLINE
        thread = devices.type_when_busy(scanner, "a1")
        assert scanner.read_code(timeout_s=5) == "a1"
        thread.join(timeout=5)
    finally:
        scanner.close()


def test_missing_evdev_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_evdev(name: str, *args: object, **kwargs: object) -> object:
        if name == "evdev":
            raise ImportError("No module named 'evdev'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_evdev)
    scanner = HidScanner("/dev/input/event-none")
    scanner.open()
    try:
        assert scanner.status().state is DeviceState.HARDWARE_ERROR
        assert "pip install 'kiosk[hid]'" in scanner.status().message
        with pytest.raises(DeviceOffline, match="evdev"):
            scanner.read_code(timeout_s=0.1)
    finally:
        scanner.close()

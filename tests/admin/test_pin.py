"""The technician PIN: salted scrypt hash, five wrong tries lock the entry for five minutes, no default."""

import logging
from pathlib import Path

import pytest

from kiosk import config
from kiosk.admin.config_file import with_pin_hash, write_pin_hash
from kiosk.admin.pin import LOCKOUT_S, PinFormatError, PinGate, Verdict, hash_pin, verify_pin


def test_hash_is_salted_and_verifies_only_the_right_pin() -> None:
    first, second = hash_pin("246810"), hash_pin("246810")
    assert first != second and first.startswith("scrypt$") and "246810" not in first
    assert verify_pin("246810", first) and not verify_pin("246811", first)
    with pytest.raises(PinFormatError):
        hash_pin("12ab56")
    with pytest.raises(PinFormatError):
        verify_pin("246810", "plain-000000")


def test_five_wrong_pins_lock_for_five_minutes_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    gate = PinGate(hash_pin("246810"), clock=lambda: now[0])
    caplog.set_level(logging.INFO)
    answers = [gate.check("000000") for _ in range(5)]
    assert [a.tries_left for a in answers[:4]] == [4, 3, 2, 1]
    assert answers[4].verdict is Verdict.LOCKED and answers[4].locked_for_s == 300
    assert gate.check("246810").verdict is Verdict.LOCKED  # even the right PIN, while locked
    now[0] += LOCKOUT_S - 1
    assert gate.check("246810").verdict is Verdict.LOCKED
    now[0] += 1
    assert gate.check("246810").verdict is Verdict.OK
    assert "technician entry locked after wrong PINs" in caplog.text
    assert "246810" not in caplog.text and "000000" not in caplog.text


def test_no_pin_configured_means_no_entry() -> None:
    gate = PinGate(config.Config().admin.pin_hash)
    assert not gate.enabled and gate.check("000000").verdict is Verdict.OFF


def test_set_pin_edits_only_the_admin_key(tmp_path: Path) -> None:
    example = (Path(__file__).parents[2] / "systemd" / "kiosk.toml.example").read_text(encoding="utf-8")
    path = tmp_path / "kiosk.toml"
    path.write_text(example, encoding="utf-8")
    stored = hash_pin("135790")
    write_pin_hash(path, stored)
    text = path.read_text(encoding="utf-8")
    assert text.replace(f'pin_hash = "{stored}"', 'pin_hash = ""') == example
    assert verify_pin("135790", config.load(path).admin.pin_hash)
    assert config.parse(with_pin_hash('[kiosk]\nid = "K9"\n', stored)).admin.pin_hash == stored
    assert config.parse(with_pin_hash('[admin]\n[his]\ntimeout_s = 3\n', stored)).admin.pin_hash == stored

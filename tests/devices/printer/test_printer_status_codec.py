"""The ESC/POS real-time status codec: every bit of DLE EOT 1..4, golden bytes, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices import escpos_status as es
from kiosk.devices.base import Detail, DeviceState
from kiosk.devices.printer import classify
from kiosk.domain.errors import ProtocolError

CLEAN = bytes([0x12, 0x12, 0x12, 0x12])


def test_requests_are_dle_eot_n() -> None:
    """GIVEN the four status requests WHEN encoded THEN they are DLE EOT 1..4 in order."""
    assert es.StatusRequest.PRINTER.command() == b"\x10\x04\x01"
    assert es.request_all() == bytes.fromhex("100401 100402 100403 100404")


def test_clean_printer() -> None:
    status = es.decode(CLEAN)
    assert status.online and status.clean
    assert not (status.cover_open or status.paper_low or status.paper_out or status.error)
    assert classify(status) == (DeviceState.ONLINE, Detail.NONE, "")


@pytest.mark.parametrize(
    ("byte", "near_end", "out"),
    [
        (0x12, False, False),
        (0x1E, True, False),
        (0x72, False, True),
        (0x7E, True, True),
        (0x16, True, False),
        (0x1A, True, False),
        (0x32, False, True),
        (0x52, False, True),
    ],
)
def test_paper_sensor_byte(byte: int, near_end: bool, out: bool) -> None:
    """0x12 paper OK, 0x1E near end, 0x72 out (TESTING.md); clones setting one bit of a pair count too."""
    paper = es.PaperByte.decode(byte)
    assert (paper.near_end, paper.out) == (near_end, out)


def test_paper_low_is_usable_paper_out_is_not() -> None:
    low = es.decode(bytes([0x12, 0x12, 0x12, 0x1E]))
    assert low.paper_low and not low.paper_out and low.clean
    assert classify(low)[:2] == (DeviceState.ONLINE, Detail.PAPER_LOW)
    out = es.decode(bytes([0x1A, 0x32, 0x12, 0x72]))
    assert out.paper_out and not out.paper_low and not out.clean and not out.online
    assert classify(out)[:2] == (DeviceState.USER_ERROR, Detail.PAPER_OUT)


@pytest.mark.parametrize(
    ("bit", "field"), [(2, "drawer_pin_high"), (3, "offline"), (5, "waiting_recovery"), (6, "feed_button")]
)
def test_printer_byte_bits(bit: int, field: str) -> None:
    decoded = es.PrinterByte.decode(0x12 | 1 << bit)
    assert getattr(decoded, field)
    others = {"drawer_pin_high", "offline", "waiting_recovery", "feed_button"} - {field}
    assert not any(getattr(decoded, f) for f in others)


@pytest.mark.parametrize(
    ("bit", "field"), [(2, "cover_open"), (3, "feeding_by_button"), (5, "paper_end_stop"), (6, "error")]
)
def test_offline_cause_bits(bit: int, field: str) -> None:
    decoded = es.OfflineCauseByte.decode(0x12 | 1 << bit)
    assert getattr(decoded, field)
    others = {"cover_open", "feeding_by_button", "paper_end_stop", "error"} - {field}
    assert not any(getattr(decoded, f) for f in others)


@pytest.mark.parametrize(
    ("bit", "field"),
    [(2, "recoverable"), (3, "autocutter"), (5, "unrecoverable"), (6, "auto_recoverable")],
)
def test_error_cause_bits(bit: int, field: str) -> None:
    decoded = es.ErrorCauseByte.decode(0x12 | 1 << bit)
    assert getattr(decoded, field)
    others = {"recoverable", "autocutter", "unrecoverable", "auto_recoverable"} - {field}
    assert not any(getattr(decoded, f) for f in others)
    status = es.decode(bytes([0x12, 0x12, 0x12 | 1 << bit, 0x12]))
    assert status.error and not status.clean
    assert classify(status)[0] is DeviceState.HARDWARE_ERROR


def test_cover_open_wins_over_paper_out() -> None:
    status = es.decode(bytes([0x1A, 0x36, 0x12, 0x72]))
    assert status.cover_open and status.paper_out
    assert classify(status)[:2] == (DeviceState.USER_ERROR, Detail.COVER_OPEN)


def test_offline_without_a_cause() -> None:
    status = es.decode(bytes([0x1A, 0x12, 0x12, 0x12]))
    assert not status.online and not status.clean
    assert classify(status)[0] is DeviceState.OFFLINE


def test_paper_end_stop_alone_means_paper_out() -> None:
    assert es.decode(bytes([0x1A, 0x32, 0x12, 0x12])).paper_out


@pytest.mark.parametrize("bad", [0x00, 0x13, 0x10, 0x02, 0x92, 0xFF, 0x11])
def test_fixed_bits_violated_is_protocol_error(bad: int) -> None:
    """Bits 0,1,4,7 must read 0,1,1,0; anything else is not a status byte (stale data, noise)."""
    for decoder in (es.PrinterByte, es.OfflineCauseByte, es.ErrorCauseByte, es.PaperByte):
        with pytest.raises(ProtocolError):
            decoder.decode(bad)


@pytest.mark.parametrize("reply", [b"", b"\x12", b"\x12\x12\x12", b"\x12" * 5])
def test_wrong_reply_length_is_protocol_error(reply: bytes) -> None:
    with pytest.raises(ProtocolError):
        es.decode(reply)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=8))
def test_fuzz_decode_returns_or_raises_protocol_error(reply: bytes) -> None:
    """Any bytes at all: a status, or ProtocolError; never another exception."""
    try:
        status = es.decode(reply)
    except ProtocolError:
        assert len(reply) != 4 or any(b & 0x93 != 0x12 for b in reply)
        return
    assert len(reply) == 4
    assert status.online == (not reply[0] & 0x08)
    assert status.cover_open == bool(reply[1] & 0x04)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 0xFF).map(lambda b: (b & ~0x93) | 0x12), min_size=4, max_size=4))
def test_fuzz_well_formed_bytes_always_decode(values: list[int]) -> None:
    status = es.decode(bytes(values))
    assert status.clean == (
        status.online and not status.cover_open and not status.paper_out and not status.error
    )
    assert not (status.paper_low and status.paper_out)


@pytest.mark.parametrize(
    ("byte", "near_end", "out"),
    [(0x00, False, False), (0x03, True, False), (0x0C, False, True), (0x0F, True, True)],
)
def test_gs_r_1_paper_byte(byte: int, near_end: bool, out: bool) -> None:
    """GS r 1 (in-order status, the "print finished" marker): bits 0-1 near end, 2-3 paper end."""
    assert es.TRANSMIT_PAPER_STATUS == b"\x1dr\x01"
    paper = es.decode_transmitted_paper(byte)
    assert (paper.near_end, paper.out) == (near_end, out)


@pytest.mark.parametrize("bad", [0x10, 0x12, 0x80, 0xFF, -1, 256])
def test_gs_r_1_fixed_bits(bad: int) -> None:
    """Bit 4 is 0 in GS r replies and 1 in DLE EOT replies: a real-time reply is never taken for it."""
    with pytest.raises(ProtocolError):
        es.decode_transmitted_paper(bad)

"""The ECR codec against frames built by hand from PROTOCOLS.md, plus fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices import ecr
from kiosk.devices.ecr import Control, Progress, StatusAnswer, TerminalState
from kiosk.devices.ports import PaymentResult, PaymentStep, Settlement
from kiosk.domain.errors import ProtocolError
from kiosk.domain.money import Money

FS = b"\x1c"
OK_MSG = "交易成功".encode("gb18030")


def xor(data: bytes) -> int:
    """The LRC computed here, independently of the codec."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def hand_frame(data: bytes) -> bytes:
    length = bytes([len(data) >> 8, len(data) & 0xFF])
    return b"\x02" + length + data + b"\x03" + bytes([xor(length + data + b"\x03")])


def only_frame(raw: bytes) -> ecr.Response:
    return ecr.parse_response(ecr.decode_frame(raw))


# --- golden request frames --------------------------------------------------------------------
def test_status_request_golden_frame() -> None:
    # GIVEN DATA "06" = 30 36, LEN 00 02; LRC = 00^02^30^36^03 = 07
    assert ecr.encode_frame(ecr.build_status()) == bytes.fromhex("02 0002 3036 03 07")


def test_settlement_request_golden_frame() -> None:
    # LRC = 00^02^30^35^03 = 04
    assert ecr.encode_frame(ecr.build_settlement()) == bytes.fromhex("02 0002 3035 03 04")


def test_sale_request_golden_frame() -> None:
    # "01" FS "K01-0001" FS "000000001250": 2 + 1 + 8 + 1 + 12 = 24 = 0x18 bytes of DATA
    data = bytes.fromhex("3031 1c 4b30312d30303031 1c 303030303030303031323530")
    assert len(data) == 0x18
    frame = bytes.fromhex("02 0018") + data + bytes([0x03, xor(bytes.fromhex("0018") + data + b"\x03")])
    assert ecr.encode_frame(ecr.build_sale("K01-0001", Money(1250))) == frame


def test_void_refund_query_request_frames() -> None:
    assert ecr.encode_frame(ecr.build_void("R2", "R1")) == hand_frame(b"02" + FS + b"R2" + FS + b"R1")
    assert ecr.encode_frame(ecr.build_refund("R3", Money(500), "R1")) == hand_frame(
        b"03" + FS + b"R3" + FS + b"000000000500" + FS + b"R1"
    )
    assert ecr.encode_frame(ecr.build_query("R1")) == hand_frame(b"04" + FS + b"R1")


@pytest.mark.parametrize(
    "build",
    [
        lambda: ecr.build_sale("x" * 33, Money(1)),
        lambda: ecr.build_sale("", Money(1)),
        lambda: ecr.build_sale("has space", Money(1)),
        lambda: ecr.build_sale("R1", Money(0)),
        lambda: ecr.build_sale("R1", Money(-5)),
        lambda: ecr.build_sale("R1", Money(10**12)),
        lambda: ecr.build_refund("R1", Money(0), "R0"),
        lambda: ecr.build_void("R1", "bad\x1cref"),
        lambda: ecr.build_query("中文"),
    ],
)
def test_builders_reject_bad_arguments(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_longest_reference_and_amount_are_accepted() -> None:
    data = ecr.build_sale("R" * 32, Money(10**12 - 1))
    assert data.split(FS)[1:] == [b"R" * 32, b"999999999999"]


# --- responses ----------------------------------------------------------------------------------
SALE_OK = FS.join(
    [
        b"01",
        b"00",
        b"K01-0001",
        b"000000001250",
        b"622202******1234",
        b"123456",
        b"261123000001",
        b"000001",
        b"20261123105541",
        OK_MSG,
    ]
)


def test_approved_sale_response() -> None:
    result = only_frame(hand_frame(SALE_OK))
    assert result == PaymentResult(
        command="01",
        rc="00",
        ref="K01-0001",
        amount=Money(1250),
        card="622202******1234",
        auth="123456",
        rrn="261123000001",
        trace="000001",
        datetime="20261123105541",
        message="交易成功",
    )
    assert result.approved


def test_not_found_query_response_with_empty_fields() -> None:
    data = FS.join([b"04", b"NF", b"R9", b"", b"", b"", b"", b"", b"", "无此交易".encode("gb18030")])
    result = only_frame(hand_frame(data))
    assert isinstance(result, PaymentResult)
    assert (result.command, result.rc, result.amount, result.card) == ("04", "NF", Money(0), "")
    assert not result.approved


def test_settlement_response() -> None:
    data = FS.join([b"05", b"00", b"4", b"000000002000", b"000001", "结算成功".encode("gb18030")])
    assert only_frame(hand_frame(data)) == Settlement("00", 4, Money(2000), "000001", "结算成功")


def test_settlement_with_more_refunds_than_sales() -> None:
    data = FS.join([b"05", b"00", b"2", b"-00000000500", b"000002", b""])
    result = only_frame(hand_frame(data))
    assert isinstance(result, Settlement) and result.total == Money(-500)


@pytest.mark.parametrize("state", list(TerminalState))
def test_status_responses(state: TerminalState) -> None:
    data = FS.join([b"06", b"00", state.value.encode(), "终端".encode("gb18030")])
    assert only_frame(hand_frame(data)) == StatusAnswer("00", state, "终端")


@pytest.mark.parametrize("step", list(PaymentStep))
def test_progress_frames(step: PaymentStep) -> None:
    data = FS.join([b"90", step.value.encode(), "请插卡".encode("gb18030")])
    assert only_frame(hand_frame(data)) == Progress(step, "请插卡")


def test_msg_is_gb18030() -> None:
    # 交易成功 in GB18030 is BD BB D2 D7 B3 C9 B9 A6 (it would be 12 bytes in UTF-8)
    assert OK_MSG == bytes.fromhex("BDBBD2D7B3C9B9A6")
    data = FS.join([b"90", b"PROCESSING", bytes.fromhex("BDBBD2D7B3C9B9A6")])
    assert only_frame(hand_frame(data)) == Progress(PaymentStep.PROCESSING, "交易成功")
    # A lead byte without its trail byte is not GB18030.
    with pytest.raises(ProtocolError):
        only_frame(hand_frame(FS.join([b"90", b"PROCESSING", b"\xbd"])))


@pytest.mark.parametrize(
    "data",
    [
        SALE_OK.replace(b"000000001250", b"1250"),  # amount not 12 digits
        SALE_OK.replace(b"000000001250", b"00000000125\n"),  # a trailing newline must not slip through
        SALE_OK.replace(b"K01-0001", b"K01 0001"),  # space in REF
        SALE_OK.replace(b"\x1c00\x1c", b"\x1c0\x1c", 1),  # RC of one character
        SALE_OK.rsplit(FS, 1)[0],  # MSG missing
        SALE_OK + FS + b"extra",
        SALE_OK.replace(b"01", b"77", 1),  # unknown command
        FS.join([b"90", b"DANCE", b""]),  # unknown step
        FS.join([b"06", b"00", b"ASLEEP", b""]),  # unknown state
        FS.join([b"05", b"00", b"x", b"000000000000", b"000001", b""]),  # count not a number
        b"\xff\xfe",
    ],
)
def test_malformed_responses_raise_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ecr.parse_response(data)


# --- framing and the incremental reader -------------------------------------------------------
def test_bad_lrc_is_rejected_and_reader_resyncs_on_next_frame() -> None:
    good = hand_frame(b"06" + FS + b"00" + FS + b"READY" + FS)
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    reader = ecr.FrameReader()
    reader.feed(bad + good)
    with pytest.raises(ProtocolError, match="LRC"):
        reader.next_event()
    assert reader.next_event() == b"06" + FS + b"00" + FS + b"READY" + FS
    assert reader.next_event() is None


def test_frame_shorter_than_len_says_is_rejected() -> None:
    # LEN claims 5 bytes but ETX comes after 2: the ETX is not where LEN says
    frame = b"\x02\x00\x05" + b"06\x03" + bytes([xor(b"\x00\x0506\x03")]) + b"\x00\x00\x00"
    with pytest.raises(ProtocolError, match="ETX"):
        ecr.decode_frame(frame)


def test_frame_longer_than_len_says_is_rejected() -> None:
    # LEN claims 2 bytes but DATA runs on to 3 before the ETX
    frame = b"\x02\x00\x02" + b"060\x03" + bytes([xor(b"\x00\x02060\x03")])
    with pytest.raises(ProtocolError):
        ecr.decode_frame(frame)


@pytest.mark.parametrize("length", [b"\x00\x00", b"\x00\x01", b"\x04\x01", b"\xff\xff"])
def test_impossible_lengths_are_rejected_at_once(length: bytes) -> None:
    reader = ecr.FrameReader()
    reader.feed(b"\x02" + length)
    with pytest.raises(ProtocolError, match="length"):
        reader.next_event()


def test_truncated_frame_waits_then_can_be_dropped() -> None:
    frame = hand_frame(b"06" + FS + b"00" + FS + b"READY" + FS)
    assert b"\x02" not in frame[1:]  # so nothing after the STX can pass for a new frame
    reader = ecr.FrameReader()
    for byte in frame[:-1]:
        reader.feed(bytes([byte]))
        assert reader.next_event() is None
    assert reader.in_frame
    reader.drop_partial()
    assert not reader.in_frame and reader.next_event() is None


def test_byte_by_byte_feed_and_controls_between_frames() -> None:
    stream = b"\x06" + b"noise" + hand_frame(b"06") + b"\x15" + hand_frame(b"05")
    reader = ecr.FrameReader()
    events = []
    for byte in stream:
        reader.feed(bytes([byte]))
        while (event := reader.next_event()) is not None:
            events.append(event)
    assert events == [Control.ACK, b"06", Control.NAK, b"05"]


def test_decode_frame_wants_exactly_one_frame() -> None:
    with pytest.raises(ProtocolError):
        ecr.decode_frame(hand_frame(b"06") + b"\x06")
    with pytest.raises(ProtocolError):
        ecr.decode_frame(hand_frame(b"06")[:-1])


# --- fuzzing ----------------------------------------------------------------------------------
def drain(reader: ecr.FrameReader) -> list[object]:
    """Take every event out; bounded because each call consumes at least one byte or returns None."""
    events: list[object] = []
    for _ in range(reader.buffered + 2):
        try:
            event = reader.next_event()
        except ProtocolError:
            events.append(ProtocolError)
            continue
        if event is None:
            return events
        events.append(event)
        if isinstance(event, bytes):
            try:
                ecr.parse_response(event)
            except ProtocolError:
                pass
    raise AssertionError("reader did not make progress")


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=20))
def test_random_bytes_only_ever_raise_protocol_error(chunks: list[bytes]) -> None:
    reader = ecr.FrameReader()
    for chunk in chunks:
        reader.feed(chunk)
        drain(reader)
    reader.drop_partial()
    drain(reader)


RESPONSES = [
    SALE_OK,
    FS.join([b"05", b"00", b"4", b"000000002000", b"000001", b""]),
    FS.join([b"06", b"00", b"READY", b""]),
    FS.join([b"90", b"ENTER_PIN", "请输入密码".encode("gb18030")]),
]


@settings(max_examples=200, deadline=None)
@given(
    which=st.sampled_from(RESPONSES),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255), st.sampled_from("xid")), max_size=4),
)
def test_mutated_frames_only_ever_raise_protocol_error(
    which: bytes, edits: list[tuple[int, int, str]]
) -> None:
    frame = bytearray(hand_frame(which))
    for position, value, how in edits:
        position %= len(frame) + 1
        if how == "x" and position < len(frame):
            frame[position] ^= value or 1
        elif how == "i":
            frame.insert(position, value)
        elif position < len(frame):
            del frame[position]
    reader = ecr.FrameReader()
    reader.feed(bytes(frame) + hand_frame(b"06"))
    reader.feed(b"\x02\x00\x02")  # a frame that never ends: only dropping it must end the wait
    events = drain(reader)
    reader.drop_partial()
    events += drain(reader)
    if not edits:
        assert events == [which, b"06"]
    else:
        assert all(isinstance(e, bytes | Control) or e is ProtocolError for e in events)


@settings(max_examples=200, deadline=None)
@given(ref=st.from_regex(r"[\x21-\x7e]{1,32}", fullmatch=True), fen=st.integers(1, 10**12 - 1))
def test_sale_frames_round_trip(ref: str, fen: int) -> None:
    data = ecr.build_sale(ref, Money(fen))
    assert ecr.decode_frame(ecr.encode_frame(data)) == data
    assert data.split(FS) == [b"01", ref.encode(), f"{fen:012d}".encode()]

"""Fuzz the GA 467 codec: random and mutated bytes only ever raise ProtocolError (or CardUnreadable for
card content), and the stream reader always terminates."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices import ga467
from kiosk.domain.errors import CardUnreadable, ProtocolError
from kiosk.domain.patient import IdCardData

FUZZ = settings(max_examples=200, deadline=None)
GOLDEN = [
    bytes.fromhex("AAAAAA9669000400009094"),
    bytes.fromhex("AAAAAA9669000800009F0000000097"),
    bytes.fromhex("AAAAAA96690003200122"),
]


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A valid frame (golden or built from random data) with random byte flips, cuts and insertions."""
    if draw(st.booleans()):
        frame = bytearray(draw(st.sampled_from(GOLDEN)))
    else:
        frame = bytearray(ga467.encode_frame(draw(st.binary(min_size=0, max_size=300))))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(0, len(frame) - 1)))
        if action == "flip" and frame:
            frame[pos] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del frame[pos : pos + draw(st.integers(1, 4))]
        else:
            frame[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    return bytes(frame)


def _decode_or_protocol_error(frame: bytes) -> None:
    try:
        reply = ga467.decode_response(frame)
    except ProtocolError:
        return
    assert 0 <= reply.sw3 <= 255


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_protocol_error(data: bytes) -> None:
    _decode_or_protocol_error(data)
    _decode_or_protocol_error(ga467.PREAMBLE + data)


@FUZZ
@given(mutated_frames())
def test_mutated_frames_only_raise_protocol_error(frame: bytes) -> None:
    _decode_or_protocol_error(frame)


@FUZZ
@given(st.lists(st.one_of(mutated_frames(), st.binary(max_size=20)), max_size=6), st.integers(1, 64))
def test_stream_reader_terminates_and_only_raises_protocol_error(parts: list[bytes], chunk: int) -> None:
    """GIVEN garbage and damaged frames in any chunking THEN every frame out is valid and the loop ends."""
    stream = b"".join(parts)
    reader = ga467.FrameReader()
    budget = len(stream) + 10  # each next_frame() call either returns, waits, or consumes >= 1 byte
    for offset in range(0, len(stream), chunk):
        reader.feed(stream[offset : offset + chunk])
        for _ in range(budget):
            try:
                frame = reader.next_frame()
            except ProtocolError:
                continue
            if frame is None:
                break
            assert frame.startswith(ga467.PREAMBLE)
            assert ga467.checksum(frame[5:-1]) == frame[-1]
        else:
            raise AssertionError("reader did not settle")
        assert reader.bytes_needed() >= 1


@FUZZ
@given(st.binary(min_size=0, max_size=1400))
def test_read_reply_payload_only_raises_protocol_error(data: bytes) -> None:
    try:
        blocks = ga467.split_card_blocks(data)
    except ProtocolError:
        return
    assert len(blocks.text) == ga467.TEXT_LEN


@FUZZ
@given(st.binary(min_size=256, max_size=256))
def test_random_text_block_is_unreadable_or_a_card(text: bytes) -> None:
    try:
        card = ga467.decode_text_block(text)
    except CardUnreadable:
        return
    assert isinstance(card, IdCardData)

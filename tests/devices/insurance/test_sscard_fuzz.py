"""Fuzz the SSSE response parsers: whatever a card answers, the codec raises only ProtocolError or
CardUnreadable (or returns card data)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices import sscard
from kiosk.domain.errors import CardUnreadable, ProtocolError
from kiosk.domain.patient import InsuranceCardData

FUZZ = settings(max_examples=200, deadline=None)
EXPECTED = (ProtocolError, CardUnreadable)
STATUS_WORDS = st.sampled_from([b"\x90\x00", b"\x6a\x82", b"\x6a\x83", b"\x61\x10", b"\x6c\x05", b"\x69\x86"])


@FUZZ
@given(st.binary(max_size=64))
def test_parse_response_and_record(raw: bytes) -> None:
    try:
        response = sscard.parse_response(raw)
        sscard.parse_record(raw[0] if raw else 1, response.data)
    except ProtocolError:
        pass


@FUZZ
@given(st.binary(max_size=40))
def test_field_decoders(value: bytes) -> None:
    for decode in (sscard.decode_date, sscard.decode_name, sscard.decode_bcd,
                   lambda v: sscard.decode_ascii(v, "field")):
        try:
            decode(value)
        except ProtocolError:
            pass
    assert sscard.decode_sex(value) in (None, *sscard.Sex)
    region = sscard.decode_region(value)
    assert region is None or (len(region) == 6 and region.isdigit())


@FUZZ
@given(st.dictionaries(st.sampled_from(list(sscard.Rec)), st.binary(max_size=40)))
def test_card_data_from_any_records(records: dict[sscard.Rec, bytes]) -> None:
    try:
        data = sscard.card_data(records)
    except EXPECTED:
        return
    assert isinstance(data, InsuranceCardData)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=40), st.tuples(st.binary(max_size=34), STATUS_WORDS)), max_size=40))
def test_read_sequence_against_any_card(answers: list[bytes | tuple[bytes, bytes]]) -> None:
    """A card answering arbitrary bytes, in order; past the list it answers 6A83."""
    queue = [a if isinstance(a, bytes) else a[0] + a[1] for a in answers]
    sent = 0

    def transmit(apdu: bytes) -> bytes:
        nonlocal sent
        sent += 1
        return queue.pop(0) if queue else b"\x6a\x83"

    try:
        sscard.read_card_data(transmit)
    except EXPECTED:
        pass
    assert sent <= 40  # the sequence is bounded whatever the card says

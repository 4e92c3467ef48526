"""GA 467 codec: golden frames from PROTOCOLS.md, every frame type, framing errors, the text block."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.devices import ga467
from kiosk.devices.ga467 import CardType, Command, FrameReader, ResultCode
from kiosk.domain.errors import CardUnreadable, ProtocolError
from kiosk.domain.idnumber import Sex, check_char

H = bytes.fromhex  # golden frames are written exactly as PROTOCOLS.md prints them

GOLDEN_COMMANDS = {
    Command.SAM_STATUS: "AA AA AA 96 69 00 03 11 FF ED",
    Command.READ_SAM_ID: "AA AA AA 96 69 00 03 12 FF EE",
    Command.FIND_CARD: "AA AA AA 96 69 00 03 20 01 22",
    Command.SELECT_CARD: "AA AA AA 96 69 00 03 20 02 21",
    Command.READ_TEXT_PHOTO: "AA AA AA 96 69 00 03 30 01 32",
    Command.READ_APPENDED_ADDRESS: "AA AA AA 96 69 00 03 30 03 30",
    Command.RESET_SAM: "AA AA AA 96 69 00 03 10 FF EC",  # 00^03^10^FF
}


@pytest.mark.parametrize(("command", "golden"), GOLDEN_COMMANDS.items(), ids=lambda v: getattr(v, "name", ""))
def test_command_frames_match_protocols_md(command: Command, golden: str) -> None:
    assert ga467.encode_command(command) == H(golden)
    assert ga467.decode_command(H(golden)) == (*command.value, b"")


def test_checksum_is_xor_from_length_to_last_data_byte() -> None:
    assert ga467.checksum(H("00 03 20 01")) == 0x22
    assert ga467.encode_frame(H("61 FF 50")) == H("AA AA AA 96 69 00 04 61 FF 50 CA")  # set max RF bytes


@pytest.mark.parametrize(
    ("golden", "sw3", "data_len"),
    [
        ("AA AA AA 96 69 00 04 00 00 90 94", ResultCode.SUCCESS, 0),
        ("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", ResultCode.FIND_SUCCESS, 4),
        ("AA AA AA 96 69 00 04 00 00 80 84", ResultCode.FIND_FAILED, 0),
        ("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C", ResultCode.SUCCESS, 8),
        ("AA AA AA 96 69 00 04 00 00 81 85", ResultCode.SELECT_FAILED, 0),
        ("AA AA AA 96 69 00 04 00 00 41 45", ResultCode.READ_FAILED, 0),
    ],
)
def test_golden_replies_decode(golden: str, sw3: ResultCode, data_len: int) -> None:
    reply = ga467.decode_response(H(golden))
    assert (reply.sw1, reply.sw2, reply.sw3) == (0, 0, sw3)
    assert len(reply.data) == data_len
    assert reply.ok is (sw3 in (ResultCode.SUCCESS, ResultCode.FIND_SUCCESS))


def test_result_code_table_is_complete() -> None:
    codes = {0x90, 0x9F, 0x91, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40, 0x41, 0x47,
             0x60, 0x66, 0x80, 0x81}  # fmt: skip
    assert {int(c) for c in ResultCode} == codes
    assert ga467.describe(0x9F) == "FIND_SUCCESS"
    assert ga467.describe(0x55) == "0x55"


def test_response_round_trip_and_repr_hides_data() -> None:
    frame = ga467.encode_frame(bytes((0, 0, 0x90)) + b"secret-card-data")
    reply = ga467.decode_response(frame)
    assert reply.data == b"secret-card-data"
    assert "secret" not in repr(reply)


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ("AA AA AA 96 69 00 04 00 00 90 95", "bad checksum"),
        ("AA AA AA 96 69 00 04 00 00 90", "length field"),  # one byte short
        ("AA AA AA 96 69 00 04 00 00 90 94 00", "length field"),  # one byte long
        ("AA AA AA 96 69 00", "short"),
        ("AA AA AA 96 69 00 00 00", "impossible length"),
        ("AA AA AA 96 69 00 02 00 02", "too short for SW1"),  # valid checksum, no room for SW1-3
        ("AB AA AA 96 69 00 04 00 00 90 94", "preamble"),
        ("AA AA AA 96 69 FF FF 00 00 90 94", "impossible length"),
    ],
)
def test_bad_frames_raise_protocol_error(frame: str, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        ga467.decode_response(H(frame))


# --- stream reader -------------------------------------------------------------------------------
def test_reader_splits_concatenated_frames_fed_byte_by_byte() -> None:
    stream = H("AA AA AA 96 69 00 04 00 00 90 94") + H("AA AA AA 96 69 00 04 00 00 80 84")
    reader = FrameReader()
    frames = []
    for byte in stream:
        reader.feed(bytes((byte,)))
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    assert [ga467.decode_response(f).sw3 for f in frames] == [0x90, 0x80]


def test_reader_resyncs_after_garbage_and_a_split_preamble() -> None:
    reader = FrameReader()
    reader.feed(b"\x00\x13\xaa\x96garbage\xaa\xaa")
    assert reader.next_frame() is None
    reader.feed(H("AA 96 69 00 04 00 00 90 94"))
    assert reader.next_frame() == H("AA AA AA 96 69 00 04 00 00 90 94")


def test_reader_rejects_bad_checksum_once_then_recovers() -> None:
    reader = FrameReader()
    reader.feed(H("AA AA AA 96 69 00 04 00 00 90 95") + H("AA AA AA 96 69 00 04 00 00 9F 9B"))
    with pytest.raises(ProtocolError, match="checksum"):
        reader.next_frame()
    assert ga467.decode_response(reader.next_frame() or b"").sw3 == 0x9F


def test_reader_rejects_impossible_length_and_recovers() -> None:
    reader = FrameReader()
    reader.feed(H("AA AA AA 96 69 7F FF") + H("AA AA AA 96 69 00 04 00 00 90 94"))
    with pytest.raises(ProtocolError, match="length"):
        reader.next_frame()
    assert reader.next_frame() == H("AA AA AA 96 69 00 04 00 00 90 94")


def test_reader_waits_on_a_short_frame_and_says_how_much_is_missing() -> None:
    reader = FrameReader()
    assert reader.bytes_needed() == 7
    reader.feed(H("AA AA AA 96 69 00 04 00"))
    assert reader.next_frame() is None
    assert reader.bytes_needed() == 3
    reader.feed(H("00 90 94"))
    assert reader.next_frame() is not None


# --- read reply and text block ---------------------------------------------------------------------
def _field(value: str, size: int) -> bytes:
    raw = value.encode("utf-16-le")
    return raw + b" \x00" * ((size - len(raw)) // 2)


def _id(first17: str) -> str:
    return first17 + check_char(first17)


def text_block(
    name: str = "张三",
    sex: str = "1",
    nation: str = "01",
    birth: str = "19800101",
    address: str = "北京市东城区示范路1号",
    id_number: str = _id("11010119800101001"),
    authority: str = "示范市公安局",
    valid_from: str = "20150101",
    valid_to: str = "20350101",
    reserved: str = "",
) -> bytes:
    """Built from the PROTOCOLS.md field table (offsets by construction, sizes summed to 256)."""
    sizes = ((name, 30), (sex, 2), (nation, 4), (birth, 16), (address, 70), (id_number, 36), (authority, 30),
             (valid_from, 16), (valid_to, 16), (reserved, 36))  # fmt: skip
    block = b"".join(_field(v, n) for v, n in sizes)
    assert len(block) == 256
    return block


def test_read_reply_golden_layout_1295_bytes() -> None:
    """GIVEN a read reply built as PROTOCOLS.md lays it out THEN LEN is 0x0508, text at 14, photo at 270."""
    text, photo = text_block(), bytes(range(256)) * 4
    frame = ga467.encode_frame(H("00 00 90 01 00 04 00") + text + photo)
    assert len(frame) == 1295
    assert frame[5:7] == H("05 08")
    assert frame[14:44] == _field("张三", 30)
    assert frame[270:1294] == photo
    blocks = ga467.split_card_blocks(ga467.decode_response(frame).data)
    assert (blocks.text, blocks.photo) == (text, photo)


def test_split_card_blocks_rejects_wrong_lengths() -> None:
    with pytest.raises(ProtocolError):
        ga467.split_card_blocks(H("01 00"))
    with pytest.raises(ProtocolError, match="text block length"):
        ga467.split_card_blocks(H("00 80 04 00") + bytes(1152))
    with pytest.raises(ProtocolError, match="block lengths need"):
        ga467.split_card_blocks(H("01 00 04 00") + bytes(1000))


def test_text_field_offsets_match_the_table() -> None:
    block = text_block()
    assert block[122:158].decode("utf-16-le").strip() == _id("11010119800101001")
    assert ga467.TextField.VALID_TO.value == (204, 16)
    assert sum(size for _, size in (f.value for f in ga467.TextField)) == 256


def test_decode_text_block_normal_card() -> None:
    card = ga467.decode_text_block(text_block())
    assert card.name == "张三"
    assert card.sex is Sex.MALE
    assert card.ethnicity == "汉"
    assert card.birth_date == dt.date(1980, 1, 1)
    assert card.address == "北京市东城区示范路1号"
    assert card.id_number.value == _id("11010119800101001")
    assert card.authority == "示范市公安局"
    assert card.valid_from == dt.date(2015, 1, 1)
    assert card.valid_to == dt.date(2035, 1, 1)
    assert ga467.card_type(text_block()) is CardType.RESIDENT


def test_female_and_ethnicity_table() -> None:
    card = ga467.decode_text_block(text_block(sex="2", nation="05", id_number=_id("11010119800101002")))
    assert card.sex is Sex.FEMALE
    assert card.ethnicity == "维吾尔"
    assert len(ga467.ETHNICITIES) == 58
    assert (ga467.ETHNICITIES["01"], ga467.ETHNICITIES["02"], ga467.ETHNICITIES["56"]) == (
        "汉",
        "蒙古",
        "基诺",
    )
    assert (ga467.ETHNICITIES["97"], ga467.ETHNICITIES["98"]) == ("其他", "外国血统中国籍人士")


def test_long_term_card_has_no_end_date() -> None:
    card = ga467.decode_text_block(text_block(valid_to="长期"))
    assert card.valid_to is None
    assert not card.is_expired(dt.date(2099, 1, 1))


def test_expired_card_decodes_and_the_flow_decides() -> None:
    card = ga467.decode_text_block(text_block(valid_to="20200101"))
    assert card.is_expired(dt.date(2024, 1, 1))


def test_unknown_sex_code_falls_back_to_the_id_number() -> None:
    assert ga467.decode_text_block(text_block(sex="9", id_number=_id("11010119800101002"))).sex is Sex.FEMALE


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"id_number": "110101198001010010"[:17] + "9"}, "check digit"),
        ({"id_number": "1101011980"}, "ID number"),
        ({"nation": "77"}, "ethnicity"),
        ({"nation": ""}, "ethnicity"),
        ({"birth": "19801301"}, "birth"),
        ({"valid_to": "2035"}, "valid_to"),
        ({"name": ""}, "name"),
        ({"reserved": "Q"}, "card type"),
    ],
)
def test_bad_card_content_is_unreadable(kwargs: dict[str, str], why: str) -> None:
    with pytest.raises(CardUnreadable, match=why):
        ga467.decode_text_block(text_block(**kwargs))


def test_text_block_that_is_not_ucs2_is_unreadable() -> None:
    block = bytearray(text_block())
    block[0:2] = b"\x00\xd8"  # a lone high surrogate
    with pytest.raises(CardUnreadable):
        ga467.decode_text_block(bytes(block))
    with pytest.raises(CardUnreadable):
        ga467.decode_text_block(bytes(255))


def test_residence_permit_variants_are_recognised() -> None:
    foreign = text_block(nation="", reserved="I", id_number=_id("91184019850612001"))
    assert ga467.card_type(foreign) is CardType.FOREIGN_PERMANENT
    assert ga467.decode_text_block(foreign).ethnicity == ""
    assert ga467.card_type(text_block(reserved="J")) is CardType.GAT_RESIDENCE


def test_appended_address() -> None:
    assert ga467.decode_appended_address(_field("上海市浦东新区新址路8号", 70)) == "上海市浦东新区新址路8号"
    with pytest.raises(ProtocolError):
        ga467.decode_appended_address(b"\x20\x00" * 10)

"""The SSSE APDU codec: golden command bytes from PROTOCOLS.md, response parsing, the read sequence."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.devices import sscard
from kiosk.devices.sscard import Rec
from kiosk.domain.errors import CardUnreadable, ProtocolError
from kiosk.domain.idnumber import Sex

SELECT_SSSE = bytes.fromhex("00 A4 04 00 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF")


# --- commands -------------------------------------------------------------------------------------
def test_select_ssse_is_the_golden_apdu() -> None:
    assert sscard.select_ssse() == SELECT_SSSE
    assert SELECT_SSSE[5:] == b"sx1.sh." + "社会保障".encode("gbk")


def test_select_ef() -> None:
    assert sscard.select_ef(0xEF05) == bytes.fromhex("00A4000002EF05")
    assert sscard.select_ef(0xEF06, p1=0x02) == bytes.fromhex("00A4020002EF06")
    with pytest.raises(ValueError):
        sscard.select_ef(0xEF05, p1=0x01)


def test_read_record_uses_sfi_in_p2() -> None:
    # The PROTOCOLS.md example: EF05 record 07, Le 11.
    assert sscard.read_record(0x07, 5, 0x0B) == bytes.fromhex("00B2072C0B")
    assert sscard.read_record(0x09, 6, 0x20) == bytes.fromhex("00B2093420")
    assert sscard.read_record(0x01, 0, 0x12) == bytes.fromhex("00B2010412")  # current EF
    with pytest.raises(ValueError):
        sscard.read_record(0, 5, 1)
    with pytest.raises(ValueError):
        sscard.read_record(1, 31, 1)


def test_get_response() -> None:
    assert sscard.get_response(0x14) == bytes.fromhex("00C0000014")


# --- responses ------------------------------------------------------------------------------------
def test_parse_response_splits_status_word() -> None:
    response = sscard.parse_response(bytes.fromhex("0701419000"))
    assert response.data == bytes.fromhex("070141") and response.sw == 0x9000 and response.ok
    assert sscard.parse_response(b"\x6a\x82").sw1 == 0x6A
    for short in (b"", b"\x90"):
        with pytest.raises(ProtocolError):
            sscard.parse_response(short)


def test_parse_record_checks_tag_and_length() -> None:
    assert sscard.parse_record(7, bytes.fromhex("0703414243")) == b"ABC"
    with pytest.raises(ProtocolError):
        sscard.parse_record(7, bytes.fromhex("0803414243"))  # wrong tag
    with pytest.raises(ProtocolError):
        sscard.parse_record(7, bytes.fromhex("07044142"))  # length beyond data
    with pytest.raises(ProtocolError):
        sscard.parse_record(7, bytes.fromhex("07"))


def test_bcd_dates() -> None:
    assert sscard.decode_date(bytes.fromhex("20311202")) == dt.date(2031, 12, 2)
    assert sscard.decode_date(b"\x00" * 4) is None
    assert sscard.decode_date(b"\xff" * 4) is None
    for bad in ("2031A202", "20311302", "20310230", "203112"):
        with pytest.raises(ProtocolError):
            sscard.decode_date(bytes.fromhex(bad))


def test_gbk_name_padding() -> None:
    name = "欧阳娜娜".encode("gbk")
    assert sscard.decode_name(name + b"\x00" * (30 - len(name))) == "欧阳娜娜"
    assert sscard.decode_name(name + b" " * (30 - len(name))) == "欧阳娜娜"
    assert sscard.decode_name("𠀀".encode("gb18030")) == "𠀀"  # a rare character beyond GBK
    with pytest.raises(ProtocolError):
        sscard.decode_name(b"\x00" * 30)
    with pytest.raises(ProtocolError):
        sscard.decode_name(b"\xc9")  # half a double-byte character


def test_ascii_fields() -> None:
    assert sscard.decode_ascii(b"a00000019", "card") == "A00000019"
    assert sscard.decode_ascii(b"11010519491231002x", "id") == "11010519491231002X"
    assert sscard.decode_ascii(b"A0000001\x00", "card") == "A0000001"
    for bad in (b"\x00" * 9, b"A0000-019", "张三".encode("gbk")):
        with pytest.raises(ProtocolError):
            sscard.decode_ascii(bad, "card")


def test_sex_and_region() -> None:
    assert sscard.decode_sex(b"1") is Sex.MALE
    assert sscard.decode_sex(b"2") is Sex.FEMALE
    assert sscard.decode_sex(b"9") is None
    assert sscard.decode_region(bytes.fromhex("411600D156000005C38275EEFC9B9648")) == "411600"
    assert sscard.decode_region(bytes.fromhex("FFFFFFD156000005C38275EEFC9B9648")) is None


# --- the read sequence against an in-process card (no PC/SC) ---------------------------------------
class FakeCard:
    """A scripted card: maps command APDUs (hex) to responses; records what was sent."""

    def __init__(self, script: dict[str, str]) -> None:
        self.script = {k.replace(" ", "").upper(): bytes.fromhex(v) for k, v in script.items()}
        self.sent: list[str] = []

    def __call__(self, apdu: bytes) -> bytes:
        self.sent.append(apdu.hex().upper())
        return self.script.get(apdu.hex().upper(), b"\x6a\x83")


def _tlv(rec: int, value: bytes) -> str:
    return (bytes([rec, len(value)]) + value).hex() + "9000"


def normal_script(**overrides: str) -> dict[str, str]:
    name = "张三".encode("gbk")
    script = {
        SELECT_SSSE.hex(): "9000",
        "00B2012C12": _tlv(1, bytes.fromhex("330182D156000005001D9DEADF188001")),
        "00B2052C06": _tlv(5, bytes.fromhex("20211203")),
        "00B2062C06": _tlv(6, bytes.fromhex("20311202")),
        "00B2072C0B": _tlv(7, b"X00000019"),
        "00B2083414": _tlv(8, b"11010519491231002X"),
        "00B2093420": _tlv(9, name + b"\x00" * (30 - len(name))),
        "00B20A3403": _tlv(10, b"1"),
    }
    script.update(overrides)
    return script


def test_reads_a_card() -> None:
    card = FakeCard(normal_script())
    data = sscard.read_card_data(card)
    assert data.card_number == "X00000019"
    assert data.name == "张三"
    assert data.id_number == "11010519491231002X"
    assert data.sex is Sex.MALE
    assert data.region == "330182"
    assert data.issued == dt.date(2021, 12, 3)
    assert data.expires == dt.date(2031, 12, 2)
    assert card.sent == [
        SELECT_SSSE.hex().upper(), "00B2012C12", "00B2052C06", "00B2062C06", "00B2072C0B",
        "00B2083414", "00B2093420", "00B20A3403",
    ]


def test_expired_card_is_reported_not_refused() -> None:
    data = sscard.read_card_data(FakeCard(normal_script(**{"00B2062C06": _tlv(6, bytes.fromhex("20200101"))})))
    assert data.is_expired(dt.date(2024, 1, 1))
    assert not data.is_expired(dt.date(2019, 1, 1))


def test_select_with_61xx_follows_with_get_response() -> None:
    card = FakeCard(normal_script(**{SELECT_SSSE.hex(): "6104", "00C0000004": "6F0284009000"}))
    assert sscard.read_card_data(card).card_number == "X00000019"
    assert card.sent[:2] == [SELECT_SSSE.hex().upper(), "00C0000004"]


def test_wrong_le_6cxx_is_resent_with_the_right_length() -> None:
    # An older card with a 10-character card number: 6C 0C says "ask for 12 bytes".
    card = FakeCard(normal_script(**{"00B2072C0B": "6C0C", "00B2072C0C": _tlv(7, b"X000000190")}))
    assert sscard.read_card_data(card).card_number == "X000000190"
    assert card.sent[4:6] == ["00B2072C0B", "00B2072C0C"]


def test_card_that_wants_the_ef_selected_first() -> None:
    script = normal_script()
    sfi_reads = {k: v for k, v in script.items() if k.startswith("00B2")}
    script = {k: v for k, v in script.items() if not k.startswith("00B2")}
    for apdu, answer in sfi_reads.items():
        script[apdu] = "6A82"
        script[apdu[:6] + "04" + apdu[8:]] = answer  # same record from the current EF
    script["00A4000002EF05"] = "9000"
    script["00A4000002EF06"] = "6A82"
    script["00A4020002EF06"] = "9000"  # this card wants P1=02 for EF06
    card = FakeCard(script)
    assert sscard.read_card_data(card).name == "张三"
    assert card.sent.count("00A4000002EF05") == 1
    assert "00A4020002EF06" in card.sent


def test_optional_records_may_be_missing_and_region_falls_back_to_birthplace() -> None:
    script = normal_script()
    for apdu in ("00B2012C12", "00B2052C06", "00B2062C06", "00B20A3403"):
        script[apdu] = "6A83"
    script["00B20C3405"] = _tlv(0x0C, bytes.fromhex("440305"))
    data = sscard.read_card_data(FakeCard(script))
    assert (data.region, data.issued, data.expires, data.sex) == ("440305", None, None, None)


def test_non_ssse_card_is_unreadable() -> None:
    card = FakeCard({SELECT_SSSE.hex(): "6A82"})
    with pytest.raises(CardUnreadable, match="6A82"):
        sscard.read_card_data(card)
    assert len(card.sent) == 1


@pytest.mark.parametrize("apdu", ["00B2072C0B", "00B2083414", "00B2093420"])
def test_a_missing_required_record_is_unreadable(apdu: str) -> None:
    with pytest.raises(CardUnreadable):
        sscard.read_card_data(FakeCard(normal_script(**{apdu: "6A83"})))


@pytest.mark.parametrize("sw", ["6982", "6581", "6F00", "6E00"])
def test_bad_status_words_on_reads(sw: str) -> None:
    with pytest.raises(CardUnreadable, match=sw):
        sscard.read_card_data(FakeCard(normal_script(**{"00B2093420": sw})))


@pytest.mark.parametrize(
    "change",
    [
        {"00B2072C0B": "0709" + "00" * 9 + "9000"},  # blank card number
        {"00B2083414": _tlv(8, b"1101051949123100")},  # 16-character ID number
        {"00B2093420": "0820" + "00" * 30 + "9000"},  # wrong tag
        {"00B2052C06": _tlv(5, bytes.fromhex("2021AB03"))},  # not BCD
        {"00B2062C06": "90"},  # one-byte answer
    ],
)
def test_malformed_answers_are_protocol_errors(change: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        sscard.read_card_data(FakeCard(normal_script(**change)))


def test_card_data_requires_the_identity_records() -> None:
    records: dict[Rec, bytes] = {Rec.CARD_NUMBER: b"A00000019", Rec.NAME: "王五".encode("gbk")}
    with pytest.raises(CardUnreadable):
        sscard.card_data(records)


"""Social-security card (社保卡) APDU codec: the commands, the response parsers and the read sequence.

Pure bytes <-> values (PROTOCOLS.md "China social security card over PC/SC"); the only I/O is the
`transmit` callable handed to `read_card_data`, so everything here runs and fuzzes without a reader.

Where `InsuranceCardData.region` comes from: the issuing region (发卡地区行政区划代码), which regional
readers and the national 医保 read-card interface give as "the first 6 digits of the card identification
code" (EF05 record 01, 16 bytes, whose hex begins with the 3-byte BCD region, e.g. ``411600D156000005…``).
That is the insurance region — where the holder is insured — which the 医保 settlement needs. Only if
those 3 bytes are not BCD digits does the reader fall back to the holder's birthplace (EF06 record 0C,
3-byte BCD area code), and if that is missing too the region is "".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from kiosk.domain.errors import CardUnreadable, ProtocolError
from kiosk.domain.idnumber import Sex
from kiosk.domain.patient import InsuranceCardData

# "sx1.sh." + GBK "社会保障"
SSSE_NAME = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
FID_EF05 = 0xEF05
FID_EF06 = 0xEF06
SFI_EF05 = 5
SFI_EF06 = 6

SW_OK = 0x9000
SW_RECORD_NOT_FOUND = 0x6A83
# A card that wants the EF selected before READ RECORD answers one of these to an SFI read.
_SW_NEEDS_EF_SELECT = frozenset({0x6A82, 0x6A81, 0x6986})
# 61 xx (more data: GET RESPONSE) and 6C xx (wrong Le: resend with xx) are each followed at most once.
_MAX_FOLLOW_UPS = 2


class Rec(IntEnum):
    """Record numbers, which are also the TLV tags (EF05 holds 01-07, EF06 holds 08-0D)."""

    CARD_ID_CODE = 0x01
    CARD_TYPE = 0x02
    SPEC_VERSION = 0x03
    INIT_ORG = 0x04
    ISSUED = 0x05
    EXPIRES = 0x06
    CARD_NUMBER = 0x07
    ID_NUMBER = 0x08
    NAME = 0x09
    SEX = 0x0A
    NATION = 0x0B
    BIRTHPLACE = 0x0C
    BIRTH_DATE = 0x0D


@dataclass(frozen=True, slots=True)
class RecordSpec:
    rec: Rec
    sfi: int
    fid: int
    size: int
    """Nominal value length; READ RECORD asks for Le = size + 2 (tag and length), a 6C xx corrects it."""
    required: bool


EF05_RECORDS = (
    RecordSpec(Rec.CARD_ID_CODE, SFI_EF05, FID_EF05, 16, False),
    RecordSpec(Rec.ISSUED, SFI_EF05, FID_EF05, 4, False),
    RecordSpec(Rec.EXPIRES, SFI_EF05, FID_EF05, 4, False),
    RecordSpec(Rec.CARD_NUMBER, SFI_EF05, FID_EF05, 9, True),
)
EF06_RECORDS = (
    RecordSpec(Rec.ID_NUMBER, SFI_EF06, FID_EF06, 18, True),
    RecordSpec(Rec.NAME, SFI_EF06, FID_EF06, 30, True),
    RecordSpec(Rec.SEX, SFI_EF06, FID_EF06, 1, False),
)
BIRTHPLACE = RecordSpec(Rec.BIRTHPLACE, SFI_EF06, FID_EF06, 3, False)


# --- commands -------------------------------------------------------------------------------------
def select_ssse() -> bytes:
    """SELECT the SSSE application by DF name: 00 A4 04 00 0F 'sx1.sh.社会保障'."""
    return bytes([0x00, 0xA4, 0x04, 0x00, len(SSSE_NAME)]) + SSSE_NAME


def select_ef(fid: int, p1: int = 0x00) -> bytes:
    """SELECT an elementary file by id, e.g. 00 A4 00 00 02 EF 05 (some cards want P1=02)."""
    if not 0 <= fid <= 0xFFFF or p1 not in (0x00, 0x02):
        raise ValueError(f"bad EF select fid={fid:#x} p1={p1:#x}")
    return bytes([0x00, 0xA4, p1, 0x00, 0x02]) + fid.to_bytes(2, "big")


def read_record(rec: int, sfi: int, le: int) -> bytes:
    """READ RECORD `rec` of the EF with short id `sfi` (0 = current EF): 00 B2 rec (sfi<<3)|4 Le."""
    if not 1 <= rec <= 0xFE or not 0 <= sfi <= 30 or not 0 <= le <= 0xFF:
        raise ValueError(f"bad READ RECORD rec={rec} sfi={sfi} le={le}")
    return bytes([0x00, 0xB2, rec, (sfi << 3) | 0x04, le])


def get_response(le: int) -> bytes:
    """GET RESPONSE for the `le` bytes a 61 xx announced: 00 C0 00 00 xx."""
    if not 0 <= le <= 0xFF:
        raise ValueError(f"bad GET RESPONSE le={le}")
    return bytes([0x00, 0xC0, 0x00, 0x00, le])


# --- responses ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Response:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK


def parse_response(raw: bytes) -> Response:
    """Split a response APDU into data and SW1 SW2. Fewer than 2 bytes is a ProtocolError."""
    if len(raw) < 2:
        raise ProtocolError(f"response APDU of {len(raw)} bytes has no status word")
    return Response(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))


def parse_record(rec: int, data: bytes) -> bytes:
    """The value of a record read as TLV (tag = record number, 1-byte length, value).

    The length is not held to the nominal record size: regional cards differ, and each field's decoder
    checks what it needs (a date is exactly 4 bytes, a name is whatever fits).
    """
    if len(data) < 2:
        raise ProtocolError(f"record {rec:02X}: {len(data)} bytes, no tag and length")
    tag, length = data[0], data[1]
    if tag != rec:
        raise ProtocolError(f"record {rec:02X}: tag is {tag:02X}")
    if length != len(data) - 2:
        raise ProtocolError(f"record {rec:02X}: length byte {length} but {len(data) - 2} value bytes")
    return data[2:]


def decode_bcd(value: bytes) -> str:
    """Packed BCD to digits; a nibble above 9 is a ProtocolError."""
    digits = value.hex()
    if not digits.isdigit():
        raise ProtocolError(f"not BCD: {value.hex().upper()}")
    return digits


def decode_date(value: bytes) -> dt.date | None:
    """4-byte BCD YYYYMMDD; all 00 or all FF means "not set" (None)."""
    if len(value) != 4:
        raise ProtocolError(f"a date is 4 BCD bytes, got {len(value)}")
    if value in (b"\x00" * 4, b"\xff" * 4):
        return None
    digits = decode_bcd(value)
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise ProtocolError(f"not a date: {digits}") from exc


def _strip_padding(value: bytes) -> bytes:
    return value.rstrip(b"\x00 ").lstrip(b" ")


def decode_ascii(value: bytes, what: str) -> str:
    """Letters and digits padded with 00/20 (card number, ID number); empty or other bytes -> ProtocolError."""
    text = _strip_padding(value)
    if not text or not text.isalnum() or not text.isascii():
        raise ProtocolError(f"{what}: not an ASCII alphanumeric field")
    return text.decode("ascii").upper()


def decode_name(value: bytes) -> str:
    """GBK (read as GB18030, its superset, for rare characters) padded with 00/20."""
    raw = _strip_padding(value)
    try:
        name = raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ProtocolError("name: not GBK") from exc
    if not name or not name.isprintable():
        raise ProtocolError("name: empty or control characters")
    return name


def decode_sex(value: bytes) -> Sex | None:
    """'1' male, '2' female (GB/T 2261.1); anything else (0 unknown, 9 unstated) is None."""
    return {b"1": Sex.MALE, b"2": Sex.FEMALE}.get(bytes(value))


def decode_region(card_id_code: bytes) -> str | None:
    """The issuing region: the first 3 bytes (6 BCD digits) of the card identification code."""
    if len(card_id_code) < 3:
        return None
    digits = card_id_code[:3].hex()
    return digits if digits.isdigit() else None


def card_data(records: dict[Rec, bytes]) -> InsuranceCardData:
    """Build the card data from record values (record 07, 08, 09 required; others optional)."""
    for rec in (Rec.CARD_NUMBER, Rec.ID_NUMBER, Rec.NAME):
        if rec not in records:
            raise CardUnreadable(f"record {rec.value:02X} missing")
    id_number = decode_ascii(records[Rec.ID_NUMBER], "ID number")
    if len(id_number) not in (15, 18):
        raise ProtocolError(f"ID number has {len(id_number)} characters")
    region = decode_region(records.get(Rec.CARD_ID_CODE, b""))
    if region is None and Rec.BIRTHPLACE in records:
        region = decode_bcd(records[Rec.BIRTHPLACE])
    return InsuranceCardData(
        card_number=decode_ascii(records[Rec.CARD_NUMBER], "card number"),
        name=decode_name(records[Rec.NAME]),
        id_number=id_number,
        sex=decode_sex(records[Rec.SEX]) if Rec.SEX in records else None,
        region=region or "",
        issued=decode_date(records[Rec.ISSUED]) if Rec.ISSUED in records else None,
        expires=decode_date(records[Rec.EXPIRES]) if Rec.EXPIRES in records else None,
    )


# --- the read sequence ----------------------------------------------------------------------------
Transmit = Callable[[bytes], bytes]
"""Sends one command APDU, returns the raw response (data + SW1 SW2). Transport errors propagate."""


def exchange(transmit: Transmit, apdu: bytes) -> Response:
    """Send `apdu`, following 61 xx with GET RESPONSE and 6C xx with the corrected Le."""
    response = parse_response(transmit(apdu))
    data = response.data
    for _ in range(_MAX_FOLLOW_UPS):
        if response.sw1 == 0x61:
            response = parse_response(transmit(get_response(response.sw2)))
            data += response.data
        elif response.sw1 == 0x6C and len(apdu) == 5:  # only a case-2 APDU ends in Le
            apdu = apdu[:-1] + bytes([response.sw2])
            response = parse_response(transmit(apdu))
            data = response.data
        else:
            break
    return Response(data, response.sw)


class _EfReader:
    """Reads one EF's records by SFI, selecting the EF by file id once if the card asks for it."""

    def __init__(self, transmit: Transmit, sfi: int, fid: int) -> None:
        self.transmit = transmit
        self.sfi = sfi
        self.fid = fid
        self.selected = False

    def read(self, spec: RecordSpec) -> bytes | None:
        """The record's value; None if the card has no such record and it is optional."""
        response = exchange(self.transmit, read_record(spec.rec, 0 if self.selected else self.sfi, spec.size + 2))
        if response.sw in _SW_NEEDS_EF_SELECT and not self.selected:
            self._select()
            response = exchange(self.transmit, read_record(spec.rec, 0, spec.size + 2))
        if response.sw == SW_RECORD_NOT_FOUND and not spec.required:
            return None
        if not response.ok:
            raise CardUnreadable(f"READ RECORD {spec.rec.value:02X} failed: SW {response.sw:04X}")
        return parse_record(spec.rec, response.data)

    def _select(self) -> None:
        response = exchange(self.transmit, select_ef(self.fid, 0x00))
        if not response.ok:
            response = exchange(self.transmit, select_ef(self.fid, 0x02))
        if not response.ok:
            raise CardUnreadable(f"SELECT EF {self.fid:04X} failed: SW {response.sw:04X}")
        self.selected = True


def read_card_data(transmit: Transmit) -> InsuranceCardData:
    """SELECT SSSE, read EF05 01/05/06/07 and EF06 08/09/0A (and 0C if 01 gives no region).

    A card without the SSSE application, or one that refuses a required record, raises CardUnreadable;
    a malformed answer raises ProtocolError.
    """
    response = exchange(transmit, select_ssse())
    if not response.ok:
        raise CardUnreadable(f"not a social security card: SELECT SSSE answered {response.sw:04X}")
    records: dict[Rec, bytes] = {}
    for specs, sfi, fid in ((EF05_RECORDS, SFI_EF05, FID_EF05), (EF06_RECORDS, SFI_EF06, FID_EF06)):
        ef = _EfReader(transmit, sfi, fid)
        for spec in specs:
            value = ef.read(spec)
            if value is not None:
                records[spec.rec] = value
        if sfi == SFI_EF06 and decode_region(records.get(Rec.CARD_ID_CODE, b"")) is None:
            birthplace = ef.read(BIRTHPLACE)
            if birthplace is not None:
                records[Rec.BIRTHPLACE] = birthplace
    return card_data(records)

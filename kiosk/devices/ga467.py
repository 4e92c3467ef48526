"""GA 467 "SAM_A" ID-card reader protocol: pure bytes <-> messages (frames, result codes, text block).

Frame (PROTOCOLS.md): `AA AA AA 96 69 | LEN_H LEN_L | body | CHK`, LEN = len(body) + 1 (the CHK),
CHK = XOR of LEN_H..last body byte. A command body is `CMD PARA [DATA]`, a response body is
`SW1 SW2 SW3 [DATA]`. Every malformed input raises `ProtocolError`; malformed card *content* raises
`CardUnreadable`. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum, IntEnum
from functools import reduce

from kiosk.domain.errors import CardUnreadable, ProtocolError
from kiosk.domain.idnumber import IdNumber, Sex
from kiosk.domain.patient import IdCardData

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
# The largest frame seen: text + photo + fingerprint (3 + 6 + 256 + 1024 + 1024 + 1 = 2314). Anything
# much longer is a corrupted length field, not a frame to wait for.
MAX_LEN = 4096
TEXT_LEN = 256
PHOTO_LEN = 1024
APPENDED_ADDRESS_LEN = 70


class Command(Enum):
    """(CMD, PARA) of each command the kiosk sends."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    READ_SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_APPENDED_ADDRESS = (0x30, 0x03)


class ResultCode(IntEnum):
    """SW3, the reader's result code (same table in three independent implementations)."""

    SUCCESS = 0x90
    FIND_SUCCESS = 0x9F
    NO_CONTENT = 0x91
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    COMMAND_ERROR = 0x21
    UNAUTHORIZED = 0x23
    UNRECOGNIZED_ERROR = 0x24
    CARD_AUTH_SAM_FAILED = 0x31
    SAM_AUTH_CARD_FAILED = 0x32
    VERIFY_FAILED = 0x33
    FINGERPRINT_ERROR = 0x37
    INFO_LENGTH_ERROR = 0x3F
    UNKNOWN_CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_CHECK_FAILED = 0x60
    SAM_NOT_AUTHORIZED = 0x66
    FIND_FAILED = 0x80
    SELECT_FAILED = 0x81


def describe(sw3: int) -> str:
    """The result code's name, or its hex value when the table does not know it."""
    try:
        return ResultCode(sw3).name
    except ValueError:
        return f"0x{sw3:02X}"


def checksum(data: bytes) -> int:
    """XOR of all bytes (the caller passes LEN_H..last data byte)."""
    return reduce(lambda a, b: a ^ b, data, 0)


def encode_frame(body: bytes) -> bytes:
    """Wrap a body (command or response) in preamble, length and checksum."""
    if len(body) + 1 > MAX_LEN:
        raise ValueError("frame body too long")
    head = (len(body) + 1).to_bytes(2, "big") + body
    return PREAMBLE + head + bytes([checksum(head)])


def encode_command(command: Command, data: bytes = b"") -> bytes:
    """The full command frame, e.g. FIND_CARD -> AA AA AA 96 69 00 03 20 01 22."""
    return encode_frame(bytes(command.value) + data)


@dataclass(frozen=True, slots=True)
class Response:
    """A reader's answer: status words and data. `sw3` stays an int: readers send codes we don't know."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.sw3 in (ResultCode.SUCCESS, ResultCode.FIND_SUCCESS)

    def __repr__(self) -> str:  # never print card data
        return f"Response({self.sw1:02X} {self.sw2:02X} {describe(self.sw3)}, {len(self.data)} bytes)"


def _check_body(frame: bytes) -> bytes:
    """Validate a whole frame and return its body (between length and checksum)."""
    if not frame.startswith(PREAMBLE):
        raise ProtocolError("frame does not start with the GA 467 preamble")
    if len(frame) < len(PREAMBLE) + 3:
        raise ProtocolError(f"short frame ({len(frame)} bytes)")
    length = int.from_bytes(frame[5:7], "big")
    if length < 1 or length > MAX_LEN:
        raise ProtocolError(f"impossible length field {length}")
    if len(frame) != len(PREAMBLE) + 2 + length:
        raise ProtocolError(f"length field says {length} bytes follow, frame has {len(frame) - 7}")
    if checksum(frame[5:-1]) != frame[-1]:
        raise ProtocolError("bad checksum")
    return frame[7:-1]


def decode_response(frame: bytes) -> Response:
    """Parse one complete response frame."""
    body = _check_body(frame)
    if len(body) < 3:
        raise ProtocolError(f"response too short for SW1 SW2 SW3 ({len(body)} bytes)")
    return Response(body[0], body[1], body[2], body[3:])


def decode_command(frame: bytes) -> tuple[int, int, bytes]:
    """Parse one complete command frame into (CMD, PARA, DATA); used by diagnostics and tests."""
    body = _check_body(frame)
    if len(body) < 2:
        raise ProtocolError(f"command too short for CMD PARA ({len(body)} bytes)")
    return body[0], body[1], body[2:]


class FrameReader:
    """Incremental frame splitter for a byte stream: resyncs on the preamble, drops garbage.

    `feed()` bytes as they arrive, then call `next_frame()` until it returns None. A frame with a bad
    checksum or an impossible length raises ProtocolError once and is skipped, so the stream recovers.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def clear(self) -> None:
        self._buf.clear()

    def bytes_needed(self) -> int:
        """At least how many more bytes the next frame needs (>= 1); lets a reader ask for exactly that."""
        start = self._buf.find(PREAMBLE)
        if start < 0:
            return len(PREAMBLE) + 2
        have = len(self._buf) - start
        if have < 7:
            return 7 - have
        length = int.from_bytes(self._buf[start + 5 : start + 7], "big")
        return max(1, 7 + length - have)

    def next_frame(self) -> bytes | None:
        """The next complete, checksum-valid frame, or None if more bytes are needed."""
        start = self._buf.find(PREAMBLE)
        if start < 0:
            # Keep a tail that may be the start of a preamble split across reads.
            keep = next((k for k in range(len(PREAMBLE) - 1, 0, -1) if self._buf.endswith(PREAMBLE[:k])), 0)
            del self._buf[: len(self._buf) - keep]
            return None
        del self._buf[:start]
        if len(self._buf) < 7:
            return None
        length = int.from_bytes(self._buf[5:7], "big")
        if length < 1 or length > MAX_LEN:
            del self._buf[:1]  # not a real frame start: look for the next preamble
            raise ProtocolError(f"impossible length field {length}")
        end = 7 + length
        if len(self._buf) < end:
            return None
        frame = bytes(self._buf[:end])
        if checksum(frame[5:-1]) != frame[-1]:
            # The length may itself be corrupt, so skip only the preamble, not `length` bytes.
            del self._buf[:1]
            raise ProtocolError("bad checksum")
        del self._buf[:end]
        return frame


# --- read text+photo payload -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CardBlocks:
    """The data of a successful 30 01 reply: the 256-byte text block and the opaque WLT photo."""

    text: bytes
    photo: bytes

    def __repr__(self) -> str:
        return f"CardBlocks(text={len(self.text)} B, photo={len(self.photo)} B)"


def split_card_blocks(data: bytes) -> CardBlocks:
    """`text_len 2 | photo_len 2 | text | photo` (lengths big-endian) -> the two blocks."""
    if len(data) < 4:
        raise ProtocolError("read reply too short for the block lengths")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len != TEXT_LEN:
        raise ProtocolError(f"text block length {text_len}, expected {TEXT_LEN}")
    if len(data) < 4 + text_len + photo_len:
        raise ProtocolError(
            f"read reply has {len(data)} bytes, block lengths need {4 + text_len + photo_len}"
        )
    return CardBlocks(data[4 : 4 + text_len], data[4 + text_len : 4 + text_len + photo_len])


def decode_appended_address(data: bytes) -> str:
    """The 70-byte UCS-2LE appended address (追加住址) of a 30 03 reply."""
    if len(data) < APPENDED_ADDRESS_LEN:
        raise ProtocolError(f"appended address has {len(data)} bytes, expected {APPENDED_ADDRESS_LEN}")
    return _ucs2(data[:APPENDED_ADDRESS_LEN], "appended address")


# --- the 256-byte text block -------------------------------------------------------------------
class TextField(Enum):
    """(offset, length) in bytes of each field of the resident-card text block."""

    NAME = (0, 30)
    SEX = (30, 2)
    NATION = (32, 4)
    BIRTH = (36, 16)
    ADDRESS = (52, 70)
    ID_NUMBER = (122, 36)
    AUTHORITY = (158, 30)
    VALID_FROM = (188, 16)
    VALID_TO = (204, 16)
    RESERVED = (220, 36)


class CardType(Enum):
    """Card-type letter in the reserved area [offset/letters UNVERIFIED]; blank for a resident card."""

    RESIDENT = " "
    FOREIGN_PERMANENT = "I"  # 外国人永久居留身份证
    GAT_RESIDENCE = "J"  # 港澳台居民居住证


# GB 3304-91 民族 codes, plus 97/98 as used on the card.
# fmt: off
ETHNICITIES: dict[str, str] = {
    f"{i:02d}": name
    for i, name in enumerate(
        (
            "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜",
            "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳",
            "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
            "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
            "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",
            "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
        ),
        start=1,
    )
} | {"97": "其他", "98": "外国血统中国籍人士"}
# fmt: on

LONG_TERM = "长期"
_SEX_CODES = {"1": Sex.MALE, "2": Sex.FEMALE}


def _ucs2(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-16-le").rstrip(" \x00")
    except UnicodeDecodeError:
        raise CardUnreadable(f"{what}: not UCS-2 text") from None


def text_field(text: bytes, name: TextField) -> str:
    """One field of the text block, decoded and stripped of its space padding."""
    offset, length = name.value
    return _ucs2(text[offset : offset + length], name.name.lower())


def card_type(text: bytes) -> CardType:
    """Which card variant a text block is: the first letter in the reserved area, if any."""
    if len(text) != TEXT_LEN:
        raise CardUnreadable(f"text block has {len(text)} bytes, expected {TEXT_LEN}")
    for ch in text_field(text, TextField.RESERVED):
        if ch.isalpha():
            try:
                return CardType(ch.upper())
            except ValueError:
                raise CardUnreadable(f"unknown card type letter {ch!r}") from None
    return CardType.RESIDENT


def _date(value: str, what: str) -> dt.date:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CardUnreadable(f"{what} is not a YYYYMMDD date") from None


def decode_text_block(text: bytes) -> IdCardData:
    """Decode the 256-byte UCS-2LE text block; CardUnreadable if any field is not what a card holds.

    Residence permits ('I', 'J') keep the resident layout here [UNVERIFIED] and MAY leave the ethnicity
    blank; a resident card MUST carry a known GB 3304 code.
    """
    kind = card_type(text)
    field = {name: text_field(text, name) for name in TextField}
    try:
        id_number = IdNumber(field[TextField.ID_NUMBER])
    except ValueError as exc:
        raise CardUnreadable(f"ID number invalid: {exc}") from None
    # GB/T 2261.1 also has 0 (unknown) and 9 (unspecified); the ID number's own sex digit then decides.
    sex = _SEX_CODES.get(field[TextField.SEX], id_number.sex)
    nation = field[TextField.NATION]
    if nation in ETHNICITIES:
        ethnicity = ETHNICITIES[nation]
    elif kind is not CardType.RESIDENT and not nation:
        ethnicity = ""
    else:
        raise CardUnreadable(f"unknown ethnicity code {nation!r}")
    name = field[TextField.NAME]
    if not name:
        raise CardUnreadable("name is empty")
    valid_to_text = field[TextField.VALID_TO]
    valid_to = None if valid_to_text == LONG_TERM else _date(valid_to_text, "valid_to")
    return IdCardData(
        name=name,
        sex=sex,
        ethnicity=ethnicity,
        birth_date=_date(field[TextField.BIRTH], "birth date"),
        address=field[TextField.ADDRESS],
        id_number=id_number,
        authority=field[TextField.AUTHORITY],
        valid_from=_date(field[TextField.VALID_FROM], "valid_from"),
        valid_to=valid_to,
    )

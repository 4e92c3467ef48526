"""The simulator's ESC/POS parser and print head: golden commands, the driver's bytes read back, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.devices import escpos_status
from kiosk.devices.printer import render_escpos
from kiosk.domain.document import Align, Barcode, Document, Feed, QrCode, Rule, Text
from simulators import escpos_parser as p
from simulators.printer import Faults, status_byte
from simulators.receipt_render import PrintHead, QrRow, TextRow

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(data: bytes) -> list[p.Command]:
    return p.EscposStreamParser().feed(data)


def merged(cmds: list[p.Command]) -> list[p.Command]:
    """Adjacent text runs joined: how text is split into runs depends only on chunking."""
    out: list[p.Command] = []
    for cmd in cmds:
        if isinstance(cmd, p.TextBytes) and out and isinstance(out[-1], p.TextBytes):
            out[-1] = p.TextBytes(out[-1].data + cmd.data)
        else:
            out.append(cmd)
    return out


def print_all(data: bytes, chinese_by_default: bool = False) -> list:
    head = PrintHead(chinese_by_default=chinese_by_default)
    receipts = []
    for cmd in parse(data):
        receipt = head.apply(cmd)
        if receipt is not None:
            receipts.append(receipt)
    return receipts


# --- golden frames ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("frame", "command"),
    [
        (b"\x1b@", p.Init()),
        (b"\x1c&", p.ChineseMode(True)),
        (b"\x1c.", p.ChineseMode(False)),
        (b"\x1d!\x11", p.CharSize(2, 2)),
        (b"\x1d!\x10", p.CharSize(2, 1)),
        (b"\x1d!\x77", p.CharSize(8, 8)),
        (b"\x1bE\x01", p.Bold(True)),
        (b"\x1bE\x00", p.Bold(False)),
        (b"\x1ba\x01", p.Justify(p.Align.CENTER)),
        (b"\x1ba2", p.Justify(p.Align.RIGHT)),
        (b"\x1bd\x06", p.FeedLines(6)),
        (b"\n", p.LineFeed()),
        (b"\x1dV\x00", p.Cut(partial=False)),
        (b"\x1dV1", p.Cut(partial=True)),
        (b"\x1dVA\x03", p.Cut(partial=False, feed_dots=3)),
        (b"\x1dr\x01", p.TransmitStatus(1)),
        (b"\x10\x04\x01", p.StatusQuery(1)),
        (b"\x10\x04\x04", p.StatusQuery(4)),
        (b"\x1d(k\x03\x001C\x06", p.QrModuleSize(6)),
        (b"\x1d(k\x03\x001E1", p.QrErrorLevel("M")),
        (b"\x1d(k\x06\x001P0abc", p.QrStore(b"abc")),
        (b"\x1d(k\x03\x001Q0", p.QrPrint()),
        (b"\x1dkI\x05{B123", p.BarcodePrint(73, b"{B123")),
        (b"\x1dk\x04ABC\x00", p.BarcodePrint(4, b"ABC")),
    ],
)
def test_golden_commands(frame: bytes, command: p.Command) -> None:
    assert parse(frame) == [command]


def test_unknown_commands_are_skipped_and_text_after_them_survives() -> None:
    """GIVEN unknown ESC/GS/FS commands and a raster image WHEN parsed THEN the text around them is kept."""
    raster = b"\x1dv0\x00\x02\x00\x03\x00" + b"\xff" * 6
    data = b"A\n\x1b\xee\x1d\xee\x1c\xee" + raster + b"\x1b*\x21\x02\x00" + b"\x00" * 6 + b"B\n"
    texts = [c.data for c in parse(data) if isinstance(c, p.TextBytes)]
    assert texts == [b"A", b"B"]


def test_long_payload_is_skipped_without_being_buffered() -> None:
    parser = p.EscposStreamParser()
    parser.feed(b"\x1dv0\x00\xff\xff\xff\x00")  # 65535 x 255 bytes of image that never fully arrive
    assert parser.feed(b"\xaa" * 100_000) == []
    assert parser.pending == 0


def test_status_query_answered_by_simulator_golden() -> None:
    """The simulator's answers are the golden bytes of TESTING.md, which the kiosk codec reads right."""
    assert status_byte(Faults(), 4) == 0x12
    assert status_byte(Faults(paper_low=True), 4) == 0x1E
    assert status_byte(Faults(paper_out=True), 4) == 0x72
    assert status_byte(Faults(cover_open=True), 2) == 0x16
    assert status_byte(Faults(cover_open=True), 1) == 0x1A
    for faults in (
        Faults(),
        Faults(paper_low=True),
        Faults(paper_out=True),
        Faults(cover_open=True),
        Faults(hardware_error=True),
    ):
        reply = bytes(status_byte(faults, n) for n in (1, 2, 3, 4))
        decoded = escpos_status.decode(reply)
        assert decoded.paper_out == faults.paper_out
        assert decoded.paper_low == faults.paper_low
        assert decoded.cover_open == faults.cover_open
        assert decoded.error == faults.hardware_error


# --- the driver's bytes, read back by the independent parser ------------------------------------
def test_render_golden_minimal_document() -> None:
    """ESC @, FS & (Chinese mode), GS ! 0x11, GB18030 text, reset, feed 6 and a full cut."""
    data = render_escpos(Document("t", (Text("挂号", width=2, height=2),)))
    assert data == (
        b"\x1b@\x1c&"
        + b"\x1d!\x11\x1bE\x00\x1ba\x00"
        + "挂号".encode("gb18030")
        + b"\n"
        + b"\x1d!\x00\x1bE\x00\x1ba\x00"
        + b"\x1bd\x06\x1dV\x00"
    )


def test_rendered_slip_reads_back_as_its_plain_text(slip: Document) -> None:
    receipts = print_all(render_escpos(slip))
    assert len(receipts) == 1
    expected = [line for line in slip.plain_text().split("\n")]
    got = receipts[0].lines
    rule = next(i for i, b in enumerate(slip.blocks) if isinstance(b, Rule))
    assert got[rule] == "-" * 48  # a rule spans the 80 mm paper: 48 columns of font A
    assert got[:rule] + got[rule + 1 :] == expected[:rule] + expected[rule + 1 :]


def test_rendered_sizes_alignment_and_qr(slip: Document) -> None:
    rows = print_all(render_escpos(slip))[0].rows
    title = rows[0]
    assert isinstance(title, TextRow) and title.align is p.Align.CENTER
    assert (title.segments[0].width, title.segments[0].height, title.segments[0].bold) == (2, 2, True)
    number = next(r for r in rows if isinstance(r, TextRow) and r.text == "17")
    assert number.segments[0].width == 3
    qr = next(r for r in rows if isinstance(r, QrRow))
    assert (qr.data, qr.module, qr.level) == (b"REG-20240506-K01-000017", 6, "M")


def test_control_characters_in_text_cannot_inject_commands() -> None:
    """A name with ESC/GS bytes in it must print as text, never cut the paper or change modes."""
    evil = Document("t", (Text("张\x1dV\x00三\x1b@"), Text("next")))
    receipts = print_all(render_escpos(evil))
    assert len(receipts) == 1
    assert receipts[0].lines == ["张 V 三 @", "next"]


def test_without_chinese_mode_gb18030_is_garbled() -> None:
    """The simulator honours FS &/FS .: GB18030 bytes in single-byte mode do not read as Chinese."""
    data = b"\x1b@\x1c." + "中文".encode("gb18030") + b"\n\x1dV\x00"
    assert "中文" not in print_all(data)[0].text
    assert print_all(data.replace(b"\x1c.", b"\x1c&"))[0].text == "中文"


def test_long_lines_wrap_at_paper_width() -> None:
    data = b"\x1b@\x1c&" + ("中" * 30).encode("gb18030") + b"\n" + b"\x1d!\x11" + b"x" * 30 + b"\n\x1dV\x00"
    assert print_all(data)[0].lines == ["中" * 24, "中" * 6, "x" * 24, "x" * 6]


def test_barcode_readable_text_drops_code_set_switches() -> None:
    receipt = print_all(render_escpos(Document("t", (Barcode("AB{12"),))))[0]
    assert receipt.lines == ["[BARCODE AB{12]"]


# --- fuzzing: never raise, never hang -----------------------------------------------------------
def _apply_everything(data: bytes) -> None:
    head = PrintHead()
    for cmd in parse(data):
        receipt = head.apply(cmd)
        if receipt is not None:
            assert isinstance(receipt.text, str)
    assert isinstance(head.take().text, str)


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _apply_everything(data)


_documents = st.builds(
    Document,
    st.just("fuzz"),
    st.lists(
        st.one_of(
            st.builds(
                Text,
                st.text(max_size=40),
                st.sampled_from(Align),
                st.integers(0, 9),
                st.integers(0, 9),
                st.booleans(),
            ),
            st.builds(QrCode, st.text(min_size=1, max_size=60), st.integers(0, 20)),
            st.builds(Barcode, st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)),
            st.builds(Feed, st.integers(0, 5)),
            st.builds(Rule, st.sampled_from(["-", "=", "━"])),
        ),
        max_size=12,
    ).map(tuple),
)


@FUZZ
@given(_documents, st.data())
def test_fuzz_mutated_driver_streams(document: Document, data: st.DataObject) -> None:
    """Real streams with bytes flipped, dropped or inserted: the parser copes and the head renders."""
    stream = bytearray(render_escpos(document))
    for _ in range(data.draw(st.integers(0, 8))):
        op = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        i = data.draw(st.integers(0, max(len(stream) - 1, 0)))
        if op == "flip" and stream:
            stream[i] = data.draw(st.integers(0, 255))
        elif op == "drop" and stream:
            del stream[i]
        else:
            stream[i:i] = data.draw(st.binary(min_size=1, max_size=4))
    _apply_everything(bytes(stream))


@FUZZ
@given(_documents)
def test_fuzz_documents_round_trip(document: Document) -> None:
    """Any document the driver renders is one receipt whose codes read back exactly."""
    receipts = print_all(render_escpos(document))
    assert len(receipts) == 1
    printed = [row.data for row in receipts[0].rows if isinstance(row, QrRow)]
    assert printed == [b.data.encode("utf-8") for b in document.blocks if isinstance(b, QrCode)]


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(1, 50), max_size=40))
def test_fuzz_chunking_does_not_change_commands(data: bytes, cuts: list[int]) -> None:
    whole = merged(parse(data))
    parser = p.EscposStreamParser()
    pieces: list[p.Command] = []
    pos = 0
    for size in cuts:
        pieces += parser.feed(data[pos : pos + size])
        pos += size
    pieces += parser.feed(data[pos:])
    assert merged(pieces) == whole

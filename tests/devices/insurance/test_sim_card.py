"""The simulated card's own APDU handling, pinned by the golden frames of PROTOCOLS.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from simulators.insurance import (
    CardApplet,
    SimInsuranceCard,
    expired_card,
    non_social_security_card,
    normal_card,
)

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


def test_golden_select_and_reads() -> None:
    applet = CardApplet(normal_card())
    assert applet.handle(bytes.fromhex("00B2072C0B")) == bytes.fromhex("6A82")  # nothing selected yet
    assert applet.handle(SELECT_SSSE) == bytes.fromhex("9000")
    assert applet.handle(bytes.fromhex("00B2072C0B")) == bytes.fromhex("0709") + b"A00000019" + b"\x90\x00"
    assert applet.handle(bytes.fromhex("00B2052C06")) == bytes.fromhex("0504202112039000")
    answer = applet.handle(bytes.fromhex("00B2093420"))
    assert answer[:2] == bytes.fromhex("091E") and answer[2:6] == "张三".encode("gbk")
    assert answer[6:-2] == b"\x00" * 26 and answer[-2:] == b"\x90\x00"
    assert applet.handle(bytes.fromhex("00B2012C12"))[2:5] == bytes.fromhex("110100")


def test_status_words_for_bad_commands() -> None:
    applet = CardApplet(normal_card())
    applet.handle(SELECT_SSSE)
    assert applet.handle(bytes.fromhex("00B2072C05")) == bytes.fromhex("6C0B")  # wrong Le
    assert applet.handle(bytes.fromhex("00B2092C20")) == bytes.fromhex("6A83")  # rec 09 is in EF06
    assert applet.handle(bytes.fromhex("00B2010404")) == bytes.fromhex("6986")  # no current EF
    assert applet.handle(bytes.fromhex("80B2072C0B")) == bytes.fromhex("6E00")
    assert applet.handle(bytes.fromhex("0084000008")) == bytes.fromhex("6D00")
    assert applet.handle(bytes.fromhex("00C0000010")) == bytes.fromhex("6F00")
    assert applet.handle(bytes.fromhex("00A4")) == bytes.fromhex("6700")


def test_select_ef_then_current_ef_reads() -> None:
    applet = CardApplet(replace(normal_card(), sfi_reads=False))
    applet.handle(SELECT_SSSE)
    assert applet.handle(bytes.fromhex("00B2083414")) == bytes.fromhex("6A82")
    assert applet.handle(bytes.fromhex("00A4000002EF06")) == bytes.fromhex("9000")
    assert applet.handle(bytes.fromhex("00B2080414"))[:2] == bytes.fromhex("0812")


def test_t0_select_answers_61xx_and_get_response() -> None:
    applet = CardApplet(replace(normal_card(), select_via_get_response=True))
    sw = applet.handle(SELECT_SSSE)
    assert sw[0] == 0x61
    fci = applet.handle(bytes([0x00, 0xC0, 0x00, 0x00, sw[1]]))
    assert len(fci) == sw[1] + 2 and fci[-2:] == b"\x90\x00"


def test_non_ssse_card_refuses_select() -> None:
    assert CardApplet(non_social_security_card()).handle(SELECT_SSSE) == bytes.fromhex("6A82")


def test_for_person_builds_records() -> None:
    card = SimInsuranceCard.for_person("李四", "440305198001010013", "B7K334774", region="440300",
                                       expires=dt.date(2020, 10, 1), name_pad=b" ")
    assert card.ef05[0x06] == bytes.fromhex("20201001")
    assert card.ef06[0x0A] == b"1"
    assert card.ef06[0x09].endswith(b" ") and len(card.ef06[0x09]) == 30
    assert card.ef05[0x01][:3] == bytes.fromhex("440300")
    assert expired_card().ef05[0x06] == bytes.fromhex("20201001")

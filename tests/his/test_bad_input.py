"""Bad input answers 4xx with the error shape, never 500, and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.his import models as m
from simulators.his.testing import AUTH, His, error_code

WRITES = (m.Hold, m.Appointment, m.Payment, m.Presettlement, m.Patient, m.IdempotencyKey, m.Heartbeat)
POSTS = (
    "/patients/resolve",
    "/patients",
    "/holds",
    "/appointments",
    "/appointments/A0000001/cancel",
    "/appointments/A0000001/collect",
    "/queue/checkin",
    "/insurance/presettle",
    "/insurance/presettle/X/cancel",
    "/payments",
    "/payments/X/reverse",
    "/kiosks/K01/heartbeat",
)


def _snapshot(his: His) -> dict[str, int]:
    return {model.__tablename__: his.count(model) for model in WRITES}


def _raw(his: His, path: str, content: bytes, content_type: str = "application/json") -> Any:
    headers = {**AUTH, "Content-Type": content_type, "Idempotency-Key": "k-" + str(abs(hash(content)))}
    return his.client.post(f"/api/v1{path}", content=content, headers=headers)


HOLD_PAYMENT = {"patient_id": "P000101", "bill_ids": ["B000001"], "amount_fen": 100, "method": "bank_card"}
BAD_BODIES: list[tuple[str, Any]] = [
    ("/holds", {"slot_id": "SL0000100"}),
    ("/holds", {"slot_id": None, "patient_id": "P000003"}),
    ("/holds", {"slot_id": ["SL0000100"], "patient_id": "P000003"}),
    ("/holds", {"slot_id": True, "patient_id": "P000003"}),
    ("/holds", {"slot_id": "SL\x000100", "patient_id": "P000003"}),
    ("/holds", {"slot_id": "x" * 100, "patient_id": "P000003"}),
    ("/holds", [1, 2, 3]),
    ("/holds", "just a string"),
    ("/appointments", {"hold_id": "H1", "pay_now": "yes"}),
    ("/payments", {**HOLD_PAYMENT, "amount_fen": 12.5}),
    ("/payments", {**HOLD_PAYMENT, "amount_fen": 100.0}),
    ("/payments", {**HOLD_PAYMENT, "amount_fen": -1}),
    ("/payments", {**HOLD_PAYMENT, "amount_fen": "100"}),
    ("/payments", {**HOLD_PAYMENT, "amount_fen": True}),
    ("/payments", {**HOLD_PAYMENT, "amount_fen": 10**30}),
    ("/payments", {**HOLD_PAYMENT, "method": "cash"}),
    ("/payments", {**HOLD_PAYMENT, "bill_ids": []}),
    ("/payments", {**HOLD_PAYMENT, "bill_ids": None}),  # neither bills nor an appointment
    ("/insurance/presettle", {"patient_id": "P000101", "bill_ids": ["B000001"], "insurance": {"kind": "x"}}),
    ("/patients", {"id_number": "123", "name": "张三", "sex": "male", "birth_date": "1990-01-01"}),
    ("/patients", {"id_number": "110101199001011234", "name": "", "sex": "male", "birth_date": "1990-01-01"}),
    ("/patients/resolve", {"kind": "qr", "value": 5}),
    ("/appointments/A0000001/collect", {}),
    ("/queue/checkin", {"appointment_id": {"id": 1}}),
]


@pytest.mark.parametrize(("path", "body"), BAD_BODIES)
def test_ill_typed_bodies_are_422_and_write_nothing(his: His, path: str, body: Any) -> None:
    before = _snapshot(his)
    r = _raw(his, path, json.dumps(body).encode())
    assert r.status_code == 422, r.text
    assert error_code(r) == "VALIDATION"
    assert r.json()["error"]["message"]
    assert _snapshot(his) == before


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"slot_id": ',
        b"null",
        b"\xff\xfe\x00",
        b'{"slot_id": "\\ud800", "patient_id": "P1"}',
        b"[]" * 1000,
        b'{"a":' * 50 + b"1" + b"}" * 50,
    ],
)
def test_malformed_json_is_422(his: His, content: bytes) -> None:
    before = _snapshot(his)
    for path in ("/holds", "/payments", "/patients"):
        r = _raw(his, path, content)
        assert r.status_code == 422, (path, content, r.text)
        assert error_code(r) == "VALIDATION"
    assert _snapshot(his) == before


def test_bodies_over_1_mib_are_413(his: His) -> None:
    big = json.dumps({"slot_id": "x" * (1024 * 1024), "patient_id": "P000003"}).encode()
    r = _raw(his, "/holds", big)
    assert r.status_code == 413 and error_code(r) == "BODY_TOO_LARGE"
    just_under = json.dumps({"devices": "y" * (1024 * 1024 - 100)}).encode()
    assert len(just_under) <= 1024 * 1024
    assert _raw(his, "/kiosks/K01/heartbeat", just_under).status_code == 200


def test_bad_query_and_path_values_are_4xx(his: His) -> None:
    for path, params in (
        ("/schedules", {"date": "2026-13-45"}),
        ("/appointments", {"patient_id": "P000101", "date": "tomorrow"}),
        ("/appointments", {"patient_id": "P\x00"}),
        ("/payments", {"date": "x"}),
        ("/bills", {}),
    ):
        r = his.client.get(f"/api/v1{path}", params=params, headers=AUTH)
        assert r.status_code == 422 and error_code(r) == "VALIDATION", (path, params, r.text)
    for path in ("/schedules/%00/slots", "/queue/%FF", "/schedules/" + "x" * 200 + "/slots"):
        r = his.client.get(f"/api/v1{path}", headers=AUTH)
        assert 400 <= r.status_code < 500, (path, r.text)
        error_code(r)


# --- fuzz ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_his(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[His]:
    import shutil

    path = tmp_path_factory.mktemp("fuzz") / "his.db"
    shutil.copyfile(sqlite_template, path)
    h = His(f"sqlite:///{path}")
    yield h
    h.close()


_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    st.sampled_from(
        ["P000101", "P000003", "SL0000100", "B000001", "A0000001", "bank_card", "card", "qr", "2026-11-23"]
    ),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=12,
)
_fields = st.sampled_from(
    [
        "slot_id",
        "patient_id",
        "hold_id",
        "pay_now",
        "kind",
        "value",
        "id_last4",
        "bill_ids",
        "amount_fen",
        "method",
        "presettlement_id",
        "appointment_id",
        "insurance",
        "id_number",
        "name",
        "sex",
        "birth_date",
    ]
)
_bodies = st.one_of(_json, st.dictionaries(_fields, _json, max_size=6))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(POSTS), body=_bodies, key=st.one_of(st.none(), _text))
def test_fuzzed_posts_never_500(fuzz_his: His, path: str, body: Any, key: str | None) -> None:
    headers = dict(AUTH)
    if key is not None and key.isascii() and key.isprintable():
        headers["Idempotency-Key"] = key or "empty"
    r = fuzz_his.client.post(f"/api/v1{path}", content=json.dumps(body).encode(), headers=headers)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        error_code(r)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    segment=_text.filter(lambda s: s and "/" not in s and "?" not in s and "#" not in s),
    endpoint=st.sampled_from(["/schedules/{}/slots", "/queue/{}", "/holds/{}", "/payments/{}/reverse"]),
)
def test_fuzzed_ids_never_500(fuzz_his: His, segment: str, endpoint: str) -> None:
    path = "/api/v1" + endpoint.format(quote(segment, safe=""))
    method = (
        fuzz_his.client.delete
        if endpoint.startswith("/holds")
        else (fuzz_his.client.post if endpoint.endswith("reverse") else fuzz_his.client.get)
    )
    r = method(path, headers=AUTH)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        error_code(r)

"""Bills, insurance pre-settlement, payments, reversal and reconciliation."""

from __future__ import annotations

import pytest

from simulators.his import models as m
from simulators.his.testing import TODAY, His, error_code


def _patient_with_bills(his: His, insured: bool = True) -> tuple[dict, list[dict]]:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    for p in fixtures["patients"]:
        tags = p["tags"]
        if "unpaid_bills" not in tags or "insurance_expired" in tags:
            continue
        if insured == bool(p["insurance_card"]):
            bills = his.get("/bills", patient_id=p["id"]).json()["bills"]
            return p, bills
    raise AssertionError("no such patient")


def test_bills_are_unpaid_orders_with_items(his: His) -> None:
    _, bills = _patient_with_bills(his)
    assert bills
    for b in bills:
        assert {"id", "order_no", "kind", "items", "amount_fen", "next_step"} <= set(b)
        assert b["kind"] in {"prescription", "lab", "imaging", "treatment", "registration"}
        assert b["amount_fen"] == sum(i["amount_fen"] for i in b["items"])
        for i in b["items"]:
            assert i["amount_fen"] == i["quantity"] * i["unit_price_fen"]
    assert his.get("/bills", patient_id="P000001").json() == {"bills": []}


def test_presettle_split_adds_up_and_payment_completes(his_any: His) -> None:
    his = his_any
    p, bills = _patient_with_bills(his)
    ids = [b["id"] for b in bills]
    total = sum(b["amount_fen"] for b in bills)
    r = his.post(
        "/insurance/presettle",
        {"patient_id": p["id"], "bill_ids": ids, "insurance": {"kind": "card", "value": p["insurance_card"]}},
    )
    assert r.status_code == 201, r.text
    ps = r.json()
    assert ps["total_fen"] == total == ps["fund_fen"] + ps["account_fen"] + ps["self_pay_fen"]
    again = his.post(
        "/insurance/presettle",
        {"patient_id": p["id"], "bill_ids": ids, "insurance": {"kind": "e_voucher", "value": p["qr"]}},
    ).json()
    assert (again["fund_fen"], again["account_fen"], again["self_pay_fen"]) == (
        ps["fund_fen"],
        ps["account_fen"],
        ps["self_pay_fen"],
    )  # deterministic
    body = {
        "patient_id": p["id"],
        "bill_ids": ids,
        "presettlement_id": ps["presettlement_id"],
        "amount_fen": ps["self_pay_fen"] + 1,
        "method": "bank_card",
        "terminal_ref": "T-1",
    }
    r = his.post("/payments", body)
    assert r.status_code == 409 and error_code(r) == "AMOUNT_MISMATCH"
    assert r.json()["error"]["details"]["expected_fen"] == ps["self_pay_fen"]
    r = his.post("/payments", {**body, "amount_fen": ps["self_pay_fen"]})
    assert r.status_code == 201, r.text
    pay = r.json()["payment"]
    assert pay["status"] == "paid" and pay["amount_fen"] == ps["self_pay_fen"] and pay["receipt_no"]
    assert pay["paid_at"].endswith("+08:00")
    assert his.get("/bills", patient_id=p["id"]).json() == {"bills": []}
    r = his.post("/payments", {**body, "amount_fen": ps["self_pay_fen"]})
    assert r.status_code == 409 and error_code(r) == "ALREADY_PAID"
    balance_after = his.patient(p["id"]).account_balance_fen
    assert balance_after == p["account_balance_fen"] - ps["account_fen"]
    listed = his.get("/payments", date=TODAY.isoformat()).json()["payments"]
    assert [x["id"] for x in listed] == [pay["id"]]
    # Reversal (冲正): the bills are due again, the account refunded; the day's list keeps it, reversed.
    r = his.post(f"/payments/{pay['id']}/reverse", {})
    assert r.status_code == 200 and r.json()["payment"]["status"] == "reversed"
    assert his.post(f"/payments/{pay['id']}/reverse", {}).json()["payment"]["status"] == "reversed"
    assert {b["id"] for b in his.get("/bills", patient_id=p["id"]).json()["bills"]} == set(ids)
    assert his.patient(p["id"]).account_balance_fen == p["account_balance_fen"]
    listed = his.get("/payments", date=TODAY.isoformat()).json()["payments"]
    assert [(x["id"], x["status"]) for x in listed] == [(pay["id"], "reversed")]


def test_payments_are_listed_per_kiosk(his: His) -> None:
    p, bills = _patient_with_bills(his, insured=False)
    total = sum(b["amount_fen"] for b in bills)
    r = his.post(
        "/payments",
        {
            "patient_id": p["id"],
            "bill_ids": [b["id"] for b in bills],
            "amount_fen": total,
            "method": "wechat",
        },
        token="second-kiosk-token",
    )
    assert r.status_code == 201, r.text
    assert his.get("/payments").json() == {"payments": []}  # K01 took none
    every = his.get("/payments", kiosk_id="all").json()["payments"]
    assert [x["kiosk_id"] for x in every] == ["K02"]


def test_presettle_refusals(his: His) -> None:
    p, bills = _patient_with_bills(his)
    ids = [b["id"] for b in bills]
    r = his.post(
        "/insurance/presettle",
        {"patient_id": p["id"], "bill_ids": ids, "insurance": {"kind": "card", "value": "WRONG"}},
    )
    assert r.status_code == 409 and error_code(r) == "IDENTITY_MISMATCH"
    r = his.post(
        "/insurance/presettle",
        {
            "patient_id": p["id"],
            "bill_ids": ["B999999"],
            "insurance": {"kind": "card", "value": p["insurance_card"]},
        },
    )
    assert r.status_code == 404
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    expired = next(
        x for x in fixtures["patients"] if "insurance_expired" in x["tags"] and "unpaid_bills" in x["tags"]
    )
    eb = [b["id"] for b in his.get("/bills", patient_id=expired["id"]).json()["bills"]]
    r = his.post(
        "/insurance/presettle",
        {
            "patient_id": expired["id"],
            "bill_ids": eb,
            "insurance": {"kind": "card", "value": expired["insurance_card"]},
        },
    )
    assert r.status_code == 409 and error_code(r) == "CARD_EXPIRED"
    ps = his.post(
        "/insurance/presettle",
        {"patient_id": p["id"], "bill_ids": ids, "insurance": {"kind": "card", "value": p["insurance_card"]}},
    ).json()
    r = his.post(f"/insurance/presettle/{ps['presettlement_id']}/cancel", {})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = his.post(
        "/payments",
        {
            "patient_id": p["id"],
            "bill_ids": ids,
            "presettlement_id": ps["presettlement_id"],
            "amount_fen": ps["self_pay_fen"],
            "method": "bank_card",
        },
    )
    assert r.status_code == 409 and error_code(r) == "PRESETTLEMENT_INVALID"
    assert his.count(m.Payment) == 0


@pytest.mark.parametrize("pay_now", [True, False])
def test_registration_fee_payment(his: His, pay_now: bool) -> None:
    slot, _ = his.free_slot(TODAY, period="pm", latest=True)
    held = his.hold(slot, "P000003").json()
    appt = his.post("/appointments", {"hold_id": held["hold_id"], "pay_now": pay_now}).json()["appointment"]
    body = {
        "patient_id": "P000003",
        "appointment_id": appt["id"],
        "amount_fen": appt["fee_fen"],
        "method": "alipay",
    }
    r = his.post("/payments", {**body, "patient_id": "P000004"})
    assert r.status_code == 409 and error_code(r) == "IDENTITY_MISMATCH"
    r = his.post("/payments", body)
    assert r.status_code == 201, r.text
    r = his.post("/payments", body)
    assert r.status_code == 409 and error_code(r) == "ALREADY_PAID"
    r = his.post("/payments", {**body, "bill_ids": ["B000001"]})
    assert r.status_code == 422

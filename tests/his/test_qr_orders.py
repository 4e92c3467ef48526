"""QR payments (POST /qr-orders): show mode paid from the phone, scan mode with the patient's payment
code (declined / pending then paid / paid at once), cancel with ALREADY_PAID, and the payment record."""

from __future__ import annotations

import datetime as dt

from simulators.his.testing import His, error_code


def _patient_with_bills(his: His) -> tuple[dict, list[dict]]:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    p = next(p for p in fixtures["patients"] if "unpaid_bills" in p["tags"])
    return p, his.get("/bills", patient_id=p["id"]).json()["bills"]


def _order(his: His, mode: str = "show", auth_code: str | None = None, key: str | None = None):
    p, bills = _patient_with_bills(his)
    body = {"patient_id": p["id"], "bill_ids": [b["id"] for b in bills],
            "amount_fen": sum(b["amount_fen"] for b in bills), "channel": "wechat", "mode": mode}
    if auth_code is not None:
        body["auth_code"] = auth_code
    return p, bills, body, his.post("/qr-orders", body, key=key)


def _pay_from_phone(his: His, order_id: str):
    return his.client.post(f"/api/v1/_test/qr-orders/{order_id}/pay")


def test_every_patient_has_a_payment_code_paid_at_once(his: His) -> None:
    patients = his.client.get("/api/v1/_test/fixtures").json()["patients"]
    codes = [p["payment_code"] for p in patients]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 18 and c.isdigit() and not c.endswith(("0000", "9999")) for c in codes)


def test_shown_qr_paid_from_the_phone_becomes_a_payment(his: His) -> None:
    p, _bills, body, r = _order(his, key="qr-show-1")
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert order["status"] == "pending" and order["qr_content"] and order["payment"] is None
    assert order["amount_fen"] == body["amount_fen"] and order["expires_at"]
    # the same key answers the same order, with no second order
    assert his.post("/qr-orders", body, key="qr-show-1").json()["order"]["id"] == order["id"]
    paid = _pay_from_phone(his, order["id"])
    assert paid.status_code == 200, paid.text
    got = his.get(f"/qr-orders/{order['id']}").json()["order"]
    assert got["status"] == "paid" and got["payment"]["amount_fen"] == body["amount_fen"]
    assert got["payment"]["method"] == "wechat" and got["payment"]["terminal_ref"] == order["id"]
    assert his.get("/bills", patient_id=p["id"]).json() == {"bills": []}
    listed = his.get("/payments").json()["payments"]
    assert [x["id"] for x in listed if x["terminal_ref"] == order["id"]] == [got["payment"]["id"]]
    r = his.post(f"/qr-orders/{order['id']}/cancel", {}, key="qr-cancel-1")
    assert r.status_code == 409 and error_code(r) == "ALREADY_PAID"


def test_cancelled_qr_cannot_be_paid_and_the_bills_stay_unpaid(his: His) -> None:
    p, bills, _, r = _order(his)
    order = r.json()["order"]
    cancelled = his.post(f"/qr-orders/{order['id']}/cancel", {}, key="c-1")
    assert cancelled.status_code == 200 and cancelled.json()["order"]["status"] == "cancelled"
    assert error_code(_pay_from_phone(his, order["id"])) == "PAYMENT_DECLINED"
    assert len(his.get("/bills", patient_id=p["id"]).json()["bills"]) == len(bills)


def test_payment_code_ending_0000_is_declined(his: His) -> None:
    p, bills, _, r = _order(his, "scan", "280000000000000000")
    assert r.status_code == 409 and error_code(r) == "PAYMENT_DECLINED"
    assert len(his.get("/bills", patient_id=p["id"]).json()["bills"]) == len(bills)


def test_payment_code_ending_9999_is_paid_five_seconds_later(his: His) -> None:
    _, _, body, r = _order(his, "scan", "281234567890129999")
    order = r.json()["order"]
    assert order["status"] == "pending"
    now = dt.datetime.fromisoformat(his.client.get("/api/v1/_test/clock").json()["now"])
    his.client.put("/api/v1/_test/clock", json={"now": (now + dt.timedelta(seconds=4)).isoformat()})
    assert his.get(f"/qr-orders/{order['id']}").json()["order"]["status"] == "pending"
    his.client.put("/api/v1/_test/clock", json={"now": (now + dt.timedelta(seconds=6)).isoformat()})
    got = his.get(f"/qr-orders/{order['id']}").json()["order"]
    assert got["status"] == "paid" and got["payment"]["amount_fen"] == body["amount_fen"]


def test_a_patients_own_code_is_paid_at_once(his: His) -> None:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    p = next(p for p in fixtures["patients"] if "unpaid_bills" in p["tags"])
    _, _, _, r = _order(his, "scan", p["payment_code"])
    assert r.status_code == 201 and r.json()["order"]["status"] == "paid"


def test_wrong_amount_or_missing_code_is_refused_before_an_order_exists(his: His) -> None:
    p, bills = _patient_with_bills(his)
    body = {"patient_id": p["id"], "bill_ids": [b["id"] for b in bills], "channel": "alipay", "mode": "show",
            "amount_fen": sum(b["amount_fen"] for b in bills) + 1}
    r = his.post("/qr-orders", body)
    assert r.status_code == 409 and error_code(r) == "AMOUNT_MISMATCH"
    r = his.post("/qr-orders", {**body, "amount_fen": body["amount_fen"] - 1, "mode": "scan"})
    assert r.status_code == 422


def test_a_shown_qr_expires(his: His) -> None:
    _, _, _, r = _order(his)
    order = r.json()["order"]
    now = dt.datetime.fromisoformat(his.client.get("/api/v1/_test/clock").json()["now"])
    his.client.put("/api/v1/_test/clock", json={"now": (now + dt.timedelta(minutes=6)).isoformat()})
    assert his.get(f"/qr-orders/{order['id']}").json()["order"]["status"] == "expired"
    assert error_code(_pay_from_phone(his, order["id"])) == "ORDER_EXPIRED"


def test_an_unknown_order_is_not_found(his: His) -> None:
    _, _, _, _r = _order(his)
    assert his.client.get("/api/v1/qr-orders/QRNOPE", headers={"Authorization": "Bearer demo-kiosk-token"}
                          ).status_code == 404

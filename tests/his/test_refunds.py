"""Refunds after 退号 (extension): `POST /payments/{id}/refund` refunds a cancelled appointment's fee once
(ALREADY_REFUNDED for a second one under another key, the same key answers the first again), nothing else
(NOT_REFUNDABLE), and in full (AMOUNT_MISMATCH); `GET /appointments/{id}/payments` and `GET /refunds`.
An unpaid booking made to be paid at once is given back at any time."""

from __future__ import annotations

import datetime as dt

from simulators.his.testing import TODAY, His, at, error_code


def _patient(his: His, n: int = 0) -> str:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    booked = {a["patient_id"] for a in fixtures["appointments"]}
    free = [p["id"] for p in fixtures["patients"] if p["id"] not in booked and p["tags"] == ["clean"]]
    return free[n]


def _booked(his: His, patient_id: str, pay_now: bool = False, days: int = 2) -> dict:
    slot, _ = his.free_slot(TODAY + dt.timedelta(days=days))
    held = his.hold(slot, patient_id).json()
    r = his.post("/appointments", {"hold_id": held["hold_id"], "pay_now": pay_now})
    assert r.status_code == 201, r.text
    return r.json()["appointment"]


def _paid(his: His, patient_id: str, method: str = "bank_card") -> tuple[dict, dict]:
    appointment = _booked(his, patient_id)
    body = {"patient_id": patient_id, "appointment_id": appointment["id"], "amount_fen": appointment["fee_fen"],
            "method": method}
    if method == "bank_card":
        body["terminal_ref"] = "K01-REF-0001"
    r = his.post("/payments", body)
    assert r.status_code == 201, r.text
    return appointment, r.json()["payment"]


def test_a_cancelled_bookings_fee_is_refunded_once(his: His) -> None:
    patient_id = _patient(his)
    appointment, payment = _paid(his, patient_id)
    fee = appointment["fee_fen"]
    listed = his.get(f"/appointments/{appointment['id']}/payments").json()["payments"]
    assert [p["id"] for p in listed] == [payment["id"]]

    early = his.post(f"/payments/{payment['id']}/refund", {"amount_fen": fee})
    assert early.status_code == 409 and error_code(early) == "NOT_REFUNDABLE"  # still booked: cancel first

    cancelled = his.post(f"/appointments/{appointment['id']}/cancel", {})
    assert cancelled.json()["refund_fen"] == fee
    wrong = his.post(f"/payments/{payment['id']}/refund", {"amount_fen": fee - 1})
    assert wrong.status_code == 409 and error_code(wrong) == "AMOUNT_MISMATCH"
    r = his.post(f"/payments/{payment['id']}/refund", {"amount_fen": fee}, key="refund-1")
    assert r.status_code == 201, r.text
    refund = r.json()["refund"]
    assert refund["amount_fen"] == fee and refund["method"] == "bank_card" and refund["terminal_ref"] == "K01-REF-0001"
    assert r.json()["payment"]["status"] == "refunded"

    again = his.post(f"/payments/{payment['id']}/refund", {"amount_fen": fee}, key="refund-1")
    assert again.status_code == 201 and again.json()["refund"]["id"] == refund["id"]  # the same key: the same answer
    twice = his.post(f"/payments/{payment['id']}/refund", {"amount_fen": fee}, key="refund-2")
    assert twice.status_code == 409 and error_code(twice) == "ALREADY_REFUNDED"
    assert twice.json()["error"]["details"]["refund_id"] == refund["id"]

    [after] = [a for a in his.get("/appointments", patient_id=patient_id).json()["appointments"]]
    assert after["status"] == "cancelled" and after["paid_fen"] == 0
    assert [x["id"] for x in his.get("/refunds").json()["refunds"]] == [refund["id"]]
    assert his.get("/refunds", date=(TODAY + dt.timedelta(days=1)).isoformat()).json() == {"refunds": []}


def test_a_qr_payment_is_refunded_through_the_platform(his: His) -> None:
    patient_id = _patient(his, 1)
    appointment, payment = _paid(his, patient_id, method="wechat")
    his.post(f"/appointments/{appointment['id']}/cancel", {})
    r = his.post(f"/payments/{payment['id']}/refund", {"amount_fen": payment["amount_fen"]})
    assert r.status_code == 201 and r.json()["refund"]["method"] == "wechat"


def test_clinic_bills_and_reversed_payments_are_not_refundable_here(his: His) -> None:
    fixtures = his.client.get("/api/v1/_test/fixtures").json()
    patient = next(p for p in fixtures["patients"] if "unpaid_bills" in p["tags"] and not p["insurance_card"])
    bills = his.get("/bills", patient_id=patient["id"]).json()["bills"]
    paid = his.post("/payments", {"patient_id": patient["id"], "bill_ids": [b["id"] for b in bills],
                                  "amount_fen": sum(b["amount_fen"] for b in bills), "method": "wechat"}).json()
    r = his.post(f"/payments/{paid['payment']['id']}/refund", {"amount_fen": paid["payment"]["amount_fen"]})
    assert r.status_code == 409 and error_code(r) == "NOT_REFUNDABLE"
    his.post(f"/payments/{paid['payment']['id']}/reverse", {})
    r = his.post(f"/payments/{paid['payment']['id']}/refund", {"amount_fen": paid["payment"]["amount_fen"]})
    assert r.status_code == 409 and error_code(r) == "NOT_REFUNDABLE"
    assert his.post("/payments/NOPE/refund", {"amount_fen": 1}).status_code == 404


def test_an_unpaid_booking_to_be_paid_at_once_is_given_back_after_the_deadline(his: His) -> None:
    his.set_now(at(0, "14:45"))  # tomorrow still bookable, its 退号 deadline (14:30) passed
    patient_id = _patient(his, 2)
    appointment = _booked(his, patient_id, pay_now=True, days=1)
    r = his.post(f"/appointments/{appointment['id']}/cancel", {})
    assert r.status_code == 200 and r.json()["refund_fen"] == 0
    unpaid_later = _booked(his, _patient(his, 3), pay_now=False, days=1)
    r = his.post(f"/appointments/{unpaid_later['id']}/cancel", {})
    assert r.status_code == 409 and error_code(r) == "CANCEL_DEADLINE_PASSED"

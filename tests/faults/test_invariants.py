"""The torture harness's invariants (benchmarks/torture/invariants.py) catch each kind of violation."""

from __future__ import annotations

from benchmarks.torture.invariants import Evidence, charged_sales, check


def _sale(ref: str, fen: int, result: str = "approved") -> dict:
    return {"ref": ref, "type": "sale", "amount_fen": fen, "result": result}


def _void(ref: str, orig: str) -> dict:
    return {"ref": ref, "type": "void", "amount_fen": 0, "result": "approved", "original_ref": orig}


def _payment(pid: str, fen: int, ref: str | None, method: str = "bank_card", bills: tuple = ("B1",),
             status: str = "paid") -> dict:
    return {"id": pid, "status": status, "amount_fen": fen, "terminal_ref": ref, "method": method,
            "bill_ids": list(bills), "appointment_id": None, "kiosk_id": "K01"}


def _found(**kw) -> dict[str, int]:
    base = {"ledger": [], "payments": [], "fixtures": {}, "qr_orders": {}, "printed": []}
    return {name: len(v) for name, v in check(Evidence(**{**base, **kw})).items()}


def test_a_consistent_day_has_no_violation() -> None:
    found = _found(ledger=[_sale("S1", 100), _sale("S2", 50, "declined"), _sale("S3", 70), _void("V3", "S3")],
                   payments=[_payment("P1", 100, "S1"), _payment("P2", 30, "Q1", "wechat", ("B2",))],
                   qr_orders={"Q1": "paid"}, printed=["收据号：R1"],
                   answers=[{"outcome": "paid", "receipt_no": "R1", "payment_id": "P1", "printed": True}])
    assert set(found.values()) == {0}
    assert charged_sales([_sale("S1", 100), _sale("S3", 70), _void("V3", "S3")]) == {"S1": 100}


def test_a_charge_without_a_record_and_a_record_without_a_charge() -> None:
    found = _found(ledger=[_sale("S1", 100)], payments=[_payment("P9", 40, "S9", bills=("B9",))])
    assert found["sale_recorded_once"] == 1 and found["payment_has_sale_or_qr"] == 1


def test_two_records_of_one_sale_and_a_bill_paid_twice() -> None:
    found = _found(ledger=[_sale("S1", 100)], payments=[_payment("P1", 100, "S1"), _payment("P2", 100, "S1")])
    assert found["sale_recorded_once"] == 1 and found["bill_paid_twice"] == 1


def test_an_unpaid_qr_order_an_open_presettlement_and_a_missing_receipt() -> None:
    found = _found(payments=[_payment("P1", 30, "Q1", "alipay")], qr_orders={"Q1": "cancelled"},
                   fixtures={"presettlements": [{"id": "PS1", "status": "active", "kiosk_id": "K01"}]},
                   answers=[{"outcome": "paid", "receipt_no": "R7", "payment_id": "P1", "printed": True},
                            {"outcome": "failed", "charged": True, "terminal_refs": ["S5"]}])
    assert found["payment_has_sale_or_qr"] == 1 and found["presettlement_open"] == 1
    assert found["charge_without_receipt_or_slip"] == 2

"""The kill -9 torture harness, short and seeded: the kiosk (composition root, real drivers, payment
engine) killed 30 times at random moments of card, payment-code, shown-QR and 取号-fee payments under
random terminal and HIS faults; afterwards the terminal's ledger, the HIS and the printer must agree."""

from __future__ import annotations

import pytest

from benchmarks.torture.__main__ import parse_args, torture
from benchmarks.torture.invariants import INVARIANTS


@pytest.mark.timeout(300)
def test_thirty_kills_leave_no_money_lost_or_taken_twice(tmp_path) -> None:
    result = torture(parse_args(["--kills", "30", "--seed", "11", "--driver", "engine", "--card-time", "0.4",
                                 "--no-boundaries", "--work", str(tmp_path)]))
    assert result["kills"] >= 30
    # the run moved money: cards were charged and payments recorded, not only refused at the door
    assert result["approved_unvoided_sales"] > 0 and result["his_payments_paid"] > 0
    assert result["violations"] == dict.fromkeys(INVARIANTS, 0), result["violation_details"]
    assert result["recovery_s"]["n"] >= 30

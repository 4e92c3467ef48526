"""The statements of the hot path find their rows by index on SQLite: none scans a whole table (a
scalar subquery in the wrong place once made every booking scan all appointments)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite

from simulators.his import collection, context, heartbeats, holds, idempotency
from simulators.his.fastsql import Prepared

HOT = {
    f"{module.__name__.rsplit('.', 1)[1]}.{name}": value
    for module in (holds, collection, heartbeats, idempotency, context)
    for name, value in vars(module).items()
    if isinstance(value, Prepared)
}


@pytest.mark.parametrize("name", sorted(HOT))
def test_no_hot_statement_scans_a_table(name: str, sqlite_template: Path) -> None:
    plan = HOT[name]._plan(sqlite.dialect())
    with sqlite3.connect(sqlite_template) as conn:
        steps = [
            row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {plan.sql}", [None] * plan.sql.count("?"))
        ]
    scans = [s for s in steps if s.startswith("SCAN") and s != "SCAN CONSTANT ROW"]
    assert not scans, (name, steps)


def test_the_hot_statements_are_all_checked() -> None:
    assert {"holds._HOLD_OWNER_HISTORY", "holds._HISTORY", "collection._APPOINTMENT"} <= set(HOT)
    assert len(HOT) >= 20

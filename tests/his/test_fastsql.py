"""fastsql: statements on the driver cursor read and write what the ORM reads and writes, and fail
with SQLAlchemy's exception classes (the retries on a lost race depend on them), on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from simulators.his import models as m
from simulators.his.db import Database
from simulators.his.fastsql import Prepared

_keys = m.IdempotencyKey.__table__
_COLUMNS = ("kiosk_id", "key", "request_hash", "status_code", "response", "created_at")
_STORE = Prepared(insert(_keys).values({c: bindparam(c) for c in _COLUMNS}))
_READ = Prepared(select(_keys.c.key, _keys.c.created_at).where(_keys.c.kiosk_id == bindparam("kiosk_id")))


def _row(key: str, when: dt.datetime) -> dict:
    return {"kiosk_id": "K09", "key": key, "request_hash": "h", "status_code": 201, "response": "{}",
            "created_at": when}  # fmt: skip


def test_values_round_trip_through_the_orm(db_url: str) -> None:
    db = Database(db_url)
    when = dt.datetime(2026, 11, 23, 8, 30, 0, 123456)
    try:
        with db.write() as s:
            assert _STORE.write(s.connection(), _row("k1", when)) == 1
        with db.read() as s:
            stored = s.execute(select(m.IdempotencyKey).where(m.IdempotencyKey.key == "k1")).scalar_one()
            assert stored.created_at == when
            assert _READ.run(s.connection(), {"kiosk_id": "K09"}).all() == [("k1", when)]
            assert _READ.run(s.connection(), {"kiosk_id": "K10"}).first() is None
    finally:
        db.dispose()


def test_a_broken_constraint_is_sqlalchemys_integrity_error(db_url: str) -> None:
    db = Database(db_url)
    when = dt.datetime(2026, 11, 23, 8, 30)
    try:
        with db.write() as s:
            _STORE.write(s.connection(), _row("same", when))
        with pytest.raises(IntegrityError), db.write() as s:
            _STORE.write(s.connection(), _row("same", when))
        with db.read() as s:
            assert len(_READ.run(s.connection(), {"kiosk_id": "K09"}).all()) == 1
    finally:
        db.dispose()

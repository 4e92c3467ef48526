"""The schema_version table: written at creation, older databases migrated in order, newer ones refused."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, select, text

from simulators.his import models as m
from simulators.his.db import Database
from simulators.his.migrations import MIGRATIONS, Migration, SchemaVersionError, current_version, migrate
from simulators.his.server import create_app

NEWEST = MIGRATIONS[-1].version


def _versions(db: Database) -> list[int]:
    with db.read() as s:
        return list(s.execute(select(m.SchemaVersion.version).order_by(m.SchemaVersion.version)).scalars())


def _version(db: Database) -> int | None:
    with db.writer.connect() as conn:
        return current_version(conn)


def _set_version(db: Database, version: int) -> None:
    with db.writer.begin() as conn:
        conn.execute(m.SchemaVersion.__table__.delete())
        conn.execute(
            m.SchemaVersion.__table__.insert().values(
                version=version, description="test", applied_at=dt.datetime(2026, 1, 1)
            )
        )


def test_a_new_database_records_every_step(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert db.create_schema() == NEWEST
        assert _versions(db) == [step.version for step in MIGRATIONS]
        assert db.create_schema() == NEWEST  # a second start changes nothing
        assert _versions(db) == [step.version for step in MIGRATIONS]
    finally:
        db.dispose()


def test_a_seeded_database_carries_its_version(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert _version(db) == NEWEST
    finally:
        db.dispose()


def test_a_database_from_before_versioning_is_adopted_and_keeps_its_data(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.writer.begin() as conn:
            conn.execute(text("DROP TABLE schema_version"))
        assert _version(db) is None
        with db.read() as s:
            patients = s.query(m.Patient).count()
        assert patients > 0
        assert db.create_schema() == NEWEST
        assert _version(db) == NEWEST
        with db.read() as s:
            assert s.query(m.Patient).count() == patients
    finally:
        db.dispose()


def _add_column(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE payments ADD COLUMN channel VARCHAR"))


def _fill_column(conn: Connection) -> None:
    conn.execute(text("UPDATE payments SET channel = 'kiosk'"))


def test_an_older_database_is_migrated_step_by_step_in_order(db_url: str) -> None:
    steps = (
        *MIGRATIONS,
        Migration(NEWEST + 1, "payments.channel", _add_column),
        Migration(NEWEST + 2, "fill payments.channel", _fill_column),
    )
    db = Database(db_url)
    try:
        assert migrate(db.writer, steps[: NEWEST + 1]) == NEWEST + 1
        assert _versions(db)[-1] == NEWEST + 1
        # From version NEWEST + 1 only the last step runs (the column is not added twice).
        assert migrate(db.writer, steps) == NEWEST + 2
        assert _versions(db)[-2:] == [NEWEST + 1, NEWEST + 2]
        assert "channel" in {c["name"] for c in inspect(db.writer).get_columns("payments")}
        assert migrate(db.writer, steps) == NEWEST + 2  # nothing left to do
    finally:
        db.dispose()


def test_a_failing_step_leaves_the_version_where_it_was(db_url: str) -> None:
    def broken(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE no_such_table ADD COLUMN x VARCHAR"))

    db = Database(db_url)
    try:
        with pytest.raises(Exception, match="no_such_table"):
            migrate(db.writer, (*MIGRATIONS, Migration(NEWEST + 1, "broken", broken)))
        assert _version(db) == NEWEST
    finally:
        db.dispose()


def test_steps_must_be_numbered_in_order(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(ValueError, match="in order"):
            migrate(db.writer, (Migration(2, "two", _add_column), Migration(1, "one", _add_column)))
    finally:
        db.dispose()


def test_a_newer_database_is_refused(db_url: str) -> None:
    db = Database(db_url)
    try:
        _set_version(db, NEWEST + 1)
        with pytest.raises(SchemaVersionError, match=f"version {NEWEST + 1}, newer"):
            create_app(db, seed=None)
        assert _version(db) == NEWEST + 1  # refused, not rewritten
    finally:
        db.dispose()


def test_the_server_refuses_a_newer_database_in_one_line(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        _set_version(db, NEWEST + 5)
    finally:
        db.dispose()
    run = subprocess.run(
        [sys.executable, "-m", "simulators.his", "serve", "--port", "0", "--db", sqlite_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"version {NEWEST + 5}" in lines[0]
    assert "Traceback" not in run.stderr

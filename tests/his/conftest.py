"""Fixtures for the HIS tests: a seeded database per test (SQLite, and PostgreSQL where marked)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from simulators.his.clock import Clock
from simulators.his.db import Database
from simulators.his.pgtemp import TempCluster, find_bin
from simulators.his.rules import Rules
from simulators.his.seed import seed
from simulators.his.testing import SEEDED_AT, TZ, His


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("his-template") / "his.db"
    db = Database(f"sqlite:///{path}")
    db.create_schema()
    seed(db, 1, Clock(TZ, SEEDED_AT), Rules())
    db.dispose()
    with closing(sqlite3.connect(path)) as raw:  # fold the WAL into the file before copying it
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[TempCluster]:
    if find_bin() is None:
        # CI installs PostgreSQL (scripts/setup.sh): its absence is a broken set-up, never a pass.
        pytest.fail(
            "PostgreSQL is not installed here (no /usr/lib/postgresql/*/bin/initdb): run scripts/setup.sh"
        )
    cluster = TempCluster.start()
    try:
        cluster.admin("CREATE DATABASE his_template")
        db = Database(cluster.url("his_template"))
        db.create_schema()
        seed(db, 1, Clock(TZ, SEEDED_AT), Rules())
        db.dispose()
        yield cluster
    finally:
        cluster.stop()


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "his.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _fresh_pg(cluster: TempCluster) -> str:
    name = f"his_{uuid.uuid4().hex[:10]}"
    cluster.admin(f"CREATE DATABASE {name} TEMPLATE his_template")
    return cluster.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """A freshly seeded database on each backend."""
    if request.param == "sqlite":
        return _fresh_sqlite(sqlite_template, tmp_path)
    return _fresh_pg(request.getfixturevalue("pg_cluster"))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return _fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture
def his(sqlite_url: str) -> Iterator[His]:
    h = His(sqlite_url)
    yield h
    h.close()


@pytest.fixture
def his_any(db_url: str) -> Iterator[His]:
    """The same tests on SQLite and on PostgreSQL."""
    h = His(db_url)
    yield h
    h.close()


@pytest.fixture
def pg_url(pg_cluster: TempCluster) -> str:
    """A freshly seeded PostgreSQL database, for what only PostgreSQL does."""
    return _fresh_pg(pg_cluster)


@pytest.fixture
def pg_his(pg_url: str) -> Iterator[His]:
    h = His(pg_url)
    yield h
    h.close()

"""Database access: engines, and write transactions that serialise on SQLite and lock rows on PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url
from sqlalchemy.orm import Session

from simulators.his.migrations import migrate
from simulators.his.models import Base, Department

SYNCHRONOUS = ("FULL", "NORMAL")


def _direct_savepoints(engine: Engine) -> None:
    """SAVEPOINT, RELEASE and ROLLBACK TO straight to the driver, not compiled and executed as statements.

    Every write request runs in a savepoint (group commit; a stored refusal in another), and
    SQLAlchemy's way cost ~170 µs a savepoint against ~10 µs this way: a sixth of a booking. Its events
    and error wrapping around the savepoint stay as they are; only the dialect's three hooks change.
    """

    def run(sql: str) -> Callable[[Connection, str], None]:
        def hook(conn: Connection, name: str) -> None:
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.connection.driver_connection.execute(sql.format(quoted)).close()  # type: ignore[union-attr]

        return hook

    dialect: Any = engine.dialect
    dialect.do_savepoint = run("SAVEPOINT {}")
    dialect.do_release_savepoint = run("RELEASE SAVEPOINT {}")
    dialect.do_rollback_to_savepoint = run("ROLLBACK TO SAVEPOINT {}")


class Database:
    """One HIS database. ``write()`` opens a transaction that may change data, ``read()`` one that may not.

    On SQLite every write transaction starts with BEGIN IMMEDIATE (SQLAlchemy's with_for_update is a
    no-op there), so writers queue on the database lock instead of failing at commit; readers use WAL
    snapshots and never wait. On PostgreSQL the transactions are READ COMMITTED and the booking code
    takes row locks (SELECT ... FOR UPDATE) and conditional UPDATEs.
    """

    def __init__(self, url: str, pool_size: int = 20, *, sqlite_synchronous: str = "FULL") -> None:
        if sqlite_synchronous not in SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {SYNCHRONOUS}")
        self.url = url
        self.pool_size = pool_size
        self.sqlite_synchronous = sqlite_synchronous
        self.is_sqlite = url.startswith("sqlite")
        self._sqlite_writer = threading.Lock()
        if self.is_sqlite:
            if url in ("sqlite://", "sqlite:///:memory:"):
                raise ValueError("use a file for SQLite: every thread needs its own connection")
            self.writer = self._sqlite_engine(url, "BEGIN IMMEDIATE", pool_size, sqlite_synchronous)
            self.reader = self._sqlite_engine(url, "BEGIN", pool_size, sqlite_synchronous)
            self._lock_path = f"{make_url(url).database}-writer.lock"
            self._lock_fd: int | None = None
            self._lock_pid = 0
        else:
            self.writer = create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size, pool_timeout=60)
            self.reader = self.writer
        _direct_savepoints(self.writer)

    @staticmethod
    def _sqlite_engine(url: str, begin: str, pool_size: int, synchronous: str) -> Engine:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            pool_timeout=60,
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is DEFERRED).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss too (NORMAL in WAL mode survives a process crash only).
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine

    def create_schema(self) -> int:
        """Create the schema, or migrate an older one; returns the version (see migrations.py)."""
        return migrate(self.writer)

    def drop_schema(self) -> None:
        Base.metadata.drop_all(self.writer)

    def is_empty(self) -> bool:
        """True when the schema is missing or holds no departments (nothing seeded yet)."""
        if not inspect(self.reader).has_table("departments"):
            return True
        with self.read() as s:
            return s.query(Department).first() is None

    @contextmanager
    def write(self) -> Iterator[Session]:
        if not self.is_sqlite:
            with Session(self.writer, expire_on_commit=False) as session, session.begin():
                yield session
            return
        # SQLite has one writer at a time anyway; queueing on locks here instead of in SQLite's busy
        # handler (which sleeps up to 100 ms between polls) keeps the tail latency down: the thread lock
        # within this process, then an flock shared by every worker process on this database (the
        # kernel wakes the next waiter at once). BEGIN IMMEDIATE still guards against any other writer.
        with (
            self._sqlite_writer,
            self._across_processes(),
            Session(self.writer, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction on a bare connection (group commit); committed when the block ends."""
        if not self.is_sqlite:
            with self.writer.begin() as conn:
                yield conn
            return
        with self._sqlite_writer, self._across_processes(), self.writer.begin() as conn:
            yield conn

    @contextmanager
    def _across_processes(self) -> Iterator[None]:
        if self._lock_pid != os.getpid():  # a forked child must not share its parent's open file
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._lock_pid = os.getpid()
        assert self._lock_fd is not None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.reader, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self.is_sqlite and self._lock_fd is not None and self._lock_pid == os.getpid():
            os.close(self._lock_fd)
            self._lock_fd, self._lock_pid = None, 0
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()

"""PostgreSQL writes from the event loop: flows (fastsql.py) on a few psycopg async connections, each
step one pipelined round trip, the COMMIT sent with the last one.

Through the thread pool a booking on PostgreSQL took 13 statements in 15 round trips, each a GIL
hand-off between twenty threads and the event loop, and forty backends took turns on two cores: ~3 ms
of the HIS's CPU and ~2.7 ms of PostgreSQL's a booking. Here a hold or a booking is two round trips
(the reads after the patient's lock, then the conditional writes with the COMMIT), nothing waits in a
thread, and a handful of connections per worker keeps PostgreSQL's backends busy rather than switching.

What a transaction guarantees does not change: statements run in order in one READ COMMITTED
transaction, row locks are taken as in the threaded path, an answer is sent only after its COMMIT, and a
transaction that loses a unique-constraint race or a deadlock is run again from its start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus
from sqlalchemy import make_url
from sqlalchemy.engine import Dialect

from simulators.his.fastsql import Flow, Result, convert

T = TypeVar("T")
RETRIES = 5
# Errors after which the whole transaction is run again: nothing of it committed, and a second run
# reads what the winner wrote.
_RERUN = (psycopg.IntegrityError, pg_errors.TransactionRollback, pg_errors.LockNotAvailable)


def conninfo(url: str) -> str:
    """A libpq connection URI from the SQLAlchemy URL (postgresql+psycopg://...)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Pipelined:
    """Runs flows as transactions on at most `size` connections of this process (opened on demand)."""

    def __init__(self, url: str, dialect: Dialect, size: int = 6) -> None:
        self.conninfo = conninfo(url)
        self.dialect = dialect
        self.size = size
        self._opened = 0
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._waiters: list[asyncio.Future[None]] = []

    async def run(self, make: Callable[[], Flow[T]]) -> T:
        """Run a new flow from `make` in its own transaction; again (a new flow) after a lost race."""
        for attempt in range(RETRIES):
            conn = await self._acquire()
            try:
                return await self._transaction(conn, make())
            except _RERUN:
                if attempt == RETRIES - 1:
                    raise
            finally:
                self._release(conn)
            await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _transaction(self, conn: psycopg.AsyncConnection[Any], flow: Flow[T]) -> T:
        committed = False
        try:
            async with conn.pipeline() as pipeline:
                results: tuple[Result, ...] | None = None
                while True:
                    try:
                        current = flow.send(results)  # type: ignore[arg-type]
                    except StopIteration as done:
                        if not committed:
                            await conn.commit()
                        return done.value  # type: ignore[no-any-return]
                    if committed:
                        raise RuntimeError("a flow went on after its last step")
                    cursors = [await self._send(conn, call.statement, call.params) for call in current.calls]
                    if current.last:
                        await conn.commit()  # in the same round trip as the step
                        committed = True
                    else:
                        await pipeline.sync()
                    results = tuple([await self._result(cursor, plan) for cursor, plan in cursors])
        except BaseException:
            if not committed and not conn.closed:
                await conn.rollback()
            raise

    async def _send(self, conn: psycopg.AsyncConnection[Any], statement: Any, params: Any) -> Any:
        plan, values = statement.bound(self.dialect, params)
        cursor = conn.cursor()
        await cursor.execute(plan.sql, values)  # queued: the pipeline sends it with the rest of the step
        return cursor, plan

    @staticmethod
    async def _result(cursor: psycopg.AsyncCursor[Any], plan: Any) -> Result:
        rows = await cursor.fetchall() if plan.row is not None else []
        return Result([convert(plan, raw) for raw in rows], cursor.rowcount)

    async def _acquire(self) -> psycopg.AsyncConnection[Any]:
        while not self._idle and self._opened >= self.size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        if self._idle:
            return self._idle.pop()
        self._opened += 1
        try:
            return await psycopg.AsyncConnection.connect(self.conninfo)
        except BaseException:
            self._opened -= 1
            self._wake()
            raise

    def _release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
            # Lost, or left mid-transaction by a cancelled request: a new one is opened when needed.
            self._opened -= 1
            if not conn.closed:
                conn.pgconn.finish()
        else:
            self._idle.append(conn)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_set, waiter)
                return

    def close(self) -> None:
        """Close the idle connections (those in use close as their requests end)."""
        for conn in self._idle:
            conn.pgconn.finish()
        self._opened -= len(self._idle)
        self._idle.clear()


def _set(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)

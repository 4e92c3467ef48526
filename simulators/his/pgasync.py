"""PostgreSQL writes from the event loop: flows (fastsql.py) on a few connections in libpq's pipeline
mode, each step one round trip, the COMMIT sent with the last one.

Through the thread pool a booking on PostgreSQL took 13 statements in 15 round trips, each a GIL
hand-off between twenty threads and the event loop, and forty backends took turns on two cores: ~3 ms
of the HIS's CPU and ~2.7 ms of PostgreSQL's a booking. Here a hold or a booking is two round trips
(the reads after the patient's lock, then the conditional writes with the COMMIT), nothing waits in a
thread, and a handful of connections per worker keeps PostgreSQL's backends busy rather than switching.
psycopg opens the connections; the statements go through its libpq binding directly (prepared once per
connection, parameters as text, rows read by psycopg's own loaders), because its cursor layer cost
about as much CPU again as the work it carried.

What a transaction guarantees does not change: statements run in order in one READ COMMITTED
transaction, row locks are taken as in the threaded path, an answer is sent only after its COMMIT, and a
transaction that loses a unique-constraint race or a deadlock is run again from its start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import Boolean, Date, DateTime, Integer, make_url
from sqlalchemy.engine import Dialect

from simulators.his.context import Lane
from simulators.his.fastsql import Call, Flow, Result, advance, convert

T = TypeVar("T")
RETRIES = 5
APPLICATION_NAME = "his-pipelined"  # how these connections show in pg_stat_activity
# Errors after which the whole transaction is run again: nothing of it committed, and a second run
# reads what the winner wrote.
_RERUN = (psycopg.IntegrityError, pg_errors.TransactionRollback, pg_errors.LockNotAvailable)
_PARAM = re.compile(r"%\((\w+)\)s")
# PostgreSQL type oids for parameters whose type it cannot infer (a SELECT list feeding an INSERT);
# others are sent as "unknown" and typed by the statement's casts and columns, as psycopg does.
_OIDS = ((Boolean, 16), (DateTime, 1114), (Date, 1082), (Integer, 20))
_OK = pq.ExecStatus.COMMAND_OK
_ROWS = pq.ExecStatus.TUPLES_OK
_FAILED = pq.ExecStatus.FATAL_ERROR
_SYNC = pq.ExecStatus.PIPELINE_SYNC


class _LostUncommitted(Exception):
    """The connection failed before the transaction's COMMIT was sent: nothing of it was committed."""


def conninfo(url: str) -> str:
    """A libpq connection URI from the SQLAlchemy URL (postgresql+psycopg://...)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class _Statement:
    """A fastsql plan as PostgreSQL prepares it: $n placeholders, which value is $n, and its type."""

    name: bytes
    sql: bytes
    order: tuple[int, ...]  # $1, $2, ... are these indexes of plan.names
    oids: tuple[int, ...]


_statements: dict[str, _Statement] = {}


def _statement(plan: Any) -> _Statement:
    known = _statements.get(plan.sql)
    if known is not None:
        return known
    order: list[int] = []

    def number(match: re.Match[str]) -> str:
        k = plan.names.index(match.group(1))
        if k not in order:
            order.append(k)
        return f"${order.index(k) + 1}"

    sql = _PARAM.sub(number, plan.sql).replace("%%", "%")
    oids = tuple(next((oid for kind, oid in _OIDS if isinstance(plan.types[k], kind)), 0) for k in order)
    made = _statements[plan.sql] = _Statement(
        f"his_{len(_statements)}".encode(), sql.encode(), tuple(order), oids
    )
    return made


def _text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format."""
    if value is None:
        return None
    if value is True or value is False:
        return b"t" if value else b"f"
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").encode()
    if isinstance(value, int | dt.date):
        return str(value).encode()
    raise TypeError(f"no text form for a {type(value).__name__} parameter")


@dataclass(frozen=True)
class _Sent:
    """One message of a step, and what its result is for."""

    plan: Any | None = None  # a call's plan: its result goes back to the flow
    prepared: bytes | None = None  # a PREPARE of this statement name


class _Link:
    """One connection in pipeline mode: messages queued by `call` and `command`, sent and answered by
    `sync`."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn  # keeps the connection open; only its libpq handle is used
        self.pg = conn.pgconn
        self.pg.nonblocking = 1
        self.pg.enter_pipeline_mode()
        self.loader = Transformer(conn)
        self.prepared: set[bytes] = set()
        self.pending: list[_Sent] = []
        self.broken = False

    def command(self, sql: bytes) -> None:
        self.pg.send_query_params(sql, None)
        self.pending.append(_Sent())

    def call(self, call: Call, dialect: Dialect) -> None:
        plan, values = call.statement.values(dialect, call.params)
        statement = _statement(plan)
        if statement.name not in self.prepared:
            self.pg.send_prepare(statement.name, statement.sql, statement.oids)
            self.prepared.add(statement.name)
            self.pending.append(_Sent(prepared=statement.name))
        self.pg.send_query_prepared(statement.name, [_text(values[k]) for k in statement.order])
        self.pending.append(_Sent(plan=plan))

    async def sync(self) -> tuple[Result, ...]:
        """Send what is queued and a Sync; the calls' results, or the first error raised."""
        sent, self.pending = self.pending, []
        self.pg.pipeline_sync()
        while self.pg.flush():
            await self._ready(writable=True)
        answers = await self._answers()
        failed = None
        results = []
        for item, answer in zip(sent, answers, strict=True):
            status = answer.status if answer is not None else None
            if item.prepared is not None and status != _OK:
                self.prepared.discard(item.prepared)  # failed, or skipped after an earlier error
            if status == _FAILED and failed is None:
                failed = answer
            if item.plan is not None and failed is None:
                results.append(self._result(item.plan, answer))
        if failed is not None:
            raise pg_errors.error_from_result(failed, encoding="utf-8")
        return tuple(results)

    async def _answers(self) -> list[Any]:
        """The last result of each message up to the Sync (None for one skipped after an error)."""
        answers: list[Any] = []
        current = None
        while True:
            while not self.pg.is_busy():
                answer = self.pg.get_result()
                if answer is None:  # the end of one message's results
                    answers.append(current)
                    current = None
                elif answer.status == _SYNC:
                    return answers
                else:
                    current = answer
            await self._ready(writable=False)
            self.pg.consume_input()

    def _result(self, plan: Any, answer: Any) -> Result:
        rows: list[Any] = []
        if plan.row is not None and answer.status == _ROWS:
            self.loader.set_pgresult(answer)
            rows = [convert(plan, raw) for raw in self.loader.load_rows(0, answer.ntuples, tuple)]
        return Result(rows, answer.command_tuples or 0)

    async def _ready(self, writable: bool) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self.pg.socket
        watch, unwatch = (
            (loop.add_writer, loop.remove_writer) if writable else (loop.add_reader, loop.remove_reader)
        )
        watch(fd, _set, ready)
        try:
            await ready
        finally:
            unwatch(fd)

    def idle(self) -> bool:
        return not self.broken and self.pg.transaction_status == pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.pg.finish()


LANE_CONNECTIONS = {Lane.BOOKING: 4, Lane.ARRIVAL: 2}


class Pipelined:
    """Runs flows as transactions, each lane on at most its own number of connections of this process
    (opened on demand)."""

    def __init__(self, url: str, dialect: Dialect, lanes: dict[Lane, int] = LANE_CONNECTIONS) -> None:
        self.dialect = dialect
        self._pools = {lane: _Pool(conninfo(url), size) for lane, size in lanes.items()}

    async def run(self, make: Callable[[], Flow[T]], lane: Lane = Lane.BOOKING) -> T:
        """Run a new flow from `make` in its own transaction; again (a new flow) after a lost race."""
        pool = self._pools[lane]
        for attempt in range(RETRIES):
            link = await pool.acquire()
            try:
                return await self._transaction(link, make())
            except _LostUncommitted as lost:
                if attempt == RETRIES - 1:
                    raise lost.__cause__ or lost from None
            except _RERUN:
                if attempt == RETRIES - 1:
                    raise
            finally:
                pool.release(link)
            await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _transaction(self, link: _Link, flow: Flow[T]) -> T:
        committed = False
        try:
            link.command(b"BEGIN")  # goes with the first step
            current, value = advance(flow, None)
            while current is not None:
                if committed:
                    raise RuntimeError("a flow went on after its last step")
                for call in current.calls:
                    link.call(call, self.dialect)
                if current.last:
                    link.command(b"COMMIT")  # in the same round trip as the step
                    committed = True
                current, value = advance(flow, await link.sync())
            if not committed:
                link.command(b"COMMIT")
                committed = True
                await link.sync()
            return value  # type: ignore[return-value]
        except (Exception, asyncio.CancelledError) as error:
            await self._abandon(link, error)
            if isinstance(error, psycopg.OperationalError) and not committed:
                # e.g. an idle connection the server closed: safe to run again on a new one. After
                # the COMMIT was sent the outcome is unknown, and the error goes to the caller.
                raise _LostUncommitted() from error
            raise

    @staticmethod
    async def _abandon(link: _Link, error: BaseException) -> None:
        """Roll back what is left of the transaction, or give the connection up."""
        if isinstance(error, asyncio.CancelledError | psycopg.OperationalError):
            link.broken = True  # mid-exchange or lost: its state is unknown
            return
        if link.pending or link.pg.transaction_status != pq.TransactionStatus.IDLE:
            link.command(b"ROLLBACK")
            try:
                await link.sync()
            except psycopg.Error:
                link.broken = True

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


class _Pool:
    """At most `size` connections, opened on demand; a request waits for one to be free."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo = conninfo
        self.size = size
        self._opened = 0
        self._idle: list[_Link] = []
        self._waiters: list[asyncio.Future[None]] = []

    async def acquire(self) -> _Link:
        while not self._idle and self._opened >= self.size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        if self._idle:
            return self._idle.pop()
        self._opened += 1
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, application_name=APPLICATION_NAME
            )
            return _Link(conn)
        except BaseException:
            self._opened -= 1
            self._wake()
            raise

    def release(self, link: _Link) -> None:
        if link.idle():
            self._idle.append(link)
        else:  # a new one is opened when needed
            self._opened -= 1
            link.close()
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_set, waiter)
                return

    def close(self) -> None:
        """Close the idle connections (those in use close as their requests end)."""
        for link in self._idle:
            link.close()
        self._opened -= len(self._idle)
        self._idle.clear()


def _set(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)

"""Statements compiled once per dialect and run on the driver's cursor: the hot path without the
per-execution machinery of SQLAlchemy (execution context, parameter processing, result proxy), which
the profile showed costing about three times the database's own work for the hold and book path.

A `Prepared` keeps SQLAlchemy's SQL text and its type conversions (the dialect's own bind and result
processors, looked up once), so values stored this way read back the same through the ORM. It runs
inside the caller's transaction on the caller's connection: nothing about transactions changes, and a
driver error is raised as SQLAlchemy's own exception class.
Statements must not use expanding (IN-list) parameters.

A *flow* is a write written once for every driver: a generator that yields `Step`s (statements to send
together) and is sent back their `Result`s, so that it never touches a connection itself. `run_flow`
drives one on a SQLAlchemy connection, statement by statement (SQLite, group commit); pgasync.py drives
the same flow on PostgreSQL from the event loop, each step in one pipelined round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None
T = TypeVar("T")


@dataclass(frozen=True)
class _Plan:
    """One statement as one dialect runs it."""

    sql: str
    names: tuple[str, ...]  # the parameters in the order the driver wants them
    positional: bool
    defaults: Mapping[str, Any]  # values written into the statement (e.g. status="booked")
    binders: tuple[Processor, ...]
    readers: tuple[Processor, ...]
    row: type | None  # a NamedTuple of the selected columns, for SELECT and RETURNING
    types: tuple[Any, ...]  # the parameters' SQLAlchemy types, in `names` order


class Prepared:
    """A statement compiled on first use for each dialect; `run` executes it with a dict of parameters."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        types = tuple(compiled.binds[name].type for name in names)
        binders = [kind.dialect_impl(dialect).bind_processor(dialect) for kind in types]
        columns = list(getattr(self.statement, "selected_columns", None) or ())
        returning = getattr(self.statement, "_returning", ())
        columns = columns or list(returning)
        readers = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        row = NamedTuple("Row", [(c.key, Any) for c in columns]) if columns else None  # type: ignore[misc]
        return _Plan(
            sql=str(compiled),
            names=names,
            positional=positional,
            defaults={k: v for k, v in compiled.params.items() if v is not None},
            binders=tuple(binders),
            readers=readers,
            row=row,
            types=types,
        )

    def values(self, dialect: Dialect, params: Mapping[str, Any] | None) -> tuple[_Plan, list[Any]]:
        """The plan for `dialect` and the parameters' values in `plan.names` order, converted for it."""
        plan = self._plan(dialect)
        given = params or {}
        values = []
        for name, bind in zip(plan.names, plan.binders, strict=True):
            value = given[name] if name in given else plan.defaults.get(name)
            values.append(bind(value) if bind is not None and value is not None else value)
        return plan, values

    def bound(self, dialect: Dialect, params: Mapping[str, Any] | None) -> tuple[_Plan, Any]:
        """The plan for `dialect` and the parameters as its DB-API driver takes them."""
        plan, values = self.values(dialect, params)
        return plan, values if plan.positional else dict(zip(plan.names, values, strict=True))

    def __call__(self, **params: Any) -> Call:
        """This statement with these parameters, as one call of a flow's Step."""
        return Call(self, params)

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Cursor:
        """Execute a query; read its rows from the Cursor."""
        plan, values = self.bound(conn.dialect, params)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        driver_error = conn.dialect.loaded_dbapi.Error
        try:
            cursor.execute(plan.sql, values)
        except driver_error as error:
            cursor.close()
            # As SQLAlchemy would raise it (IntegrityError, OperationalError, ...): the callers' retries
            # on a lost unique-constraint race or a lock depend on that class.
            raise DBAPIError.instance(plan.sql, values, error, driver_error) from error
        return Cursor(cursor, plan)

    def write(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Execute an INSERT, UPDATE or DELETE; the number of rows it changed."""
        return self.run(conn, params).rowcount


def convert(plan: _Plan, raw: tuple) -> Any:
    """A driver's row as the plan's named tuple, through the dialect's result conversions."""
    assert plan.row is not None
    return plan.row(*(v if r is None else r(v) for r, v in zip(plan.readers, raw, strict=True)))


class Cursor:
    """The executed statement: rows as named tuples with the dialect's conversions, or a rowcount."""

    def __init__(self, cursor: Any, plan: _Plan) -> None:
        self._cursor = cursor
        self._plan = plan

    @property
    def rowcount(self) -> int:
        try:
            return int(self._cursor.rowcount)
        finally:
            self._cursor.close()

    def all(self) -> list[Any]:
        try:
            return [convert(self._plan, raw) for raw in self._cursor.fetchall()]
        finally:
            self._cursor.close()

    def first(self) -> Any | None:
        try:
            raw = self._cursor.fetchone()
            return None if raw is None else convert(self._plan, raw)
        finally:
            self._cursor.close()

    def one(self) -> Any:
        row = self.first()
        if row is None:
            raise LookupError("the query found no row")
        return row

    def scalar(self) -> Any | None:
        row = self.first()
        return None if row is None else row[0]

    def __iter__(self) -> Any:
        return iter(self.all())

    def result(self) -> Result:
        """Everything the statement gave, for a flow."""
        try:
            # plan.row: an INSERT may return its new key unasked (PostgreSQL), which no caller reads
            raw = self._cursor.fetchall() if self._plan.row is not None else []
            return Result([convert(self._plan, r) for r in raw], int(self._cursor.rowcount))
        finally:
            self._cursor.close()


def row_values(table: Any, columns: tuple[str, ...]) -> Any:
    """SELECT :a, :b, ... for INSERT ... SELECT: the row to insert, its parameters typed (so PostgreSQL
    knows each one's type where nothing else in the statement says it)."""
    return select(*(bindparam(c, type_=table.c[c].type) for c in columns))


# --- flows ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One statement of a step and its parameters."""

    statement: Prepared
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    """Statements a flow needs together: a driver may send them in one round trip, in order.

    `last`: the flow's final statements, which leave the database right whatever they find (conditional
    writes), so a driver may send the COMMIT with them and read their results after it.
    """

    calls: tuple[Call, ...]
    last: bool = False

    def not_last(self) -> Step:
        return replace(self, last=False) if self.last else self


@dataclass(frozen=True)
class Result:
    """What one call gave: its rows (SELECT, RETURNING) and the rows it changed."""

    rows: list[Any]
    rowcount: int

    def first(self) -> Any | None:
        return self.rows[0] if self.rows else None

    def one(self) -> Any:
        if not self.rows:
            raise LookupError("the query found no row")
        return self.rows[0]


Flow = Generator[Step, tuple[Result, ...], T]


def step(*calls: Call, last: bool = False) -> Step:
    return Step(calls, last)


def advance(flow: Flow[T], results: tuple[Result, ...] | None) -> tuple[Step | None, T | None]:
    """The flow's next step given the last one's results, or (None, what the flow returned)."""
    try:
        return flow.send(results), None  # type: ignore[arg-type]
    except StopIteration as done:
        return None, done.value


def inner(flow: Flow[T]) -> Flow[T]:
    """`flow` as a part of a larger one (`yield from inner(flow)`): its last step is not the transaction's."""
    current, value = advance(flow, None)
    while current is not None:
        current, value = advance(flow, (yield current.not_last()))
    return value  # type: ignore[return-value]


def run_flow(conn: Connection, flow: Flow[T]) -> T:
    """Drive a flow on a SQLAlchemy connection, inside the caller's transaction: one call at a time."""
    current, value = advance(flow, None)
    while current is not None:
        current, value = advance(flow, tuple(c.statement.run(conn, c.params).result() for c in current.calls))
    return value  # type: ignore[return-value]

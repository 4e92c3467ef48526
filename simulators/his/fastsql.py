"""Statements compiled once per dialect and run on the driver's cursor: the hot path without the
per-execution machinery of SQLAlchemy (execution context, parameter processing, result proxy), which
the profile showed costing about three times the database's own work for the hold and book path.

A `Prepared` keeps SQLAlchemy's SQL text and its type conversions (the dialect's own bind and result
processors, looked up once), so values stored this way read back the same through the ORM. It runs
inside the caller's transaction on the caller's connection: nothing about transactions changes, and a
driver error is raised as SQLAlchemy's own exception class.
Statements must not use expanding (IN-list) parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None


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
        binders = []
        for name in names:
            kind = compiled.binds[name].type
            binders.append(kind.dialect_impl(dialect).bind_processor(dialect))
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
        )

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Cursor:
        """Execute a query; read its rows from the Cursor."""
        plan = self._plan(conn.dialect)
        given = params or {}
        values = []
        for name, bind in zip(plan.names, plan.binders, strict=True):
            value = given[name] if name in given else plan.defaults.get(name)
            values.append(bind(value) if bind is not None and value is not None else value)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        driver_error = conn.dialect.loaded_dbapi.Error
        try:
            cursor.execute(
                plan.sql, values if plan.positional else dict(zip(plan.names, values, strict=True))
            )
        except driver_error as error:
            cursor.close()
            # As SQLAlchemy would raise it (IntegrityError, OperationalError, ...): the callers' retries
            # on a lost unique-constraint race or a lock depend on that class.
            raise DBAPIError.instance(plan.sql, values, error, driver_error) from error
        return Cursor(cursor, plan)

    def write(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Execute an INSERT, UPDATE or DELETE; the number of rows it changed."""
        return self.run(conn, params).rowcount


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

    def _convert(self, raw: tuple) -> Any:
        assert self._plan.row is not None
        return self._plan.row(
            *(v if r is None else r(v) for r, v in zip(self._plan.readers, raw, strict=True))
        )

    def all(self) -> list[Any]:
        try:
            return [self._convert(raw) for raw in self._cursor.fetchall()]
        finally:
            self._cursor.close()

    def first(self) -> Any | None:
        try:
            raw = self._cursor.fetchone()
            return None if raw is None else self._convert(raw)
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

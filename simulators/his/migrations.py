"""The database schema's versions: an ordered list of steps, applied at start to an older database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, inspect, select

from simulators.his.models import Base, QrOrder, SchemaVersion
from simulators.his.refunds import Refund


@dataclass(frozen=True)
class Migration:
    """Step `version`: `apply` takes the schema from version - 1 to `version` inside one transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


class SchemaVersionError(Exception):
    """The database's schema is one this server does not know (written by a newer server)."""


def _baseline(conn: Connection) -> None:
    # Creates what is missing, so a database made before versioning existed is taken as it is.
    Base.metadata.create_all(conn)


# Append new steps at the end (never edit a released one): e.g. Migration(2, "payments.channel",
# lambda c: c.exec_driver_sql("ALTER TABLE payments ADD COLUMN channel VARCHAR")).
def _qr_orders(conn: Connection) -> None:
    QrOrder.__table__.create(conn, checkfirst=True)


def _refunds(conn: Connection) -> None:
    Refund.__table__.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: the tables of models.py", _baseline),
    Migration(2, "qr_orders: QR payments (POST /qr-orders)", _qr_orders),
    Migration(3, "refunds: registration fees refunded after 退号 (POST /payments/{id}/refund)", _refunds),
)


def current_version(conn: Connection) -> int | None:
    """The database's schema version; None when it has no version table (empty, or made before)."""
    if not inspect(conn).has_table(SchemaVersion.__tablename__):
        return None
    return conn.execute(select(func.max(SchemaVersion.version))).scalar_one_or_none()


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema to the newest version; returns it. A newer, unknown version is refused."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must be 1, 2, 3, ... in order, not {versions}")
    target = versions[-1]
    with engine.begin() as conn:
        found = current_version(conn)
    if found is not None and found > target:
        raise SchemaVersionError(
            f"the database's schema is version {found}, newer than this server knows ({target}); "
            "run a newer server or use another database"
        )
    for step in migrations:
        if found is not None and step.version <= found:
            continue
        # One transaction per step (PostgreSQL and SQLite both run DDL in transactions).
        with engine.begin() as conn:
            SchemaVersion.__table__.create(conn, checkfirst=True)
            step.apply(conn)
            conn.execute(
                SchemaVersion.__table__.insert().values(
                    version=step.version,
                    description=step.description,
                    applied_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                )
            )
    return target

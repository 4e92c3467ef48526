"""A kiosk's heartbeat recorded: one UPDATE of its row, or an INSERT the first time it is heard from.

Every kiosk sends one a minute, all day, so it is a flow (fastsql.py) of one step: the UPDATE, and an
INSERT that writes only where there was no row to update. Two first heartbeats of one kiosk at once:
the second INSERT breaks the primary key and the write is run again (the server retries a write that
lost a unique-constraint race), then finding the row to update.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, exists, insert, update

from simulators.his import models as m
from simulators.his.context import Ctx
from simulators.his.fastsql import Flow, Prepared, row_values, step

Answer = tuple[int, dict[str, Any]]
_beats = m.Heartbeat.__table__
_UPDATE = Prepared(
    update(_beats)
    .where(_beats.c.kiosk_id == bindparam("kiosk_id"))
    .values(received_at=bindparam("received_at"), body=bindparam("body"))
)
_COLUMNS = ("kiosk_id", "received_at", "body")
_INSERT_NEW = Prepared(
    insert(_beats).from_select(
        _COLUMNS,
        row_values(_beats, _COLUMNS).where(~exists().where(_beats.c.kiosk_id == bindparam("kiosk_id"))),
    )
)


def record(ctx: Ctx, kiosk_id: str, body: dict[str, Any]) -> Flow[Answer]:
    """Keep the kiosk's last heartbeat, with the kiosk its token names (for the fleet view)."""
    row = {
        "kiosk_id": kiosk_id,
        "received_at": ctx.now,
        "body": json.dumps({"token_kiosk_id": ctx.kiosk_id, **body}, ensure_ascii=False),
    }
    yield step(_UPDATE(**row), _INSERT_NEW(**row), last=True)
    return 200, {"status": "ok", "kiosk_id": kiosk_id, "server_time": ctx.iso(ctx.now)}

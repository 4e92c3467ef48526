"""A kiosk's heartbeat recorded: one UPDATE of its row, an INSERT the first time it is heard from.

Every kiosk sends one a minute, all day, so it runs on prepared statements (fastsql.py). Two first
heartbeats of one kiosk at once: the second INSERT breaks the primary key and the write is run again
(the server retries a write that lost a unique-constraint race), then finding the row to update.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.context import Ctx
from simulators.his.fastsql import Prepared

Answer = tuple[int, dict[str, Any]]
_beats = m.Heartbeat.__table__
_UPDATE = Prepared(
    update(_beats)
    .where(_beats.c.kiosk_id == bindparam("kiosk_id"))
    .values(received_at=bindparam("received_at"), body=bindparam("body"))
)
_INSERT = Prepared(insert(_beats).values({c: bindparam(c) for c in ("kiosk_id", "received_at", "body")}))


def record(s: Session, ctx: Ctx, kiosk_id: str, body: dict[str, Any]) -> Answer:
    """Keep the kiosk's last heartbeat, with the kiosk its token names (for the fleet view)."""
    row = {
        "kiosk_id": kiosk_id,
        "received_at": ctx.now,
        "body": json.dumps({"token_kiosk_id": ctx.kiosk_id, **body}, ensure_ascii=False),
    }
    conn = s.connection()
    if _UPDATE.write(conn, row) == 0:
        _INSERT.write(conn, row)
    return 200, {"status": "ok", "kiosk_id": kiosk_id, "server_time": ctx.iso(ctx.now)}

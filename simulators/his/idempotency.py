"""Idempotency-Key handling: responses stored with a body hash, in the same transaction as the effect."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from simulators.his import models as m
from simulators.his.errors import ApiError
from simulators.his.fastsql import Flow, Prepared, inner, step

MAX_KEY_LENGTH = 200
# Printable ASCII; no space at either end (HTTP would strip it, and the key would change on the way).
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
_keys = m.IdempotencyKey.__table__
# Every keyed write reads and writes here: statements on the driver cursor (fastsql.py).
_LOOKUP = Prepared(
    select(_keys.c.request_hash, _keys.c.status_code, _keys.c.response).where(
        _keys.c.kiosk_id == bindparam("kiosk_id"), _keys.c.key == bindparam("key")
    )
)
_STORE = Prepared(
    insert(_keys).values(
        {
            c: bindparam(c)
            for c in ("kiosk_id", "key", "request_hash", "status_code", "response", "created_at")
        }
    )
)


_EFFECT = Prepared(text("SAVEPOINT keyed_effect"))
_UNDO_EFFECT = Prepared(text("ROLLBACK TO SAVEPOINT keyed_effect"))
Answer = tuple[int, dict]


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status: int
    body: dict

    def answer(self, key: str, digest: str) -> Answer:
        """The stored answer to a repeat of the request; a different request under the key is refused."""
        if self.request_hash != digest:
            raise ApiError("IDEMPOTENCY_KEY_REUSED", {"key": key})
        return self.status, self.body


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or _KEY.fullmatch(key) is None:
        raise ApiError(
            "VALIDATION", {"header": "Idempotency-Key", "reason": "1-200 printable ASCII characters"}
        )


def request_hash(method: str, path: str, raw_body: bytes) -> str:
    """Hash of what the request asks: the method, the path and the body (canonical JSON when it parses)."""
    try:
        canonical = json.dumps(
            json.loads(raw_body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except (ValueError, UnicodeDecodeError):
        canonical = raw_body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def lookup(s: Session, kiosk_id: str, key: str) -> Stored | None:
    row = _LOOKUP.run(s.connection(), {"kiosk_id": kiosk_id, "key": key}).first()
    if row is None:
        return None
    return Stored(row.request_hash, row.status_code, json.loads(row.response))


def store(
    s: Session, kiosk_id: str, key: str, digest: str, status: int, body: dict, now: dt.datetime
) -> None:
    s.flush()  # the effect's own ORM changes first, so a constraint they break surfaces here
    row = {
        "kiosk_id": kiosk_id,
        "key": key,
        "request_hash": digest,
        "status_code": status,
        "response": json.dumps(body, ensure_ascii=False),
        "created_at": now,
    }
    _STORE.write(s.connection(), row)


def keyed(
    work: Flow[Answer], kiosk_id: str, key: str, digest: str, now: dt.datetime
) -> Flow[tuple[Answer, bool]]:
    """A flow under an Idempotency-Key: (the answer, replayed). A replay is found inside the write
    transaction; otherwise `work` runs after a savepoint, and its answer — or a refusal that is stored
    (its changes undone) — is stored with it."""
    found, _ = yield step(_LOOKUP(kiosk_id=kiosk_id, key=key), _EFFECT())
    row = found.first()
    if row is not None:
        stored = Stored(row.request_hash, row.status_code, json.loads(row.response))
        return stored.answer(key, digest), True
    try:
        status, body = yield from inner(work)
    except ApiError as error:
        if not error.stored or error.code.startswith("IDEMPOTENCY"):
            raise
        yield step(_UNDO_EFFECT())
        status, body = error.status, error.body()
    response = json.dumps(body, ensure_ascii=False)
    yield step(
        _STORE(
            kiosk_id=kiosk_id,
            key=key,
            request_hash=digest,
            status_code=status,
            response=response,
            created_at=now,
        ),
        last=True,
    )
    return (status, body), False


def purge(s: Session, before: dt.datetime) -> None:
    s.execute(delete(m.IdempotencyKey).where(m.IdempotencyKey.created_at < before))


class InFlight:
    """Keys whose first request is still running in this process: a second arrival gets 409 at once."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @contextmanager
    def claim(self, kiosk_id: str, key: str) -> Iterator[None]:
        item = (kiosk_id, key)
        with self._lock:
            if item in self._keys:
                raise ApiError("IDEMPOTENCY_IN_PROGRESS", {"retry_after_ms": 200})
            self._keys.add(item)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(item)

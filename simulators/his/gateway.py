"""The ASGI layer in front of the routes: bearer-token auth, body size limit, injected faults, and the
contract's 503 when the database behind the HIS cannot be reached."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from simulators.his.errors import ApiError

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
API = "/api/v1"
# No token needed: liveness, the published schema, and the fleet page (its data needs the token).
PUBLIC_PATHS = frozenset(
    {f"{API}/health", f"{API}/openapi.json", f"{API}/docs", f"{API}/docs/oauth2-redirect", f"{API}/fleet"}
)
TEST_PREFIX = f"{API}/_test/"
# The database is down, unreachable, dropped the connection (a write's COMMIT among them: its outcome is
# unknown, and the kiosk settles it by asking again under its Idempotency-Key), or every connection is
# busy for longer than the pool waits. None of them is the request's fault.
OUTAGES = (OperationalError, PoolTimeout, psycopg.OperationalError)


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    down: bool = False


class FaultSwitch:
    """The current faults; set from the test endpoint, read by every request."""

    def __init__(self) -> None:
        self._faults = Faults()
        self._lock = threading.Lock()
        self._rng = random.Random()

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def get(self) -> Faults:
        with self._lock:
            return self._faults

    def roll(self) -> float:
        with self._lock:
            return self._rng.random()


class Gateway:
    """Pure ASGI middleware; buffers the body (≤ 1 MiB) so the idempotency layer can hash it."""

    def __init__(self, app: Any, tokens: Mapping[str, str], faults: FaultSwitch) -> None:
        self.app = app
        self.tokens = dict(tokens)
        self.faults = faults

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        state = scope.setdefault("state", {})
        # The token first: a caller without one learns nothing else (not even that its body is malformed).
        if path not in PUBLIC_PATHS and not path.startswith(TEST_PREFIX):
            auth = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, token = auth.partition(" ")
            kiosk_id = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if kiosk_id is None:
                await _send_error(send, ApiError("UNAUTHORIZED"), {"www-authenticate": "Bearer"})
                return
            state["kiosk_id"] = kiosk_id
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _send_error(send, ApiError("BODY_TOO_LARGE" if length.isdigit() else "VALIDATION"))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await _send_error(send, ApiError("BODY_TOO_LARGE", {"limit_bytes": MAX_BODY}))
                return
        if not path.startswith(TEST_PREFIX):
            faults = self.faults.get()
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.down or (faults.error_rate and self.faults.roll() < faults.error_rate):
                await _send_error(send, ApiError("UNAVAILABLE"))
                return
        state["raw_body"] = bytes(body)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, replay, tracked)
        except OUTAGES as error:
            log.warning("database unavailable for %s %s: %s", scope["method"], path, type(error).__name__)
            if started:
                raise
            await _send_error(send, ApiError("UNAVAILABLE"))


async def _send_error(send: Any, error: ApiError, extra_headers: dict[str, str] | None = None) -> None:
    payload = error.body_bytes()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    for k, v in (extra_headers or {}).items():
        headers.append((k.encode(), v.encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

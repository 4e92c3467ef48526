"""The HIS application: create_app (for TestClient) and start_in_thread (a real uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Annotated, Any, Self, TypeVar

import uvicorn
from fastapi import APIRouter, Body, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from simulators.his import (
    billing,
    booking,
    fleet,
    holds,
    idempotency,
    patients,
    qrorders,
    refunds,
    schemas,
    testmode,
)
from simulators.his import fleet_page as fleet_page_html
from simulators.his import models as m
from simulators.his import openapi as doc
from simulators.his.clock import Clock
from simulators.his.collection import collect_appointment
from simulators.his.context import Ctx, Lane
from simulators.his.db import Database
from simulators.his.errors import ApiError
from simulators.his.fastpath import FastRoutes
from simulators.his.fastsql import Flow, run_flow
from simulators.his.gateway import API, Faults, FaultSwitch, Gateway
from simulators.his.groupcommit import GroupCommit
from simulators.his.heartbeats import record as record_heartbeat
from simulators.his.pgasync import Pipelined
from simulators.his.rules import Rules
from simulators.his.seed import seed as seed_database

Work = Callable[[Session, Ctx], tuple[int, dict[str, Any]]]
FlowWork = Callable[[Ctx], Flow[tuple[int, dict[str, Any]]]]
_ID_PATTERN = r"^[^\x00-\x1f]*$"
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID_PATTERN)]
QueryId = Annotated[str, Query(min_length=1, max_length=64, pattern=_ID_PATTERN)]
QueryDate = Annotated[schemas.IsoDate | None, Query()]
_RETRIES = 5
T = TypeVar("T")
# What kiosks call all morning: served by fastpath.py (the routes are still FastAPI's, and so is the schema).
HOT_PATHS = frozenset(
    f"{API}{p}"
    for p in (
        "/holds", "/appointments", "/appointments/{appointment_id}/collect", "/patients/resolve",
        "/kiosks/{kiosk_id}/heartbeat", "/schedules", "/schedules/{schedule_id}/slots", "/payments",
    )
)  # fmt: skip


def parse_tokens(tokens: str | Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """token -> kiosk id. "tok" or "tok:K02"; a bare token gets K01, K02, ... in order."""
    if isinstance(tokens, Mapping):
        return dict(tokens)
    if isinstance(tokens, str):
        tokens = [tokens]
    out: dict[str, str] = {}
    for n, item in enumerate(tokens, start=1):
        token, _, kiosk = item.partition(":")
        out[token] = kiosk or f"K{n:02d}"
    return out


@dataclass(frozen=True)
class Reply:
    """A write's answer, rendered to JSON by the request's thread (not by the writer, under its lock)."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    def response(self) -> JSONResponse:
        headers = {"Idempotent-Replayed": "true"} if self.replayed else None
        return JSONResponse(self.body, status_code=self.status, headers=headers)


class Hub:
    """Everything the routes share: database, clock, rules, faults, the in-flight idempotency keys.

    `group_commit`: writes go through one writer thread that commits many requests at once (see
    groupcommit.py); None turns it on for SQLite, whose single writer it relieves, and off elsewhere.
    """

    def __init__(
        self, db: Database, clock: Clock, rules: Rules, test_mode: bool, group_commit: bool | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules
        self.test_mode = test_mode
        self.faults = FaultSwitch()
        self.inflight = idempotency.InFlight()
        if group_commit is None:
            group_commit = db.is_sqlite
        self.committer = GroupCommit(db) if group_commit else None
        # Threads for the writes that run their own transactions: as many as the connection pool holds.
        # A plain executor, not anyio's thread pool, whose cancel scopes and limiter cost the event loop
        # about a tenth of a request on PostgreSQL.
        self.writers = ThreadPoolExecutor(db.pool_size, thread_name_prefix="his-write")
        # Without group commit, the writes written as flows run on PostgreSQL from the event loop
        # (pgasync.py).
        self.pipelined = None if group_commit or db.is_sqlite else Pipelined(db.url, db.writer.dialect)

    def ctx(self, kiosk_id: str) -> Ctx:
        return Ctx(now=self.clock.local(), rules=self.rules, clock=self.clock, kiosk_id=kiosk_id)

    def close(self) -> None:
        self.writers.shutdown(wait=False)
        if self.pipelined is not None:
            self.pipelined.close()
        if self.committer is not None:
            self.committer.close()
        self.db.dispose()

    def reading(self, work: Callable[[Session], T]) -> T:
        """`work` in a read transaction; run once more when its pooled connection turned out dead (the
        database restarted or ended it): SQLAlchemy has discarded the pool's older connections by then,
        and a read changed nothing, so a restart costs the kiosks no failed request."""
        for attempt in (1, 2):
            try:
                with self.db.read() as s:
                    return work(s)
            except DBAPIError as error:
                if not error.connection_invalidated or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def read(self, request: Request, work: Work) -> JSONResponse:
        ctx = self.ctx(_kiosk(request))
        status, body = self.reading(lambda s: work(s, ctx))
        return JSONResponse(body, status_code=status)

    def _write(self, kiosk_id: str, work: Callable[[Session, Ctx], Reply]) -> JSONResponse:
        """Run one write transaction; retried when a concurrent writer won a unique constraint or lock."""
        if self.committer is not None:
            return self.committer.run(lambda s: work(s, self.ctx(kiosk_id))).response()
        for attempt in range(_RETRIES):
            committing = False
            try:
                with self.db.write() as s:
                    reply = work(s, self.ctx(kiosk_id))
                    s.flush()  # a lost unique-key race shows here, while running again is still safe
                    committing = True
                return reply.response()  # committed
            except (IntegrityError, OperationalError):
                # Once COMMIT has gone out, its outcome is unknown (the answer may be what was lost):
                # running the write again could apply it twice. The gateway answers 503, and the kiosk
                # asks again under its Idempotency-Key, which finds the stored answer if it committed.
                if committing or attempt == _RETRIES - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def mutate(self, request: Request, work: Work, lane: Lane = Lane.BOOKING) -> JSONResponse:
        """A change, honouring Idempotency-Key: the response is stored in the effect's transaction.

        With group commit the request waits on the event loop for its batch's commit (no thread of its
        own), in its lane's queue; without, it runs its own transaction in the thread pool.
        """
        if self.committer is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.writers, self._mutate_blocking, request, work)
        kiosk_id, key, unit = self._unit(request, work)
        with self.inflight.claim(kiosk_id, key) if key is not None else nullcontext():
            # A replay is found by the unit itself, inside the write transaction.
            future = self.committer.submit(lambda s: unit(s, self.ctx(kiosk_id)), lane)
            reply = await asyncio.wrap_future(future)
        return reply.response()

    async def mutate_flow(self, request: Request, flow: FlowWork, lane: Lane = Lane.BOOKING) -> JSONResponse:
        """A change written as a flow (fastsql.py), honouring Idempotency-Key as `mutate` does: on
        PostgreSQL driven from the event loop in pipelined round trips on the lane's connections,
        elsewhere as any other write."""
        if self.pipelined is None:
            return await self.mutate(request, lambda s, ctx: run_flow(s.connection(), flow(ctx)), lane)
        kiosk_id = _kiosk(request)
        key = request.headers.get("idempotency-key")
        if key is None:
            status, body = await self.pipelined.run(lambda: flow(self.ctx(kiosk_id)), lane)
            return Reply(status, body).response()
        idempotency.check_key(key)
        digest = idempotency.request_hash(request.method, request.url.path, request.state.raw_body)

        def keyed() -> Flow[tuple[tuple[int, dict[str, Any]], bool]]:
            ctx = self.ctx(kiosk_id)
            return idempotency.keyed(flow(ctx), kiosk_id, key, digest, ctx.now)

        with self.inflight.claim(kiosk_id, key):
            (status, body), replayed = await self.pipelined.run(keyed, lane)
        return Reply(status, body, replayed).response()

    def _mutate_blocking(self, request: Request, work: Work) -> JSONResponse:
        kiosk_id, key, unit = self._unit(request, work)
        if key is None:
            return self._write(kiosk_id, unit)
        with self.inflight.claim(kiosk_id, key):
            # a replay needs no write transaction
            reply = self.reading(lambda s: self._replay(s, kiosk_id, key, request))
            if reply is not None:
                return reply.response()
            return self._write(kiosk_id, unit)

    @staticmethod
    def _replay(s: Session, kiosk_id: str, key: str, request: Request) -> Reply | None:
        """The stored answer to this key, or None; a different request under the key is refused."""
        stored = idempotency.lookup(s, kiosk_id, key)
        if stored is None:
            return None
        digest = idempotency.request_hash(request.method, request.url.path, request.state.raw_body)
        return Reply(*stored.answer(key, digest), replayed=True)

    def _unit(self, request: Request, work: Work) -> tuple[str, str | None, Callable[[Session, Ctx], Reply]]:
        """(kiosk id, idempotency key, the write to run in a transaction)."""
        kiosk_id = _kiosk(request)
        key = request.headers.get("idempotency-key")

        def plain(s: Session, ctx: Ctx) -> Reply:
            status, body = work(s, ctx)
            return Reply(status, body)

        if key is None:
            return kiosk_id, None, plain
        idempotency.check_key(key)
        digest = idempotency.request_hash(request.method, request.url.path, request.state.raw_body)

        def keyed(s: Session, ctx: Ctx) -> Reply:
            assert key is not None
            stored = self._replay(s, kiosk_id, key, request)
            if stored is not None:
                return stored
            try:
                with s.begin_nested():
                    status, body = work(s, ctx)
            except ApiError as error:
                if not error.stored or error.code.startswith("IDEMPOTENCY"):
                    raise
                # The refusal is the answer to this key too; the effect's savepoint was rolled back.
                status, body = error.status, error.body()
            idempotency.store(s, kiosk_id, key, digest, status, body, ctx.now)
            return Reply(status, body)

        return kiosk_id, key, keyed


def _kiosk(request: Request) -> str:
    return getattr(request.state, "kiosk_id", "")


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for e in exc.errors()[:20]:
        errors.append(
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
        )
    return {"errors": errors}


# --- routes -------------------------------------------------------------------------------------
bearer = HTTPBearer(auto_error=False, description="The kiosk's token; it identifies the kiosk.")
api = APIRouter(prefix=API)


@api.get("/health", tags=["meta"], responses=doc.with_outage(doc.answers(200, doc.Health, public=True)))
def health(request: Request) -> dict[str, Any]:
    hub = _hub(request)
    return {"status": "ok", "time": hub.clock.now().isoformat(timespec="seconds")}


@api.post(
    "/patients/resolve",
    tags=["patients"],
    responses=doc.with_outage(doc.answers(200, doc.PatientAnswer, not_found=True)),
)
def resolve_patient(body: schemas.ResolveRequest, request: Request) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: patients.resolve(s, ctx, body))


@api.post(
    "/patients",
    status_code=201,
    tags=["patients"],
    responses=doc.with_outage(
        doc.answers(
            201, doc.PatientAnswer, conflicts=["CARD_EXPIRED"], changes=True, also={200: doc.PatientAnswer}
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def create_patient(body: schemas.NewPatientRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: patients.create(s, ctx, body))


@api.get("/departments", tags=["catalogue"], responses=doc.with_outage(doc.answers(200, doc.Departments)))
def departments(request: Request) -> JSONResponse:
    return _hub(request).read(request, booking.list_departments)


@api.get("/doctors", tags=["catalogue"], responses=doc.with_outage(doc.answers(200, doc.Doctors)))
def doctors(request: Request, department_id: Annotated[QueryId | None, Query()] = None) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: booking.list_doctors(s, ctx, department_id))


@api.get("/schedules", tags=["catalogue"], responses=doc.with_outage(doc.answers(200, doc.Schedules)))
def schedules(
    request: Request, department_id: Annotated[QueryId | None, Query()] = None, date: QueryDate = None
) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: booking.list_schedules(s, ctx, department_id, date))


@api.get(
    "/schedules/{schedule_id}/slots",
    tags=["catalogue"],
    responses=doc.with_outage(doc.answers(200, doc.Slots, not_found=True)),
)
def slots(schedule_id: PathId, request: Request) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: booking.list_slots(s, ctx, schedule_id))


@api.post(
    "/holds",
    status_code=201,
    tags=["booking"],
    responses=doc.with_outage(
        doc.answers(201, doc.Hold, not_found=True, conflicts=doc.BOOKING_RULES, changes=True)
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def create_hold(body: schemas.HoldRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate_flow(
        request, lambda ctx: holds.create_hold(ctx, body.slot_id, body.patient_id)
    )


@api.delete(
    "/holds/{hold_id}",
    tags=["booking"],
    responses=doc.with_outage(doc.answers(200, doc.HoldReleased, not_found=True, changes=True)),
    openapi_extra=doc.IDEMPOTENT,
)
async def release_hold(hold_id: PathId, request: Request) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: booking.release_hold(s, ctx, hold_id))


@api.post(
    "/appointments",
    status_code=201,
    tags=["booking"],
    responses=doc.with_outage(
        doc.answers(
            201,
            doc.AppointmentAnswer,
            not_found=True,
            conflicts=("HOLD_EXPIRED", *doc.BOOKING_RULES),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def book(body: schemas.BookRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate_flow(request, lambda ctx: holds.book(ctx, body.hold_id, body.pay_now))


@api.get(
    "/appointments",
    tags=["booking"],
    responses=doc.with_outage(doc.answers(200, doc.Appointments, not_found=True)),
)
def appointments(request: Request, patient_id: QueryId, date: QueryDate = None) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: booking.list_appointments(s, ctx, patient_id, date))


@api.post(
    "/appointments/{appointment_id}/cancel",
    tags=["booking"],
    responses=doc.with_outage(
        doc.answers(
            200,
            doc.Cancelled,
            not_found=True,
            conflicts=("NOT_CANCELLABLE", "CANCEL_DEADLINE_PASSED"),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def cancel(
    appointment_id: PathId, request: Request, body: Annotated[dict[str, Any] | None, Body()] = None
) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: booking.cancel(s, ctx, appointment_id))


@api.post(
    "/appointments/{appointment_id}/collect",
    tags=["booking"],
    responses=doc.with_outage(
        doc.answers(
            200,
            doc.Collected,
            not_found=True,
            conflicts=("IDENTITY_MISMATCH", "NOT_CANCELLABLE", "OUTSIDE_COLLECTION_WINDOW"),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def collect(appointment_id: PathId, body: schemas.CollectRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate_flow(
        request, lambda ctx: collect_appointment(ctx, appointment_id, body.patient_id), Lane.ARRIVAL
    )


@api.post(
    "/queue/checkin",
    tags=["queue"],
    responses=doc.with_outage(
        doc.answers(200, doc.TicketAnswer, not_found=True, conflicts=("NOT_COLLECTED",), changes=True)
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def checkin(body: schemas.CheckinRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: booking.checkin(s, ctx, body.appointment_id))


@api.get(
    "/queue/{department_id}",
    tags=["queue"],
    responses=doc.with_outage(doc.answers(200, doc.Queue, not_found=True)),
)
def queue(department_id: PathId, request: Request) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: booking.queue(s, ctx, department_id))


@api.get("/bills", tags=["payment"], responses=doc.with_outage(doc.answers(200, doc.Bills, not_found=True)))
def bills(request: Request, patient_id: QueryId) -> JSONResponse:
    return _hub(request).read(request, lambda s, ctx: billing.list_bills(s, ctx, patient_id))


@api.post(
    "/insurance/presettle",
    status_code=201,
    tags=["payment"],
    responses=doc.with_outage(
        doc.answers(
            201,
            doc.Presettlement,
            not_found=True,
            conflicts=("IDENTITY_MISMATCH", "CARD_EXPIRED", "ALREADY_PAID"),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def presettle(body: schemas.PresettleRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: billing.presettle(s, ctx, body))


@api.post(
    "/insurance/presettle/{presettlement_id}/cancel",
    tags=["payment"],
    responses=doc.with_outage(
        doc.answers(
            200, doc.Presettlement, not_found=True, conflicts=("PRESETTLEMENT_INVALID",), changes=True
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def cancel_presettle(
    presettlement_id: PathId, request: Request, body: Annotated[dict[str, Any] | None, Body()] = None
) -> JSONResponse:
    return await _hub(request).mutate(
        request, lambda s, ctx: billing.cancel_presettlement(s, ctx, presettlement_id)
    )


@api.post(
    "/payments",
    status_code=201,
    tags=["payment"],
    responses=doc.with_outage(
        doc.answers(
            201,
            doc.PaymentAnswer,
            not_found=True,
            conflicts=(
                "ALREADY_PAID",
                "AMOUNT_MISMATCH",
                "PRESETTLEMENT_INVALID",
                "IDENTITY_MISMATCH",
                "NOT_CANCELLABLE",
            ),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def pay(body: schemas.PaymentRequest, request: Request) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: billing.pay(s, ctx, body))


@api.post(
    "/payments/{payment_id}/reverse",
    tags=["payment"],
    responses=doc.with_outage(doc.answers(200, doc.PaymentAnswer, not_found=True, changes=True)),
    openapi_extra=doc.IDEMPOTENT,
)
async def reverse(
    payment_id: PathId, request: Request, body: Annotated[dict[str, Any] | None, Body()] = None
) -> JSONResponse:
    return await _hub(request).mutate(request, lambda s, ctx: billing.reverse(s, ctx, payment_id))


@api.post(
    "/payments/{payment_id}/refund",
    status_code=201,
    tags=["payment"],
    responses=doc.with_outage(
        doc.answers(
            201,
            doc.RefundAnswer,
            not_found=True,
            conflicts=("ALREADY_REFUNDED", "NOT_REFUNDABLE", "AMOUNT_MISMATCH"),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def refund(payment_id: PathId, body: refunds.RefundRequest, request: Request) -> JSONResponse:
    """Extension: refund a cancelled appointment's fee, once (see simulators/his/refunds.py)."""
    return await _hub(request).mutate(request, lambda s, ctx: refunds.refund(s, ctx, payment_id, body))


@api.get("/refunds", tags=["payment"], responses=doc.with_outage(doc.answers(200, doc.Refunds)))
def list_refunds(
    request: Request, date: QueryDate = None, kiosk_id: Annotated[QueryId | None, Query()] = None
) -> JSONResponse:
    """Extension: this kiosk's refunds that day (`kiosk_id=all`: every kiosk's), for reconciliation."""
    return _hub(request).read(
        request, lambda s, ctx: refunds.list_refunds(s, ctx, date or ctx.today, kiosk_id)
    )


@api.get(
    "/appointments/{appointment_id}/payments",
    tags=["payment"],
    responses=doc.with_outage(doc.answers(200, doc.Payments, not_found=True)),
)
def appointment_payments(appointment_id: PathId, request: Request) -> JSONResponse:
    """Extension: what was paid for an appointment (refunded or reversed ones with their status)."""
    return _hub(request).read(request, lambda s, ctx: refunds.appointment_payments(s, ctx, appointment_id))


_QR_CONFLICTS = (
    "ALREADY_PAID",
    "AMOUNT_MISMATCH",
    "PRESETTLEMENT_INVALID",
    "IDENTITY_MISMATCH",
    "NOT_CANCELLABLE",
)


@api.post(
    "/qr-orders",
    status_code=201,
    tags=["payment"],
    responses=doc.with_outage(
        doc.answers(
            201,
            doc.QrOrderAnswer,
            not_found=True,
            conflicts=(*_QR_CONFLICTS, "PAYMENT_DECLINED"),
            changes=True,
        )
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def create_qr_order(body: schemas.QrOrderRequest, request: Request) -> JSONResponse:
    """Pay by QR: show mode answers a `qr_content` for the patient's phone; scan mode carries the
    patient's payment code and may answer `pending` while the patient confirms."""
    return await _hub(request).mutate(request, lambda s, ctx: qrorders.create(s, ctx, body))


@api.get(
    "/qr-orders/{order_id}",
    tags=["payment"],
    responses=doc.with_outage(doc.answers(200, doc.QrOrderAnswer, not_found=True)),
)
async def get_qr_order(order_id: PathId, request: Request) -> JSONResponse:
    # A write: reading the order settles a confirmation that came in meanwhile, or its expiry.
    return await _hub(request).mutate(request, lambda s, ctx: qrorders.get(s, ctx, order_id))


@api.post(
    "/qr-orders/{order_id}/cancel",
    tags=["payment"],
    responses=doc.with_outage(
        doc.answers(200, doc.QrOrderAnswer, not_found=True, conflicts=("ALREADY_PAID",), changes=True)
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def cancel_qr_order(
    order_id: PathId, request: Request, body: Annotated[dict[str, Any] | None, Body()] = None
) -> JSONResponse:
    """Cancel a pending order; 409 ALREADY_PAID when the patient paid meanwhile (then it counts as paid)."""
    return await _hub(request).mutate(request, lambda s, ctx: qrorders.cancel(s, ctx, order_id))


@api.get("/payments", tags=["payment"], responses=doc.with_outage(doc.answers(200, doc.Payments)))
def payments(
    request: Request,
    date: QueryDate = None,
    kiosk_id: Annotated[QueryId | None, Query()] = None,
    patient_id: Annotated[QueryId | None, Query()] = None,
) -> JSONResponse:
    return _hub(request).read(
        request, lambda s, ctx: billing.list_payments(s, ctx, date or ctx.today, kiosk_id, patient_id)
    )


@api.post(
    "/kiosks/{kiosk_id}/heartbeat",
    tags=["meta"],
    responses=doc.with_outage(doc.answers(200, doc.HeartbeatAnswer, changes=True)),
    openapi_extra=doc.IDEMPOTENT,
)
async def heartbeat(
    kiosk_id: PathId, request: Request, body: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    return await _hub(request).mutate_flow(request, lambda ctx: record_heartbeat(ctx, kiosk_id, body))


@api.get("/kiosks", tags=["meta"], responses=doc.with_outage(doc.answers(200, doc.KiosksAnswer)))
def kiosks(request: Request) -> JSONResponse:
    """Every kiosk's last heartbeat, judged (down / fault / warning / ok) and most urgent first."""
    hub = _hub(request)
    rows = hub.reading(
        lambda s: [
            (r.kiosk_id, hub.clock.aware(r.received_at), r.body) for r in s.scalars(select(m.Heartbeat))
        ]
    )
    now = hub.clock.now().replace(microsecond=0)
    views = fleet.fleet(rows, now)
    return JSONResponse(
        {
            "kiosks": [view.as_dict() for view in views],
            "server_time": now.isoformat(timespec="seconds"),
            "stale_after_s": fleet.STALE_AFTER_S,
            "satisfaction_totals": fleet.satisfaction_totals(views),
        }
    )


@api.get("/fleet", include_in_schema=False)
def fleet_page() -> HTMLResponse:
    """The page for hospital IT; public (no data in it), the list it loads needs the token."""
    return HTMLResponse(fleet_page_html.PAGE)


# --- test mode ----------------------------------------------------------------------------------
test_api = APIRouter(prefix=f"{API}/_test", tags=["test mode"])


@test_api.get("/fixtures", responses=doc.answers(200, doc.Fixtures, public=True))
def get_fixtures(request: Request) -> JSONResponse:
    hub = _hub(request)
    with hub.db.read() as s:
        return JSONResponse(testmode.fixtures(s, hub.ctx("")))


@test_api.put("/clock", responses=doc.answers(200, doc.ClockAnswer, public=True))
def set_clock(body: schemas.ClockRequest, request: Request) -> dict[str, Any]:
    hub = _hub(request)
    hub.clock.set(body.now)
    return {"now": hub.clock.now().isoformat(timespec="seconds")}


@test_api.get("/clock", responses=doc.answers(200, doc.ClockAnswer, public=True))
def get_clock(request: Request) -> dict[str, Any]:
    return {"now": _hub(request).clock.now().isoformat(timespec="seconds")}


@test_api.post("/faults", responses=doc.answers(200, doc.FaultsAnswer, public=True))
def set_faults(body: schemas.FaultsRequest, request: Request) -> dict[str, Any]:
    faults = Faults(latency_ms=body.latency_ms, error_rate=body.error_rate, down=body.down)
    _hub(request).faults.set(faults)
    return {"latency_ms": faults.latency_ms, "error_rate": faults.error_rate, "down": faults.down}


@test_api.put(
    "/doctors/{doctor_id}/title",
    responses=doc.answers(200, doc.TitleAnswer, not_found=True, public=True, changes=True),
    openapi_extra=doc.IDEMPOTENT,
)
async def set_title(doctor_id: PathId, body: schemas.TitleRequest, request: Request) -> JSONResponse:
    """Promote or change a doctor's title (the fee at collection follows the title then)."""
    title = body.title

    def work(s: Session, ctx: Ctx) -> tuple[int, dict[str, Any]]:
        doc = s.get(m.Doctor, doctor_id)
        if doc is None:
            raise ApiError("NOT_FOUND", {"resource": "doctors", "id": doctor_id})
        doc.title = title.value
        return 200, {"id": doc.id, "title": doc.title}

    return await _hub(request).mutate(request, work)


@test_api.put(
    "/schedules/{schedule_id}/state",
    responses=doc.answers(200, doc.ScheduleStateAnswer, not_found=True, public=True, changes=True),
    openapi_extra=doc.IDEMPOTENT,
)
async def set_schedule_state(
    schedule_id: PathId, body: schemas.ScheduleStateRequest, request: Request
) -> JSONResponse:
    """Stop, suspend (停诊) or reopen a session after patients saw it listed (holds then: SCHEDULE_CLOSED)."""
    state = body.state
    return await _hub(request).mutate(
        request, lambda s, ctx: testmode.set_schedule_state(s, schedule_id, state)
    )


@test_api.post(
    "/bills/{bill_id}/items",
    responses=doc.answers(
        200, doc.Bill, not_found=True, public=True, changes=True, conflicts=("ALREADY_PAID",)
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def add_bill_item(bill_id: PathId, body: schemas.BillItemRequest, request: Request) -> JSONResponse:
    """The doctor changes an unpaid order after the patient saw it (the kiosk must re-list: AMOUNT_MISMATCH)."""
    return await _hub(request).mutate(request, lambda s, ctx: billing.add_item(s, ctx, bill_id, body))


@test_api.post(
    "/qr-orders/{order_id}/pay",
    responses=doc.answers(
        200,
        doc.QrOrderAnswer,
        not_found=True,
        public=True,
        changes=True,
        conflicts=("ALREADY_PAID", "ORDER_EXPIRED", "PAYMENT_DECLINED", *_QR_CONFLICTS),
    ),
    openapi_extra=doc.IDEMPOTENT,
)
async def qr_order_paid(order_id: PathId, request: Request) -> JSONResponse:
    """The patient pays a shown QR from the phone."""
    return await _hub(request).mutate(request, lambda s, ctx: qrorders.patient_pays(s, ctx, order_id))


# --- the application ----------------------------------------------------------------------------
def prepare_database(database: Database, seed: int | None, clock: Clock, rules: Rules) -> None:
    """Create the schema, seed an empty database when asked, drop idempotency keys past their keep."""
    database.create_schema()
    if seed is not None and database.is_empty():
        seed_database(database, seed, clock, rules)
    with database.write() as s:
        idempotency.purge(s, clock.local() - dt.timedelta(days=rules.idempotency_keep_days))


def create_app(
    db: str | Database,
    *,
    seed: int | None = 1,
    tokens: str | Iterable[str] | Mapping[str, str] = ("demo-kiosk-token",),
    test_mode: bool = False,
    rules: Rules | None = None,
    clock: Clock | None = None,
    prepared: bool = False,
    group_commit: bool | None = None,
) -> FastAPI:
    """The HIS app. An empty database is created and, with `seed`, filled; a filled one is kept.

    `prepared`: prepare_database ran already (the parent of several worker processes did it once).
    `group_commit`: batch concurrent writes into shared transactions (None: on for SQLite only).
    """
    rules = rules or Rules()
    clock = clock or Clock(rules.timezone)
    database = db if isinstance(db, Database) else Database(db)
    if not prepared:
        prepare_database(database, seed, clock, rules)
    hub = Hub(database, clock, rules, test_mode, group_commit)

    app = FastAPI(
        title="HIS API",
        version="1",
        description="The kiosk ↔ hospital server contract (HIS-API.md); the reference implementation.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.hub = hub
    app.include_router(api, dependencies=[])
    if test_mode:
        app.include_router(test_api)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(ApiError("VALIDATION", _validation_details(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}.get(
            exc.status_code, "VALIDATION"
        )
        error = ApiError(code)
        # A body that does not even decode (FastAPI says 400) is a malformed request: 422 by the contract.
        status = 422 if exc.status_code == 400 else exc.status_code
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(error.body(), status_code=status, headers=headers)

    doc.document(app)
    hot = [r for r in api.routes if isinstance(r, APIRoute) and r.path in HOT_PATHS]
    app.add_middleware(FastRoutes, routes=hot)  # inside the Gateway: the token checked, the body read
    app.add_middleware(Gateway, tokens=parse_tokens(tokens), faults=hub.faults)
    return app


# --- embedding: a real server on loopback in a thread --------------------------------------------
@dataclass
class ServerHandle:
    """A running HIS: `url` is the API base (…/api/v1), `stop()` shuts it down."""

    url: str
    port: int
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.hub.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    db: str | Database,
    seed: int | None = 1,
    tokens: str | Iterable[str] | Mapping[str, str] = ("demo-kiosk-token",),
    test_mode: bool = True,
    port: int = 0,
    *,
    rules: Rules | None = None,
    clock: Clock | None = None,
    startup_timeout_s: float = 20.0,
    group_commit: bool | None = None,
) -> ServerHandle:
    """Run the HIS with uvicorn in a daemon thread on 127.0.0.1 (port 0 picks a free port)."""
    app = create_app(
        db, seed=seed, tokens=tokens, test_mode=test_mode, rules=rules, clock=clock, group_commit=group_commit
    )
    # proto must say TCP: asyncio sets TCP_NODELAY only then, else Nagle + delayed ACK add ~40 ms a request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"his-{bound}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the HIS server did not start")
        time.sleep(0.02)
    return ServerHandle(
        url=f"http://127.0.0.1:{bound}{API}", port=bound, app=app, server=server, thread=thread
    )

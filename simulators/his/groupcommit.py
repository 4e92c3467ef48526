"""Group commit: one writer thread runs queued write requests in one transaction, commits once, answers all.

Every request runs in its own SAVEPOINT (a Session joined to the batch's connection with
join_transaction_mode="create_savepoint"), so a request that raises undoes only its own changes. The
batch commits once — one fsync and one hold of the SQLite writer lock for many requests — and only then
does any caller get its result: an answer is never sent for a change that is not durable. When the
batch itself fails (the commit, or an error that poisons the transaction), nothing of it is answered;
each of its requests is then run again alone, as if there had been no batching.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from simulators.his.context import Lane
from simulators.his.db import Database

T = TypeVar("T")
Unit = Callable[[Session], T]

_log = logging.getLogger(__name__)
RETRIES = 5  # a unit that hits a unique constraint is run again this many times in all
IDLE_EXIT_S = 5.0  # the writer thread ends when idle this long; the next request starts a new one


@dataclass
class _Job(Generic[T]):
    unit: Unit[T]
    future: Future[T] = field(default_factory=Future)


class _BatchFailed(Exception):
    """The batch's transaction cannot commit; the cause is chained."""


class GroupCommit:
    """Runs write units for the threads of one process, batched into shared transactions.

    `run(unit)` blocks until the unit's transaction committed and returns what the unit returned, or
    raises what it raised (its savepoint rolled back, the rest of the batch unaffected); `submit(unit)`
    returns a future of the same, for the event loop.
    """

    def __init__(self, db: Database, max_batch: int = 32) -> None:
        self.db = db
        self.max_batch = max_batch
        # ARRIVAL first: a batch takes the waiting 取号 before the bookings of a surge.
        self._queues: dict[Lane, deque[_Job[Any]]] = {Lane.ARRIVAL: deque(), Lane.BOOKING: deque()}
        self._cond = threading.Condition()
        self._running = False
        self._closed = False
        # Tests observe batching through this: the size of every batch that committed.
        self.on_commit: Callable[[int], None] | None = None

    def run(self, unit: Unit[T]) -> T:
        return self.submit(unit).result()

    def submit(self, unit: Unit[T], lane: Lane = Lane.BOOKING) -> Future[T]:
        """Queue the unit; the future completes once its batch committed (await it via wrap_future)."""
        job: _Job[T] = _Job(unit)
        with self._cond:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._queues[lane].append(job)
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="his-group-commit", daemon=True).start()
            self._cond.notify()
        return job.future

    def pending(self) -> int:
        """Requests queued for the next batch."""
        with self._cond:
            return sum(len(queue) for queue in self._queues.values())

    def _waiting(self) -> bool:
        return any(self._queues.values())

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting():
                    if self._closed or not self._cond.wait(timeout=IDLE_EXIT_S) and not self._waiting():
                        self._running = False
                        return
                batch = []
                for queue in self._queues.values():
                    while queue and len(batch) < self.max_batch:
                        batch.append(queue.popleft())
            try:
                self._run_batch(batch)
            except Exception as error:  # noqa: BLE001 - a fault here fails this batch's callers, not the writer
                _log.exception("a group-commit batch failed")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)

    def _run_batch(self, batch: list[_Job[Any]]) -> None:
        try:
            outcomes = self._attempt(batch)
        except _BatchFailed as failure:
            if len(batch) == 1:
                batch[0].future.set_exception(failure.__cause__ or failure)
                return
            for job in batch:  # nothing of the batch committed: each request alone, as unbatched
                self._run_alone(job)
            return
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    def _run_alone(self, job: _Job[Any]) -> None:
        for attempt in range(RETRIES):
            try:
                ((ok, value),) = self._attempt([job])
            except _BatchFailed as failure:
                if attempt == RETRIES - 1:
                    job.future.set_exception(failure.__cause__ or failure)
                    return
                time.sleep(0.01 * (attempt + 1))
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
            return

    def _attempt(self, batch: list[_Job[Any]]) -> list[tuple[bool, Any]]:
        """Run the batch in one transaction and commit it; (ok, result or exception) per job."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.db.transaction() as conn:
                for job in batch:
                    outcomes.append(self._in_savepoint(conn, job.unit))
        except _BatchFailed:
            raise
        except DBAPIError as error:  # BEGIN or COMMIT failed (locked, I/O error): nothing committed
            raise _BatchFailed() from error
        if self.on_commit is not None:
            self.on_commit(len(batch))
        return outcomes

    @staticmethod
    def _in_savepoint(conn: Connection, unit: Unit[Any]) -> tuple[bool, Any]:
        for attempt in range(RETRIES):
            session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
            try:
                with session.begin():
                    return True, unit(session)
            except IntegrityError as error:  # a unique constraint: the unit may read the winner now
                if attempt == RETRIES - 1:
                    return False, error
            except DBAPIError as error:
                # Locked, I/O, a lost connection: the transaction itself may be gone.
                raise _BatchFailed() from error
            except Exception as error:  # noqa: BLE001 - the caller's refusal or fault, delivered to it
                return False, error
            finally:
                session.close()
        raise AssertionError("unreachable")

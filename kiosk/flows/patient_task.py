"""What every patient task after 预约取号 shares: identify the patient, journal a keyed HIS write.

A task's transitions take a frozen state and return a new one; a `KioskError` never escapes: it
becomes the state's `error` with `failed_at`, as in `kiosk.flows.collect`.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from kiosk.domain.document import Document
from kiosk.domain.errors import DeviceOffline, HisUnavailable, KioskError
from kiosk.domain.outcome import Outcome, outcome_of
from kiosk.domain.patient import IdCardData, InsuranceCardData
from kiosk.flows.identify import Identified, Identifier
from kiosk.flows.services import HisApi, Services
from kiosk.sync.journal import EntryState, JournalError, NotOwner


class TaskState(Protocol):
    step: Any
    error: KioskError | None
    failed_at: Any


log = logging.getLogger(__name__)

S = TypeVar("S", bound=TaskState)
T = TypeVar("T")


class PatientTask:
    """Base of a task's flow: the services, a key factory, identification and the journal."""

    ERROR: Any = None
    """The task's error step (its step enum's ERROR)."""

    def __init__(self, services: Services, new_key: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._services = services
        self._new_key = new_key
        self._owners: dict[str, str] = {}
        """Journal owner (a session) of each key this flow wrote, until `end_session`."""

    @property
    def services(self) -> Services:
        return self._services

    def fail(self, state: S, error: KioskError) -> S:
        """An error shown in the task's error state, remembering the step it happened at."""
        failed_at = state.failed_at if state.step is self.ERROR else state.step
        return dataclasses.replace(state, step=self.ERROR, error=error, failed_at=failed_at)  # type: ignore[type-var]

    # --- identify (ID card, insurance card, scanned code) ------------------------------------------
    def identify_id_card(self, state: S, card: IdCardData) -> S:
        """First visit with no record: the HIS creates it from the card (实名建档), never the kiosk."""
        return self._identify(state, lambda: Identifier(self._his()).resolve_id_card(card, self._services.today()))

    def identify_insurance_card(self, state: S, card: InsuranceCardData) -> S:
        return self._identify(
            state, lambda: Identifier(self._his()).resolve_insurance_card(card, self._services.today())
        )

    def identify_scan(self, state: S, code: str) -> S:
        return self._identify(state, lambda: Identifier(self._his()).resolve_scan(code))

    def _identify(self, state: S, resolve: Callable[[], Identified]) -> S:
        """The task's first step with the patient `resolve()` names (a KioskError: its error state)."""
        raise NotImplementedError

    # --- journal -------------------------------------------------------------------------------
    def journal_intent(self, kind: str, key: str, payload: dict[str, str]) -> None:
        """Written before the HIS call, owned by this session; a retry with the same key finds it there."""
        journal = self._services.journal
        if journal is None:
            return
        owner = self._owners.setdefault(key, journal.session())
        try:
            journal.get(key)
        except JournalError:
            journal.record(kind, payload, key=key, owner=owner)

    def journal_settle(self, key: str, state: EntryState, outcome: dict[str, str]) -> None:
        if self._services.journal is None:
            return
        try:
            self._services.journal.advance(key, state, outcome, self._owners.get(key))
        except NotOwner:
            log.info("journal: recovery settled this entry meanwhile", extra={"key": key})

    def end_session(self) -> None:
        """The patient left: entries still open (no answer yet) go to recovery now."""
        journal = self._services.journal
        if journal is not None:
            for owner in set(self._owners.values()):
                journal.release(owner)
        self._owners.clear()

    def journaled(
        self, kind: str, key: str, payload: dict[str, str], call: Callable[[], T], done: Callable[[T], dict[str, str]]
    ) -> T:
        """A keyed HIS write: the intent journaled first, then settled by the answer. A refusal closes it
        (failed) and is raised; no answer leaves it open (a retry with `key`, or recovery, settles it)."""
        self.journal_intent(kind, key, payload)
        try:
            result = call()
        except KioskError as exc:
            if outcome_of(exc) is Outcome.REFUSED:
                self.journal_settle(key, EntryState.FAILED, {"code": getattr(exc, "code", type(exc).__name__)})
            raise
        self.journal_settle(key, EntryState.CONFIRMED, done(result))
        return result

    def print_document(self, document: Document) -> None:
        """Print on the kiosk's printer; DeviceOffline when none is installed."""
        if self._services.printer is None:
            raise DeviceOffline("no receipt printer installed")
        self._services.printer.print_document(document)

    def _his(self) -> HisApi:
        if self._services.his is None:
            raise HisUnavailable("no HIS client configured")
        return self._services.his

"""The journal: intents survive a crash (a new process sees them), states only move forward."""

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.sync.journal import EntryState, Journal, JournalError, NotOwner


def test_intent_is_durable_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    # GIVEN a process that records an intent and dies before finishing (os._exit skips every cleanup)
    code = (
        "import os; from kiosk.sync.journal import Journal; "
        f"j = Journal({str(path)!r}); e = j.record('payment.sale', {{'amount_fen': 1250, 'ref': 'K01-1'}}); "
        "print(e.key, flush=True); os._exit(9)"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    key = proc.stdout.strip()
    # WHEN the kiosk starts again
    journal = Journal(path)
    # THEN the open intent is there for recovery, with its payload
    (entry,) = journal.open_entries()
    assert entry.key == key and entry.state is EntryState.INTENT
    assert entry.payload == {"amount_fen": 1250, "ref": "K01-1"}
    assert journal.backlog() == 1


def test_states_move_forward_only(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    entry = journal.record("collect", {"appointment_id": "A1"})
    journal.advance(entry.key, EntryState.PERFORMED, {"queue_number": "12"})
    done = journal.advance(entry.key, EntryState.CONFIRMED, {"printed": True})
    assert done.outcome == {"queue_number": "12", "printed": True}
    assert journal.backlog() == 0
    with pytest.raises(JournalError):
        journal.advance(entry.key, EntryState.INTENT)
    failed = journal.record("collect", {"appointment_id": "A2"})
    journal.advance(failed.key, EntryState.FAILED)
    with pytest.raises(JournalError):
        journal.advance(failed.key, EntryState.CONFIRMED)


def test_unknown_key(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    with pytest.raises(JournalError):
        journal.advance("nope", EntryState.CONFIRMED)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_recovery_claims_only_what_no_live_session_holds(tmp_path: Path) -> None:
    """GIVEN entries of a live session, of an ended one, of nobody, and a lease that ran out
    WHEN recovery claims THEN it takes all but the live session's; a non-owner cannot settle."""
    clock = _Clock()
    journal = Journal(tmp_path / "j.db", lease_s=300, clock=clock)
    live, ended = journal.session(), journal.session()
    running = journal.record("payment.sale", {"ref": "R1"}, owner=live)
    left = journal.record("payment.sale", {"ref": "R2"}, owner=ended)
    orphan = journal.record("collect", {"appointment_id": "A1"})
    journal.release(ended)
    assert [e.key for e in journal.claim()] == [left.key, orphan.key]
    with pytest.raises(NotOwner):
        journal.advance(left.key, EntryState.CONFIRMED, owner=live)
    with pytest.raises(NotOwner):
        journal.advance(running.key, EntryState.FAILED, owner=journal.recovery_owner)
    # the live session writes (renewing its lease), then goes quiet past the lease
    clock.now += 200
    journal.note(running.key, {"unknown": "PaymentOutcomeUnknown"}, owner=live)
    clock.now += 200
    assert running.key not in [e.key for e in journal.claim()]
    clock.now += 101
    assert running.key in [e.key for e in journal.claim()]


def test_entries_of_an_earlier_process_are_recoverys_at_once(tmp_path: Path) -> None:
    first = Journal(tmp_path / "j.db")
    entry = first.record("collect", {"appointment_id": "A1"}, owner=first.session())
    first.close()
    second = Journal(tmp_path / "j.db")
    [claimed] = second.claim()
    assert claimed.key == entry.key and claimed.owner == second.recovery_owner


def test_a_journal_without_owners_gains_them(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(
        "CREATE TABLE entries (key TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, payload TEXT NOT NULL,"
        " outcome TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
        "INSERT INTO entries VALUES ('k1', 'collect', 'intent', '{}', '{}', '2026-11-23', '2026-11-23');"
    )
    db.commit()
    db.close()
    journal = Journal(tmp_path / "old.db")
    assert [e.key for e in journal.claim()] == ["k1"]

"""The journal: intents survive a crash (a new process sees them), states only move forward."""

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.sync.journal import EntryState, Journal, JournalError


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

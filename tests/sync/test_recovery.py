"""Recovery after a crash: open collect intents are replayed with their own key against the real HIS.

GIVEN a journal left with open intents by a kiosk that died mid-step
WHEN the kiosk starts again and recovery runs
THEN a step the HIS already took is confirmed with the HIS's stored answer (not taken twice), a step it
never saw is taken once, a refusal closes the entry, and an unreachable HIS leaves it open for later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.domain.errors import HisUnavailable
from kiosk.flows.collect_recovery import CollectSettler
from kiosk.sync.client import HisClient
from kiosk.sync.journal import EntryState, Journal
from kiosk.sync.recovery import Recovery, RecoveryReport
from simulators.his.clock import Clock
from simulators.his.server import ServerHandle, start_in_thread

NOW = dt.datetime(2026, 11, 23, 8, 10)
TOKEN = "demo-kiosk-token"


def recover(journal: Journal, client: HisClient) -> RecoveryReport:
    return Recovery(journal, [CollectSettler(journal, client)]).run()


@pytest.fixture(scope="module")
def his(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, list[dict]]]:
    db = tmp_path_factory.mktemp("his") / "his.db"
    with start_in_thread(f"sqlite:///{db}", seed=1, clock=Clock("Asia/Shanghai", NOW)) as handle:
        fixtures = requests.get(f"{handle.url}/_test/fixtures", timeout=10).json()
        booked = [a for a in fixtures["appointments"]
                  if a["date"] == NOW.date().isoformat() and a["status"] == "booked" and a["period"] == "am"]
        yield handle, booked


@pytest.fixture
def client(his: tuple[ServerHandle, list[dict]]) -> Iterator[HisClient]:
    c = HisClient(his[0].url, TOKEN, "K01", timeout_s=10)
    yield c
    c.close()


def _status(client: HisClient, appt: dict) -> str:
    found = client.list_appointments(appt["patient_id"], NOW.date())
    return next(a.status.value for a in found if a.id == appt["id"])


def test_replays_with_the_same_key(his: tuple[ServerHandle, list[dict]], client: HisClient, tmp_path: Path) -> None:
    _, booked = his
    lost_answer, never_sent = booked[0], booked[1]
    journal = Journal(tmp_path / "j.db")
    first = journal.record("collect", {"appointment_id": lost_answer["id"], "patient_id": lost_answer["patient_id"]})
    # the HIS took this step, but the kiosk died before it saw the answer
    taken = client.collect(lost_answer["id"], lost_answer["patient_id"], first.key)
    second = journal.record("collect", {"appointment_id": never_sent["id"], "patient_id": never_sent["patient_id"]})

    report = recover(journal, client)

    assert report.confirmed == [first.key, second.key] and journal.backlog() == 0
    assert journal.get(first.key).outcome["queue_number"] == taken.queue_number
    assert journal.get(second.key).state is EntryState.CONFIRMED
    assert _status(client, lost_answer) == "collected" and _status(client, never_sent) == "collected"
    # a second pass finds nothing to do
    assert recover(journal, client).confirmed == []


def test_refusal_closes_and_outage_keeps_open(his: tuple[ServerHandle, list[dict]], client: HisClient,
                                               tmp_path: Path) -> None:
    _, booked = his
    journal = Journal(tmp_path / "j.db")
    # someone else's patient id: the HIS refuses (identity mismatch) — nothing to retry
    other = next(a for a in booked[3:] if a["patient_id"] != booked[2]["patient_id"])
    wrong = journal.record("collect", {"appointment_id": booked[2]["id"], "patient_id": other["patient_id"]})
    report = recover(journal, client)
    assert report.failed == [wrong.key]
    assert journal.get(wrong.key).state is EntryState.FAILED
    assert journal.get(wrong.key).outcome["code"] == "IDENTITY_MISMATCH"

    pending = journal.record("collect", {"appointment_id": booked[4]["id"], "patient_id": booked[4]["patient_id"]})
    down = HisClient("http://127.0.0.1:9/api/v1", TOKEN, "K01", timeout_s=1)
    with pytest.raises(HisUnavailable):
        down.health()
    assert recover(journal, down).pending == [pending.key]
    assert journal.get(pending.key).state is EntryState.INTENT
    assert recover(journal, client).confirmed == [pending.key]

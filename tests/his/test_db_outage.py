"""The HIS when its PostgreSQL goes away: connections the database dropped are replaced without a failed
request; a database that refuses connections is answered 503 UNAVAILABLE in the contract's error shape
(never a bare 500), and the same payment under the same Idempotency-Key goes through once it is back;
a write whose COMMIT got no answer is not run again blindly, since it may have committed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, make_url

from simulators.his import models as m
from simulators.his.pgasync import conninfo
from simulators.his.pgtemp import TempCluster
from simulators.his.testing import TODAY, His, error_code

pytestmark = pytest.mark.postgres


@pytest.fixture
def his(pg_his: His) -> His:
    return pg_his


def _terminate_all(cluster: TempCluster, pg_url: str) -> int:
    """End every connection to the database, as a restart or a failover would."""
    with psycopg.connect(conninfo(cluster.url()), autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (make_url(pg_url).database,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _unpaid(his: His) -> tuple[str, list[str], int]:
    """A self-paying patient with bills: (patient, bill ids, total fen)."""
    for p in his.client.get("/api/v1/_test/fixtures").json()["patients"]:
        if "unpaid_bills" in p["tags"] and not p["insurance_card"]:
            bills = his.get("/bills", patient_id=p["id"]).json()["bills"]
            return p["id"], [b["id"] for b in bills], sum(b["amount_fen"] for b in bills)
    raise AssertionError("the seed has no self-paying patient with bills")


def _payment(patient: str, bills: list[str], total: int) -> dict:
    return {
        "patient_id": patient,
        "bill_ids": bills,
        "amount_fen": total,
        "method": "bank_card",
        "terminal_ref": "T-9",
    }


def _slot(his: His, nth: int = 0) -> str:
    return his.free_slot(TODAY + dt.timedelta(days=2), nth=nth)[0]


def test_connections_the_database_dropped_cost_no_request(
    his: His, pg_url: str, pg_cluster: TempCluster
) -> None:
    patient, bills, total = _unpaid(his)  # reads: the pool holds connections now
    assert his.hold(_slot(his, 0), "P000003").status_code == 201  # and so does the pipelined lane
    assert _terminate_all(pg_cluster, pg_url) >= 2
    assert his.get("/bills", patient_id=patient).status_code == 200  # a read
    paid = his.post("/payments", _payment(patient, bills, total), key=str(uuid.uuid4()))  # a threaded write
    assert paid.status_code == 201, paid.text
    assert his.hold(_slot(his, 1), "P000004").status_code == 201  # a pipelined one


def test_a_database_refusing_connections_is_answered_unavailable_and_the_retry_pays_once(
    his: His, pg_url: str, pg_cluster: TempCluster
) -> None:
    name = make_url(pg_url).database
    patient, bills, total = _unpaid(his)
    slot = _slot(his)
    key = str(uuid.uuid4())
    pg_cluster.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    try:
        _terminate_all(pg_cluster, pg_url)
        for answer in (
            his.get("/bills", patient_id=patient),
            his.post("/payments", _payment(patient, bills, total), key=key),
            his.hold(slot, "P000003"),
        ):
            assert answer.status_code == 503, answer.text
            assert error_code(answer) == "UNAVAILABLE"
            assert answer.json()["error"]["message"]  # plain words for the kiosk to show
    finally:
        pg_cluster.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    paid = his.post("/payments", _payment(patient, bills, total), key=key)
    assert paid.status_code == 201, paid.text
    again = his.post("/payments", _payment(patient, bills, total), key=key)
    assert again.json() == paid.json()
    assert his.count(m.Payment, m.Payment.patient_id == patient) == 1


def test_a_commit_that_got_no_answer_is_not_run_again(his: His, pg_url: str) -> None:
    patient, bills, total = _unpaid(his)
    key = str(uuid.uuid4())
    commits = 0

    def lose_the_commit(conn: Any) -> None:
        # A writing transaction's connection dies as its COMMIT goes out: the HIS cannot know whether
        # it committed. (Reads commit too; a read that lost its connection may simply run again.)
        nonlocal commits
        driver = conn.connection.driver_connection
        if driver.execute("SELECT pg_current_xact_id_if_assigned()").fetchone()[0] is None:
            return
        commits += 1
        with psycopg.connect(conninfo(pg_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (driver.info.backend_pid,))

    event.listen(his.hub.db.writer, "commit", lose_the_commit)
    try:
        unknown = his.post("/payments", _payment(patient, bills, total), key=key)
    finally:
        event.remove(his.hub.db.writer, "commit", lose_the_commit)
    assert commits == 1  # not run a second time
    assert unknown.status_code == 503 and error_code(unknown) == "UNAVAILABLE"
    # The kiosk settles it by asking again under the same key: here the COMMIT never arrived.
    paid = his.post("/payments", _payment(patient, bills, total), key=key)
    assert paid.status_code == 201, paid.text
    assert his.count(m.Payment, m.Payment.patient_id == patient) == 1

"""Heartbeats: every device's status and the journal backlog reach the HIS; a dead link is not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from sqlalchemy import select

from kiosk.devices.base import Detail, DeviceState, PublishesStatus, StatusPublisher
from kiosk.domain.money import Money
from kiosk.domain.satisfaction import Rating
from kiosk.sync.client import HisClient
from kiosk.sync.heartbeat import Heartbeat
from kiosk.sync.journal import Journal
from kiosk.sync.metrics import KioskMetrics
from kiosk.sync.satisfaction import SatisfactionTally
from simulators.his import models as m
from simulators.his.server import start_in_thread


class Device(PublishesStatus):
    def __init__(self, name: str, state: DeviceState, detail: Detail = Detail.NONE) -> None:
        self._publisher = StatusPublisher(name)
        self._publisher.set(state, detail)


def test_heartbeat_carries_device_states_and_backlog(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    journal.record("collect", {"appointment_id": "A1", "patient_id": "P1"})
    devices = {"printer": Device("printer", DeviceState.USER_ERROR, Detail.PAPER_OUT),
               "idcard": Device("idcard", DeviceState.ONLINE)}
    with start_in_thread(f"sqlite:///{tmp_path / 'his.db'}", seed=None) as his:
        answers: list[float | None] = []
        client = HisClient(his.url, "demo-kiosk-token", "K01", timeout_s=10, on_answer=answers.append)
        heartbeat = Heartbeat(client, devices, journal)
        assert heartbeat.his_up is None
        assert heartbeat.beat() is True and heartbeat.his_up is True
        with his.hub.db.read() as session:
            row = session.scalars(select(m.Heartbeat)).one()
        body = json.loads(row.body)
        assert row.kiosk_id == "K01" and body["journal_backlog"] == 1
        assert body["devices"]["printer"]["state"] == "user-error"
        assert body["devices"]["printer"]["detail"] == "paper-out"
        assert body["devices"]["idcard"]["state"] == "online"
    assert len(answers) == 1 and answers[0] is not None and answers[0] > 0  # the latency metric's input
    down = HisClient("http://127.0.0.1:9/api/v1", "demo-kiosk-token", "K01", timeout_s=1, on_answer=answers.append)
    lost = Heartbeat(down, devices, journal)
    assert lost.beat() is False and lost.his_up is False
    assert answers[1:] == [None]  # no answer: the HIS is down for the metrics


def test_satisfaction_tally_reaches_the_fleet_view(tmp_path: Path) -> None:
    """GIVEN ratings after tasks on two kiosks WHEN each sends its heartbeat (K01 twice: a repeat changes
    nothing) THEN the reference HIS's GET /kiosks lists each kiosk's counts and the fleet's sums; the
    tally survives a restart of the kiosk (its file)."""
    journal = Journal(tmp_path / "j.db")
    k01 = KioskMetrics("K01", SatisfactionTally(tmp_path / "k01.json"))
    for task, rating in (("collect", Rating.GOOD), ("collect", Rating.GOOD), ("book", Rating.BAD)):
        k01.satisfaction(task, rating)
    k02 = KioskMetrics("K02")
    k02.satisfaction("collect", Rating.OK)
    with start_in_thread(f"sqlite:///{tmp_path / 'his.db'}", seed=None) as his:
        for kiosk_id, metrics in (("K01", k01), ("K01", k01), ("K02", k02)):
            client = HisClient(his.url, "demo-kiosk-token", kiosk_id, timeout_s=10)
            assert Heartbeat(client, {}, journal, metrics.ratings.snapshot).beat() is True
        answer = requests.get(f"{his.url}/kiosks", headers={"Authorization": "Bearer demo-kiosk-token"},
                              timeout=10).json()
    by_kiosk = {k["kiosk_id"]: k["satisfaction"] for k in answer["kiosks"]}
    assert by_kiosk["K01"] == {"book": {"good": 0, "ok": 0, "bad": 1}, "collect": {"good": 2, "ok": 0, "bad": 0}}
    assert answer["satisfaction_totals"] == {"book": {"good": 0, "ok": 0, "bad": 1},
                                             "collect": {"good": 2, "ok": 1, "bad": 0}}
    k01.ratings.save()
    assert SatisfactionTally(tmp_path / "k01.json").snapshot() == k01.ratings.snapshot()


def test_metrics_file_for_node_exporter(tmp_path: Path) -> None:
    """GIVEN a printer out of paper and a reader offline WHEN the metrics are written THEN the file says so
    in Prometheus text format, one gauge per state, with the backlog and the HIS link."""
    metrics = KioskMetrics("K01")
    metrics.set_device("printer", "user-error", "paper-out", up=False)
    metrics.set_device("idcard", "offline", "link-lost", up=False)
    metrics.set_device("scanner", "online", "none", up=True)
    metrics.set_backlog(2)
    metrics.his_answered(None)
    path = tmp_path / "kiosk.prom"
    metrics.write_textfile(path)
    lines = set(path.read_text(encoding="utf-8").splitlines())
    assert 'kiosk_device_up{device="printer",kiosk="K01"} 0.0' in lines
    assert 'kiosk_device_up{device="scanner",kiosk="K01"} 1.0' in lines
    assert 'kiosk_device_state{device="printer",kiosk="K01",state="user-error"} 1.0' in lines
    assert 'kiosk_device_state{device="printer",kiosk="K01",state="online"} 0.0' in lines
    assert 'kiosk_device_detail{detail="paper-out",device="printer",kiosk="K01"} 1.0' in lines
    assert 'kiosk_device_detail{detail="link-lost",device="idcard",kiosk="K01"} 1.0' in lines
    assert 'kiosk_journal_backlog{kiosk="K01"} 2.0' in lines and 'kiosk_his_up{kiosk="K01"} 0.0' in lines
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".kiosk.prom*"))
    metrics.set_device("printer", "online", "none", up=True)  # paper back: the detail line goes away
    metrics.write_textfile(path)
    assert 'detail="paper-out"' not in path.read_text(encoding="utf-8")


def test_scrape_endpoint_counts_tasks_payments_wipes_and_his_latency() -> None:
    """GIVEN the scrape endpoint on 127.0.0.1 WHEN tasks, a payment, an idle wipe and HIS calls happen
    THEN one scrape shows each of them with its labels and the amount in fen."""
    metrics = KioskMetrics("K07")
    port = metrics.serve(0)
    try:
        metrics.task_started("collect")
        metrics.task_failed("collect", "PaperOut")
        metrics.task_completed("collect")
        metrics.payment("wechat", Money(5000))
        metrics.payment("wechat", Money(1))
        metrics.idle_wipe()
        metrics.his_answered(0.08)
        metrics.set_restarts(3)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        metrics.close()
    lines = set(text.splitlines())
    assert 'kiosk_tasks_started_total{kiosk="K07",task="collect"} 1.0' in lines
    assert 'kiosk_tasks_failed_total{kiosk="K07",reason="PaperOut",task="collect"} 1.0' in lines
    assert 'kiosk_tasks_completed_total{kiosk="K07",task="collect"} 1.0' in lines
    assert 'kiosk_payments_total{kiosk="K07",method="wechat"} 2.0' in lines
    assert 'kiosk_payments_fen_total{kiosk="K07",method="wechat"} 5001.0' in lines
    assert 'kiosk_idle_wipes_total{kiosk="K07"} 1.0' in lines
    assert 'kiosk_his_latency_seconds_bucket{kiosk="K07",le="0.1"} 1.0' in lines
    assert 'kiosk_his_up{kiosk="K07"} 1.0' in lines and 'kiosk_restarts{kiosk="K07"} 3.0' in lines

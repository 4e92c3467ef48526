"""Heartbeats: every device's status and the journal backlog reach the HIS; a dead link is not fatal."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from kiosk.devices.base import Detail, DeviceState, PublishesStatus, StatusPublisher
from kiosk.sync.client import HisClient
from kiosk.sync.heartbeat import Heartbeat
from kiosk.sync.journal import Journal
from kiosk.sync.metrics import render, write_atomically
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
        client = HisClient(his.url, "demo-kiosk-token", "K01", timeout_s=10)
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
    down = HisClient("http://127.0.0.1:9/api/v1", "demo-kiosk-token", "K01", timeout_s=1)
    lost = Heartbeat(down, devices, journal)
    assert lost.beat() is False and lost.his_up is False


def test_metrics_file_for_node_exporter(tmp_path: Path) -> None:
    """GIVEN a printer out of paper and a reader offline WHEN the metrics are written THEN the file says so
    in Prometheus text format, one gauge per state, with the backlog and the HIS link."""
    devices = {"printer": Device("printer", DeviceState.USER_ERROR, Detail.PAPER_OUT),
               "idcard": Device("idcard", DeviceState.OFFLINE, Detail.LINK_LOST),
               "scanner": Device("scanner", DeviceState.ONLINE)}
    path = tmp_path / "kiosk.prom"
    write_atomically(path, render("K01", devices, backlog=2, his_up=False))
    lines = set(path.read_text(encoding="utf-8").splitlines())
    assert 'kiosk_device_up{kiosk="K01",device="printer"} 0' in lines
    assert 'kiosk_device_up{kiosk="K01",device="scanner"} 1' in lines
    assert 'kiosk_device_state{kiosk="K01",device="printer",state="user-error"} 1' in lines
    assert 'kiosk_device_state{kiosk="K01",device="printer",state="online"} 0' in lines
    assert 'kiosk_device_detail{kiosk="K01",device="printer",detail="paper-out"} 1' in lines
    assert 'kiosk_device_detail{kiosk="K01",device="idcard",detail="link-lost"} 1' in lines
    assert 'kiosk_journal_backlog{kiosk="K01"} 2' in lines and 'kiosk_his_up{kiosk="K01"} 0' in lines
    assert not list(tmp_path.glob(".kiosk.prom.*"))  # no temporary file left behind

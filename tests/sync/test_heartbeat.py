"""Heartbeats: every device's status and the journal backlog reach the HIS; a dead link is not fatal."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from kiosk.devices.base import Detail, DeviceState, PublishesStatus, StatusPublisher
from kiosk.sync.client import HisClient
from kiosk.sync.heartbeat import send_heartbeat
from kiosk.sync.journal import Journal
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
        assert send_heartbeat(client, devices, journal) is True
        with his.hub.db.read() as session:
            row = session.scalars(select(m.Heartbeat)).one()
        body = json.loads(row.body)
        assert row.kiosk_id == "K01" and body["journal_backlog"] == 1
        assert body["devices"]["printer"]["state"] == "user-error"
        assert body["devices"]["printer"]["detail"] == "paper-out"
        assert body["devices"]["idcard"]["state"] == "online"
    down = HisClient("http://127.0.0.1:9/api/v1", "demo-kiosk-token", "K01", timeout_s=1)
    assert send_heartbeat(down, devices, journal) is False

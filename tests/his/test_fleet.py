"""The fleet view hospital IT watches: every kiosk's last heartbeat, the ones in trouble first."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from simulators.his import fleet
from simulators.his.clock import Clock
from simulators.his.testing import AUTH, SEEDED_AT, TOKEN, TZ, His

SHOTS = Path("/tmp/ui-shots")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _beat(devices: dict[str, tuple[str, str]], backlog: int = 0) -> dict:
    return {"devices": {n: {"state": s, "detail": d, "message": ""} for n, (s, d) in devices.items()},
            "software_version": "0.1.0", "journal_backlog": backlog}


HEALTHY = {"printer": ("online", "none"), "idcard": ("online", "none")}
PAPER_OUT = {"printer": ("user-error", "paper-out"), "idcard": ("online", "none")}
PAPER_LOW = {"printer": ("online", "paper-low"), "idcard": ("online", "none")}


def test_standing_and_urgency_order() -> None:
    """GIVEN four kiosks THEN a stale heartbeat is down (whatever it said), out of paper is a fault, paper
    low or a backlog a warning; the list starts with the worst."""
    rows = [
        ("K04", NOW - dt.timedelta(seconds=30), json.dumps(_beat(HEALTHY))),
        ("K02", NOW - dt.timedelta(seconds=20), json.dumps(_beat(PAPER_OUT))),
        ("K03", NOW - dt.timedelta(seconds=10), json.dumps(_beat(PAPER_LOW, backlog=2))),
        ("K01", NOW - dt.timedelta(minutes=10), json.dumps(_beat(HEALTHY))),
    ]
    views = fleet.fleet(rows, NOW)
    assert [(v.kiosk_id, v.standing.value) for v in views] == [
        ("K01", "down"), ("K02", "fault"), ("K03", "warning"), ("K04", "ok")]
    assert views[0].problems == ["no heartbeat for 10 min"]
    assert views[1].problems == ["printer: paper-out"]
    assert views[2].problems == ["printer: paper-low", "journal backlog: 2"]


def _three_kiosks(post: Callable[[str, dict], int], clock: Clock) -> None:
    """K01 beat 10 minutes ago and went silent; K02 is out of paper; K03 is fine."""
    clock.set(SEEDED_AT - dt.timedelta(minutes=10))
    assert post("/kiosks/K01/heartbeat", _beat(HEALTHY)) == 200
    clock.set(SEEDED_AT)
    assert post("/kiosks/K02/heartbeat", _beat(PAPER_OUT)) == 200
    assert post("/kiosks/K03/heartbeat", _beat(HEALTHY)) == 200


@pytest.fixture
def fleet_his(his: His) -> His:
    _three_kiosks(lambda path, body: his.post(path, body).status_code, his.clock)
    return his


def test_kiosks_api_needs_the_token_and_lists_the_worst_first(fleet_his: His) -> None:
    assert fleet_his.client.get("/api/v1/kiosks").status_code == 401
    answer = fleet_his.get("/kiosks")
    assert answer.status_code == 200
    body = answer.json()
    assert [(k["kiosk_id"], k["standing"]) for k in body["kiosks"]] == [
        ("K01", "down"), ("K02", "fault"), ("K03", "ok")]
    assert body["kiosks"][0]["seconds_since"] >= 600 and body["kiosks"][1]["version"] == "0.1.0"
    assert "/api/v1/kiosks" in fleet_his.client.get("/api/v1/openapi.json").json()["paths"]


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="fleet-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1280,720"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "chromedriver"))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_fleet_page_in_a_real_browser(sqlite_url: str, browser) -> None:
    """GIVEN the HIS served on loopback WHEN hospital IT opens the fleet page and gives the token THEN the
    table lists the silent kiosk first as down, then the one out of paper, then the healthy one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from simulators.his.server import start_in_thread

    clock = Clock(TZ, SEEDED_AT)
    with start_in_thread(sqlite_url, seed=None, tokens={TOKEN: "K01"}, clock=clock) as server:
        _three_kiosks(lambda path, body: requests.post(server.url + path, json=body, headers=AUTH, timeout=10)
                      .status_code, clock)
        browser.get(f"{server.url}/fleet")
        browser.find_element(By.ID, "token").send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "#login button").click()
        WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#kiosks tbody tr")
        assert [r.get_attribute("id") for r in rows] == ["kiosk-K01", "kiosk-K02", "kiosk-K03"]
        assert "离线 Down" in rows[0].text and "no heartbeat for 10 min" in rows[0].text
        assert "故障 Fault" in rows[1].text and "printer: paper-out" in rows[1].text
        assert "正常 OK" in rows[2].text
        assert browser.find_element(By.ID, "summary").text.startswith("3 kiosks · 1 down · 1 fault")
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(SHOTS / "30-fleet.png"))


def test_a_later_heartbeat_replaces_the_earlier(fleet_his: His) -> None:
    """K02 reloaded its paper: its next heartbeat is what the list shows, one row a kiosk."""
    assert fleet_his.post("/kiosks/K02/heartbeat", _beat(HEALTHY)).status_code == 200
    kiosks = fleet_his.get("/kiosks").json()["kiosks"]
    assert [(k["kiosk_id"], k["standing"]) for k in kiosks] == [("K01", "down"), ("K02", "ok"), ("K03", "ok")]

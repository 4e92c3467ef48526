"""A client of the simulators' control port (`kiosk sim --control-port`, `kiosk demo`): act on the devices
and read what they did (the terminal's ledger, the printer's jobs, the cards on the readers)."""

from __future__ import annotations

from typing import Any

import requests


class ControlError(RuntimeError):
    """The control port refused an action (400 with its reason)."""


class ControlClient:
    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def _get(self, path: str) -> Any:
        response = self._session.get(self.url + path, timeout=self.timeout_s)
        response.raise_for_status()
        return response.json()

    def describe(self) -> dict[str, Any]:
        return self._get("/")

    def act(self, action: str, **fields: Any) -> None:
        response = self._session.post(f"{self.url}/{action}", json=fields, timeout=self.timeout_s)
        if not response.ok:
            raise ControlError(f"{action}: {response.status_code} {response.text[:300]}")

    def ledger(self) -> list[dict[str, Any]]:
        return self._get("/payment/ledger")["transactions"]

    def jobs(self) -> list[dict[str, Any]]:
        return self._get("/printer/jobs")["jobs"]

    def idcard(self) -> dict[str, Any] | None:
        return self._get("/idcard")

    def insurance(self) -> dict[str, Any] | None:
        return self._get("/insurance")

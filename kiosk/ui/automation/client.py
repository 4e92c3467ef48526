"""A client of the automation port (requests only, no Qt): what tests and the scripted demo drive a kiosk
with. A refusal (404, 409, 408, …) raises AutomationRefused with the port's status and code."""

from __future__ import annotations

import time
from typing import Any

import requests

from kiosk.domain.errors import AutomationRefused


class AutomationClient:
    def __init__(self, url: str, token: str = "", timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout_s: float | None = None
              ) -> requests.Response:
        response = self._session.request(method, self.url + path, json=body, timeout=timeout_s or self.timeout_s)
        if response.status_code >= 400:
            try:
                answer = response.json()
                error = answer["error"]
            except (ValueError, KeyError, TypeError):
                raise AutomationRefused(response.status_code, "HTTP_ERROR", response.text[:200]) from None
            raise AutomationRefused(response.status_code, error["code"], error["message"], answer.get("screen"))
        return response

    def wait_until_up(self, timeout_s: float) -> dict[str, Any]:
        """GET /health until it answers (the kiosk is starting); RuntimeError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.health()
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no automation port at {self.url} after {timeout_s:.0f} s") from None
                time.sleep(0.1)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health", timeout_s=5).json()

    def screen(self) -> dict[str, Any]:
        return self._call("GET", "/screen").json()

    def element(self, element_id: str) -> dict[str, Any] | None:
        """The element with this id on the current screen, or None."""
        return next((e for e in self.screen()["elements"] if e["id"] == element_id), None)

    def tap(self, id: str | None = None, text: str | None = None, at: tuple[int, int] | None = None
            ) -> dict[str, Any]:
        body: dict[str, Any] = {"id": id} if id is not None else {"text": text} if text is not None else {"at": list(at or ())}
        return self._call("POST", "/tap", body).json()

    def scroll(self, direction: str = "down") -> dict[str, Any]:
        """Swipe the screen's list one page `direction` ("up" / "down"): the screen after it."""
        return self._call("POST", "/scroll", {"direction": direction}).json()

    def type(self, text: str) -> dict[str, Any]:
        return self._call("POST", "/type", {"text": text}).json()

    def wait(self, screen: str, timeout_s: float = 15.0) -> dict[str, Any]:
        return self._call("POST", "/wait", {"screen": screen, "timeout_s": timeout_s}, timeout_s + 30).json()

    def view(self, size: tuple[int, int] | None = None, lang: str | None = None, mode: str | None = None
             ) -> dict[str, Any]:
        """Turn the window to `size`, switch to `lang` ('zh'/'en') or `mode` ('normal'/'elder'); the screen."""
        body = {k: v for k, v in {"size": list(size) if size else None, "lang": lang, "mode": mode}.items() if v}
        return self._call("POST", "/view", body).json()

    def screenshot(self) -> bytes:
        return self._call("GET", "/screenshot").content

    def speech(self) -> list[dict[str, Any]]:
        return self._call("GET", "/speech").json()["prompts"]

    def stalls(self) -> dict[str, Any]:
        """GET /stalls: the GUI thread's longest stall, p99 and count over 16 ms since the last reset."""
        return self._call("GET", "/stalls").json()

    def reset_stalls(self) -> dict[str, Any]:
        return self._call("POST", "/stalls/reset").json()

    def inject_stall(self, ms: int) -> None:
        """Hold the kiosk's GUI thread `ms` milliseconds (a tester's check of the stall monitor)."""
        self._call("POST", "/stalls/inject", {"ms": ms})

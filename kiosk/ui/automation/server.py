"""The HTTP side of the automation port: its own thread on 127.0.0.1, JSON in and out (AUTOMATION.md).

Each request is handed to the GUI thread through `AutomationDriver.call` and waits for the answer;
/wait polls the screen from this side, so the GUI thread never blocks while a tester waits.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kiosk import __version__
from kiosk.domain.errors import AutomationRefused
from kiosk.ui.automation.driver import AutomationDriver
from kiosk.ui.prompts import PromptLog

log = logging.getLogger(__name__)

WAIT_POLL_S = 0.05
MAX_WAIT_S = 600.0
MIN_VIEW_PX, MAX_VIEW_PX = 480, 4096
MAX_INJECTED_STALL_MS = 1000


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _view_request(body: dict[str, Any]) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """POST /view's `size` [w, h], `lang` and `mode`, each optional; 400 BAD_REQUEST for a bad one."""
    size, lang, mode = body.get("size"), body.get("lang"), body.get("mode")
    if size is not None and not (
        isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and MIN_VIEW_PX <= v <= MAX_VIEW_PX for v in size)
    ):
        raise AutomationRefused(400, "BAD_REQUEST", f"'size' must be [w, h], each {MIN_VIEW_PX}..{MAX_VIEW_PX} px")
    if lang not in (None, "zh", "en"):
        raise AutomationRefused(400, "BAD_REQUEST", "'lang' must be 'zh' or 'en'")
    if mode not in (None, "normal", "elder"):
        raise AutomationRefused(400, "BAD_REQUEST", "'mode' must be 'normal' or 'elder'")
    return (tuple(size) if size is not None else None), lang, mode  # type: ignore[return-value]


class AutomationServer:
    """`start()` binds 127.0.0.1:`port` (0 = a free one) and serves until `stop()`."""

    def __init__(self, driver: AutomationDriver, prompts: PromptLog, port: int, token: str = "") -> None:
        self.driver, self.prompts, self.token = driver, prompts, token
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="automation-port", daemon=True)

    def start(self) -> int:
        self._thread.start()
        log.info("automation port listening", extra={"port": self.port, "token": bool(self.token)})
        return self.port

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- routes (HTTP thread) ----------------------------------------------------------------------------
    def _get(self, path: str) -> tuple[int, Any]:
        d = self.driver
        if path == "/health":
            return 200, {"ok": True, "pid": os.getpid(), "version": __version__}
        if path == "/screen":
            return 200, d.call(d.screen).as_json()
        if path == "/screenshot":
            return 200, d.call(d.screenshot)
        if path == "/speech":
            return 200, {"prompts": self.prompts.recent()}
        if path == "/stalls":
            return 200, d.call(d.stalls.report)
        raise AutomationRefused(404, "NOT_FOUND", f"no GET {path}")

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        d = self.driver
        if path == "/tap":
            at = body.get("at")
            if at is not None and (not isinstance(at, list) or len(at) != 2):
                raise AutomationRefused(400, "BAD_REQUEST", "'at' must be [x, y] in window pixels")
            return 200, d.call(lambda: d.tap(body.get("id"), body.get("text"), at)).as_json()
        if path == "/type":
            text = body.get("text")
            if not isinstance(text, str):
                raise AutomationRefused(400, "BAD_REQUEST", "'text' must be a string")
            return 200, d.call(lambda: d.type_text(text)).as_json()
        if path == "/wait":
            return self._wait(body)
        if path == "/view":
            return 200, d.call(lambda: d.view(*_view_request(body))).as_json()
        if path == "/scroll":
            direction = body.get("direction")
            if direction not in ("up", "down"):
                raise AutomationRefused(400, "BAD_REQUEST", "'direction' must be 'up' or 'down'")
            return 200, d.call(lambda: d.scroll(direction)).as_json()
        if path == "/stalls/reset":
            d.call(d.stalls.reset)
            return 200, d.call(d.stalls.report)
        if path == "/stalls/inject":
            ms = body.get("ms")
            if not isinstance(ms, int) or not 1 <= ms <= MAX_INJECTED_STALL_MS:
                raise AutomationRefused(400, "BAD_REQUEST", f"'ms' must be 1..{MAX_INJECTED_STALL_MS}")
            d.call(lambda: d.stalls.block(ms))
            return 200, {"ok": True, "blocked_ms": ms}
        raise AutomationRefused(404, "NOT_FOUND", f"no POST {path}")

    def _wait(self, body: dict[str, Any]) -> tuple[int, Any]:
        wanted = body.get("screen")
        timeout_s = body.get("timeout_s", 10)
        if not isinstance(wanted, str) or not isinstance(timeout_s, int | float) or not 0 <= timeout_s <= MAX_WAIT_S:
            raise AutomationRefused(400, "BAD_REQUEST", f"give 'screen' (an id) and 'timeout_s' (0..{MAX_WAIT_S:.0f})")
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.driver.call(self.driver.screen)
            if state.screen == wanted and not state.busy:
                return 200, state.as_json()
            if time.monotonic() >= deadline:
                raise AutomationRefused(408, "TIMEOUT", f"'{wanted}' did not show within {timeout_s} s; "
                                        f"the kiosk is on '{state.screen}'", state.as_json())
            time.sleep(WAIT_POLL_S)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, data: Any) -> None:
                if isinstance(data, bytes):
                    raw, kind = data, "image/png"
                else:
                    raw, kind = json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _serve(self, route: Callable[[], tuple[int, Any]]) -> None:
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._answer(401, _error("UNAUTHORIZED", "send 'Authorization: Bearer <automation_token>'"))
                    return
                try:
                    status, data = route()
                except AutomationRefused as exc:
                    answer = _error(exc.code, exc.detail)
                    if exc.screen is not None:
                        answer["screen"] = exc.screen
                    status, data = exc.status, answer
                except Exception as exc:
                    log.exception("automation request failed")
                    status, data = 500, _error("INTERNAL", f"{type(exc).__name__}: {exc}")
                self._answer(status, data)

            def do_GET(self) -> None:
                self._serve(lambda: server._get(self.path))

            def do_POST(self) -> None:
                self._serve(lambda: server._post(self.path, self._body()))

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length)) if length else {}
                except (ValueError, UnicodeDecodeError):
                    raise AutomationRefused(400, "BAD_REQUEST", "the body is not JSON") from None
                if not isinstance(body, dict):
                    raise AutomationRefused(400, "BAD_REQUEST", "the body must be a JSON object")
                return body

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

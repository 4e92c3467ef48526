"""HisClient against a tiny scripted HTTP server on loopback: error mapping, retries, headers, parsing."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.domain.errors import HisError, HisRefused, HisUnavailable, NotFound
from kiosk.domain.messages import message_for
from kiosk.domain.money import Money
from kiosk.domain.patient import Identity, IdentityKind
from kiosk.sync.client import HisClient


@dataclass
class Reply:
    status: int
    body: object = None
    delay_s: float = 0.0
    raw: bytes | None = None


@dataclass
class Script:
    """Replies per 'METHOD /path' (popped in order, the last one repeats) and the requests seen."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = self.path.split("?")[0].removeprefix("/api/v1")
            script.seen.append((self.command, self.path, dict(self.headers), body))
            queue = script.replies.get(f"{self.command} {path}") or [Reply(404, _err("NOT_FOUND", "未找到"))]
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
            time.sleep(reply.delay_s)
            data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _err(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "message_en": f"en:{code}", "details": details or {}}}


@pytest.fixture
def server() -> Iterator[tuple[Script, str]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{httpd.server_address[1]}/api/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _client(url: str, **kwargs: object) -> HisClient:
    return HisClient(
        url, "tok-1", "K09", timeout_s=kwargs.pop("timeout_s", 2.0), retry_pause_s=0.01, **kwargs
    )


PATIENT = {
    "id": 7,
    "name": "张小三",
    "sex": "female",
    "birth_date": "1949-12-31",
    "id_number_masked": "110***********0028",
    "visit_card": "V0001234",
    "first_visit": False,
}
APPOINTMENT = {
    "id": 31,
    "booking_code": "12345678",
    "patient_id": 7,
    "status": "booked",
    "fee_fen": 5000,
    "slot": {"id": 5, "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T09:30:00+08:00"},
    "doctor": {"id": 2, "name": "李四", "title": "主任医师"},
    "department": {"id": 3, "name": "心血管内科", "floor": "3", "room": "305"},
}


def test_resolve_sends_token_kiosk_id_and_contract_body(server) -> None:
    script, url = server
    script.replies["POST /patients/resolve"] = [Reply(200, {"patient": PATIENT})]
    patient = _client(url).resolve_patient(Identity(IdentityKind.BOOKING_CODE, "12345678", "0028"))
    assert patient.id == "7" and patient.masked_name == "张*三"
    _method, _path, headers, body = script.seen[0]
    assert headers["Authorization"] == "Bearer tok-1" and headers["X-Kiosk-Id"] == "K09"
    assert json.loads(body) == {"kind": "booking_code", "value": "12345678", "id_last4": "0028"}


def test_404_is_not_found_with_the_server_words(server) -> None:
    _script, url = server
    with pytest.raises(NotFound) as info:
        _client(url).resolve_patient(Identity(IdentityKind.QR, "nobody"))
    assert info.value.status == 404 and info.value.server_message == "未找到"
    assert "未找到您的就诊信息" in message_for(info.value)


def test_409_keeps_code_and_details(server) -> None:
    script, url = server
    details = {"window_start": "07:30", "window_end": "10:30"}
    script.replies["POST /appointments/31/collect"] = [
        Reply(409, _err("OUTSIDE_COLLECTION_WINDOW", "不在取号时间", details))
    ]
    with pytest.raises(HisRefused) as info:
        _client(url).collect("31", "7", "key-1")
    err = info.value
    assert (err.code, err.status, err.details, err.server_message_en) == (
        "OUTSIDE_COLLECTION_WINDOW",
        409,
        details,
        "en:OUTSIDE_COLLECTION_WINDOW",
    )
    assert message_for(err) == "当前不在取号时间，请在 07:30 至 10:30 之间取号。"
    assert script.seen[0][2]["Idempotency-Key"] == "key-1"


def test_500_is_unavailable_and_not_retried(server) -> None:
    script, url = server
    script.replies["GET /appointments"] = [Reply(500, {"detail": "Traceback (most recent call last): boom"})]
    with pytest.raises(HisUnavailable) as info:
        _client(url, get_retries=2).list_appointments("7", dt.date(2026, 11, 23))
    assert "Traceback" not in str(info.value) and "Traceback" not in message_for(info.value)
    assert len(script.seen) == 1  # 500 is a server bug, not a blip: not retried


def test_503_get_retried_then_succeeds_but_post_is_not_retried(server) -> None:
    script, url = server
    script.replies["GET /appointments"] = [
        Reply(503, _err("UNAVAILABLE", "HIS不可用")),
        Reply(200, {"appointments": [APPOINTMENT]}),
    ]
    [appt] = _client(url).list_appointments("7", dt.date(2026, 11, 23))
    assert (appt.id, appt.department, appt.doctor, appt.doctor_title) == (
        "31",
        "心血管内科",
        "李四",
        "主任医师",
    )
    assert appt.fee == Money(5000) and appt.period == "am" and appt.start.utcoffset() == dt.timedelta(hours=8)
    assert [s[0] for s in script.seen] == ["GET", "GET"]

    script.replies["POST /appointments/31/collect"] = [Reply(503, _err("UNAVAILABLE", "HIS不可用"))]
    with pytest.raises(HisUnavailable):
        _client(url).collect("31", "7", "key-2")
    assert [s[0] for s in script.seen].count("POST") == 1


def test_idempotency_in_progress_is_retried_with_the_same_key(server) -> None:
    script, url = server
    collected = {
        "appointment": {**APPOINTMENT, "status": "collected"},
        "queue_number": 12,
        "room": "305",
        "floor": "3",
        "fee_due_fen": 0,
    }
    script.replies["POST /appointments/31/collect"] = [
        Reply(409, _err("IDEMPOTENCY_IN_PROGRESS", "处理中")),
        Reply(200, collected),
    ]
    result = _client(url).collect("31", "7", "key-3")
    assert result.queue_number == "12" and result.fee_due == Money(0)
    assert [s[2]["Idempotency-Key"] for s in script.seen] == ["key-3", "key-3"]


def test_timeout_is_unavailable(server) -> None:
    script, url = server
    script.replies["GET /health"] = [Reply(200, {"status": "ok"}, delay_s=1.0)]
    with pytest.raises(HisUnavailable) as info:
        _client(url, timeout_s=0.2, get_retries=0).health()
    assert "no answer" in str(info.value)


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(HisUnavailable) as info:
        _client(f"http://127.0.0.1:{port}/api/v1", get_retries=1).health()
    assert "cannot connect" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_contract_breaking_answers_are_his_errors(server) -> None:
    script, url = server
    script.replies["GET /appointments"] = [Reply(200, [APPOINTMENT])]  # a bare list: not wrapped
    with pytest.raises(HisError):
        _client(url).list_appointments("7", dt.date(2026, 11, 23))
    script.replies["GET /appointments"] = [Reply(200, {"appointments": [{**APPOINTMENT, "fee_fen": 50.0}]})]
    with pytest.raises(HisError, match="integer"):
        _client(url).list_appointments("7", dt.date(2026, 11, 23))
    script.replies["GET /health"] = [Reply(200, raw=b"<html>proxy</html>")]
    with pytest.raises(HisError):
        _client(url).health()


def test_401_and_422_without_a_body_get_default_codes(server) -> None:
    script, url = server
    script.replies["GET /departments"] = [Reply(401, raw=b"")]
    with pytest.raises(HisRefused) as info:
        _client(url).departments()
    assert info.value.code == "UNAUTHORIZED" and info.value.status == 401

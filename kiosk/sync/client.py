"""The HIS API v1 client: HTTP/JSON over requests, HIS errors mapped to kiosk.domain.errors.

Callers see domain objects or a `HisError` subclass, never a requests exception or a traceback:
- no answer, a timeout, a 5xx (503 `UNAVAILABLE` included) -> `HisUnavailable`
- 404 -> `NotFound`; any other 4xx -> `HisRefused(code, message, message_en, details, status)`
- a 2xx the contract does not allow -> `HisError` ("the hospital system returned an error")
Only GETs are retried here, briefly, on no answer or 502/503/504. A keyed write is repeated only on
409 IDEMPOTENCY_IN_PROGRESS; otherwise the *flow* repeats it, safely, with the same Idempotency-Key.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import requests

from kiosk import __version__
from kiosk.config import Config
from kiosk.domain.appointment import Appointment, Collected
from kiosk.domain.errors import HisError, HisRefused, HisUnavailable, NotFound
from kiosk.domain.money import Money
from kiosk.domain.patient import IdCardData, Identity, Patient
from kiosk.domain.payment import Bill, InsuranceSplit, PaymentRecord, QrOrder, RefundRecord
from kiosk.domain.schedule import Department, Doctor, Hold, QueueStatus, QueueTicket, Schedule, Slot
from kiosk.sync import wire

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({502, 503, 504})
_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"


class _Transient(HisUnavailable):
    """No answer, or a gateway saying the HIS is briefly away (502/503/504): worth one more GET."""


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    server_time: dt.datetime | None


class HisClient:
    """One kiosk's connection to the HIS. Thread-safe enough for one worker at a time per call."""

    def __init__(
        self,
        base_url: str,
        token: str,
        kiosk_id: str,
        timeout_s: float = 5.0,
        *,
        get_retries: int = 2,
        retry_pause_s: float = 0.2,
        session: requests.Session | None = None,
        on_answer: Callable[[float | None], None] | None = None,
    ) -> None:
        """`on_answer` hears each request's time in seconds, or None when it got no answer (metrics)."""
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self.timeout_s = timeout_s
        self.get_retries = get_retries
        self.retry_pause_s = retry_pause_s
        self._session = session or requests.Session()
        self._on_answer = on_answer or (lambda _seconds: None)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"kiosk/{__version__}",
                "X-Kiosk-Id": kiosk_id,
            }
        )

    @classmethod
    def from_config(cls, config: Config) -> HisClient:
        return cls(config.his.url, config.his.token, config.kiosk.id, config.his.timeout_s)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        # GETs are safe to repeat; a keyed write is repeated only while the HIS says the first
        # copy is still running (IDEMPOTENCY_IN_PROGRESS) — it then answers with the stored result.
        attempts = 1 + (self.get_retries if method == "GET" or idempotency_key else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return self._once(method, path, params, body, headers)
            except _Transient:
                if last or method != "GET":
                    raise
            except HisRefused as exc:
                if last or exc.code != _IN_PROGRESS:
                    raise
            time.sleep(self.retry_pause_s * (attempt + 1))
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _once(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> Any:
        url = f"{self.base_url}{path}"
        started = time.perf_counter()
        try:
            response = self._session.request(
                method, url, params=params, json=body, headers=headers, timeout=self.timeout_s
            )
        except requests.Timeout:
            self._on_answer(None)
            log.warning("HIS timeout", extra={"method": method, "path": path})
            raise _Transient(f"{method} {path}: no answer within {self.timeout_s:g} s") from None
        except requests.RequestException as exc:
            self._on_answer(None)
            log.warning(
                "HIS unreachable", extra={"method": method, "path": path, "error": type(exc).__name__}
            )
            raise _Transient(f"{method} {path}: cannot connect ({type(exc).__name__})") from None
        self._on_answer(time.perf_counter() - started)
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: requests.Response) -> Any:
        status = response.status_code
        try:
            payload: Any = response.json() if response.content else None
        except ValueError:
            payload = None
        if 200 <= status < 300:
            if payload is None and status != 204:
                raise HisError(f"{method} {path}: HTTP {status} without a JSON body")
            return payload
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code") or _default_code(status))
        message = str(error.get("message") or "")
        message_en = str(error.get("message_en") or "")
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        log.info("HIS refused", extra={"method": method, "path": path, "status": status, "code": code})
        if status in _RETRY_STATUSES:
            raise _Transient(f"{method} {path}: HTTP {status} {code}")
        if status >= 500:
            raise HisUnavailable(f"{method} {path}: HTTP {status} {code}")
        if status == 404:
            raise NotFound(message, message_en, details)
        raise HisRefused(code, message, message_en, details, status)

    def _call(self, method: str, path: str, parse: Any, **kwargs: Any) -> Any:
        """Request and parse; a body that breaks the contract becomes a HisError, not a KeyError."""
        body = self._request(method, path, **kwargs)
        try:
            return parse(body)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            log.warning("HIS answer breaks the contract", extra={"path": path, "error": str(exc)})
            raise HisError(f"{method} {path}: malformed answer ({type(exc).__name__}: {exc})") from None

    # --- endpoints --------------------------------------------------------------------------------
    def health(self) -> Health:
        """GET /health; HisUnavailable when the server does not answer."""

        def parse(body: Any) -> Health:
            when = body.get("time")
            return Health(body.get("status") == "ok", wire.timestamp(when) if when else None)

        return self._call("GET", "/health", parse)

    def resolve_patient(self, identity: Identity) -> Patient:
        """POST /patients/resolve; NotFound when no patient has this credential."""
        body: dict[str, Any] = {"kind": identity.kind.value, "value": identity.value}
        if identity.id_last4 is not None:
            body["id_last4"] = identity.id_last4
        return self._call(
            "POST", "/patients/resolve", lambda b: wire.patient(wire.unwrap(b, "patient")), body=body
        )

    def create_patient(self, card: IdCardData, idempotency_key: str | None = None) -> Patient:
        """POST /patients (实名建档); the same ID number twice returns the existing patient."""
        return self._call(
            "POST",
            "/patients",
            lambda b: wire.patient(wire.unwrap(b, "patient")),
            body=wire.new_patient_body(card),
            idempotency_key=idempotency_key,
        )

    def list_appointments(self, patient_id: str, date: dt.date | None) -> list[Appointment]:
        """The patient's appointments on `date`, or (None) on every day."""
        params = {"patient_id": patient_id}
        if date is not None:
            params["date"] = date.isoformat()
        return self._call(
            "GET",
            "/appointments",
            lambda b: [wire.appointment(a) for a in wire.unwrap_list(b, "appointments")],
            params=params,
        )

    def collect(self, appointment_id: str, patient_id: str, idempotency_key: str) -> Collected:
        """POST /appointments/{id}/collect (取号). Repeat with the SAME key after a lost answer."""
        return self._call(
            "POST",
            f"/appointments/{appointment_id}/collect",
            wire.collected,
            body={"patient_id": patient_id},
            idempotency_key=idempotency_key,
        )

    def departments(self) -> list[Department]:
        return self._call(
            "GET", "/departments", lambda b: [wire.department(d) for d in wire.unwrap_list(b, "departments")]
        )

    def doctors(self, department_id: str | None = None) -> list[Doctor]:
        params = {"department_id": department_id} if department_id is not None else None
        return self._call(
            "GET",
            "/doctors",
            lambda b: [wire.doctor(d) for d in wire.unwrap_list(b, "doctors")],
            params=params,
        )

    def schedules(self, department_id: str, date: dt.date | None) -> list[Schedule]:
        """One day's schedules of a department, or (date None) every day the HIS has."""
        params = {"department_id": department_id}
        if date is not None:
            params["date"] = date.isoformat()
        return self._call(
            "GET",
            "/schedules",
            lambda b: [wire.schedule(s) for s in wire.unwrap_list(b, "schedules")],
            params=params,
        )

    def slots(self, schedule_id: str) -> list[Slot]:
        return self._call(
            "GET",
            f"/schedules/{schedule_id}/slots",
            lambda b: [wire.slot(s) for s in wire.unwrap_list(b, "slots")],
        )

    def hold(self, slot_id: str, patient_id: str, idempotency_key: str) -> Hold:
        """POST /holds (锁号, 15 min); HisRefused SLOT_TAKEN or a booking-rule code."""
        return self._call(
            "POST",
            "/holds",
            wire.hold,
            body={"slot_id": slot_id, "patient_id": patient_id},
            idempotency_key=idempotency_key,
        )

    def release_hold(self, hold_id: str) -> None:
        self._request("DELETE", f"/holds/{hold_id}")

    def book(self, hold_id: str, pay_now: bool, idempotency_key: str) -> Appointment:
        """POST /appointments; HisRefused HOLD_EXPIRED when the hold ran out."""
        return self._call(
            "POST",
            "/appointments",
            lambda b: wire.appointment(wire.unwrap(b, "appointment")),
            body={"hold_id": hold_id, "pay_now": pay_now},
            idempotency_key=idempotency_key,
        )

    def cancel_appointment(self, appointment_id: str, idempotency_key: str) -> Money:
        """POST /appointments/{id}/cancel (退号) -> the fee to refund; HisRefused CANCEL_DEADLINE_PASSED."""
        return self._call(
            "POST",
            f"/appointments/{appointment_id}/cancel",
            lambda b: wire.money(b.get("refund_fen", 0)),
            body={},
            idempotency_key=idempotency_key,
        )

    def checkin(self, appointment_id: str, idempotency_key: str) -> QueueTicket:
        return self._call(
            "POST",
            "/queue/checkin",
            lambda b: wire.queue_ticket(wire.unwrap(b, "ticket")),
            body={"appointment_id": appointment_id},
            idempotency_key=idempotency_key,
        )

    def queue(self, department_id: str) -> QueueStatus:
        return self._call("GET", f"/queue/{department_id}", lambda b: wire.queue_status(department_id, b))

    # --- money -----------------------------------------------------------------------------------
    def bills(self, patient_id: str) -> list[Bill]:
        """GET /bills: the patient's unpaid bills, grouped by order."""
        return self._call(
            "GET", "/bills", lambda b: [wire.bill(x) for x in wire.unwrap_list(b, "bills")],
            params={"patient_id": patient_id},
        )

    def presettle(self, body: dict[str, Any], idempotency_key: str) -> InsuranceSplit:
        """POST /insurance/presettle (`body` as HIS-API); the split adds up to the total."""
        return self._call("POST", "/insurance/presettle", wire.insurance_split, body=body,
                          idempotency_key=idempotency_key)

    def cancel_presettlement(self, presettlement_id: str, idempotency_key: str) -> None:
        self._request("POST", f"/insurance/presettle/{presettlement_id}/cancel", body={},
                      idempotency_key=idempotency_key)

    def record_payment(self, body: dict[str, Any], idempotency_key: str) -> PaymentRecord:
        """POST /payments; repeat with the SAME key after a lost answer (ALREADY_PAID never double-books)."""
        return self._call("POST", "/payments", lambda b: wire.payment_record(wire.unwrap(b, "payment")),
                          body=body, idempotency_key=idempotency_key)

    def patient_payments(self, patient_id: str, date: dt.date) -> list[PaymentRecord]:
        """GET /payments?patient_id=&date=: the patient's payments that day (for 查询补打)."""
        return self._call(
            "GET", "/payments", lambda b: [wire.payment_record(p) for p in wire.unwrap_list(b, "payments")],
            params={"patient_id": patient_id, "date": date.isoformat()},
        )

    def reverse_payment(self, payment_id: str, idempotency_key: str) -> PaymentRecord:
        return self._call("POST", f"/payments/{payment_id}/reverse",
                          lambda b: wire.payment_record(wire.unwrap(b, "payment")), body={},
                          idempotency_key=idempotency_key)

    def appointment_payments(self, appointment_id: str) -> list[PaymentRecord]:
        """GET /appointments/{id}/payments (extension): what was paid for it, refunded ones included."""
        return self._call(
            "GET", f"/appointments/{appointment_id}/payments",
            lambda b: [wire.payment_record(p) for p in wire.unwrap_list(b, "payments")],
        )

    def refund_payment(self, payment_id: str, amount: Money, idempotency_key: str) -> RefundRecord:
        """POST /payments/{id}/refund (extension) after 退号; HisRefused ALREADY_REFUNDED / NOT_REFUNDABLE."""
        return self._call("POST", f"/payments/{payment_id}/refund",
                          lambda b: wire.refund_record(wire.unwrap(b, "refund")), body={"amount_fen": amount.fen},
                          idempotency_key=idempotency_key)

    def refunds(self, day: dt.date) -> list[RefundRecord]:
        """GET /refunds?date= (extension): this kiosk's refunds that day (对账)."""
        return self._call("GET", "/refunds", lambda b: [wire.refund_record(x) for x in wire.unwrap_list(b, "refunds")],
                          params={"date": day.isoformat()})

    def create_qr_order(self, body: dict[str, Any], idempotency_key: str) -> QrOrder:
        """POST /qr-orders (show or scan mode)."""
        return self._call("POST", "/qr-orders", lambda b: wire.qr_order(wire.unwrap(b, "order")), body=body,
                          idempotency_key=idempotency_key)

    def qr_order(self, order_id: str) -> QrOrder:
        return self._call("GET", f"/qr-orders/{order_id}", lambda b: wire.qr_order(wire.unwrap(b, "order")))

    def cancel_qr_order(self, order_id: str, idempotency_key: str) -> QrOrder:
        """POST /qr-orders/{id}/cancel; HisRefused ALREADY_PAID when the patient paid meanwhile."""
        return self._call("POST", f"/qr-orders/{order_id}/cancel",
                          lambda b: wire.qr_order(wire.unwrap(b, "order")), body={},
                          idempotency_key=idempotency_key)

    def payments(self, day: dt.date) -> list[PaymentRecord]:
        """GET /payments?date=: this kiosk's payments that day, reversed ones included (对账)."""
        return self._call("GET", "/payments", lambda b: [wire.payment_record(x) for x in wire.unwrap_list(b, "payments")],
                          params={"date": day.isoformat()})

    def heartbeat(self, devices: dict[str, dict[str, str]], backlog: int,
                  satisfaction: dict[str, Any] | None = None) -> None:
        """POST /kiosks/{id}/heartbeat with each device's status dict, the journal backlog and the
        satisfaction tally (`{"since", "counts": {task: {rating: n}}}`, an extension of HIS-API.md)."""
        body: dict[str, Any] = {"devices": devices, "software_version": __version__, "journal_backlog": backlog}
        if satisfaction is not None:
            body["satisfaction"] = satisfaction
        self._request("POST", f"/kiosks/{self.kiosk_id}/heartbeat", body=body)


def _default_code(status: int) -> str:
    return {401: "UNAUTHORIZED", 404: "NOT_FOUND", 413: "BODY_TOO_LARGE", 422: "VALIDATION"}.get(
        status, "UNAVAILABLE" if status >= 500 else f"HTTP_{status}"
    )

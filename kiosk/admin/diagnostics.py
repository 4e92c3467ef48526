"""What a technician sees and does, shared by the diagnostics screen and `kiosk diag` (no Qt here).

`collect()` builds a `Report`: every device with its health (OK / Warning / Error / Offline), detail,
driver and port; the HIS link and its latency; the journal backlog with each open entry (masked); the
versions; the recent log (masked). `self_test()` runs one device's test (read a card, print a test
page, a 1-fen sale voided at once, a scan). Every action is logged with its time and result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import platform
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kiosk import __version__
from kiosk.config import Config
from kiosk.devices.base import Cancel, Detail, DeviceStatus, Health
from kiosk.domain.document import Align, Document, QrCode, Rule, Text
from kiosk.domain.errors import KioskError
from kiosk.domain.idnumber import mask_id_number, mask_name
from kiosk.domain.money import Money
from kiosk.logging_setup import mask_text

log = logging.getLogger("kiosk.admin.actions")

SELF_TEST_TIMEOUT_S = 15.0
DEVICE_KINDS = ("idcard", "insurance", "printer", "payment", "scanner")


@dataclass(frozen=True)
class DeviceRow:
    kind: str
    health: Health
    state: str
    detail: str
    message: str
    driver: str
    port: str


@dataclass(frozen=True)
class HisRow:
    url: str
    health: Health
    latency_ms: float | None
    error: str = ""


@dataclass(frozen=True)
class OpenEntry:
    key: str
    kind: str
    state: str
    created_at: str
    summary: str
    """The payload with names and ID numbers masked."""


@dataclass(frozen=True)
class Report:
    kiosk_id: str
    at: str
    devices: tuple[DeviceRow, ...]
    his: HisRow
    backlog: tuple[OpenEntry, ...]
    versions: Mapping[str, str]
    log: tuple[str, ...] = ()

    @property
    def worst(self) -> Health:
        order = list(Health)
        return max((row.health for row in (*self.devices, self.his)), key=order.index, default=Health.OK)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """A report as `as_dict` wrote it (the running kiosk's snapshot)."""
        return cls(
            kiosk_id=data["kiosk_id"],
            at=data["at"],
            devices=tuple(DeviceRow(**{**row, "health": Health(row["health"])}) for row in data["devices"]),
            his=HisRow(**{**data["his"], "health": Health(data["his"]["health"])}),
            backlog=tuple(OpenEntry(**entry) for entry in data["backlog"]),
            versions=data["versions"],
            log=tuple(data.get("log", ())),
        )

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ok"] = self.worst is Health.OK
        data["worst"] = self.worst.value
        data["backlog_count"] = len(self.backlog)
        return data


@dataclass(frozen=True)
class ActionResult:
    action: str
    ok: bool
    lines: tuple[str, ...]
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


def port_of(kind: str, config: Config) -> str:
    """Where the driver talks to its device, as the config says."""
    section = getattr(config.devices, kind)
    if section.driver == "sim":
        return "simulator"
    if kind == "insurance":
        return f"PC/SC reader '{section.reader or '(first)'}'"
    if section.driver == "escpos-network":
        return f"{section.host}:{section.port}"
    if section.driver == "escpos-usb":
        return f"usb {section.vendor_id:04x}:{section.product_id:04x}"
    baud = getattr(section, "baudrate", None)
    return f"{section.device} @ {baud}" if baud else section.device


def device_row(kind: str, device: Any, config: Config) -> DeviceRow:
    section = getattr(config.devices, kind)
    status: DeviceStatus | None = device.status() if device is not None else None
    if status is None:
        return DeviceRow(kind, Health.OFFLINE, "not-built", Detail.NONE.value, "driver could not be built",
                         section.driver, port_of(kind, config))
    return DeviceRow(kind, Health.of(status), status.state.value, status.detail.value, status.message,
                     section.driver, port_of(kind, config))


def his_row(his: Any, config: Config, clock: Callable[[], float] = time.perf_counter) -> HisRow:
    """One GET /health, timed."""
    if his is None:
        return HisRow(config.his.url, Health.OFFLINE, None, "no HIS client")
    started = clock()
    try:
        answer = his.health()
    except KioskError as exc:
        return HisRow(config.his.url, Health.OFFLINE, None, f"{type(exc).__name__}: {exc.detail or exc}")
    latency = round((clock() - started) * 1000, 1)
    return HisRow(config.his.url, Health.OK if answer.ok else Health.ERROR, latency)


def _masked(payload: Mapping[str, Any]) -> str:
    parts = []
    for key, value in sorted(payload.items()):
        text = str(value)
        if "name" in key:
            text = mask_name(text)
        elif "id_number" in key:
            text = mask_id_number(text)
        parts.append(f"{key}={mask_text(text)}")
    return ", ".join(parts)


def replace_his(report: Report, his: HisRow) -> Report:
    return dataclasses.replace(report, his=his)


def system_log(lines: int = 30) -> list[str]:
    """The kiosk unit's last log lines from journald (what `kiosk diag` shows over SSH); [] without it."""
    try:
        answer = subprocess.run(["journalctl", "-u", "kiosk.service", "-n", str(lines), "-o", "cat", "--no-pager"],
                                capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return answer.stdout.splitlines()[-lines:] if answer.returncode == 0 else []


def open_entries(journal: Any) -> tuple[OpenEntry, ...]:
    if journal is None:
        return ()
    return tuple(OpenEntry(e.key, e.kind, e.state.value, e.created_at, _masked(e.payload))
                 for e in journal.open_entries())


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"kiosk": __version__, "python": platform.python_version(), "os": platform.platform(terse=True)}
    for package in ("PySide6-Essentials", "pyserial", "python-escpos", "pyscard"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def collect(config: Config, devices: Mapping[str, Any], his: Any, journal: Any,
            recent_log: Sequence[str] = ()) -> Report:
    """The whole picture, once. `devices` maps kind -> driver (a kind that could not be built is absent)."""
    return Report(
        kiosk_id=config.kiosk.id,
        at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        devices=tuple(device_row(kind, devices.get(kind), config) for kind in DEVICE_KINDS),
        his=his_row(his, config),
        backlog=open_entries(journal),
        versions=versions(),
        log=tuple(mask_text(line) for line in recent_log),
    )


def test_page(config: Config) -> Document:
    """The printer self-test: Chinese text, double size, a QR and a ruler to check the print width."""
    now = dt.datetime.now()
    return Document(
        "print-test",
        (
            Text(config.kiosk.hospital_name, Align.CENTER, 2, 2, bold=True),
            Text("打印机自检 / Printer self-test", Align.CENTER),
            Rule(),
            Text(f"终端 Kiosk: {config.kiosk.id}"),
            Text(f"时间 Time: {now:%Y-%m-%d %H:%M:%S}"),
            Text("中文 GB18030: 门诊自助服务机 ¥12.50"),
            Text("倍高倍宽 Double", width=2, height=2),
            QrCode(f"KIOSK-TEST-{config.kiosk.id}"),
            Text("0        10        20        30        40      48"),
            Text("|----+----|----+----|----+----|----+----|----+--|"[:48]),
            Rule(),
        ),
    )


def _test_card(device: Any) -> tuple[str, ...]:
    card = device.read_card(SELF_TEST_TIMEOUT_S, Cancel())
    name = mask_name(getattr(card, "name", "") or "")
    number = getattr(card, "id_number", None) or getattr(card, "card_number", "")
    return (f"card read: {name} {mask_id_number(str(getattr(number, 'value', number)))}",)


def _test_payment(device: Any, config: Config) -> tuple[str, ...]:
    from kiosk.devices.payment import new_reference

    ref = new_reference(config.kiosk.id)
    sale = device.sale(ref, Money(1))
    lines = [f"sale 1 fen {ref}: rc {sale.rc} {sale.message}"]
    if sale.approved:
        void = device.void(new_reference(config.kiosk.id), ref)
        lines.append(f"void {ref}: rc {void.rc} {void.message}")
        if not void.approved:
            raise KioskError("the 1-fen test sale was approved but its void was not: " + "; ".join(lines))
    elif sale.rc:
        raise KioskError("; ".join(lines))
    return tuple(lines)


def _run_self_test(kind: str, device: Any, config: Config) -> tuple[str, ...]:
    if kind in ("idcard", "insurance"):
        return _test_card(device)
    if kind == "printer":
        device.print_document(test_page(config))
        return ("test page printed",)
    if kind == "payment":
        return _test_payment(device, config)
    return (f"code scanned: {mask_text(device.read_code(SELF_TEST_TIMEOUT_S, Cancel()))}",)


def self_test(kind: str, device: Any, config: Config) -> ActionResult:
    """One device's functional test; the outcome is logged as a technician action (never raised)."""
    if device is None:
        return record(ActionResult(f"selftest {kind}", False, ("device not available",)))
    try:
        lines = _run_self_test(kind, device, config)
    except KioskError as exc:
        return record(ActionResult(f"selftest {kind}", False,
                                   (f"{type(exc).__name__}: {mask_text(exc.detail or str(exc))}",)))
    return record(ActionResult(f"selftest {kind}", True, lines))


def record(result: ActionResult) -> ActionResult:
    """Log a technician action with its time and result."""
    log.info("technician action", extra={"action": result.action, "ok": result.ok, "at": result.at,
                                         "result": " | ".join(result.lines)})
    return result


def render_text(report: Report) -> list[str]:
    """The report as plain lines for a terminal."""
    lines = [f"kiosk {report.kiosk_id} at {report.at}: {report.worst.value.upper()}", "devices:"]
    for row in report.devices:
        detail = "" if row.detail == Detail.NONE.value else f" {row.detail}"
        lines.append(f"  {row.kind:<9} {row.health.value.upper():<7} {row.state}{detail}  "
                     f"driver={row.driver} port={row.port} {' '.join(row.message.split())}".rstrip())
    latency = f"{row.latency_ms} ms" if (row := report.his).latency_ms is not None else row.error
    lines.append(f"his: {row.health.value.upper()} {row.url} {latency}")
    lines.append(f"journal backlog: {len(report.backlog)}")
    lines += [f"  {e.key} {e.kind} {e.state} since {e.created_at}: {e.summary}" for e in report.backlog]
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()))
    if report.log:
        lines.append("recent log:")
        lines += [f"  {line}" for line in report.log]
    return lines

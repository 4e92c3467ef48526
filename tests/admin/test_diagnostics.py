"""The diagnostics data both the screen and `kiosk diag` show: health words, masking, the worst state."""

from __future__ import annotations

from kiosk_test_fakes import create_services

from kiosk.admin import diagnostics
from kiosk.devices.base import Detail, DeviceState, Health


def test_report_masks_the_log_and_names_the_worst_health() -> None:
    services = create_services()
    services.printer._status.set(DeviceState.ONLINE, Detail.PAPER_LOW)
    devices = {kind: getattr(services, kind) for kind in diagnostics.DEVICE_KINDS if getattr(services, kind)}
    log_line = 'card read for 张三 11010519491231002X phone 13812345678'
    report = diagnostics.collect(services.config, devices, services.his, None, [log_line])
    rows = {row.kind: row for row in report.devices}
    assert rows["printer"].health is Health.WARNING and rows["printer"].detail == "paper-low"
    assert rows["payment"].health is Health.OFFLINE and rows["payment"].state == "not-built"
    assert report.his.health is Health.OK and report.his.latency_ms is not None
    assert report.worst is Health.OFFLINE and not report.as_dict()["ok"]
    assert "11010519491231002X" not in report.log[0] and "13812345678" not in report.log[0]
    assert diagnostics.Report.from_dict(report.as_dict()) == report
    services.his.down = True
    assert diagnostics.his_row(services.his, services.config).health is Health.OFFLINE


def test_self_test_failure_is_a_result_not_an_exception() -> None:
    services = create_services()
    result = diagnostics.self_test("idcard", services.idcard, services.config)  # no card on the reader
    assert not result.ok and result.lines[0].startswith("NoCard")
    assert diagnostics.self_test("payment", None, services.config).lines == ("device not available",)

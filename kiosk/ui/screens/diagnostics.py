"""diagnostics: the technician's screen — every device's health with a self-test, the HIS link, the
journal backlog, versions and the recent log, restart. The data comes from kiosk.admin.diagnostics."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton

from kiosk.admin.diagnostics import DEVICE_KINDS, ActionResult, Report
from kiosk.devices.base import Detail, Health
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.common import button, label, set_role

LOG_LINES = 12


class DiagnosticsScreen(Screen):
    name = "diagnostics"
    show_navigation = False
    refresh_requested = Signal()
    self_test_requested = Signal(str)
    restart_requested = Signal()
    closed = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        layout = self.column(14, (40, 24))
        self.title = label("", "subtitle", name="title")
        layout.addWidget(self.title)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        self.health: dict[str, QLabel] = {}
        self.details: dict[str, QLabel] = {}
        self.tests: dict[str, QPushButton] = {}
        self.names: dict[str, QLabel] = {}
        for row, kind in enumerate((*DEVICE_KINDS, "his")):
            self.names[kind] = label("", "diag-name")
            self.health[kind] = label("", "health")
            self.health[kind].setObjectName(f"health-{kind}")
            self.details[kind] = label("", "diag-detail")
            grid.addWidget(self.names[kind], row, 0)
            grid.addWidget(self.health[kind], row, 1)
            grid.addWidget(self.details[kind], row, 2)
            if kind != "his":
                self.tests[kind] = button("", "diag-action", name=f"selftest-{kind}")
                self.tests[kind].clicked.connect(lambda _=False, k=kind: self.self_test_requested.emit(k))
                grid.addWidget(self.tests[kind], row, 3)
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)
        self.action = label("", "diag-detail")
        self.action.setObjectName("diag_action")
        self.backlog = label("", "diag-detail")
        self.backlog.setObjectName("diag_backlog")
        self.versions = label("", "diag-detail")
        self.log = QPlainTextEdit()
        self.log.setObjectName("diag_log")
        self.log.setReadOnly(True)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setMaximumBlockCount(200)
        for widget in (self.action, self.backlog, self.versions):
            layout.addWidget(widget)
        layout.addWidget(self.log, 1)
        row = QHBoxLayout()
        self.refresh = button("", "diag-action", name="refresh")
        self.refresh.clicked.connect(self.refresh_requested.emit)
        self.restart = button("", "diag-action", name="restart")
        self.restart.clicked.connect(self.restart_requested.emit)
        self.exit = button("", "primary", name="home")
        self.exit.clicked.connect(self.closed.emit)
        row.addWidget(self.refresh)
        row.addWidget(self.restart)
        row.addWidget(self.exit, 1)
        layout.addLayout(row)
        self._report: Report | None = None
        self._action: ActionResult | None = None

    def show_report(self, report: Report) -> None:
        self._report = report
        self.retranslate()

    def show_action(self, result: ActionResult) -> None:
        self._action = result
        self.retranslate()

    def _set_health(self, kind: str, health: Health, detail: str) -> None:
        self.health[kind].setText(self.t.tr(f"health.{health.value}"))
        set_role(self.health[kind], "health", health=health.value)
        self.details[kind].setText(detail)

    def retranslate(self) -> None:
        t = self.t
        for kind in (*DEVICE_KINDS, "his"):
            self.names[kind].setText(t.tr(f"device.{kind}"))
        for button_ in self.tests.values():
            button_.setText(t.tr("admin.selftest"))
        self.refresh.setText(t.tr("admin.refresh"))
        self.restart.setText(t.tr("admin.restart"))
        self.exit.setText(t.tr("admin.exit"))
        report = self._report
        if report is None:
            self.title.setText(t.tr("admin.diag_title", kiosk="", worst="…"))
            return
        self.title.setText(t.tr("admin.diag_title", kiosk=report.kiosk_id, worst=t.tr(f"health.{report.worst.value}")))
        for row in report.devices:
            detail = "" if row.detail == Detail.NONE.value else f"{row.detail} · "
            self._set_health(row.kind, row.health, f"{detail}{row.state} · {row.driver} · {row.port}")
        his = report.his
        latency = f"{his.latency_ms:.0f} ms" if his.latency_ms is not None else his.error
        self._set_health("his", his.health, f"{latency} · {his.url}")
        entries = [f"  {e.kind} {e.state} {e.created_at[:19]} {e.summary}" for e in report.backlog[:5]]
        self.backlog.setText("\n".join([t.tr("admin.backlog", count=len(report.backlog)), *entries]))
        self.versions.setText(" · ".join(f"{k} {v}" for k, v in report.versions.items()))
        self.log.setPlainText("\n".join(report.log[-LOG_LINES:]))
        self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())  # the newest line shows
        action = self._action
        self.action.setText(
            f"{action.at} {action.action}: {t.tr('admin.ok' if action.ok else 'admin.failed')} "
            + " | ".join(action.lines) if action else ""
        )

"""The 对账 report for the cashier's office: one self-contained HTML page (opens in any browser, prints on
A4) and the same lines as CSV (UTF-8 with BOM, so a spreadsheet opens the Chinese right)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html import escape

from kiosk.domain.money import Money, total
from kiosk.flows.reconcile import Line, Reconciliation, method_label

CSV_COLUMNS = ("时间", "方式", "参考号", "终端金额", "HIS金额", "HIS缴费号", "收据号", "结果", "处理办法", "说明")

_STYLE = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif; color: #111;
       margin: 0 auto; max-width: 190mm; font-size: 10.5pt; line-height: 1.45; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 7mm 0 2mm; border-bottom: 0.5mm solid #333; padding-bottom: 1mm; }
.meta { color: #444; margin: 0 0 4mm; }
.verdict { padding: 3mm 4mm; border-radius: 2mm; font-weight: bold; margin: 3mm 0; }
.verdict.ok { background: #e6f4ea; border: 0.4mm solid #2e7d32; color: #1b5e20; }
.verdict.bad { background: #fdecea; border: 0.4mm solid #c62828; color: #8e0000; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 3mm; }
th, td { border: 0.25mm solid #999; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: bold; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.ref { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }
tr.bad td { background: #fff4f2; }
td.action { font-weight: bold; color: #8e0000; }
td.short { white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
.lines td, .lines th { font-size: 9pt; }
footer { margin-top: 8mm; color: #555; font-size: 9pt; }
.sign { margin-top: 10mm; display: flex; gap: 20mm; }
"""


def _yuan(amount: Money | None) -> str:
    return "" if amount is None else amount.yuan_text


def _time(at: dt.datetime) -> str:
    return at.strftime("%H:%M:%S")


def _row(line: Line) -> str:
    cls = "" if line.status.ok else ' class="bad"'
    return (f"<tr{cls}><td>{escape(_time(line.at))}</td><td>{escape(method_label(line.method))}</td>"
            f'<td class="ref">{escape(line.reference)}</td><td class="num">{_yuan(line.terminal_amount)}</td>'
            f'<td class="num">{_yuan(line.his_amount)}</td><td>{escape(", ".join(line.receipt_nos))}</td>'
            f"<td>{escape(line.status.label)}</td></tr>")


def html(rec: Reconciliation, hospital: str) -> str:
    """The report as one HTML page."""
    bad = rec.mismatches
    verdict = (f'<div class="verdict ok">全部一致：{len(rec.lines)} 笔交易，终端、HIS与本机日志相符。</div>' if not bad
               else f'<div class="verdict bad">发现 {len(bad)} 笔不一致，请按下表处理。</div>')
    totals = "".join(f'<tr><td>{escape(t.label)}</td><td class="num">{t.count}</td>'
                     f'<td class="num">{t.amount.yuan_text}</td></tr>' for t in rec.totals)
    totals += (f'<tr><th>合计</th><th class="num">{sum(t.count for t in rec.totals)}</th>'
               f'<th class="num">{total([t.amount for t in rec.totals]).yuan_text}</th></tr>')
    if rec.settlement is not None:
        s = rec.settlement
        agrees = "一致" if rec.settlement_agrees else "不一致：请核对终端结算单与HIS银行卡收入"
        batch = (f"<tr><td>终端结算（批次 {escape(s.batch)}）</td><td class=\"num\">{s.count}</td>"
                 f"<td class=\"num\">{s.total.yuan_text}</td><td>{agrees}</td></tr>")
    else:
        batch = f'<tr><td>终端结算</td><td colspan="3">{escape(rec.settlement_note or "未结算")}</td></tr>'
    card = (f'<tr><td>终端查询：已扣款未撤销（减退款）</td><td></td><td class="num">{rec.terminal_charged.yuan_text}</td>'
            f'<td>{"一致" if rec.terminal_charged == rec.his_card_net else "不一致"}</td></tr>')
    mismatch_rows = "".join(
        f'<tr class="bad"><td class="short">{escape(_time(line.at))}</td>'
        f'<td class="short">{escape(method_label(line.method))}</td>'
        f'<td class="ref">{escape(line.reference)}</td><td class="num">{_yuan(line.terminal_amount)}</td>'
        f'<td class="num">{_yuan(line.his_amount)}</td><td class="short">{escape(line.status.label)}</td>'
        f'<td class="action">{escape(line.status.action)}</td></tr>' for line in bad)
    mismatches = (f"<h2>需处理的不一致（{len(bad)}）</h2><table><thead><tr><th>时间</th><th>方式</th><th>参考号</th>"
                  f'<th class="num">终端</th><th class="num">HIS</th><th>情况</th><th>处理办法</th></tr></thead>'
                  f"<tbody>{mismatch_rows}</tbody></table>") if bad else ""
    notes = "".join(f"<li>{escape(n)}</li>" for n in rec.notes)
    rows = "".join(_row(line) for line in rec.lines)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>对账报告 {rec.day.isoformat()} {escape(rec.kiosk_id)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(hospital)} 自助机对账报告</h1>
<p class="meta">日期 {rec.day.isoformat()} · 自助机 {escape(rec.kiosk_id)} · 生成于 {escape(rec.generated_at)}</p>
{verdict}
<h2>按支付方式合计（HIS已入账）</h2>
<table><thead><tr><th>支付方式</th><th class="num">笔数</th><th class="num">金额（元）</th></tr></thead>
<tbody>{totals}</tbody></table>
<h2>终端核对</h2>
<table><thead><tr><th>项目</th><th class="num">笔数</th><th class="num">金额（元）</th><th>与HIS银行卡合计</th></tr></thead>
<tbody>{batch}{card}</tbody></table>
{mismatches}
<h2>交易明细（{len(rec.lines)}）</h2>
<table class="lines"><thead><tr><th>时间</th><th>方式</th><th>参考号</th><th class="num">终端</th>
<th class="num">HIS</th><th>收据号</th><th>结果</th></tr></thead><tbody>{rows}</tbody></table>
{f"<ul>{notes}</ul>" if notes else ""}
<footer>终端金额取自终端按参考号查询（ECR 04）的结果；HIS金额取自 GET /payments；本机日志为自助机交易日志。
<div class="sign"><span>收费处核对人：__________</span><span>日期：__________</span></div></footer>
</body></html>
"""


def csv_text(rec: Reconciliation) -> str:
    """The same lines as CSV, one per transaction."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in rec.lines:
        writer.writerow([line.at.isoformat(timespec="seconds"), method_label(line.method), line.reference, _yuan(line.terminal_amount),
                         _yuan(line.his_amount), " ".join(line.payment_ids), " ".join(line.receipt_nos),
                         line.status.label, line.status.action, line.detail])
    return out.getvalue()

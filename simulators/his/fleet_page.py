"""The fleet page: one static HTML file; it asks for a token once and shows GET /api/v1/kiosks, refreshed.

The page itself is public (it holds no data); the list needs the same bearer token as every API call, which
the browser keeps for the tab only (sessionStorage).
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>自助机状态 Kiosk fleet</title>
<style>
 body { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; margin: 24px; color: #111827; background: #f3f4f6; }
 h1 { font-size: 24px; margin: 0 0 4px; }
 #summary { color: #374151; margin-bottom: 16px; }
 table { border-collapse: collapse; width: 100%; background: #fff; }
 th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
 th { background: #0b4f8a; color: #fff; }
 .standing { font-weight: bold; border-radius: 6px; padding: 2px 10px; color: #fff; white-space: nowrap; }
 .down { background: #4b5563; } .fault { background: #b91c1c; } .warning { background: #b45309; } .ok { background: #15803d; }
 #login { margin: 16px 0; } #error { color: #b91c1c; }
</style>
</head>
<body>
<h1>门诊自助机状态 · Kiosk fleet</h1>
<div id="summary">—</div>
<div id="satisfaction"></div>
<form id="login" hidden><label>Token <input id="token" type="password" autocomplete="off"></label>
 <button type="submit">查看 Show</button></form>
<div id="error"></div>
<table id="kiosks" hidden>
 <thead><tr><th>终端 Kiosk</th><th>状态 Standing</th><th>问题 Problems</th><th>最后心跳 Last seen</th>
 <th>版本 Version</th><th>待处理 Backlog</th><th>满意度 Satisfaction (满意/一般/不满意)</th></tr></thead>
 <tbody></tbody>
</table>
<script>
const LABEL = {down: "离线 Down", fault: "故障 Fault", warning: "注意 Warning", ok: "正常 OK"};
const form = document.getElementById("login");
function ratings(counts) {
  const tasks = Object.keys(counts).sort();
  return tasks.map(t => t + " " + ["good", "ok", "bad"].map(r => counts[t][r] || 0).join("/")).join(" · ") || "—";
}
function cell(row, text, cls) { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }
async function load() {
  const token = sessionStorage.getItem("fleet-token");
  if (!token) { form.hidden = false; return; }
  const answer = await fetch("kiosks", {headers: {Authorization: "Bearer " + token}});
  if (answer.status === 401) { sessionStorage.removeItem("fleet-token"); form.hidden = false;
    document.getElementById("error").textContent = "Token refused"; return; }
  const body = await answer.json();
  const tbody = document.querySelector("#kiosks tbody");
  tbody.replaceChildren();
  for (const k of body.kiosks) {
    const row = tbody.insertRow(); row.id = "kiosk-" + k.kiosk_id; row.dataset.standing = k.standing;
    cell(row, k.kiosk_id);
    const badge = document.createElement("span"); badge.className = "standing " + k.standing;
    badge.textContent = LABEL[k.standing]; row.insertCell().append(badge);
    cell(row, k.problems.join("; ") || "—");
    cell(row, k.last_seen.replace("T", " ") + " (" + Math.round(k.seconds_since / 60) + " min)");
    cell(row, k.version); cell(row, String(k.journal_backlog)); cell(row, ratings(k.satisfaction), "satisfaction");
  }
  const totals = document.getElementById("satisfaction");
  totals.textContent = "满意度 Satisfaction, all kiosks: " + ratings(body.satisfaction_totals || {});
  const count = s => body.kiosks.filter(k => k.standing === s).length;
  document.getElementById("summary").textContent = body.kiosks.length + " kiosks · " + count("down") + " down · "
    + count("fault") + " fault · " + count("warning") + " warning · as of " + body.server_time.replace("T", " ");
  document.getElementById("kiosks").hidden = false; form.hidden = true;
  document.body.dataset.loaded = "true";
}
form.addEventListener("submit", e => { e.preventDefault();
  sessionStorage.setItem("fleet-token", document.getElementById("token").value); load(); });
load(); setInterval(load, 30000);
</script>
</body>
</html>
"""

"""The HTML report's style sheet and script, inline in the page (no file, no network).

The page's Content-Security-Policy names each by its SHA-256: change a character here
and the page computes the new digest itself (kamflow.htmlreport._page).
"""

from __future__ import annotations

# Chinese text renders with the fonts each system has (PingFang/Hiragino on macOS,
# Microsoft YaHei on Windows, Noto CJK/WenQuanYi on Linux).
FONTS = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,'
    ' "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC",'
    ' "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif'
)

STYLE = (
    """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa;
  --accent: #2f6fde; --good: #2e8b57; --bad: #c0392b; --warn: #d68910; }
* { box-sizing: border-box; }
body { margin: 0; font-family: FONTS; color: var(--ink); background: var(--bg);
  font-size: 14px; line-height: 1.45; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header.top { background: #102a43; color: #fff; padding: 14px 0 10px; }
header.top h1 { margin: 0; font-size: 22px; }
header.top .meta { color: #bcccdc; margin: 2px 0 8px; }
header.top nav a { color: #fff; margin-right: 18px; text-decoration: none; font-weight: 600; }
.zh { color: var(--muted); font-weight: normal; font-size: 0.8em; }
header.top .zh { color: #9fb3c8; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  margin: 18px 0; padding: 6px 20px 18px; }
h2 { font-size: 19px; margin: 14px 0 4px; }
h3 { font-size: 16px; } h4 { margin: 18px 0 6px; font-size: 14px; }
.meta, .legend, .note, .none { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px;
  background: #fbfcfd; color: var(--muted); }
.card .big { font-size: 20px; font-weight: 700; color: var(--ink); }
.charts { display: grid; grid-template-columns: 3fr 2fr; gap: 16px; }
figure { margin: 10px 0; } figcaption { color: var(--muted); margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; background: #fff; font-family: FONTS; }
svg.chart.sized { width: auto; max-width: 100%; }
svg .axis { stroke: #52606d; stroke-width: 1; }
svg .grid { stroke: #e4e7eb; stroke-width: 1; }
svg .tick, svg .label { font-size: 11px; fill: var(--muted); }
svg .value { font-size: 12px; fill: var(--ink); font-weight: 600; }
svg .bar { fill: #7aa7f0; } svg .bar.loss { fill: #e8a198; }
svg .bar.MVC { fill: var(--good); } svg .bar.MGC { fill: var(--accent); }
svg .bar.standard { fill: #9aa5b1; } svg .bar.BZ { fill: var(--bad); }
svg .curve { fill: none; stroke: #102a43; stroke-width: 2; }
svg .point { fill: #102a43; }
svg .point.in { fill: var(--good); } svg .point.out { fill: var(--warn); }
svg .threshold { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .zone { fill: #2e8b57; fill-opacity: 0.09; }
svg .person rect { fill: #f0f4f8; stroke: #7b8794; stroke-width: 1; }
svg .person.influence-high rect { stroke: #102a43; stroke-width: 3; }
svg .person.influence-medium rect { stroke-width: 2; }
svg .person.attitude-champion rect { fill: #c6f6d5; }
svg .person.attitude-supporter rect { fill: #e3f9e5; }
svg .person.attitude-skeptic rect { fill: #fde8d7; }
svg .person.attitude-opponent rect { fill: #f8d7da; }
svg .person .name { font-weight: 700; font-size: 12px; fill: var(--ink); }
svg .person .title, svg .person .roles { font-size: 11px; fill: var(--muted); }
svg .reports { fill: none; stroke: #52606d; stroke-width: 1.5; }
svg .influence { fill: none; stroke: var(--accent); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg .arrowhead { fill: var(--accent); }
svg .gap rect { fill: #fff5f5; stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg .gap text { font-size: 12px; fill: var(--bad); }
.scroll { overflow-x: auto; max-height: 560px; overflow-y: auto; margin: 8px 0; }
table { border-collapse: collapse; width: max-content; min-width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
th { position: sticky; top: 0; background: #eef2f7; text-align: left; cursor: pointer;
  user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
td.text { white-space: pre-line; max-width: 26em; } .num { text-align: right; white-space: nowrap; }
td.neg { color: var(--bad); } tbody tr:hover { background: #f5f9ff; }
.board { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 12px 0; }
.lane { background: #f5f7fa; border-radius: 6px; padding: 4px 10px 10px; }
.lane h3 { font-size: 14px; text-transform: capitalize; margin: 6px 0; }
.lane ul { list-style: none; margin: 0; padding: 0; }
.lane li { background: #fff; border: 1px solid var(--line); border-left: 4px solid #9aa5b1;
  border-radius: 4px; padding: 6px 8px; margin: 6px 0; }
.lane li.overdue { border-left-color: var(--bad); } .lane li.empty { color: var(--muted); }
.sev { font-size: 11px; padding: 0 5px; border-radius: 8px; background: #e4e7eb; }
.sev.high, .sev.critical { background: #f8d7da; }
ul.index { columns: 4 220px; padding-left: 18px; }
.key { color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: 12px; }
.class { font-size: 11px; padding: 0 5px; border-radius: 8px; background: #e4e7eb; }
.class.MVC { background: #c6f6d5; } .class.BZ { background: #f8d7da; }
.class.MGC { background: #dbe7fb; }
.account { display: none; border-top: 3px solid var(--accent); margin-top: 18px; }
.account:target { display: block; }
dl.profile { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
dl.profile dt { color: var(--muted); } dl.profile dd { margin: 0; white-space: pre-line; }
footer { color: var(--muted); padding: 10px 20px 30px; }
@media (max-width: 900px) { .charts, .board { grid-template-columns: 1fr; } }
@media print { .account { display: block; } .scroll { max-height: none; } }
"""
).replace("FONTS", FONTS)

# Click a table's header to sort its rows by that column (again: the other way).
# Numbers sort by their value (data-v), text in Chinese collation order.
SCRIPT = """
(function () {
  "use strict";
  function value(cell) {
    var raw = cell.getAttribute("data-v");
    if (raw !== null) { return raw === "" ? -Infinity : Number(raw); }
    return cell.textContent;
  }
  function compare(x, y) {
    if (typeof x === "number" && typeof y === "number") { return x === y ? 0 : (x < y ? -1 : 1); }
    if (typeof x === "number") { return -1; }
    if (typeof y === "number") { return 1; }
    return x.localeCompare(y, "zh-CN");
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table");
      var body = table.tBodies[0];
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      var up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var order = compare(value(a.cells[index]), value(b.cells[index]));
        return up ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""

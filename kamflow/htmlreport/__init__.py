"""`kamflow report html`: the portfolio, the complaint board, the principles report and
a page per account, in ONE self-contained HTML file that works offline.

Everything is inline: the style sheet, a few lines of script (click a table's header
to sort it), the charts as SVG drawn in Python (``charts``). Nothing is fetched when
the file is viewed: its Content-Security-Policy allows no source at all but the page's
own style sheet and script, named by their SHA-256, so even text that slipped past the
escaping could neither load nor run anything. Every text from the store is escaped
(``charts.esc``): an account named ``<script>...`` is shown as that text.

The page is built from the same reports as the command line (``kamflow.projections.
reports``): what it shows is what ``report portfolio|complaints|principles|file|
buying-centre --json`` say, as of the same day.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from kamflow import __version__
from kamflow.htmlreport import charts
from kamflow.htmlreport.assets import SCRIPT, STYLE
from kamflow.htmlreport.charts import esc
from kamflow.output import FLAG, MONEY, NUMBER, Col, escape
from kamflow.projections.db import ViewDB
from kamflow.projections.reports import builder
from kamflow.projections.reports.base import Report, ReportParams, policy, split_list

# The views the page reads (kamflow.projections.reports.READS of its reports).
READS = ("accounts", "people", "visits", "complaints", "ledger", "market", "governance")
OPEN_STATUSES = ("raised", "acknowledged", "investigating", "escalated")
VALUE_CLASSES = ("MVC", "MGC", "standard", "BZ")
# The customer file's sections shown on an account's page, in this order, as tables.
FILE_TABLES = (
    "visits",
    "issues",
    "complaints",
    "ledger",
    "sales_by_product",
    "opportunities",
    "competitors",
    "satisfaction",
    "team",
    "exceptions",
    "personnel_changes",
    "sales",
    "payments",
    "service_costs",
)


def build(db: ViewDB, params: ReportParams) -> tuple[str, int]:
    """The page over caught-up views (as ``params`` asks: its day, zone and currency),
    and how many account pages it has. Raises what the reports raise."""
    portfolio = builder("portfolio")(db, params)
    complaints = builder("complaints")(db, replace(params, key=None))
    principles = builder("principles")(db, params)
    centre = builder("buying-centre")(db, params)
    keys = sorted(
        {r["key"] for r in portfolio.rows},
        key=lambda k: (str(_name(portfolio, k)).casefold(), k),
    )
    files = {key: builder("file")(db, replace(params, key=key)) for key in keys}
    people = _people(db)
    names = {r["key"]: r["name"] for r in portfolio.rows}
    gaps = {r["key"]: r for r in centre.rows}
    body = [
        _header(params, len(keys)),
        '<main class="wrap">',
        _portfolio(db, portfolio),
        _complaints(complaints, names),
        _principles(principles, names),
        _accounts(keys, files, people, gaps, portfolio),
        "</main>",
        f'<footer class="wrap">kamflow {esc(__version__)} · as of {esc(params.today)}</footer>',
    ]
    return _page(f"kamflow report, as of {params.today}", body), len(keys)


def _name(report: Report, key: str) -> str:
    return next((str(r["name"]) for r in report.rows if r["key"] == key), key)


def _people(db: ViewDB) -> dict[str, list[charts.Person]]:
    if not db.table_exists("kf_contacts"):
        return {}
    found: dict[str, list[charts.Person]] = {}
    rows = db.query(
        "SELECT key, contact_id, name, title, roles, influence, attitude, reports_to,"
        " influenced_by FROM kf_contacts WHERE current=1"
    )
    for r in sorted(rows, key=lambda r: (r["key"], _id_order(r["contact_id"]))):
        found.setdefault(r["key"], []).append(
            charts.Person(
                contact_id=r["contact_id"],
                name=r["name"],
                title=r["title"] or "",
                roles=tuple(split_list(r["roles"])),
                influence=r["influence"],
                attitude=r["attitude"],
                reports_to=r["reports_to"],
                influenced_by=tuple(split_list(r["influenced_by"])),
            )
        )
    return found


def _id_order(short_id: str) -> tuple[int, str]:
    _, _, number = short_id.partition("-")
    return (int(number) if number.isdigit() else 0, short_id)


# ------------------------------------------------------------------ the page
def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _page(title: str, body: Sequence[str]) -> str:
    policy_ = (
        f"default-src 'none'; style-src 'sha256-{_digest(STYLE)}';"
        f" script-src 'sha256-{_digest(SCRIPT)}'; img-src data:; base-uri 'none';"
        " form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy_}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _header(params: ReportParams, accounts: int) -> str:
    return (
        '<header class="top"><div class="wrap"><h1>Key-account report'
        ' <span class="zh">大客户报告</span></h1>'
        f'<p class="meta">as of {esc(params.today)} · currency {esc(params.currency)} ·'
        f" {accounts} accounts</p>"
        '<nav><a href="#portfolio">Portfolio</a><a href="#complaints">Complaints</a>'
        '<a href="#principles">Principles</a><a href="#accounts">Accounts</a></nav>'
        "</div></header>"
    )


def _cell(value: Any, col: Col | None, *, link: bool = False) -> str:
    """One table cell: numbers right-aligned with their raw value to sort by, money
    with two decimals, yes/no for flags, ``-`` for nothing; a key links to its page."""
    kind = col.kind if col else None
    if isinstance(value, bool):
        return f'<td class="flag">{"yes" if value else "no"}</td>'
    if isinstance(value, int | Decimal) or kind in (NUMBER, MONEY):
        if value is None or value == "":
            return '<td class="num" data-v="">-</td>'
        number = Decimal(value)
        shown = f"{number:,.2f}" if kind == MONEY else f"{number:,f}"
        neg = " neg" if number < 0 else ""
        return f'<td class="num{neg}" data-v="{number}">{esc(shown)}</td>'
    if value is None or value == "" or value == []:
        return "<td>-</td>"
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    if link:
        return f'<td><a href="#account-{esc(value)}">{esc(value)}</a></td>'
    return f'<td class="text">{html_text(str(value))}</td>'


def html_text(text: str) -> str:
    """Prose from the store: escaped, its line breaks kept (the style sheet shows them)."""
    return html.escape(escape(text, keep_newlines=True), quote=True)


def _table(
    headers: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    layout: Mapping[str, Col],
    *,
    name: str,
    links: bool = True,
) -> str:
    if not rows:
        return '<p class="none">(none)</p>'
    head = "".join(
        f'<th scope="col" class="{_align(layout.get(h))}">{esc(h.replace("_", " "))}</th>'
        for h in headers
    )
    body = "".join(
        "<tr>"
        + "".join(_cell(r.get(h), layout.get(h), link=links and h == "key") for h in headers)
        + "</tr>"
        for r in rows
    )
    return (
        f'<div class="scroll"><table class="sortable" data-table="{esc(name)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _align(col: Col | None) -> str:
    if col is None:
        return "text"
    return "num" if col.kind in (NUMBER, MONEY) else ("flag" if col.kind == FLAG else "text")


def _cards(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="big">{esc(v)}</div><div>{esc(k)}</div></div>'
            for k, v in items
        )
        + "</div>"
    )


# ------------------------------------------------------------------ portfolio
def _portfolio(db: ViewDB, report: Report) -> str:
    s = report.sections.get("summary", {})
    cards = _cards(
        [
            ("accounts", str(s.get("accounts", 0))),
            ("revenue", f"{Decimal(s.get('revenue', 0)):,.2f}"),
            ("real profit", f"{Decimal(s.get('real_profit', 0)):,.2f}"),
            ("revenue from the top 20%", f"{s.get('top_20pct_revenue_share_pct') or '-'}%"),
            ("real profit from the top 20%", f"{s.get('top_20pct_profit_share_pct') or '-'}%"),
            ("80/20 holds", "yes" if s.get("pareto_80_20") else "no"),
        ]
    )
    ranked = [charts.Ranked(r["key"], r["name"], r["real_profit"]) for r in report.rows]
    placed = [
        charts.Placed(
            r["key"], r["name"], r["revenue"], r["cost_to_serve_pct"], r["margin_pct"], r["zone"]
        )
        for r in report.rows
        if r["revenue"] > 0 and r["cost_to_serve_pct"] is not None and r["margin_pct"] is not None
    ]
    classes = s.get("value_classes", {})
    profit = {c: sum((r["real_profit"] for r in report.rows if r["value_class"] == c), Decimal(0))
              for c in VALUE_CLASSES}  # fmt: skip
    counts = [
        (c, int(classes.get(c, 0)), f"{c}: {classes.get(c, 0)} accounts, real profit"
         f" {profit[c]:,.2f}")
        for c in VALUE_CLASSES
    ]  # fmt: skip
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in report.notes)
    return (
        '<section id="portfolio"><h2>Portfolio <span class="zh">客户组合</span></h2>'
        f'<p class="meta">{esc(report.title)}</p>{cards}'
        '<div class="charts">'
        "<figure><figcaption>80/20: real profit by account, and the running share"
        f" (line at {esc(policy(db, 'mvc-profit-share-pct'))}%)</figcaption>"
        f"{charts.pareto(ranked, policy(db, 'mvc-profit-share-pct'))}</figure>"
        "<figure><figcaption>Value classes: MVC (most valuable), MGC (most growable),"
        " standard, BZ (below zero)</figcaption>"
        f"{charts.bars('value-classes', 'Accounts per value class', counts)}</figure>"
        "</div>"
        '<figure class="wide"><figcaption>Key-account zone (大客户区间): revenue at least'
        f" {policy(db, 'zone-min-revenue'):,}, cost to serve at most"
        f" {policy(db, 'zone-max-cost-to-serve-pct')}%, margin at least"
        f" {policy(db, 'zone-min-margin-pct')}% (shaded)</figcaption>"
        + charts.zone(
            placed,
            policy(db, "zone-min-revenue"),
            policy(db, "zone-max-cost-to-serve-pct"),
            policy(db, "zone-min-margin-pct"),
        )
        + "</figure>"
        + _table(report.columns, report.rows, report.layout, name="portfolio")
        + notes
        + "</section>"
    )


# ------------------------------------------------------------------ complaints
def _complaints(report: Report, names: Mapping[str, str]) -> str:
    s = report.sections.get("summary", {})
    columns = []
    for status in OPEN_STATUSES:
        cards = [
            '<li class="complaint{over}"><a href="#account-{key}">{name}</a>'
            ' <b>{cid}</b> <span class="sev {sev}">{sev}</span><br>{age} days open,'
            " SLA {sla} days{late}</li>".format(
                over=" overdue" if r["overdue"] else "",
                key=esc(r["key"]),
                name=esc(names.get(r["key"], r["key"])),
                cid=esc(r["complaint_id"]),
                sev=esc(r["severity"]),
                age=r["age_days"],
                sla=r["sla_days"],
                late=f"; <b>{r['days_over']} over</b>" if r["overdue"] else "",
            )
            for r in report.rows
            if r["status"] == status
        ]
        shown = "".join(cards) or '<li class="empty">none</li>'
        columns.append(
            f'<div class="lane" data-status="{status}"><h3>{status} ({len(cards)})</h3>'
            f"<ul>{shown}</ul></div>"
        )
    return (
        '<section id="complaints"><h2>Complaint board <span class="zh">投诉</span></h2>'
        f'<p class="meta">{esc(report.title)}</p>'
        + _cards(
            [
                ("open", str(s.get("open", 0))),
                ("overdue against the SLA", str(s.get("overdue", 0))),
                ("most days over", str(s.get("most_days_over") or 0)),
            ]
        )
        + f'<div class="board">{"".join(columns)}</div>'
        + _table(report.columns, report.rows, report.layout, name="complaints")
        + "</section>"
    )


# ------------------------------------------------------------------ principles
def _principles(report: Report, names: Mapping[str, str]) -> str:
    s = report.sections.get("summary", {})
    counts = [
        {"principle": p, "violations": s[p]["violation"], "risks": s[p]["risk"]}
        for p in (f"P{i}" for i in range(1, 9))
        if isinstance(s.get(p), dict)
    ]
    layout = {"violations": Col(NUMBER), "risks": Col(NUMBER)}
    return (
        '<section id="principles"><h2>Principles P1-P8 <span class="zh">原则</span></h2>'
        f'<p class="meta">{esc(report.title)}</p>'
        + _cards(
            [
                ("violations", str(s.get("violations", 0))),
                ("risks", str(s.get("risks", 0))),
                ("accounts concerned", str(s.get("accounts_concerned", 0))),
            ]
        )
        + _table(["principle", "violations", "risks"], counts, layout, name="principles-summary")
        + _table(report.columns, report.rows, report.layout, name="principles")
        + "</section>"
    )


# ------------------------------------------------------------------ accounts
def _accounts(
    keys: Sequence[str],
    files: Mapping[str, Report],
    people: Mapping[str, Sequence[charts.Person]],
    centre: Mapping[str, Mapping[str, Any]],
    portfolio: Report,
) -> str:
    classes = {r["key"]: r for r in portfolio.rows}
    index = "".join(
        f'<li><a href="#account-{esc(k)}">{esc(classes[k]["name"])}</a>'
        f' <span class="key">{esc(k)}</span> <span class="class {esc(classes[k]["value_class"])}">'
        f"{esc(classes[k]['value_class'])}</span></li>"
        for k in keys
    )
    pages = "".join(
        _account(i, k, files[k], people.get(k, []), centre.get(k)) for i, k in enumerate(keys)
    )
    return (
        '<section id="accounts"><h2>Accounts <span class="zh">客户档案</span></h2>'
        '<p class="meta">Choose an account to open its page: its customer file and the'
        " relationship map of its buying centre.</p>"
        f'<ul class="index">{index}</ul>{pages}</section>'
    )


def _account(
    i: int,
    key: str,
    file: Report,
    people: Sequence[charts.Person],
    centre: Mapping[str, Any] | None,
) -> str:
    profile = file.sections.get("profile", {})
    facts = "".join(
        f"<dt>{esc(k.replace('_', ' '))}</dt><dd>{_shown(v)}</dd>" for k, v in profile.items()
    )
    gaps: list[str] = []
    if centre is not None:
        gaps += [
            f"missing: {role}" for role in split_list(centre["roles_missing"].replace(" ", ""))
        ]
        if centre["single_thread"]:
            gaps.append(
                "one thread, fragile" if centre["current_contacts"] else "no current contact"
            )
    missing = file.sections.get("completeness_missing", [])
    tables = "".join(
        f"<h4>{esc(name.replace('_', ' '))}</h4>"
        + _table(
            _headers(file.sections[name]), file.sections[name], file.layout, name=name, links=False
        )
        for name in FILE_TABLES
        if isinstance(file.sections.get(name), list)
    )
    return (
        f'<article class="account" id="account-{esc(key)}" data-key="{esc(key)}">'
        f'<p class="back"><a href="#accounts">all accounts</a></p>'
        f'<h3>{esc(profile.get("name", key))} <span class="key">{esc(key)}</span></h3>'
        f'<p class="meta">{esc(file.title)} · file {esc(file.sections.get("completeness_pct"))}%'
        " complete" + (f"; missing: {esc('; '.join(missing))}" if missing else "") + "</p>"
        f'<dl class="profile">{facts}</dl>'
        "<h4>Relationship map of the buying centre</h4>"
        '<p class="legend">Boxes: current contacts under the one they report to; a thick'
        " border is high influence; green a champion or supporter, red a skeptic or"
        " opponent; dashed arrows: who influences whom; dashed red: the gaps.</p>"
        + charts.relationship_map(people, gaps, str(i))
        + "<h4>people</h4>"
        + _table(file.columns, file.rows, file.layout, name="people", links=False)
        + tables
        + "</article>"
    )


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else html_text(str(value))


def _headers(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))

"""The key-account managers' scorecard (ADR 0021): one line per owner, for the
director's monthly review.

Rules, in plain words (each figure is the one its own report gives, per owner):
- ``revenue``, ``real_profit``: as the portfolio (reports.portfolio) over the period, in
  the report currency (default CNY), other currencies converted at the rate of each
  business date; ``MVC``, ``MGC``, ``BZ``: the owner's accounts of each value class
  (classes are of the whole portfolio);
- ``visits``: visits with a business date in the period (all time without one);
  ``cadence_ok``/``neglected``: the owner's served accounts within, or past, their
  tier's contact cadence at the report date (P5, reports.cadence);
- ``follow_ups``: issues found on visits still without a follow-up result (P6);
- ``complaints``/``overdue``: open complaints, and those past their tier's SLA (P7);
- ``won``/``lost``: opportunities won or lost in the period;
- ``weighted_pipeline``: open opportunities' budget x probability, in the report
  currency at the rate in force on the report date (reports.funnel);
- ``--compare`` adds each owner's revenue in the other period and the change.
Owners by revenue, biggest first; the ``total`` line adds them up.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from kamflow.output import ID, MONEY, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports import funnel, portfolio
from kamflow.projections.reports.base import (
    DEFAULT_CURRENCY,
    Report,
    ReportParams,
    owned_by,
    policy,
)
from kamflow.projections.reports.cadence import contact_rows, open_follow_ups
from kamflow.projections.reports.complaints import open_complaints
from kamflow.projections.reports.money import RateBook, check_currency, money
from kamflow.projections.reports.periods import change

COLUMNS = [
    "owner",
    "accounts",
    "revenue",
    "real_profit",
    "MVC",
    "MGC",
    "BZ",
    "visits",
    "cadence_ok",
    "neglected",
    "follow_ups",
    "complaints",
    "overdue",
    "won",
    "lost",
    "weighted_pipeline",
]
LAYOUT = {
    "owner": Col(ID, 1),
    "accounts": Col(NUMBER, 3),
    "revenue": Col(MONEY, 1),
    "real_profit": Col(MONEY, 1),
    "MVC": Col(NUMBER, 4),
    "MGC": Col(NUMBER, 5),
    "BZ": Col(NUMBER, 4),
    "visits": Col(NUMBER, 2),
    "cadence_ok": Col(NUMBER, 5),
    "neglected": Col(NUMBER, 2),
    "follow_ups": Col(NUMBER, 3),
    "complaints": Col(NUMBER, 4),
    "overdue": Col(NUMBER, 2),
    "won": Col(NUMBER, 3),
    "lost": Col(NUMBER, 4),
    "weighted_pipeline": Col(MONEY, 2),
    "revenue_then": Col(MONEY, 5),
    "revenue_change": Col(MONEY, 4),
    "revenue_change_pct": Col(NUMBER, 2),
    # The sections' tables.
    "amount": Col(MONEY, 1),
}
TOTAL = "total"


def build(db: ViewDB, params: ReportParams) -> Report:
    cur = params.currency or DEFAULT_CURRENCY
    if params.currency is not None:  # a currency asked for, not the default
        check_currency(db, cur)
    wanted = owned_by(db, params.owner)
    accounts, _, figures = portfolio.classified(db, params)
    owner_of = {a["key"]: a["owner"] for a in accounts}
    lines: dict[str, dict[str, Any]] = {}

    def line(owner: str) -> dict[str, Any]:
        if owner not in lines:
            lines[owner] = {c: 0 for c in COLUMNS} | {
                "owner": owner,
                "revenue": Decimal("0.00"),
                "real_profit": Decimal("0.00"),
                "weighted_pipeline": Decimal("0.00"),
            }
        return lines[owner]

    for a in accounts:
        r = line(a["owner"])
        r["accounts"] += 1
        r["revenue"] += a["revenue"]
        r["real_profit"] += a["real_profit"]
        if a["value_class"] in ("MVC", "MGC", "BZ"):
            r[a["value_class"]] += 1
    for key, visits in _visits(db, params):
        line(owner_of[key])["visits"] += visits
    for c in contact_rows(db, params):
        if c["cadence_days"] is not None:
            line(owner_of[c["key"]])["neglected" if c["neglected"] else "cadence_ok"] += 1
    for key, n in Counter(i["key"] for i in open_follow_ups(db, params)).items():
        line(owner_of[key])["follow_ups"] += n
    for c in open_complaints(db, params):
        r = line(owner_of[c["key"]])
        r["complaints"] += 1
        r["overdue"] += int(c["overdue"])
    missing = _opportunities(db, params, cur, owner_of, line)
    rows = [r for owner, r in lines.items() if wanted is None or owner in wanted]
    rows.sort(key=lambda r: (-r["revenue"], r["owner"]))
    columns = list(COLUMNS)
    if params.compare is not None:
        then = money(db, cur, params.compare)
        before: Counter[str] = Counter()
        for key, cents in then.revenue.items():
            before[owner_of.get(key, "")] += cents
        for r in rows:
            old = Decimal(before[r["owner"]]).scaleb(-2)
            r["revenue_then"] = old
            r["revenue_change"], r["revenue_change_pct"] = change(r["revenue"], old)
        columns[3:3] = ["revenue_then", "revenue_change", "revenue_change_pct"]
    # A percentage is not added up: the total's is of the totals (below).
    total = {
        c: sum(r[c] for r in rows) for c in columns if c not in ("owner", "revenue_change_pct")
    } | {"owner": TOTAL}
    if params.compare is not None:
        total["revenue_change"], total["revenue_change_pct"] = change(
            total["revenue"], total["revenue_then"]
        )
    sections: dict[str, Any] = {}
    if params.period is not None:
        sections["period"] = params.period.as_json()
    if params.compare is not None:
        sections["compared_with"] = params.compare.as_json()
    used = figures.rates_used()
    notes = []
    if used:
        sections["rates_used"] = used
    no_rate = figures.no_rate() + missing
    if no_rate:
        sections["no_rate"] = no_rate
        notes.append(f"{len(no_rate)} amounts have no rate to {cur} and are not counted")
    title = ", ".join(
        part
        for part in (
            cur,
            params.period.name if params.period else "",
            f"vs {params.compare.name}" if params.compare else "",
            f"as of {params.today}",
        )
        if part
    )
    return Report(
        title=f"scorecard ({title})",
        columns=columns,
        layout=LAYOUT,
        rows=[*rows, total] if rows else [],
        sections=sections,
        notes=notes,
    )


def _visits(db: ViewDB, params: ReportParams) -> list[tuple[str, int]]:
    if not db.table_exists("kf_visits"):
        return []
    if params.period is None:
        return db.rows("SELECT key, COUNT(*) FROM kf_visits GROUP BY key")
    return db.rows(
        "SELECT key, COUNT(*) FROM kf_visits WHERE occurred_on BETWEEN ? AND ? GROUP BY key",
        (params.period.start.isoformat(), params.period.end.isoformat()),
    )


def _opportunities(
    db: ViewDB,
    params: ReportParams,
    cur: str,
    owner_of: dict[str, str],
    line: Any,
) -> list[dict[str, Any]]:
    """Won and lost in the period, and the weighted pipeline, per owner; the budgets
    with no rate to ``cur``, listed."""
    if not db.table_exists("kf_opportunities"):
        return []
    chances = {s: policy(db, f"stage-probability.{s}") for s in funnel.OPEN}
    chances.update({"won": Decimal(100), "lost": Decimal(0)})
    book = RateBook(db)
    asked = ReportParams(today=params.today, currency=cur)
    missing: list[dict[str, Any]] = []
    used: dict[Any, int] = {}
    for o in db.query(
        "SELECT key, opportunity_id, stage, budget_cents, currency, closed_on, close_by,"
        " probability_pct FROM kf_opportunities"
    ):
        owner = owner_of.get(o["key"])
        if owner is None:
            continue
        if o["stage"] in ("won", "lost"):
            if funnel.in_period(o, params.period):
                line(owner)[o["stage"]] += 1
            continue
        funnel.value(o, chances, asked, book, missing, used)
        if o["weighted"] is not None:
            line(owner)["weighted_pipeline"] += o["weighted"]
    return missing

"""The portfolio: where revenue and profit come from (docs/domain.md, Value classes).

Rules, in plain words (thresholds are policies, see `kamflow policy show`):
- real profit = revenue - cost of sales - service cost, in the report currency;
- BZ (below zero): real profit below ``bz-profit-floor`` (default 0);
- MVC (most valuable): ranking accounts by real profit, the ones that together first
  reach ``mvc-profit-share-pct`` (default 80%) of the portfolio's positive real profit;
- MGC (most growable): neither, and revenue of the last 6 calendar months (up to the
  report date) at least ``mgc-growth-pct`` (default 20%) above the 6 months before,
  or revenue in the last 6 months and none before;
- standard: none of the above;
- key-account zone: revenue at least ``zone-min-revenue``, service cost at most
  ``zone-max-cost-to-serve-pct`` of revenue, gross margin at least
  ``zone-min-margin-pct`` of revenue; otherwise "large, costly to serve", "large, thin
  margin" (or both), or "small".
"""

from __future__ import annotations

import math
from decimal import Decimal
from statistics import median
from typing import Any, NamedTuple

from kamflow.output import ID, MONEY, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    from_cents,
    month_add,
    policy,
)

COLUMNS = [
    "key",
    "name",
    "tier",
    "value_class",
    "rule",
    "zone",
    "revenue",
    "gross_margin",
    "service_cost",
    "real_profit",
    "margin_pct",
    "cost_to_serve_pct",
    "months_to_profit",
]
# For people (a table that fits a terminal): who, which class, how much, first.
LAYOUT = {
    "key": Col(ID, 1),
    "name": Col(rank=1),
    "tier": Col(ID, 2),
    "value_class": Col(ID, 1),
    "rule": Col(rank=5),
    "zone": Col(rank=4),
    "revenue": Col(MONEY, 1),
    "gross_margin": Col(MONEY, 4),
    "service_cost": Col(MONEY, 4),
    "real_profit": Col(MONEY, 1),
    "margin_pct": Col(NUMBER, 3),
    "cost_to_serve_pct": Col(NUMBER, 4),
    "months_to_profit": Col(NUMBER, 3),
}
NEW_ACCOUNT_MONTHS = 24  # "new" key accounts: opened within two years of the report date


# Money and the first profitable month per account come from kf_account_money (the
# projector keeps first_profit_month up to date); revenue of the two half-years is one
# scan of the covering index kf_account_months_recent, in key order. Month arithmetic is done
# in SQL (as month numbers, year * 12 + month) so that Python touches each row once.
_MONTH = "(CAST(SUBSTR({0}, 1, 4) AS INTEGER) * 12 + CAST(SUBSTR({0}, 6, 2) AS INTEGER))"
_ROWS = f"""
SELECT a.key, a.name, a.tier,
       COALESCE(m.revenue_cents, 0), COALESCE(m.cost_of_sales_cents, 0),
       COALESCE(m.service_cost_cents, 0),
       COALESCE(g.recent, 0), COALESCE(g.prior, 0),
       {_MONTH.format("m.first_profit_month")} - {_MONTH.format("a.opened_on")},
       ? - {_MONTH.format("a.opened_on")}
FROM kf_accounts a
LEFT JOIN kf_account_money m ON m.key = a.key AND m.currency = ?
LEFT JOIN (
    SELECT key,
           SUM(CASE WHEN month >= ? THEN revenue_cents ELSE 0 END) AS recent,
           SUM(CASE WHEN month < ? THEN revenue_cents ELSE 0 END) AS prior
    FROM kf_account_months WHERE currency = ? AND month BETWEEN ? AND ? GROUP BY key
) g ON g.key = a.key
"""


def build(db: ViewDB, params: ReportParams) -> Report:
    cur = params.currency
    this = params.today.isoformat()[:7]
    since = month_add(this, -5)  # the last six months, this one included
    now = params.today.year * 12 + params.today.month
    found = db.rows(_ROWS, (now, cur, since, since, cur, month_add(this, -11), this))
    # Best real profit first (then key): the order of the table, of the top and bottom
    # 10, and in which MVC accumulates profit.
    found.sort(key=lambda f: (-(f[3] - f[4] - f[5]), f[0]))
    rows: list[dict[str, Any]] = []
    facts: list[Facts] = []
    for key, name, tier, revenue, cost, service, recent, prior, to_profit, age in found:
        gross = revenue - cost
        profit = gross - service
        rows.append(
            {
                "key": key,
                "name": name,
                "tier": tier,
                "value_class": "",
                "rule": "",
                "zone": "",
                "revenue": from_cents(revenue),
                "gross_margin": from_cents(gross),
                "service_cost": from_cents(service),
                "real_profit": from_cents(profit),
                "margin_pct": percent(gross, revenue),
                "cost_to_serve_pct": percent(service, revenue),
                "months_to_profit": None if to_profit is None else max(0, to_profit),
            }
        )
        facts.append(Facts(revenue, profit, recent, prior, age))
    _classify(db, rows, facts)
    _zone(db, rows, facts)
    other = db.query(
        "SELECT DISTINCT currency FROM kf_account_money WHERE currency<>? ORDER BY currency", (cur,)
    )
    return Report(
        title=f"portfolio ({cur}, as of {params.today})",
        columns=COLUMNS,
        layout=LAYOUT,
        rows=rows,
        sections={
            "summary": _summary(rows, facts),
            "top_10": _brief(rows[:10]),
            "bottom_10": _brief(rows[-10:][::-1]),
        },
        notes=[
            f"amounts in {o['currency']} are left out; use --currency {o['currency']}"
            for o in other
        ],
    )


class Facts(NamedTuple):
    """What the rules need of an account, in cents and months."""

    revenue: int
    profit: int
    recent: int  # revenue of the last six months
    prior: int  # revenue of the six months before
    age: int  # calendar months from opening to the report date


def percent(part: int, whole: int) -> Decimal | None:
    """``pct`` of two cent amounts, exactly: part/whole in percent, to 0.1, half-even."""
    if whole == 0:
        return None
    if whole < 0:  # a total loss: the same ratio with both signs turned
        part, whole = -part, -whole
    tenths, rest = divmod(part * 1000, whole)
    if rest * 2 > whole or (rest * 2 == whole and tenths % 2):
        tenths += 1
    return Decimal(tenths).scaleb(-1)


def _classify(db: ViewDB, rows: list[dict[str, Any]], facts: list[Facts]) -> None:
    floor = policy(db, "bz-profit-floor")
    share = policy(db, "mvc-profit-share-pct")
    growth = policy(db, "mgc-growth-pct")
    positive = sum(f.profit for f in facts if f.profit > 0)
    before = 0  # positive real profit of the accounts ranked above this one, in cents
    for r, f in zip(rows, facts, strict=True):  # best real profit first
        profit = f.profit
        if profit < floor * 100:
            r["value_class"] = "BZ"
            r["rule"] = f"real profit {r['real_profit']} is below bz-profit-floor {floor}"
            continue
        # MVC while the profit of the accounts before it is under share% of the total
        # (positive > 0 here: it includes this account's profit).
        if profit > 0 and before * 100 < share * positive:
            reached = Decimal(before * 100) / positive
            r["value_class"] = "MVC"
            r["rule"] = (
                f"among the accounts bringing the first {share}% of real profit"
                f" ({reached.quantize(Decimal('0.1'))}% before it)"
            )
            before += profit
            continue
        before += max(profit, 0)
        recent, prior = f.recent, f.prior
        if recent > 0 and prior == 0:
            r["value_class"] = "MGC"
            r["rule"] = (
                f"new revenue: {from_cents(recent)} in the last 6 months, none in the 6 before"
            )
        elif prior > 0 and (recent - prior) * 100 >= growth * prior:
            grew = (Decimal((recent - prior) * 100) / prior).quantize(Decimal("0.1"))
            r["value_class"] = "MGC"
            r["rule"] = (
                f"revenue grew {grew}% (last 6 months {from_cents(recent)} vs {from_cents(prior)});"
                f" mgc-growth-pct {growth}"
            )
        else:
            r["value_class"] = "standard"
            r["rule"] = "none of BZ, MVC, MGC applies"


def _zone(db: ViewDB, rows: list[dict[str, Any]], facts: list[Facts]) -> None:
    size = policy(db, "zone-min-revenue") * 100
    max_cost = policy(db, "zone-max-cost-to-serve-pct")
    min_margin = policy(db, "zone-min-margin-pct")
    for r, f in zip(rows, facts, strict=True):
        if f.revenue < size:
            r["zone"] = "small"
            continue
        costly = (r["cost_to_serve_pct"] or 0) > max_cost
        thin = (r["margin_pct"] or 0) < min_margin
        r["zone"] = (
            "large, costly and thin"
            if costly and thin
            else "large, costly to serve"
            if costly
            else "large, thin margin"
            if thin
            else "key-account zone"
        )


def _summary(rows: list[dict[str, Any]], facts: list[Facts]) -> dict[str, Any]:
    n = len(rows)
    head = math.ceil(n * 0.2)
    revenue = sum(f.revenue for f in facts)
    profit = sum(f.profit for f in facts)
    by_revenue = sorted(
        zip(rows, facts, strict=True), key=lambda rf: (-rf[1].revenue, rf[0]["key"])
    )
    big = [(r, f) for r, f in zip(rows, facts, strict=True) if r["tier"] in ("key", "strategic")]
    new_big = [r["months_to_profit"] for r, f in big if f.age < NEW_ACCOUNT_MONTHS]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["value_class"]] = counts.get(r["value_class"], 0) + 1
    top_rev_share = percent(sum(f.revenue for _, f in by_revenue[:head]), revenue)
    top_profit_share = percent(sum(f.profit for f in facts[:head]), profit)
    return {
        "accounts": n,
        "top_20pct_accounts": head,
        "revenue": from_cents(revenue),
        "real_profit": from_cents(profit),
        "top_20pct_revenue_share_pct": top_rev_share,
        "top_20pct_profit_share_pct": top_profit_share,
        "pareto_80_20": (None if top_rev_share is None else bool(top_rev_share >= 80)),
        "key_strategic_revenue_share_pct": percent(sum(f.revenue for _, f in big), revenue),
        "key_strategic_profit_share_pct": percent(sum(f.profit for _, f in big), profit),
        "value_classes": counts,
        "median_months_to_profit_new_key_accounts": (
            Decimal(str(median(m for m in new_big if m is not None)))
            if any(m is not None for m in new_big)
            else None
        ),
        "new_key_accounts_not_yet_profitable": sum(1 for m in new_big if m is None),
    }


def _brief(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: r[k] for k in ("key", "name", "tier", "value_class", "revenue", "real_profit")}
        for r in rows
    ]

"""The portfolio: where revenue and profit come from (playbook §1, §3, §4).

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
from typing import Any

from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    money,
    month_add,
    months_between,
    pct,
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
NEW_ACCOUNT_MONTHS = 24  # "new" key accounts: opened within two years of the report date


# One pass in SQL: money per account, revenue of the two half-years, and the first month
# in which cumulative real profit is above zero (a window function, on SQLite and
# PostgreSQL alike). 10,000 accounts then cost one query, not one row per month.
_ROWS = """
SELECT a.key, a.name, a.tier, a.opened_on,
       COALESCE(m.revenue_cents, 0), COALESCE(m.cost_of_sales_cents, 0),
       COALESCE(m.service_cost_cents, 0),
       COALESCE(g.recent, 0), COALESCE(g.prior, 0), p.first_month
FROM kf_accounts a
LEFT JOIN kf_account_money m ON m.key = a.key AND m.currency = ?
LEFT JOIN (
    SELECT key,
           SUM(CASE WHEN month BETWEEN ? AND ? THEN revenue_cents ELSE 0 END) AS recent,
           SUM(CASE WHEN month BETWEEN ? AND ? THEN revenue_cents ELSE 0 END) AS prior
    FROM kf_account_months WHERE currency = ? GROUP BY key
) g ON g.key = a.key
LEFT JOIN (
    SELECT key, MIN(month) AS first_month FROM (
        SELECT key, month, SUM(revenue_cents - cost_of_sales_cents - service_cost_cents)
               OVER (PARTITION BY key ORDER BY month) AS cumulative
        FROM kf_account_months WHERE currency = ?
    ) t WHERE cumulative > 0 GROUP BY key
) p ON p.key = a.key
ORDER BY a.key
"""


def build(db: ViewDB, params: ReportParams) -> Report:
    cur = params.currency
    this = params.today.isoformat()[:7]
    halves = (month_add(this, -5), this, month_add(this, -11), month_add(this, -6))
    other = db.query(
        "SELECT DISTINCT currency FROM kf_account_money WHERE currency<>? ORDER BY currency", (cur,)
    )
    rows: list[dict[str, Any]] = []
    for key, name, tier, opened_on, revenue, cost, service, recent, prior, first in db.rows(
        _ROWS, (cur, *halves, cur, cur)
    ):
        gross = revenue - cost
        rows.append(
            {
                "key": key,
                "name": name,
                "tier": tier,
                "opened_on": opened_on,
                "revenue": money(revenue),
                "gross_margin": money(gross),
                "service_cost": money(service),
                "real_profit": money(gross - service),
                "margin_pct": pct(Decimal(gross), Decimal(revenue)),
                "cost_to_serve_pct": pct(Decimal(service), Decimal(revenue)),
                "months_to_profit": None
                if first is None
                else max(0, months_between(opened_on, first)),
                "recent": money(recent),
                "prior": money(prior),
            }
        )

    _classify(db, rows)
    _zone(db, rows)
    rows.sort(key=lambda r: (-r["real_profit"], r["key"]))
    return Report(
        title=f"portfolio ({cur}, as of {params.today})",
        columns=COLUMNS,
        rows=[{c: r[c] for c in COLUMNS} for r in rows],
        sections={
            "summary": _summary(rows, params),
            "top_10": _brief(rows[:10]),
            "bottom_10": _brief(rows[-10:][::-1]),
        },
        notes=[
            f"amounts in {o['currency']} are left out; use --currency {o['currency']}"
            for o in other
        ],
    )


def _classify(db: ViewDB, rows: list[dict[str, Any]]) -> None:
    floor = policy(db, "bz-profit-floor")
    share = policy(db, "mvc-profit-share-pct")
    growth = policy(db, "mgc-growth-pct")
    positive = sum((r["real_profit"] for r in rows if r["real_profit"] > 0), Decimal(0))
    ranked = sorted(rows, key=lambda r: (-r["real_profit"], r["key"]))
    before = Decimal(0)
    for r in ranked:
        profit = r["real_profit"]
        if profit < floor:
            r["value_class"] = "BZ"
            r["rule"] = f"real profit {profit} is below bz-profit-floor {floor}"
            continue
        reached = before * 100 / positive if positive else Decimal(100)
        if profit > 0 and reached < share:
            r["value_class"] = "MVC"
            r["rule"] = (
                f"among the accounts bringing the first {share}% of real profit"
                f" ({reached.quantize(Decimal('0.1'))}% before it)"
            )
            before += profit
            continue
        before += max(profit, Decimal(0))
        recent, prior = r["recent"], r["prior"]
        if recent > 0 and prior == 0:
            r["value_class"] = "MGC"
            r["rule"] = f"new revenue: {recent} in the last 6 months, none in the 6 before"
        elif prior > 0 and (recent - prior) * 100 / prior >= growth:
            grew = ((recent - prior) * 100 / prior).quantize(Decimal("0.1"))
            r["value_class"] = "MGC"
            r["rule"] = (
                f"revenue grew {grew}% (last 6 months {recent} vs {prior}); mgc-growth-pct {growth}"
            )
        else:
            r["value_class"] = "standard"
            r["rule"] = "none of BZ, MVC, MGC applies"


def _zone(db: ViewDB, rows: list[dict[str, Any]]) -> None:
    size = policy(db, "zone-min-revenue")
    max_cost = policy(db, "zone-max-cost-to-serve-pct")
    min_margin = policy(db, "zone-min-margin-pct")
    for r in rows:
        if r["revenue"] < size:
            r["zone"] = "small"
            continue
        costly = (r["cost_to_serve_pct"] or Decimal(0)) > max_cost
        thin = (r["margin_pct"] or Decimal(0)) < min_margin
        r["zone"] = (
            "large, costly and thin"
            if costly and thin
            else "large, costly to serve"
            if costly
            else "large, thin margin"
            if thin
            else "key-account zone"
        )


def _summary(rows: list[dict[str, Any]], params: ReportParams) -> dict[str, Any]:
    n = len(rows)
    head = math.ceil(n * 0.2)
    revenue = sum((r["revenue"] for r in rows), Decimal(0))
    profit = sum((r["real_profit"] for r in rows), Decimal(0))
    by_revenue = sorted(rows, key=lambda r: (-r["revenue"], r["key"]))[:head]
    by_profit = sorted(rows, key=lambda r: (-r["real_profit"], r["key"]))[:head]
    big = [r for r in rows if r["tier"] in ("key", "strategic")]
    today = params.today.isoformat()
    new_big = [
        r["months_to_profit"]
        for r in big
        if months_between(r["opened_on"], today) < NEW_ACCOUNT_MONTHS
        and r["months_to_profit"] is not None
    ]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["value_class"]] = counts.get(r["value_class"], 0) + 1
    top_rev_share = pct(sum((r["revenue"] for r in by_revenue), Decimal(0)), revenue)
    top_profit_share = pct(sum((r["real_profit"] for r in by_profit), Decimal(0)), profit)
    return {
        "accounts": n,
        "top_20pct_accounts": head,
        "revenue": revenue,
        "real_profit": profit,
        "top_20pct_revenue_share_pct": top_rev_share,
        "top_20pct_profit_share_pct": top_profit_share,
        "pareto_80_20": (None if top_rev_share is None else bool(top_rev_share >= 80)),
        "key_strategic_revenue_share_pct": pct(
            sum((r["revenue"] for r in big), Decimal(0)), revenue
        ),
        "key_strategic_profit_share_pct": pct(
            sum((r["real_profit"] for r in big), Decimal(0)), profit
        ),
        "value_classes": counts,
        "median_months_to_profit_new_key_accounts": (
            Decimal(str(median(new_big))) if new_big else None
        ),
        "new_key_accounts_not_yet_profitable": sum(
            1
            for r in big
            if months_between(r["opened_on"], today) < NEW_ACCOUNT_MONTHS
            and r["months_to_profit"] is None
        ),
    }


def _brief(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: r[k] for k in ("key", "name", "tier", "value_class", "revenue", "real_profit")}
        for r in rows
    ]

"""The portfolio: where revenue and profit come from (docs/domain.md, Value classes).

Rules, in plain words (thresholds are policies, see `kamflow policy show`):
- money is in the report currency (default CNY); amounts in other currencies are
  converted at the rate in force on their business date (reports.money, ADR 0021);
  with a period, only the business dates in it count (reports.periods);
- real profit = revenue - cost of sales - service cost, in the report currency;
- BZ (below zero): real profit below ``bz-profit-floor`` (default 0);
- MVC (most valuable): ranking accounts by real profit, the ones that together first
  reach ``mvc-profit-share-pct`` (default 80%) of the portfolio's positive real profit;
- MGC (most growable): neither, and revenue of the last 6 calendar months (up to the
  report date, whatever the period) at least ``mgc-growth-pct`` (default 20%) above
  the 6 months before, or revenue in the last 6 months and none before;
- standard: none of the above;
- key-account zone: revenue at least ``zone-min-revenue``, service cost at most
  ``zone-max-cost-to-serve-pct`` of revenue, gross margin at least
  ``zone-min-margin-pct`` of revenue; otherwise "large, costly to serve", "large, thin
  margin" (or both), or "small";
- months to profit: from the account's opening to the first month whose cumulative
  real profit in the report currency (its own amounts, not converted ones) is positive;
- ``--owner`` keeps one person's accounts (their classes stay those of the whole
  portfolio); ``--by`` adds totals per owner, tier or industry; ``--compare`` adds each
  account's revenue and real profit in the other period and the change.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any, NamedTuple

from kamflow.output import ID, MONEY, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    DEFAULT_CURRENCY,
    Report,
    ReportParams,
    from_cents,
    month_add,
    owned_by,
    pct,
    policy,
)
from kamflow.projections.reports.money import Money, check_currency, foreign_months, money
from kamflow.projections.reports.periods import Period, change

COLUMNS = [
    "key",
    "name",
    "owner",
    "tier",
    "industry",
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
    "owner": Col(ID, 3),
    "tier": Col(ID, 2),
    "industry": Col(ID, 5),
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
    # --compare; the sections' tables (by owner, rates used, no rate).
    "revenue_then": Col(MONEY, 5),
    "revenue_change": Col(MONEY, 2),
    "revenue_change_pct": Col(NUMBER, 2),
    "real_profit_then": Col(MONEY, 5),
    "real_profit_change": Col(MONEY, 4),
    "real_profit_change_pct": Col(NUMBER, 4),
    "accounts": Col(NUMBER, 1),
    "revenue_share_pct": Col(NUMBER, 2),
    "MVC": Col(NUMBER, 3),
    "MGC": Col(NUMBER, 3),
    "BZ": Col(NUMBER, 3),
    "amount": Col(MONEY, 1),
}
COMPARE_LAYOUT = {
    "revenue_change_pct": Col(NUMBER, 1),
    "value_class": Col(ID, 2),
    "real_profit": Col(MONEY, 2),
}
NEW_ACCOUNT_MONTHS = 24  # "new" key accounts: opened within two years of the report date


# The first profitable month per account comes from kf_account_money (the projector keeps
# first_profit_month up to date); revenue of the two half-years is one scan of the
# covering index kf_account_months_recent, in key order. Month arithmetic is done in SQL
# (as month numbers, year * 12 + month) so that Python touches each row once. The money
# itself comes from reports.money (a period, other currencies converted).
_MONTH = "(CAST(SUBSTR({0}, 1, 4) AS INTEGER) * 12 + CAST(SUBSTR({0}, 6, 2) AS INTEGER))"
_ROWS = f"""
SELECT a.key, a.name, a.tier, a.owner, a.industry,
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
# What --compare adds to each row and to the summary.
COMPARED = ("revenue", "real_profit")


def build(db: ViewDB, params: ReportParams) -> Report:
    cur = params.currency or DEFAULT_CURRENCY
    if params.currency is not None:  # a currency asked for, not the default
        check_currency(db, cur)
    rows, facts, figures = classified(db, params)
    wanted = owned_by(db, params.owner)
    if wanted is not None:
        kept = [(r, f) for r, f in zip(rows, facts, strict=True) if r["owner"] in wanted]
        rows, facts = [r for r, _ in kept], [f for _, f in kept]
    columns = list(COLUMNS)
    sections: dict[str, Any] = {}
    if params.period is not None:
        sections["period"] = params.period.as_json()
    summary = _summary(rows, facts)
    if params.compare is not None:
        then = money(db, cur, params.compare)
        _compare(rows, then)
        columns += [f"{n}_{part}" for n in COMPARED for part in ("then", "change", "change_pct")]
        summary["compare"] = {
            "period": params.compare.as_json(),
            **_compared_totals(rows),
        }
    sections["summary"] = summary
    if params.by is not None:
        sections[f"by_{params.by}"] = _grouped(rows, params.by)
    sections["top_10"] = _brief(rows[:10])
    sections["bottom_10"] = _brief(rows[-10:][::-1])
    notes = []
    used = figures.rates_used()
    if used:
        sections["rates_used"] = used
        notes.append(
            f"amounts in other currencies are converted to {cur} at the rate in force on"
            " their business date, per account and day, rounded to the cent half-even"
        )
    if figures.missing:
        sections["no_rate"] = figures.no_rate()
        missing = sorted({m["currency"] for m in figures.missing})
        notes.append(
            f"{len(figures.missing)} amounts in {', '.join(missing)} have no rate to {cur}"
            " on their date and are not counted (see no rate); record one with kamflow fx set"
        )
    # Compared, the change is what the reader came for: it stays on a narrow screen.
    layout = LAYOUT if params.compare is None else {**LAYOUT, **COMPARE_LAYOUT}
    return Report(
        title=_title(cur, params),
        columns=columns,
        layout=layout,
        rows=rows,
        sections=sections,
        notes=notes,
    )


def _title(cur: str, params: ReportParams) -> str:
    parts = [cur]
    if params.period is not None:
        parts.append(params.period.name)
    if params.compare is not None:
        parts.append(f"vs {params.compare.name}")
    if params.owner is not None:
        parts.append(f"owner {params.owner}")
    parts.append(f"as of {params.today}")
    return f"portfolio ({', '.join(parts)})"


def classified(db: ViewDB, params: ReportParams) -> tuple[list[dict[str, Any]], list[Facts], Money]:
    """Every account's row (best real profit first), the facts its class rests on, and
    the money behind them (``reports.money``: rates used, amounts with no rate), in the
    report currency over the report period. Classes are of the whole portfolio: an owner
    filter is applied after."""
    cur = params.currency or DEFAULT_CURRENCY
    this = params.today.isoformat()[:7]
    since = month_add(this, -5)  # the last six months, this one included
    first = month_add(this, -11)  # and the six before
    now = params.today.year * 12 + params.today.month
    found = db.rows(_ROWS, (now, cur, since, since, cur, first, this))
    figures = money(db, cur, params.period)
    # Growth (MGC) is of the account at the report date, whatever the period: the
    # converted revenue of other currencies counts in its two half-years too.
    window = Period(date.fromisoformat(first + "-01"), params.today)
    growth = figures if params.period is None else foreign_months(db, cur, window)
    revenue, cost, service = figures.revenue, figures.cost, figures.service
    # Best real profit first (then key): the order of the table, of the top and bottom
    # 10, and in which MVC accumulates profit.
    found.sort(
        key=lambda f: (-(revenue.get(f[0], 0) - cost.get(f[0], 0) - service.get(f[0], 0)), f[0])
    )
    rows: list[dict[str, Any]] = []
    facts: list[Facts] = []
    for key, name, tier, owner, industry, recent, prior, to_profit, age in found:
        rev = revenue.get(key, 0)
        gross = rev - cost.get(key, 0)
        serv = service.get(key, 0)
        profit = gross - serv
        months = growth.months.get(key)
        if months:
            recent += sum(v for m, v in months.items() if since <= m <= this)
            prior += sum(v for m, v in months.items() if first <= m < since)
        rows.append(
            {
                "key": key,
                "name": name,
                "owner": owner,
                "tier": tier,
                "industry": industry,
                "value_class": "",
                "rule": "",
                "zone": "",
                "revenue": from_cents(rev),
                "gross_margin": from_cents(gross),
                "service_cost": from_cents(serv),
                "real_profit": from_cents(profit),
                "margin_pct": percent(gross, rev),
                "cost_to_serve_pct": percent(serv, rev),
                "months_to_profit": None if to_profit is None else max(0, to_profit),
            }
        )
        facts.append(Facts(rev, profit, recent, prior, age))
    _classify(db, rows, facts)
    _zone(db, rows, facts)
    return rows, facts, figures


def _compare(rows: list[dict[str, Any]], then: Money) -> None:
    for r in rows:
        key = r["key"]
        before = {
            "revenue": then.revenue.get(key, 0),
            "real_profit": then.revenue.get(key, 0)
            - then.cost.get(key, 0)
            - then.service.get(key, 0),
        }
        for name in COMPARED:
            old = from_cents(before[name])
            diff, ratio = change(r[name], old)
            r[f"{name}_then"], r[f"{name}_change"], r[f"{name}_change_pct"] = old, diff, ratio


def _compared_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in COMPARED:
        now = sum((r[name] for r in rows), Decimal(0))
        then = sum((r[f"{name}_then"] for r in rows), Decimal(0))
        diff, ratio = change(now, then)
        out[f"{name}_then"], out[f"{name}_change"], out[f"{name}_change_pct"] = then, diff, ratio
    return out


def _grouped(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Totals per owner, tier or industry, biggest revenue first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[by], []).append(r)
    total = sum((r["revenue"] for r in rows), Decimal(0))
    out: list[dict[str, Any]] = []
    for name, members in groups.items():
        revenue = sum((r["revenue"] for r in members), Decimal(0))
        out.append(
            {
                by: name,
                "accounts": len(members),
                "revenue": revenue,
                "real_profit": sum((r["real_profit"] for r in members), Decimal(0)),
                "revenue_share_pct": pct(revenue, total),
                "MVC": sum(1 for r in members if r["value_class"] == "MVC"),
                "MGC": sum(1 for r in members if r["value_class"] == "MGC"),
                "BZ": sum(1 for r in members if r["value_class"] == "BZ"),
            }
        )
    out.sort(key=lambda g: (-Decimal(g["revenue"]), str(g[by])))
    return out


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

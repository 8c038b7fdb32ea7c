"""The sales funnel (销售漏斗, docs/domain.md, Workflows) and its forecast (ADR 0021).

Rules, in plain words:
- one row per stage, in funnel order: lead, qualified, proposal, negotiation, won, lost;
  a stage is the one an opportunity is in now;
- ``count``: opportunities in the stage; ``no_budget``: how many of them have no budget;
- ``probability_pct``: the chance an open opportunity is won, the policy
  ``stage-probability.<stage>`` unless one was set for the opportunity (``kamflow opp
  probability``, with its reason); won is 100, lost 0;
- ``budget_<CUR>`` and ``weighted_<CUR>``: total budget of the stage's opportunities,
  and budget x probability, per currency (one column per currency found); with
  ``--currency`` every amount is converted at the rate in force on the report date
  (reports.money) and an amount with no rate is listed (``no_rate``), not counted;
- ``weighted_by_month``: open opportunities by expected close month (``close_by``;
  ``none`` when not given), their budget and weighted value;
- ``stage_ageing``: per open stage, days since the opportunities' last stage step;
- flags: ``stale`` when the last stage step (opening, advance) is more than the policy
  ``opportunity-stale-days`` days before the report date (on day N it is not yet);
  ``past close`` when the report date is after the expected close date;
- a period (``--month`` ...) keeps the open opportunities expected to close in it and
  those won or lost in it; ``--compare`` adds won and lost of the other period;
- open: lead to negotiation; win rate: won / (won + lost), by count;
- the ``open_opportunities`` section lists open ones closest to closing first
  (negotiation, proposal, ...), then by account and id; age is from the opening date.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median
from typing import Any

from kamflow.output import ID, MONEY, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    days_since,
    from_cents,
    id_order,
    owned_by,
    pct,
    policy,
)
from kamflow.projections.reports.money import RateBook, check_currency, convert, rates_listed
from kamflow.projections.reports.periods import Period

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
OPEN = STAGES[:4]
CENT = Decimal("0.01")
# For people; each budget_<CUR> and weighted_<CUR> column is money too (see build).
LAYOUT = {
    "stage": Col(ID, 1),
    "count": Col(NUMBER, 1),
    "no_budget": Col(NUMBER, 3),
    "probability_pct": Col(NUMBER, 2),
    # Open opportunities, and the summary's open budget per currency.
    "key": Col(ID, 1),
    "opportunity_id": Col(ID, 1),
    "title": Col(rank=3, least=12),
    "budget": Col(MONEY, 2),
    "weighted": Col(MONEY, 1),
    "open_budget": Col(MONEY),
    "currency": Col(ID, 2),
    "decision_maker": Col(rank=5),
    "timeline": Col(rank=5),
    "opened_on": Col(ID, 4),
    "age_days": Col(NUMBER, 4),
    "close_by": Col(ID, 2),
    "days_in_stage": Col(NUMBER, 3),
    "flags": Col(rank=1, least=10),
    # Weighted by month, stage ageing.
    "close_month": Col(ID, 1),
    "opportunities": Col(NUMBER, 1),
    "open": Col(NUMBER, 1),
    "median_days": Col(NUMBER, 2),
    "oldest_days": Col(NUMBER, 2),
    "stale": Col(NUMBER, 1),
    "past_close": Col(NUMBER, 1),
}
_SELECT = (
    "SELECT o.key, o.opportunity_id, o.title, o.stage, o.budget_cents, o.currency,"
    " o.decision_maker, o.timeline, o.opened_on, o.closed_on, o.stage_since, o.close_by,"
    " o.probability_pct, a.owner FROM kf_opportunities o"
    " LEFT JOIN kf_accounts a ON a.key = o.key"
)


def build(db: ViewDB, params: ReportParams) -> Report:
    title = _title(params)
    if params.currency is not None:
        check_currency(db, params.currency)
    wanted = owned_by(db, params.owner)
    everything = db.query(_SELECT) if db.table_exists("kf_opportunities") else []
    if wanted is not None:
        everything = [o for o in everything if o["owner"] in wanted]
    opps = [o for o in everything if in_period(o, params.period)]
    chances = {s: policy(db, f"stage-probability.{s}") for s in OPEN}
    chances.update({"won": Decimal(100), "lost": Decimal(0)})
    stale_days = int(policy(db, "opportunity-stale-days"))
    book = RateBook(db) if params.currency is not None else None
    missing: list[dict[str, Any]] = []
    used: dict[Any, int] = {}
    for o in opps:
        value(o, chances, params, book, missing, used)
        o["days_in_stage"] = days_since(o["stage_since"], params.today)
        flags = []
        if o["stage"] in OPEN and o["days_in_stage"] > stale_days:
            flags.append(f"stale {o['days_in_stage']}d")
        if (
            o["stage"] in OPEN
            and o["close_by"]
            and date.fromisoformat(o["close_by"]) < params.today
        ):
            flags.append(f"past close {o['close_by']}")
        o["flags"] = ", ".join(flags)
    currencies = (
        [params.currency]
        if params.currency is not None
        else sorted({o["currency"] for o in opps if o["budget_cents"] is not None})
    )
    columns = [
        "stage",
        "count",
        "no_budget",
        "probability_pct",
        *(f"{kind}_{c}" for c in currencies for kind in ("budget", "weighted")),
    ]
    layout = {
        **LAYOUT,
        **{f"budget_{c}": Col(MONEY, 2) for c in currencies},
        **{f"weighted_{c}": Col(MONEY, 1) for c in currencies},
    }
    if not opps:
        return Report(title=title, columns=columns, rows=[], layout=layout)

    rows: list[dict[str, Any]] = []
    for stage in STAGES:
        here = [o for o in opps if o["stage"] == stage]
        row: dict[str, Any] = {
            "stage": stage,
            "count": len(here),
            "no_budget": sum(1 for o in here if o["budget_cents"] is None),
            "probability_pct": chances[stage],
        }
        for cur in currencies:
            mine = [o for o in here if o["value_currency"] == cur]
            row[f"budget_{cur}"] = _total(mine, cur, "value")
            row[f"weighted_{cur}"] = _total(mine, cur, "weighted")
        rows.append(row)

    open_opps = [o for o in opps if o["stage"] in OPEN]
    counts = {r["stage"]: r["count"] for r in rows}
    open_list = [
        {
            "key": o["key"],
            "opportunity_id": o["opportunity_id"],
            "title": o["title"],
            "stage": o["stage"],
            "budget": o["value"],
            "currency": o["value_currency"],
            "probability_pct": o["probability"],
            "weighted": o["weighted"],
            "close_by": o["close_by"],
            "days_in_stage": o["days_in_stage"],
            "flags": o["flags"],
            "decision_maker": o["decision_maker"],
            "timeline": o["timeline"],
            "opened_on": o["opened_on"],
            "age_days": days_since(o["opened_on"], params.today),
        }
        for o in open_opps
    ]
    open_list.sort(key=lambda o: (-OPEN.index(o["stage"]), o["key"], id_order(o["opportunity_id"])))
    closed = counts["won"] + counts["lost"]
    summary: dict[str, Any] = {
        "opportunities": len(opps),
        "open": len(open_list),
        "won": counts["won"],
        "lost": counts["lost"],
        "win_rate_pct": pct(Decimal(counts["won"]), Decimal(closed)),
        "open_budget": {cur: _total(open_opps, cur, "value") for cur in currencies},
        "weighted_pipeline": {cur: _total(open_opps, cur, "weighted") for cur in currencies},
        "stale": sum(1 for o in open_opps if "stale" in o["flags"]),
        "past_close_date": sum(1 for o in open_opps if "past close" in o["flags"]),
        "stale_after_days": stale_days,
    }
    if params.compare is not None:
        then = [
            o for o in everything if o["stage"] in ("won", "lost") and in_period(o, params.compare)
        ]
        summary["compare"] = {
            "period": params.compare.as_json(),
            "won": sum(1 for o in then if o["stage"] == "won"),
            "lost": sum(1 for o in then if o["stage"] == "lost"),
        }
    sections: dict[str, Any] = {}
    if params.period is not None:
        sections["period"] = params.period.as_json()
    sections.update(
        {
            "summary": summary,
            "weighted_by_month": _by_month(open_opps, currencies),
            "stage_ageing": _ageing(open_opps),
            "open_opportunities": open_list,
        }
    )
    if used:
        sections["rates_used"] = rates_listed(used, lambda r: (r.currency, r.on))
    notes = []
    if missing:
        sections["no_rate"] = missing
        notes.append(
            f"{len(missing)} budgets have no rate to {params.currency} on {params.today}"
            " and are not counted (see no rate)"
        )
    return Report(
        title=title, columns=columns, rows=rows, layout=layout, sections=sections, notes=notes
    )


def _title(params: ReportParams) -> str:
    parts = [f"as of {params.today}"]
    if params.period is not None:
        parts.insert(0, params.period.name)
    if params.currency is not None:
        parts.insert(0, params.currency)
    if params.owner is not None:
        parts.insert(0, f"owner {params.owner}")
    return f"funnel ({', '.join(parts)})"


def in_period(o: dict[str, Any], period: Period | None) -> bool:
    """Whether an opportunity counts in ``period``: open and expected to close in it,
    or won or lost in it; every one without a period."""
    if period is None:
        return True
    day = o["closed_on"] if o["stage"] in ("won", "lost") else o["close_by"]
    return day is not None and period.contains(date.fromisoformat(day[:10]))


def value(
    o: dict[str, Any],
    chances: dict[str, Decimal],
    params: ReportParams,
    book: RateBook | None,
    missing: list[dict[str, Any]],
    used: dict[Any, int],
) -> None:
    """Give ``o`` its probability, and its budget and weighted value in the report
    currency (``value``, ``weighted``, ``value_currency``; None without a budget or a
    rate). Weighted: budget x probability / 100, to the cent, half-even."""
    given = o["probability_pct"]
    o["probability"] = (
        Decimal(given) if given is not None and o["stage"] in OPEN else chances[o["stage"]]
    )
    o["value_currency"] = o["currency"]
    cents = o["budget_cents"]
    if cents is not None and book is not None and params.currency != o["currency"]:
        rate = book.find(o["currency"], params.currency or "", params.today.isoformat())
        if rate is None:
            missing.append(
                {
                    "key": o["key"],
                    "opportunity_id": o["opportunity_id"],
                    "currency": o["currency"],
                    "amount": from_cents(cents),
                }
            )
            cents = None
        else:
            used[rate] = used.get(rate, 0) + 1
            cents = convert(cents, *rate)
            o["value_currency"] = params.currency
    o["value"] = None if cents is None else from_cents(cents)
    o["weighted"] = (
        None
        if o["value"] is None
        else (o["value"] * o["probability"] / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)
    )


def _total(opps: list[dict[str, Any]], cur: str, what: str) -> Decimal:
    return sum(
        (o[what] for o in opps if o["value_currency"] == cur and o[what] is not None), CENT * 0
    )


def _by_month(opps: list[dict[str, Any]], currencies: list[str]) -> list[dict[str, Any]]:
    """Open opportunities by expected close month, then currency; ``none`` last."""
    months = sorted({(o["close_by"] or "")[:7] for o in opps}, key=lambda m: (m == "", m))
    out = []
    for month in months:
        here = [o for o in opps if (o["close_by"] or "")[:7] == month]
        for cur in currencies:
            mine = [o for o in here if o["value_currency"] == cur and o["value"] is not None]
            if mine:
                out.append(
                    {
                        "close_month": month or "none",
                        "currency": cur,
                        "opportunities": len(mine),
                        "budget": _total(mine, cur, "value"),
                        "weighted": _total(mine, cur, "weighted"),
                    }
                )
        unvalued = [o for o in here if o["value"] is None]
        if unvalued:
            out.append(
                {
                    "close_month": month or "none",
                    "currency": None,
                    "opportunities": len(unvalued),
                    "budget": None,
                    "weighted": None,
                }
            )
    return out


def _ageing(opps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for stage in OPEN:
        days = [o["days_in_stage"] for o in opps if o["stage"] == stage]
        out.append(
            {
                "stage": stage,
                "open": len(days),
                "median_days": Decimal(str(median(days))) if days else None,
                "oldest_days": max(days) if days else None,
                "stale": sum(1 for o in opps if o["stage"] == stage and "stale" in o["flags"]),
                "past_close": sum(
                    1 for o in opps if o["stage"] == stage and "past close" in o["flags"]
                ),
            }
        )
    return out

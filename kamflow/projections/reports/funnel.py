"""The sales funnel (销售漏斗, docs/domain.md, Workflows): opportunities by stage and value.

Rules, in plain words:
- one row per stage, in funnel order: lead, qualified, proposal, negotiation, won, lost;
  a stage is the one an opportunity is in now;
- ``count``: opportunities in the stage; ``no_budget``: how many of them have no budget;
- ``budget_<CUR>``: total budget of the stage's opportunities in that currency (one
  column per currency found; amounts are never converted);
- open: lead to negotiation; win rate: won / (won + lost), by count;
- the ``open_opportunities`` section lists open ones closest to closing first
  (negotiation, proposal, ...), then by account and id; age is from the opening date.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kamflow.output import ID, MONEY, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    days_since,
    from_cents,
    id_order,
    pct,
)

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
OPEN = STAGES[:4]
# For people; each budget_<CUR> column is money too (see build).
LAYOUT = {
    "stage": Col(ID, 1),
    "count": Col(NUMBER, 1),
    "no_budget": Col(NUMBER, 2),
    # Open opportunities, and the summary's open budget per currency.
    "key": Col(ID, 1),
    "opportunity_id": Col(ID, 1),
    "title": Col(rank=1, least=12),
    "budget": Col(MONEY, 1),
    "open_budget": Col(MONEY),
    "currency": Col(ID, 1),
    "decision_maker": Col(rank=4),
    "timeline": Col(rank=4),
    "opened_on": Col(ID, 3),
    "age_days": Col(NUMBER, 2),
}


def build(db: ViewDB, params: ReportParams) -> Report:
    title = f"funnel (as of {params.today})"
    opps = (
        db.query(
            "SELECT key, opportunity_id, title, stage, budget_cents, currency, decision_maker,"
            " timeline, opened_on FROM kf_opportunities"
        )
        if db.table_exists("kf_opportunities")
        else []
    )
    currencies = sorted({o["currency"] for o in opps if o["budget_cents"] is not None})
    columns = ["stage", "count", "no_budget", *(f"budget_{c}" for c in currencies)]
    layout = {**LAYOUT, **{f"budget_{c}": Col(MONEY, 1) for c in currencies}}
    if not opps:
        return Report(title=title, columns=columns, rows=[], layout=layout)

    rows: list[dict[str, Any]] = []
    for stage in STAGES:
        here = [o for o in opps if o["stage"] == stage]
        row: dict[str, Any] = {
            "stage": stage,
            "count": len(here),
            "no_budget": sum(1 for o in here if o["budget_cents"] is None),
        }
        for cur in currencies:
            row[f"budget_{cur}"] = from_cents(
                sum(o["budget_cents"] or 0 for o in here if o["currency"] == cur)
            )
        rows.append(row)

    counts = {r["stage"]: r["count"] for r in rows}
    open_list = [
        {
            "key": o["key"],
            "opportunity_id": o["opportunity_id"],
            "title": o["title"],
            "stage": o["stage"],
            "budget": None if o["budget_cents"] is None else from_cents(o["budget_cents"]),
            "currency": o["currency"],
            "decision_maker": o["decision_maker"],
            "timeline": o["timeline"],
            "opened_on": o["opened_on"],
            "age_days": days_since(o["opened_on"], params.today),
        }
        for o in opps
        if o["stage"] in OPEN
    ]
    open_list.sort(key=lambda o: (-OPEN.index(o["stage"]), o["key"], id_order(o["opportunity_id"])))
    closed = counts["won"] + counts["lost"]
    summary = {
        "opportunities": len(opps),
        "open": len(open_list),
        "won": counts["won"],
        "lost": counts["lost"],
        "win_rate_pct": pct(Decimal(counts["won"]), Decimal(closed)),
        "open_budget": {
            cur: from_cents(
                sum(
                    o["budget_cents"] or 0
                    for o in opps
                    if o["stage"] in OPEN and o["currency"] == cur
                )
            )
            for cur in currencies
        },
    }
    return Report(
        title=title,
        columns=columns,
        rows=rows,
        layout=layout,
        sections={"summary": summary, "open_opportunities": open_list},
    )

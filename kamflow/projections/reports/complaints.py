"""The complaint board: every open complaint by age against its SLA (P7).

Rules, in plain words:
- open: status is not resolved, rejected or closed (raised, acknowledged,
  investigating, escalated);
- age: whole days from the complaint's business date (``raised_on``) to the report date;
- SLA: ``complaint-sla-days.<tier>`` for the account's *current* tier (the service a
  customer is owed is the one of the tier it holds now);
- overdue: age above the SLA; ``days_over`` is by how many days (0 when not overdue).
Overdue complaints come first, then the oldest; ties by account and complaint id.
"""

from __future__ import annotations

from typing import Any

from kamflow.domain.errors import AccountNotFound
from kamflow.domain.values import SEVERITIES
from kamflow.output import FLAG, ID, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    account_exists,
    days_by_tier,
    days_since,
    id_order,
    owned_keys,
)

COLUMNS = [
    "key",
    "complaint_id",
    "severity",
    "status",
    "raised_on",
    "age_days",
    "sla_days",
    "overdue",
    "days_over",
]
# For people: which complaint, how old, and whether it is overdue.
LAYOUT = {
    "key": Col(ID, 1),
    "complaint_id": Col(ID, 1),
    "severity": Col(ID, 2),
    "status": Col(ID, 2),
    "raised_on": Col(ID, 3),
    "age_days": Col(NUMBER, 1),
    "sla_days": Col(NUMBER, 3),
    "overdue": Col(FLAG, 1),
    "days_over": Col(NUMBER, 2),
}
CLOSED_STATUSES = ("resolved", "rejected", "closed")
OPEN_STATUSES = ("raised", "acknowledged", "investigating", "escalated")


def sla_days(db: ViewDB) -> dict[str, int]:
    """The complaint SLA of every tier, as set or by default."""
    return days_by_tier(db, "complaint-sla-days")


def open_complaints(db: ViewDB, params: ReportParams) -> list[dict[str, Any]]:
    """Open complaints with age, SLA and overdue flag, sorted as the board shows them.

    Shared with the principles report so that both call the same complaint overdue.
    """
    if not db.table_exists("kf_complaints"):
        return []
    sql = (
        "SELECT c.key, c.complaint_id, c.summary, c.severity, c.status, c.raised_on, a.tier"
        " FROM kf_complaints c JOIN kf_accounts a ON a.key = c.key"
        " WHERE c.status NOT IN (?, ?, ?)"
    )
    args: list[Any] = list(CLOSED_STATUSES)
    if params.key is not None:
        sql += " AND c.key = ?"
        args.append(params.key)
    slas = sla_days(db)
    rows: list[dict[str, Any]] = []
    for c in db.query(sql, args):
        age = days_since(c["raised_on"], params.today)
        sla = slas[c["tier"]]
        rows.append(
            {
                "key": c["key"],
                "complaint_id": c["complaint_id"],
                "severity": c["severity"],
                "status": c["status"],
                "raised_on": c["raised_on"],
                "age_days": age,
                "sla_days": sla,
                "overdue": age > sla,
                "days_over": max(0, age - sla),
                "tier": c["tier"],
                "summary": c["summary"],
            }
        )
    rows.sort(
        key=lambda r: (not r["overdue"], -r["age_days"], r["key"], id_order(r["complaint_id"]))
    )
    return rows


def build(db: ViewDB, params: ReportParams) -> Report:
    if params.key is not None and not account_exists(db, params.key):
        raise AccountNotFound(params.key)
    rows = open_complaints(db, params)
    keys = owned_keys(db, params.owner)
    if keys is not None:
        rows = [r for r in rows if r["key"] in keys]
    scope = f" for {params.key}" if params.key else ""
    scope += f" of {params.owner}" if params.owner else ""
    return Report(
        title=f"open complaints{scope} (as of {params.today})",
        columns=COLUMNS,
        rows=[{c: r[c] for c in COLUMNS} for r in rows],
        layout=LAYOUT,
        sections={"summary": _summary(db, rows)},
    )


def _summary(db: ViewDB, rows: list[dict[str, Any]]) -> dict[str, Any]:
    overdue = [r for r in rows if r["overdue"]]
    # Fixed vocabularies in their own order, so the summary always has the same shape.
    by_severity = {s: sum(1 for r in rows if r["severity"] == s) for s in SEVERITIES[::-1]}
    by_status = {s: sum(1 for r in rows if r["status"] == s) for s in OPEN_STATUSES}
    return {
        "open": len(rows),
        "overdue": len(overdue),
        "most_days_over": max((r["days_over"] for r in overdue), default=0),
        "by_severity": by_severity,
        "by_status": by_status,
        "sla_days_by_tier": sla_days(db),
    }

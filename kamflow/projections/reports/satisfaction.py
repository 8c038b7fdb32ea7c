"""Satisfaction-gap management: the latest measured score against target per account.

Rules, in plain words:
- one row per account that has at least one measurement, whatever its tier;
- latest: the measurement with the latest business date (ties: the one recorded last),
  so a survey entered late with its real date does not hide a newer one;
- gap = target - score of that measurement (positive: below target);
- change: latest score minus the previous measurement's score (empty if only one);
- worst gap first, then by key;
- ``key_accounts_unmeasured`` lists key and strategic accounts (not archived) with no
  measurement at all: targets are set and measured per key account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kamflow.output import ID, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import Report, ReportParams

COLUMNS = [
    "key",
    "name",
    "tier",
    "measured_on",
    "score",
    "target",
    "gap",
    "change",
    "measurements",
]
# For people: who, and how far below target.
LAYOUT = {
    "key": Col(ID, 1),
    "name": Col(rank=1, least=12),
    "tier": Col(ID, 3),
    "measured_on": Col(ID, 2),
    "score": Col(NUMBER, 1),
    "target": Col(NUMBER, 1),
    "gap": Col(NUMBER, 1),
    "change": Col(NUMBER, 2),
    "measurements": Col(NUMBER, 4),
    "lifecycle": Col(ID, 2),
}
BIG_TIERS = ("key", "strategic")


def build(db: ViewDB, params: ReportParams) -> Report:
    title = f"satisfaction against target (as of {params.today})"
    if not db.table_exists("kf_satisfaction"):
        return Report(title=title, columns=COLUMNS, rows=[], layout=LAYOUT)
    accounts = {a["key"]: a for a in db.query("SELECT key, name, tier, lifecycle FROM kf_accounts")}
    history: dict[str, list[dict[str, Any]]] = {}
    for m in db.query(
        "SELECT key, version, occurred_on, score, target FROM kf_satisfaction"
        " ORDER BY occurred_on, version"
    ):
        history.setdefault(m["key"], []).append(m)

    rows: list[dict[str, Any]] = []
    for key, measured in history.items():
        latest = measured[-1]
        score, target = Decimal(latest["score"]), Decimal(latest["target"])
        previous = Decimal(measured[-2]["score"]) if len(measured) > 1 else None
        account = accounts.get(key, {})
        rows.append(
            {
                "key": key,
                "name": account.get("name"),
                "tier": account.get("tier"),
                "measured_on": latest["occurred_on"],
                "score": score,
                "target": target,
                "gap": target - score,
                "change": None if previous is None else score - previous,
                "measurements": len(measured),
            }
        )
    rows.sort(key=lambda r: (-r["gap"], r["key"]))
    unmeasured = [
        {"key": a["key"], "name": a["name"], "tier": a["tier"], "lifecycle": a["lifecycle"]}
        for a in sorted(accounts.values(), key=lambda a: a["key"])
        if a["tier"] in BIG_TIERS and a["lifecycle"] != "archived" and a["key"] not in history
    ]
    return Report(
        title=title,
        columns=COLUMNS,
        rows=rows,
        layout=LAYOUT,
        sections={
            "summary": {
                "measured_accounts": len(rows),
                "below_target": sum(1 for r in rows if r["gap"] > 0),
                "at_or_above_target": sum(1 for r in rows if r["gap"] <= 0),
                "key_accounts_unmeasured": len(unmeasured),
            },
            "key_accounts_unmeasured": unmeasured,
        },
    )

"""Contact cadence: last contact per account, neglected accounts (P5), open follow-ups (P6).

Rules, in plain words:
- last contact: the latest business date of a visit to the account (``last_contact_on``);
- days since: whole days from the last contact to the report date or, for an account
  never visited, from the date it was opened;
- cadence: ``contact-cadence-days.<tier>`` for the account's current tier; it applies to
  active and prospect accounts only (lost, reviewed and archived ones are not served,
  so their ``cadence_days`` is empty);
- neglected (P5, "however small, stay grateful"): days since above the cadence,
  whatever the tier;
- open follow-up (P6): an issue found on a visit with no follow-up result yet, aged
  from the visit's date.
Neglected accounts come first, then the longest without contact; ties by key.
"""

from __future__ import annotations

from typing import Any

from kamflow.output import FLAG, ID, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    days_by_tier,
    days_since,
    id_order,
    owned_keys,
)

COLUMNS = [
    "key",
    "name",
    "tier",
    "lifecycle",
    "last_contact_on",
    "days_since",
    "cadence_days",
    "neglected",
]
# For people: who, when last contacted, and whether that is too long ago.
LAYOUT = {
    "key": Col(ID, 1),
    "name": Col(rank=1, least=12),
    "tier": Col(ID, 2),
    "lifecycle": Col(ID, 3),
    "last_contact_on": Col(ID, 1),
    "days_since": Col(NUMBER, 1),
    "cadence_days": Col(NUMBER, 2),
    "neglected": Col(FLAG, 1),
    # Open follow-ups.
    "issue_id": Col(ID, 1),
    "visit_id": Col(ID, 3),
    "raised_on": Col(ID, 2),
    "age_days": Col(NUMBER, 1),
    "issue": Col(rank=1),
}
SERVED = ("active", "prospect")


def cadence_days(db: ViewDB) -> dict[str, int]:
    return days_by_tier(db, "contact-cadence-days")


def contact_rows(db: ViewDB, params: ReportParams) -> list[dict[str, Any]]:
    """One row per account with its cadence and whether it is neglected, sorted.

    Shared with the principles report so that both call the same accounts neglected.
    """
    if not db.table_exists("kf_accounts"):
        return []
    cadence = cadence_days(db)
    rows: list[dict[str, Any]] = []
    for a in db.query(
        "SELECT key, name, tier, lifecycle, opened_on, last_contact_on FROM kf_accounts"
    ):
        days = days_since(a["last_contact_on"] or a["opened_on"], params.today)
        due = cadence[a["tier"]] if a["lifecycle"] in SERVED else None
        rows.append(
            {
                "key": a["key"],
                "name": a["name"],
                "tier": a["tier"],
                "lifecycle": a["lifecycle"],
                "last_contact_on": a["last_contact_on"],
                "days_since": days,
                "cadence_days": due,
                "neglected": due is not None and days > due,
            }
        )
    rows.sort(key=lambda r: (not r["neglected"], -r["days_since"], r["key"]))
    return rows


def open_follow_ups(db: ViewDB, params: ReportParams) -> list[dict[str, Any]]:
    """Issues found on visits that still wait for a follow-up result, oldest first."""
    if not db.table_exists("kf_issues"):
        return []
    rows = [
        {
            "key": i["key"],
            "issue_id": i["issue_id"],
            "visit_id": i["visit_id"],
            "raised_on": i["raised_on"],
            "age_days": days_since(i["raised_on"], params.today),
            "issue": i["text"],
        }
        for i in db.query(
            "SELECT key, issue_id, visit_id, raised_on, text FROM kf_issues WHERE result IS NULL"
        )
    ]
    rows.sort(key=lambda r: (-r["age_days"], r["key"], id_order(r["issue_id"])))
    return rows


def build(db: ViewDB, params: ReportParams) -> Report:
    rows = contact_rows(db, params)
    follow_ups = open_follow_ups(db, params)
    keys = owned_keys(db, params.owner)
    if keys is not None:
        rows = [r for r in rows if r["key"] in keys]
        follow_ups = [f for f in follow_ups if f["key"] in keys]
    served = [r for r in rows if r["cadence_days"] is not None]
    scope = f"{params.owner}, " if params.owner else ""
    return Report(
        title=f"contact cadence ({scope}as of {params.today})",
        columns=COLUMNS,
        rows=rows,
        layout=LAYOUT,
        sections={
            "summary": {
                "accounts_served": len(served),
                "neglected": sum(1 for r in rows if r["neglected"]),
                "never_contacted": sum(1 for r in served if r["last_contact_on"] is None),
                "open_follow_ups": len(follow_ups),
                "cadence_days_by_tier": cadence_days(db),
            },
            "open_follow_ups": follow_ups,
        },
    )

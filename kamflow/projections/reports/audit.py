"""The audit trail: who did what, when, to which account (docs/domain.md, History is history).

Every stored event, in log (position) order, filtered by any of:
- ``actor``: exactly the actor recorded on the event;
- ``key``: the account's key (governance events, such as policy changes, carry the
  key "(governance)");
- ``event_type``: the event's type name, e.g. TierChanged (case-insensitive);
- ``since`` / ``until``: inclusive bounds on the event's *business* date
  (``occurred_on``, what `--on` set), not on its record time: auditors ask "what
  happened in March", and a fact entered late belongs to the day it happened. The record
  time is shown next to it (``recorded_at``, in the business zone), and ``--as-of``
  limits by record time.
"""

from __future__ import annotations

from typing import Any

from kamflow.domain.dates import in_zone
from kamflow.domain.errors import InvalidInput
from kamflow.output import ID, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import Report, ReportParams

COLUMNS = [
    "position",
    "key",
    "version",
    "type",
    "actor",
    "occurred_on",
    "recorded_at",
    "command_id",
    "summary",
]

# For people: who did what (the summary says it) to which account, when; the event's
# type name, record time and command id go first when the screen is narrow.
LAYOUT = {
    "position": Col(NUMBER, 1),
    "key": Col(ID, 1),
    "version": Col(NUMBER, 4),
    "type": Col(rank=3, least=14),
    "actor": Col(ID, 1),
    "occurred_on": Col(ID, 1),
    "recorded_at": Col(ID, 4),
    "command_id": Col(ID, 5),
    "summary": Col(rank=1),
}


def build(db: ViewDB, params: ReportParams) -> Report:
    if params.since is not None and params.until is not None and params.since > params.until:
        raise InvalidInput(f"--since {params.since} is after --until {params.until}")
    filters: dict[str, Any] = {
        "actor": params.actor,
        "account": params.key,
        "type": params.event_type,
        "since": params.since.isoformat() if params.since else None,
        "until": params.until.isoformat() if params.until else None,
    }
    given = {k: v for k, v in filters.items() if v is not None}
    described = ", ".join(f"{k} {v}" for k, v in given.items())
    title = f"audit trail{' (' + described + ')' if described else ''}"
    if not db.table_exists("kf_audit"):
        return Report(title=title, columns=COLUMNS, rows=[], layout=LAYOUT)

    where: list[str] = []
    args: list[Any] = []
    if params.actor is not None:
        where.append("actor = ?")
        args.append(params.actor)
    if params.key is not None:
        where.append("key = ?")
        args.append(params.key)
    if params.event_type is not None:
        where.append("LOWER(type) = LOWER(?)")
        args.append(params.event_type)
    # ISO dates compare as text, the same on SQLite and PostgreSQL.
    if params.since is not None:
        where.append("occurred_on >= ?")
        args.append(params.since.isoformat())
    if params.until is not None:
        where.append("occurred_on <= ?")
        args.append(params.until.isoformat())
    sql = f"SELECT {', '.join(COLUMNS)} FROM kf_audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY position", args)
    for r in rows:
        r["position"] = int(r["position"])
        r["recorded_at"] = in_zone(r["recorded_at"], params.zone)

    by_actor: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for r in rows:
        by_actor[r["actor"]] = by_actor.get(r["actor"], 0) + 1
        by_type[r["type"]] = by_type.get(r["type"], 0) + 1
    return Report(
        title=title,
        columns=COLUMNS,
        rows=rows,
        layout=LAYOUT,
        sections={
            "summary": {
                "events": len(rows),
                "accounts": len({r["key"] for r in rows}),
                "by_actor": dict(sorted(by_actor.items())),
                "by_type": dict(sorted(by_type.items())),
            }
        },
    )

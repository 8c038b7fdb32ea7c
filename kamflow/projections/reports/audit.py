"""The audit trail: who did what, when, to which account (docs/domain.md, History is history).

Every stored event, in log (position) order, filtered by any of:
- ``actor``: exactly the actor recorded on the event;
- ``key``: the account's key (governance events, such as policy changes, carry the
  key "(governance)");
- ``event_type``: the event's type name, e.g. TierChanged (case, spaces, ``-`` and
  ``_`` do not matter: tierchanged, tier-changed);
- ``since`` / ``until``: inclusive bounds on the event's *business* date
  (``occurred_on``, what `--on` set), not on its record time: auditors ask "what
  happened in March", and a fact entered late belongs to the day it happened. The record
  time is shown next to it (``recorded_at``, in the business zone), and ``--as-of``
  limits by record time.

A filter cannot silently miss: a type that no event class has is refused (exit 2) with
the known types, an account or an actor that no event of the trail has is not found
(exit 1), the actor with the actors who did act. An account or actor that did act, but
not within the other filters, gives an empty trail.

Each row names who recorded the event for its actor (``delegate``, `--on-behalf-of`,
ADR 0025), null when the actor recorded it.

Each row also says what the event replaced (``changes``: subject, field, old and new
value, where the old value comes from: ``Change.as_json``); the summary shows it as
``old -> new``. JSON nests them in each row; CSV has one line per changed field (an
event that replaced nothing has one line with those columns empty).
"""

from __future__ import annotations

import json
import re
from typing import Any

from kamflow.domain.dates import in_zone
from kamflow.domain.errors import AccountNotFound, InvalidInput, NotFound
from kamflow.output import ID, NUMBER, TEXT, Col
from kamflow.projections import event_types as types
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
# Who recorded an event for its actor (`--on-behalf-of`, ADR 0025; null for the others):
# in every JSON row and CSV line, next to the actor; in the text table only when a row
# has one, so a trail without delegates reads as before.
DELEGATE = "delegate"


def _with_delegate(columns: list[str]) -> list[str]:
    at = columns.index("actor") + 1
    return [*columns[:at], DELEGATE, *columns[at:]]


# What an event replaced, one CSV line per changed field.
CHANGE_COLUMNS = ["subject", "field", "old", "new", "old_source"]


# Every event type ever recorded (the classes nested in Account and Governance, whose
# names the trail's ``type`` holds) and, for `--type corrections`, those that correct
# an earlier fact (ADR 0020): read from the classes' source, so that a report over
# caught-up views imports no event class (ADR 0009, ADR 0031).
def event_types() -> list[str]:
    return list(types.event_types())


def corrections() -> list[str]:
    return [name for name, corrects in types.event_types().items() if corrects]


# The most actors an error lists.
MOST_ACTORS = 20

# For people: who did what (the summary says it) to which account, when; the event's
# type name, record time and command id go first when the screen is narrow. The summary
# keeps 30 columns, enough for a change's old -> new, before anything else is hidden.
LAYOUT = {
    "position": Col(NUMBER, 1),
    "key": Col(ID, 1),
    "version": Col(NUMBER, 4),
    "type": Col(rank=3, least=14),
    "actor": Col(ID, 1),
    DELEGATE: Col(ID, 1),
    "occurred_on": Col(ID, 1),
    "recorded_at": Col(ID, 4),
    "command_id": Col(ID, 5),
    "summary": Col(rank=1, least=30),
    # A change's values are text, whatever they look like (a date, a number).
    "old": Col(TEXT, 5),
    "new": Col(TEXT, 5),
}


def _squashed(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).casefold()


def event_type(given: str) -> str:
    """The event type ``given`` names, as recorded (``tier-changed`` -> TierChanged).
    Raises InvalidInput naming every type when it names none."""
    wanted = _squashed(given)
    if wanted == "corrections":
        return "corrections"
    for name in event_types():
        if _squashed(name) == wanted:
            return name
    known = ", ".join(sorted(event_types()))
    raise InvalidInput(f'no event type "{given}"; the types are: {known} (or corrections)')


def _check_filters(db: ViewDB, params: ReportParams) -> None:
    """Refuse an account or actor that no event of the trail has (NotFound)."""
    table = db.table_exists("kf_audit")
    if params.key is not None and not (
        table and db.scalar("SELECT 1 FROM kf_audit WHERE key = ? LIMIT 1", (params.key,))
    ):
        raise AccountNotFound(params.key)
    if params.actor is not None and not (
        table and db.scalar("SELECT 1 FROM kf_audit WHERE actor = ? LIMIT 1", (params.actor,))
    ):
        actors = (
            [str(r["actor"]) for r in db.query("SELECT DISTINCT actor FROM kf_audit")]
            if table
            else []
        )
        actors.sort(key=lambda a: (a.casefold(), a))
        if not actors:
            known = "no one has recorded anything yet"
        elif len(actors) <= MOST_ACTORS:
            known = f"actors: {', '.join(actors)}"
        else:
            shown = ", ".join(actors[:MOST_ACTORS])
            known = f"actors: {shown} and {len(actors) - MOST_ACTORS} more"
        raise NotFound(f'no event was recorded by actor "{params.actor}"; {known}')


def _csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per changed field of each row; a row that changed nothing, one line."""
    out = []
    for row in rows:
        for change in row["changes"] or [{}]:
            line = dict(row)
            for column in CHANGE_COLUMNS:
                value = change.get(column)
                line[column] = ", ".join(map(str, value)) if isinstance(value, list) else value
            out.append(line)
    return out


def build(db: ViewDB, params: ReportParams) -> Report:
    if params.since is not None and params.until is not None and params.since > params.until:
        raise InvalidInput(f"--since {params.since} is after --until {params.until}")
    kind = event_type(params.event_type) if params.event_type is not None else None
    filters: dict[str, Any] = {
        "actor": params.actor,
        "account": params.key,
        "type": kind,
        "since": params.since.isoformat() if params.since else None,
        "until": params.until.isoformat() if params.until else None,
    }
    given = {k: v for k, v in filters.items() if v is not None}
    described = ", ".join(f"{k} {v}" for k, v in given.items())
    title = f"audit trail{' (' + described + ')' if described else ''}"
    _check_filters(db, params)
    csv_columns = [*_with_delegate(COLUMNS), *CHANGE_COLUMNS]
    if not db.table_exists("kf_audit"):
        return Report(title=title, columns=COLUMNS, rows=[], layout=LAYOUT, csv_columns=csv_columns)

    where: list[str] = []
    args: list[Any] = []
    if params.actor is not None:
        where.append("actor = ?")
        args.append(params.actor)
    if params.key is not None:
        where.append("key = ?")
        args.append(params.key)
    if kind == "corrections":
        correcting = corrections()
        where.append(f"type IN ({', '.join('?' for _ in correcting)})")
        args.extend(correcting)
    elif kind is not None:
        where.append("type = ?")
        args.append(kind)
    # ISO dates compare as text, the same on SQLite and PostgreSQL.
    if params.since is not None:
        where.append("occurred_on >= ?")
        args.append(params.since.isoformat())
    if params.until is not None:
        where.append("occurred_on <= ?")
        args.append(params.until.isoformat())
    sql = f"SELECT {', '.join(_with_delegate(COLUMNS))}, changes FROM kf_audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY position", args)
    for r in rows:
        r["position"] = int(r["position"])
        r["recorded_at"] = in_zone(r["recorded_at"], params.zone)
        r["changes"] = json.loads(r["changes"]) if r["changes"] else []

    by_actor: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for r in rows:
        by_actor[r["actor"]] = by_actor.get(r["actor"], 0) + 1
        by_type[r["type"]] = by_type.get(r["type"], 0) + 1
    return Report(
        title=title,
        columns=_with_delegate(COLUMNS) if any(r[DELEGATE] for r in rows) else COLUMNS,
        rows=rows,
        layout=LAYOUT,
        csv_columns=csv_columns,
        csv_rows=lambda: _csv_rows(rows),
        sections={
            "summary": {
                "events": len(rows),
                "accounts": len({r["key"] for r in rows}),
                "by_actor": dict(sorted(by_actor.items())),
                "by_type": dict(sorted(by_type.items())),
            }
        },
    )

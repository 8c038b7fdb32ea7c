"""The agenda (what is due, per person) and the task list (ADR 0022).

Rules, in plain words (every date a business date, in the business time zone):
- the window: from today for ``days`` days (7 for a week); what fell due before today
  and is still undone is *overdue* and always shown, first;
- task: an open task, due on its due date, for its owner;
- follow-up (P6): an issue found on a visit with no follow-up result, due
  ``FOLLOW_UP_DAYS`` after the visit (the principles report's limit), for the owner of
  the account (as for every item below);
- complaint (P7): an open complaint, due on the last day of its tier's SLA
  (``complaint-sla-days.<tier>``: raised on + SLA days);
- cadence (P5): an active or prospect account, due when its contact cadence runs out
  (``contact-cadence-days.<tier>`` after the last contact, or after it was opened);
- opportunity: an open opportunity with an expected close date (``close_by``, where the
  store's views have it), due on that date.
Sorted by date (overdue first), then owner, account, kind and id.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from kamflow.domain.errors import NotFound
from kamflow.domain.values import identity
from kamflow.output import ID, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import Report, ReportParams, id_order
from kamflow.projections.reports.cadence import contact_rows, open_follow_ups
from kamflow.projections.reports.complaints import open_complaints
from kamflow.projections.reports.principles import FOLLOW_UP_DAYS
from kamflow.projections.views import MARKET

# The views the agenda and the task list read (reports.READS for the others).
READS = ("accounts", "visits", "complaints", "market", "tasks", "governance")
TASK_READS = ("tasks",)

COLUMNS = ["due_on", "owner", "key", "kind", "ref", "what"]
# Also in JSON and CSV: the day's heading, how late, the account's name.
CSV_COLUMNS = ["due_on", "when", "days_overdue", "owner", "key", "account", "kind", "ref", "what"]
KINDS = ("task", "follow-up", "complaint", "cadence", "opportunity")
LAYOUT = {
    "due_on": Col(ID, 1),
    "owner": Col(ID, 2),
    "key": Col(ID, 1),
    "kind": Col(ID, 2),
    "ref": Col(ID, 1),
    "what": Col(rank=1, least=16),
    # The task list.
    "task_id": Col(ID, 1),
    "status": Col(ID, 2),
    "title": Col(rank=1, least=16),
    "about": Col(ID, 3),
    "days_overdue": Col(NUMBER, 2),
}
TASK_COLUMNS = ["key", "task_id", "due_on", "owner", "status", "title"]
TASK_CSV_COLUMNS = [
    "key",
    "task_id",
    "due_on",
    "days_overdue",
    "owner",
    "status",
    "title",
    "about",
    "first_due_on",
    "moves",
    "added_on",
    "ended_on",
    "note",
]
WEEK = 7
OPEN_OPPORTUNITY = ("lead", "qualified", "proposal", "negotiation")


def when(due: date, today: date) -> str:
    """A row's day heading: ``overdue``, ``today``, or the weekday and date."""
    if due < today:
        return "overdue"
    if due == today:
        return f"today, {due:%a} {due}"
    return f"{due:%a} {due}"


def _accounts(db: ViewDB) -> dict[str, tuple[str, str, str]]:
    """Account key -> (owner, name, opened on)."""
    if not db.table_exists("kf_accounts"):
        return {}
    rows = db.rows("SELECT key, owner, name, opened_on FROM kf_accounts")
    return {k: (o, n, d) for k, o, n, d in rows}


def items(db: ViewDB, params: ReportParams, until: date) -> list[dict[str, Any]]:
    """Every item due by ``until`` (overdue ones included), for everyone, unsorted."""
    today = params.today
    accounts = _accounts(db)
    found: list[dict[str, Any]] = []

    def add(due: date, owner: str, key: str, kind: str, ref: str, what: str) -> None:
        if due > until:
            return
        found.append(
            {
                "due_on": due.isoformat(),
                "when": when(due, today),
                "days_overdue": max(0, (today - due).days),
                "owner": owner,
                "key": key,
                "account": accounts.get(key, ("", "", ""))[1],
                "kind": kind,
                "ref": ref,
                "what": what,
            }
        )

    if db.table_exists("kf_tasks"):
        for key, task_id, owner, due, title in db.rows(
            "SELECT key, task_id, owner, due_on, title FROM kf_tasks WHERE status='open'"
        ):
            add(date.fromisoformat(due), owner, key, "task", task_id, title)
    for issue in open_follow_ups(db, params):
        due = date.fromisoformat(issue["raised_on"]) + timedelta(days=FOLLOW_UP_DAYS)
        owner = accounts[issue["key"]][0]
        what = f"follow up ({issue['visit_id']}): {issue['issue']}"
        add(due, owner, issue["key"], "follow-up", issue["issue_id"], what)
    for c in open_complaints(db, params):
        due = date.fromisoformat(c["raised_on"]) + timedelta(days=c["sla_days"])
        owner = accounts[c["key"]][0]
        sla = f"SLA {c['sla_days']} days"
        what = f"{c['severity']} complaint, {c['status']} ({sla}): {c['summary']}"
        add(due, owner, c["key"], "complaint", c["complaint_id"], what)
    for a in contact_rows(db, params):
        if a["cadence_days"] is None:
            continue
        last = a["last_contact_on"]
        since = date.fromisoformat(last or accounts[a["key"]][2])
        due = since + timedelta(days=a["cadence_days"])
        contact = f"last contact {last}" if last else "never contacted"
        what = f"contact due (every {a['cadence_days']} days; {contact})"
        add(due, accounts[a["key"]][0], a["key"], "cadence", "", what)
    # Expected close dates came with issue 15's forecast; views are always built to the
    # definitions of the code reading them, so the definition says whether they are there.
    if "close_by" in MARKET.tables["kf_opportunities"] and db.table_exists("kf_opportunities"):
        for key, opp_id, title, close_by, stage in db.rows(
            "SELECT key, opportunity_id, title, close_by, stage FROM kf_opportunities"
            " WHERE close_by IS NOT NULL AND stage IN (?, ?, ?, ?)",
            OPEN_OPPORTUNITY,
        ):
            what = f"expected to close ({stage}): {title}"
            add(date.fromisoformat(close_by), accounts[key][0], key, "opportunity", opp_id, what)
    return found


def known_owners(db: ViewDB) -> set[str]:
    """Every owner of an account or a task."""
    owners = {a[0] for a in _accounts(db).values()}
    if db.table_exists("kf_tasks"):
        owners |= {str(o) for (o,) in db.rows("SELECT DISTINCT owner FROM kf_tasks")}
    return owners


def owner_named(db: ViewDB, owner: str | None) -> str | None:
    """The owner as recorded that ``owner`` names (case and width do not matter);
    NotFound, listing the owners there are, when no account or task has it."""
    if owner is None:
        return None
    owners = known_owners(db)
    wanted = identity(owner)
    for known in sorted(owners):
        if identity(known) == wanted:
            return known
    listed = ", ".join(sorted(owners)) or "none yet"
    raise NotFound(f'no account or task is owned by "{owner}"; owners: {listed}')


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    ref = row.get("ref") or row.get("task_id") or ""
    kind = KINDS.index(row["kind"]) if "kind" in row else 0
    return (row["due_on"], row["owner"], row["key"], kind, id_order(ref))


def build(
    db: ViewDB, params: ReportParams, *, owner: str | None = None, days: int = WEEK
) -> Report:
    """The agenda of ``owner`` (None: everyone) for ``days`` days from today, overdue
    items first. Rows: ``CSV_COLUMNS``; ``when`` is the day heading the text groups by.
    NotFound for an owner no account or task has."""
    who = owner_named(db, owner)
    until = params.today + timedelta(days=days - 1)
    rows = [r for r in items(db, params, until) if who is None or r["owner"] == who]
    rows.sort(key=_order)
    scope = f"for {who}" if who else "for everyone"
    span = f"{params.today}" if days == 1 else f"{params.today} to {until}"
    return Report(
        title=f"agenda {scope}, {span} (overdue first)",
        # One person's agenda needs no owner column to fit 80 columns.
        columns=COLUMNS if who is None else [c for c in COLUMNS if c != "owner"],
        csv_columns=CSV_COLUMNS,
        rows=rows,
        layout=LAYOUT,
        group_by="when",
        sections={
            "summary": {
                "from": params.today.isoformat(),
                "to": until.isoformat(),
                "overdue": sum(1 for r in rows if r["days_overdue"] > 0),
                "due": sum(1 for r in rows if r["days_overdue"] == 0),
                "by_kind": {k: sum(1 for r in rows if r["kind"] == k) for k in KINDS},
            }
        },
    )


def build_tasks(
    db: ViewDB,
    params: ReportParams,
    *,
    owner: str | None = None,
    overdue: bool = False,
    every: bool = False,
) -> Report:
    """Tasks: open ones (``every``: done and cancelled too; ``overdue``: only open ones
    due before today), by due date. NotFound for an owner no account or task has."""
    who = owner_named(db, owner)
    rows: list[dict[str, Any]] = []
    if db.table_exists("kf_tasks"):
        for t in db.query(
            "SELECT key, task_id, due_on, owner, status, title, about, first_due_on, moves,"
            " added_on, ended_on, note FROM kf_tasks"
        ):
            late = max(0, (params.today - date.fromisoformat(t["due_on"])).days)
            is_open = t["status"] == "open"
            if (who is not None and t["owner"] != who) or (not every and not is_open):
                continue
            if overdue and not (is_open and late > 0):
                continue
            rows.append({**t, "days_overdue": late if is_open else 0})
    rows.sort(key=_order)
    scope = f" of {who}" if who else ""
    which = "overdue tasks" if overdue else "tasks" if every else "open tasks"
    return Report(
        title=f"{which}{scope} (as of {params.today})",
        columns=TASK_COLUMNS,
        csv_columns=TASK_CSV_COLUMNS,
        rows=rows,
        layout=LAYOUT,
        sections={
            "summary": {
                "open": sum(1 for r in rows if r["status"] == "open"),
                "overdue": sum(1 for r in rows if r["days_overdue"] > 0),
            }
        },
    )

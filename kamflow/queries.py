"""The read side over the event store: each query returns a ``Report``, the same kind
of object a report over the views returns, so one output path prints them all.

A query's ``document`` is its JSON (``account show --json``); its rows are the table
and the CSV. Queries read through the application (``Kamflow``): they see the log
itself, not the read models, so they are exact at any version or date.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from kamflow.output import FLAG, ID, MONEY, NUMBER, Col
from kamflow.projections.reports.base import Report

if TYPE_CHECKING:
    from kamflow.application import Kamflow

ACCOUNT_COLUMNS = ["key", "name", "industry", "owner", "tier", "lifecycle", "version", "status"]
HISTORY_COLUMNS = ["version", "occurred_on", "recorded_at", "actor", "type", "summary"]
POLICY_COLUMNS = ["policy", "value", "default", "set_by", "set_at", "principle", "description"]

# How the text tables show each column (kamflow.output.Col), by name.
ACCOUNT_LAYOUT = {
    "key": Col(ID, 1),
    "name": Col(rank=1),
    "industry": Col(rank=3, least=10),
    "owner": Col(ID, 2),
    "tier": Col(ID, 2),
    "lifecycle": Col(ID, 2),
    "version": Col(NUMBER, 4),
    "status": Col(ID, 2),
}
HISTORY_LAYOUT = {
    "version": Col(NUMBER, 1),
    "occurred_on": Col(ID, 1),
    "recorded_at": Col(ID, 4),
    "actor": Col(ID, 2),
    "delegate": Col(ID, 2),
    "type": Col(rank=3, least=14),
    "summary": Col(rank=1),
}
SHOW_LAYOUT = {
    **ACCOUNT_LAYOUT,
    "opened": Col(ID, 3),
    "last contact": Col(ID, 1),
    # People, open issues, complaints, opportunities
    "id": Col(ID, 1),
    "title": Col(rank=2),
    "department": Col(rank=3),
    "roles": Col(rank=2),
    "influence": Col(ID, 3),
    "type": Col(ID, 4),
    "raised": Col(ID, 2),
    "visit": Col(ID, 3),
    "issue": Col(rank=1),
    "severity": Col(ID, 2),
    "summary": Col(rank=1),
    "outcome": Col(rank=3),
    "stage": Col(ID, 2),
    "budget": Col(MONEY, 1),
    "currency": Col(ID, 1),
    # Money, per currency
    "revenue": Col(MONEY, 1),
    "gross margin": Col(MONEY, 3),
    "service cost": Col(MONEY, 3),
    "real profit": Col(MONEY, 1),
    "received": Col(MONEY, 2),
    "receivable": Col(MONEY, 1),
    # Satisfaction, competitors
    "score": Col(NUMBER, 1),
    "target": Col(NUMBER, 1),
    "notes": Col(rank=1),
}
POLICY_LAYOUT = {
    "policy": Col(ID, 1),
    "value": Col(NUMBER, 1),
    "default": Col(FLAG, 2),
    "set_by": Col(ID, 3),
    "set_at": Col(ID, 4),
    "principle": Col(ID, 4),
    "description": Col(rank=2, least=24),
}


def account_show(
    kf: Kamflow, key: str, *, as_of: date | None = None, version: int | None = None
) -> Report:
    """An account now, as the log held it at the end of ``as_of`` (in the business time
    zone), or after its ``version``-th event. Raises AccountNotFound, or InvalidInput
    for both at once. Its record time is shown in the business zone."""
    from kamflow.application import account_view
    from kamflow.domain.dates import in_zone

    view = account_view(kf.account_at(key, as_of=as_of, version=version))
    view["recorded_at"] = in_zone(view["recorded_at"], kf.zone)
    summary = {
        "industry": view["industry"],
        "owner": view["owner"],
        "tier": view["tier"],
        "lifecycle": view["lifecycle"],
        "opened": view["opened_on"],
        "version": view["version"],
        "last contact": view["last_contact_on"],
    }
    return Report(
        title=f"{view['key']}  {view['name']}",
        columns=list(summary),
        rows=[summary],
        sections=_account_sections(view),
        flat=False,
        document=view,
        layout=SHOW_LAYOUT,
    )


def _account_sections(view: dict[str, Any]) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    if view["profile"]:
        sections["Profile"] = view["profile"]
    if view["contacts"]:
        sections["People"] = [
            {
                "id": c["id"],
                "name": c["name"],
                "title": c["title"],
                "department": c["department"],
                "roles": c["roles"],
                "influence": c["influence"],
                "type": c["personality"],
                "status": "current" if c["current"] else f"left {c.get('left_on')}",
            }
            for c in view["contacts"]
        ]
        # Personal data (ADR 0026): one line per person who has some.
        personal = [
            {"id": c["id"], "field": field, "value": value}
            for c in view["contacts"]
            for field, value in (c.get("personal") or {}).items()
        ]
        if personal:
            sections["Personal data (`contact forget` erases it)"] = personal
    visits: dict[str, Any] = {"count": view["visits"]}
    if view["last_visit"]:
        last = view["last_visit"]
        visits["last"] = f"{last['id']} on {last['on']}: {last['purpose']}"
    sections["Visits"] = visits
    if view["open_issues"]:
        sections["Open issues (P6: each needs a follow-up result)"] = [
            {"id": i["id"], "raised": i["raised_on"], "visit": i["visit"], "issue": i["text"]}
            for i in view["open_issues"]
        ]
    if view["complaints"]:
        sections["Complaints"] = [
            {
                "id": c["id"],
                "raised": c["raised_on"],
                "severity": c["severity"],
                "status": c["status"],
                "summary": c["summary"],
                "outcome": c["outcome"],
            }
            for c in view["complaints"]
        ]
    if view["money"]:
        sections["Money"] = [
            {
                "currency": currency,
                "revenue": m["revenue"],
                "gross margin": m["gross_margin"],
                "service cost": m["service_cost"],
                "real profit": m["real_profit"],
                "received": m["received"],
                "receivable": m["receivable"],
            }
            for currency, m in view["money"].items()
        ]
    if view["satisfaction"]:
        s = view["satisfaction"]
        sections["Satisfaction"] = {"score": s["score"], "target": s["target"], "on": s["on"]}
    if view["competitors"]:
        sections["Competitors"] = [
            {
                "name": c["name"],
                "notes": ", ".join(f"{k} {v}" for k, v in c.items() if k != "name") or None,
            }
            for c in view["competitors"]
        ]
    if view["opportunities"]:
        sections["Opportunities"] = [
            {
                "id": o["id"],
                "title": o["title"],
                "stage": o["stage"],
                "budget": o["budget"],
                "currency": o["currency"],
                "opened": o["opened_on"],
            }
            for o in view["opportunities"]
        ]
    return sections


def account_list(kf: Kamflow) -> Report:
    """Every account: key, name, industry, owner, tier, lifecycle, version, and status
    (``ok``, or ``unreadable`` with the ``problem``: one damaged account is shown as
    such, and the others still list)."""
    records: list[dict[str, Any]] = []
    warnings: list[str] = []
    for item in kf.listing():
        a = item.account
        if a is None:
            warnings.append(str(item.problem))
            record: dict[str, Any] = {
                **dict.fromkeys(ACCOUNT_COLUMNS),
                "key": item.key,
                "status": "unreadable",
            }
        else:
            record = {
                "key": a.key,
                "name": a.profile.get("name"),
                "industry": a.profile.get("industry"),
                "owner": a.profile.get("owner"),
                "tier": a.tier,
                "lifecycle": a.lifecycle,
                "version": a.version,
                "status": "ok",
            }
        record["problem"] = item.problem
        records.append(record)
    return Report(
        title="",
        columns=ACCOUNT_COLUMNS,
        rows=records,
        document=records,
        warnings=warnings,
        layout=ACCOUNT_LAYOUT,
    )


def account_history(kf: Kamflow, key: str) -> Report:
    """Every event of an account (``EventRecord``s as JSON); the CSV adds the command
    id that the table leaves out. ``delegate``: who recorded an event for its actor
    (`--on-behalf-of`, ADR 0025), null for the others; in the text table only when an
    event has one. Raises AccountNotFound."""
    records = [asdict(e) for e in kf.history(key)]
    delegated = [*HISTORY_COLUMNS[:4], "delegate", *HISTORY_COLUMNS[4:]]
    return Report(
        title="",
        columns=delegated if any(r["delegate"] for r in records) else HISTORY_COLUMNS,
        rows=records,
        document=records,
        csv_columns=[*delegated, "command_id"],
        layout=HISTORY_LAYOUT,
    )


def program_status(kf: Kamflow, key: str) -> Report:
    """Where an account stands in the ten-step program and what its next step needs."""
    from kamflow.workflows.program import STEPS

    acct = kf.load(key)
    nxt = acct.next_step()
    problems = acct.step_problems(nxt)
    done = acct.program["step"]
    view: dict[str, Any] = {
        "key": acct.key,
        "cycle": acct.program["cycle"],
        "last_step": done,
        "next_step": nxt,
        "next_step_ready": not problems,
        "needs": problems,
        "steps": [
            {"step": step, "done": done != "not-started" and i <= STEPS.index(done)}
            for i, step in enumerate(STEPS)
        ],
    }
    rows = [
        {
            "#": i,
            "step": s["step"],
            "status": "done" if s["done"] else ("next" if s["step"] == nxt else None),
        }
        for i, s in enumerate(view["steps"], start=1)
    ]
    upcoming: dict[str, Any] = {"step": nxt}
    if problems:
        upcoming["needs"] = "; ".join(problems)
    else:
        upcoming["ready"] = f"`kamflow program complete {acct.key} {nxt} --evidence ...`"
    return Report(
        title=f"{acct.key}: program cycle {view['cycle']}, last step {done}",
        columns=["#", "step", "status"],
        layout={"#": Col(NUMBER, 1)},
        rows=rows,
        sections={"Next": upcoming},
        flat=False,
        document=view,
    )


def policy_show(kf: Kamflow) -> Report:
    """Every policy, its value, whether it is the default, and who set it when (in the
    business time zone); then the settings (the team's time zone), null when unset."""
    from kamflow.domain.dates import in_zone
    from kamflow.domain.governance import POLICIES
    from kamflow.domain.policies import SETTINGS

    governance = kf.governance()
    zone = kf.zone
    last: dict[str, Any] = {}
    for change in kf.governance_history():
        kind = type(change).__name__
        if kind in ("PolicySet", "SettingSet"):
            last[vars(change)["policy" if kind == "PolicySet" else "setting"]] = change
    records = []
    for name, spec in POLICIES.items():
        event = last.get(name)
        value = governance.policy(name)
        records.append(
            {
                "policy": name,
                "value": int(value) if spec.kind == "int" else value,
                "default": name not in governance.policies,
                "set_by": event.actor if event else None,
                "set_at": in_zone(event.timestamp, zone) if event else None,
                "reason": event.reason if event else None,
                "principle": spec.principle,
                "description": spec.description,
            }
        )
    for name, setting in SETTINGS.items():
        event = last.get(name)
        records.append(
            {
                "policy": name,
                "value": governance.settings.get(name),
                "default": name not in governance.settings,
                "set_by": event.actor if event else None,
                "set_at": in_zone(event.timestamp, zone) if event else None,
                "reason": event.reason if event else None,
                "principle": setting.principle,
                "description": setting.description,
            }
        )
    rows = [{**r, "default": "yes" if r["default"] else "no"} for r in records]
    return Report(
        title="", columns=POLICY_COLUMNS, rows=rows, document=records, layout=POLICY_LAYOUT
    )


def roster_show(kf: Kamflow) -> Report:
    """Every person, the roles they hold and their registered public key (null: none;
    ADR 0025)."""
    governance = kf.governance()
    keys = governance.key_book()
    records: list[dict[str, Any]] = [
        {"person": person, "roles": sorted(roles), "key": keys.get(person)}
        for person, roles in sorted(governance.roster.items())
    ]
    rows = [{**r, "roles": ", ".join(r["roles"]), "key": r["key"] or "-"} for r in records]
    return Report(title="", columns=["person", "roles", "key"], rows=rows, document=records)


RATE_COLUMNS = ["currency", "quote", "on", "rate", "source", "set_by"]
RATE_LAYOUT = {
    "currency": Col(ID, 1),
    "quote": Col(ID, 1),
    "on": Col(ID, 1),
    "rate": Col(NUMBER, 1),
    "source": Col(rank=3),
    "set_by": Col(rank=4),
}


def rate_show(kf: Kamflow) -> Report:
    """Every exchange rate in force from its business date (ADR 0021): one row per pair
    and day, the last one recorded for that day (earlier ones are in the audit trail),
    by pair then day."""
    latest: dict[tuple[str, str, date], Any] = {}
    for event in kf.governance_history():
        if type(event).__name__ == "RateSet":
            values = vars(event)
            latest[(values["currency"], values["quote"], event.occurred_on)] = event
    rows = [
        {
            "currency": currency,
            "quote": quote,
            "on": on,
            "rate": vars(event)["rate"],
            "source": vars(event)["source"],
            "set_by": event.actor,
        }
        for (currency, quote, on), event in sorted(latest.items())
    ]
    return Report(title="exchange rates", columns=RATE_COLUMNS, rows=rows, layout=RATE_LAYOUT)


def workflow_list() -> Report:
    """Every workflow, its number of states and what it governs."""
    from kamflow.workflows import registry

    records = [
        {"name": w.name, "states": len(w.states), "description": w.description}
        for w in registry().values()
    ]
    return Report(
        title="",
        columns=["name", "states", "description"],
        rows=records,
        document=records,
        layout={"name": Col(ID, 1), "states": Col(NUMBER, 2), "description": Col(rank=1)},
    )

"""The buying centre per account: who plays which buying role (docs/domain.md, The customer file).

Rules, in plain words (only *current* contacts count: someone who left buys nothing):
- roles covered: the seven buying roles (initiator, user, influencer, decider, buyer,
  approver, gatekeeper) held by at least one current contact; missing: the others;
- decider known: a current contact holds the decider role;
- departments: distinct departments of current contacts, compared case-insensitively
  (as the relationship-stage guards compare them);
- single thread ("one thread, fragile", early KAM): fewer than 2 current contacts,
  or all of them in one department.
Without an account key, archived accounts are left out (their file is closed).
Flagged accounts (single thread or no decider) come first; ties by key.
"""

from __future__ import annotations

from typing import Any

from kamflow.domain.errors import AccountNotFound
from kamflow.domain.values import BUYING_ROLES
from kamflow.output import FLAG, ID, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    account_exists,
    id_order,
    split_list,
)

COLUMNS = [
    "key",
    "name",
    "tier",
    "stage",
    "current_contacts",
    "departments",
    "decider_known",
    "roles_covered",
    "roles_missing",
    "single_thread",
    "flags",
]

# For people: the account, what is missing and the flags; the counts behind them after.
LAYOUT = {
    "key": Col(ID, 1),
    "name": Col(rank=1, least=12),
    "tier": Col(ID, 3),
    "stage": Col(ID, 4),
    "current_contacts": Col(NUMBER, 3),
    "departments": Col(NUMBER, 4),
    "decider_known": Col(FLAG, 2),
    "roles_covered": Col(rank=4),
    "roles_missing": Col(rank=2),
    "single_thread": Col(FLAG, 3),
    "flags": Col(rank=1),
    # The roles and contacts of one account.
    "role": Col(ID, 1),
    "contacts": Col(rank=1),
    "contact_id": Col(ID, 1),
    "title": Col(rank=2),
    "department": Col(rank=3),
    "roles": Col(rank=2),
    "influence": Col(ID, 3),
    "attitude": Col(ID, 3),
}


def build(db: ViewDB, params: ReportParams) -> Report:
    if params.key is not None and not account_exists(db, params.key):
        raise AccountNotFound(params.key)
    title = f"buying centre{' of ' + params.key if params.key else ''} (as of {params.today})"
    if not db.table_exists("kf_accounts"):
        return Report(title=title, columns=COLUMNS, rows=[], layout=LAYOUT)
    if params.key is not None:
        accounts = db.query(
            "SELECT key, name, tier, stage FROM kf_accounts WHERE key=?", (params.key,)
        )
        contacts = db.query(
            "SELECT key, contact_id, name, title, department, roles, influence, attitude"
            " FROM kf_contacts WHERE current=1 AND key=?",
            (params.key,),
        )
    else:
        accounts = db.query(
            "SELECT key, name, tier, stage FROM kf_accounts WHERE lifecycle<>'archived'"
        )
        contacts = db.query(
            "SELECT key, contact_id, name, title, department, roles, influence, attitude"
            " FROM kf_contacts WHERE current=1"
        )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for c in contacts:
        by_key.setdefault(c["key"], []).append(c)

    rows = [_row(a, by_key.get(a["key"], [])) for a in accounts]
    rows.sort(key=lambda r: (not r["flags"], r["key"]))
    sections: dict[str, Any] = {
        "summary": {
            "accounts": len(rows),
            "no_decider_known": sum(1 for r in rows if not r["decider_known"]),
            "single_thread": sum(1 for r in rows if r["single_thread"]),
            "all_seven_roles_covered": sum(1 for r in rows if not r["roles_missing"]),
        }
    }
    if params.key is not None:
        mine = sorted(by_key.get(params.key, []), key=lambda c: id_order(c["contact_id"]))
        # Who plays each role: the map a key-account manager works the account from.
        sections["roles"] = [
            {
                "role": role,
                "contacts": [
                    f"{c['contact_id']} {c['name']}" for c in mine if role in split_list(c["roles"])
                ],
            }
            for role in BUYING_ROLES
        ]
        sections["contacts"] = [
            {
                "contact_id": c["contact_id"],
                "name": c["name"],
                "title": c["title"],
                "department": c["department"],
                "roles": [r for r in BUYING_ROLES if r in split_list(c["roles"])],
                "influence": c["influence"],
                "attitude": c["attitude"],
            }
            for c in mine
        ]
    return Report(title=title, columns=COLUMNS, rows=rows, sections=sections, layout=LAYOUT)


def _row(account: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    held = {role for c in contacts for role in split_list(c["roles"])}
    departments = {c["department"].strip().casefold() for c in contacts}
    single = len(contacts) < 2 or len(departments) < 2
    decider = "decider" in held
    flags: list[str] = []
    if not contacts:
        flags.append("no current contact")
    elif single:
        flags.append("one thread, fragile")
    if not decider:
        flags.append("no decider known")
    return {
        "key": account["key"],
        "name": account["name"],
        "tier": account["tier"],
        "stage": account["stage"],
        "current_contacts": len(contacts),
        "departments": len(departments),
        "decider_known": decider,
        # Lists in the canonical role order, joined so that CSV cells stay readable.
        "roles_covered": ", ".join(r for r in BUYING_ROLES if r in held),
        "roles_missing": ", ".join(r for r in BUYING_ROLES if r not in held),
        "single_thread": single,
        "flags": "; ".join(flags),
    }

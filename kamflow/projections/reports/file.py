"""The customer file (客户档案, docs/domain.md, The customer file): "a file is not an address book".

One account's whole file as a document: profile, people (the rows) with buying roles,
personality types and reporting lines, visits and the issues they found with their
follow-ups, complaints and their outcomes, sales, payments and the ledger, service
costs, personnel changes, competitors, opportunities, satisfaction history, team and
policy exceptions.

Completeness (P3, "however familiar the customer, it must have a file") is the share
of these 14 items the file holds, each worth the same:
 1-6. profile: address, size, strategy, products, finance, fit (each a field that is
      set and not blank; the company part);
 7.   key people: at least one current contact;
 8.   buying centre: a current contact holds the decider role;
 9.   personality types: every current contact has one judged (missing when
      there is no current contact);
 10.  influence: at least one current contact has a reporting line or influencers
      recorded (the people who influence them);
 11.  visits: a visit within the last 90 days of the report date;
 12.  satisfaction: at least one measurement;
 13.  competitors: at least one noted;
 14.  projects: at least one opportunity recorded.
``completeness_pct`` = items present * 100 / 14, to one decimal; ``completeness_missing``
lists the missing items in the order above. ``completeness()`` scores many accounts with
a handful of bulk queries, for the principles report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from kamflow.domain.errors import AccountNotFound, InvalidInput, NotFound, Suggest
from kamflow.domain.values import BUYING_ROLES
from kamflow.output import FLAG, ID, MONEY, NUMBER, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    days_since,
    from_cents,
    id_order,
    split_list,
)
from kamflow.projections.reports.complaints import OPEN_STATUSES

PROFILE_ITEMS = ("address", "size", "strategy", "products", "finance", "fit")
RECENT_VISIT_DAYS = 90
ITEMS: tuple[str, ...] = (
    *(f"profile: {f}" for f in PROFILE_ITEMS),
    "key people: a current contact",
    "buying centre: a decider known",
    "personality types: judged for every current contact",
    "influence: a reporting line or influencer recorded",
    f"visits: a visit in the last {RECENT_VISIT_DAYS} days",
    "satisfaction: a measurement",
    "competitors: at least one noted",
    "projects: an opportunity recorded",
)
PROFILE_EXTRA = ("website", "notes")
# Runs one query about the file's account (its key is the only parameter).
Rows = Callable[[str], list[dict[str, Any]]]
PEOPLE_COLUMNS = [
    "contact_id",
    "name",
    "title",
    "department",
    "roles",
    "influence",
    "attitude",
    "personality",
    "reports_to",
    "influenced_by",
    "current",
    "since",
]

# For people, by column name, for the people and every section's table: ids, dates and
# what was said first, money right-aligned; the longest prose is cut first.
LAYOUT = {
    "contact_id": Col(ID, 1),
    "name": Col(rank=1, least=12),
    "title": Col(rank=2),
    "department": Col(rank=3),
    "roles": Col(rank=2),
    "influence": Col(ID, 3),
    "attitude": Col(ID, 3),
    "personality": Col(ID, 4),
    "reports_to": Col(rank=3),
    "influenced_by": Col(rank=4),
    "current": Col(FLAG, 2),
    "since": Col(ID, 4),
    "left_on": Col(ID, 1),
    "reason": Col(rank=2),
    "analysis": Col(rank=3),
    # visits and issues
    "visit_id": Col(ID, 1),
    "on": Col(ID, 1),
    "with": Col(rank=3),
    "purpose": Col(rank=1),
    "objective": Col(rank=3),
    "result": Col(rank=2),
    "by": Col(ID, 4),
    "issue_id": Col(ID, 1),
    "raised_on": Col(ID, 2),
    "issue": Col(rank=1),
    "open": Col(FLAG, 1),
    "age_days": Col(NUMBER, 2),
    "followed_up_on": Col(ID, 3),
    "follow_up_result": Col(rank=3),
    # complaints
    "complaint_id": Col(ID, 1),
    "severity": Col(ID, 3),
    "status": Col(ID, 1),
    "summary": Col(rank=1),
    "escalated": Col(FLAG, 3),
    "outcome": Col(rank=2),
    "outcome_on": Col(ID, 4),
    "closed_on": Col(ID, 4),
    "open_days": Col(NUMBER, 2),
    # money
    "currency": Col(ID, 1),
    "sales": Col(MONEY, 1),
    "payments": Col(MONEY, 2),
    "receivable": Col(MONEY, 1),
    "gross_margin": Col(MONEY, 2),
    "service_cost": Col(MONEY, 3),
    "real_profit": Col(MONEY, 1),
    "invoice": Col(ID, 1),
    "product": Col(rank=2),
    "amount": Col(MONEY, 1),
    "cost": Col(MONEY, 4),
    "margin": Col(MONEY, 4),
    "discount_pct": Col(NUMBER, 3),
    "paid": Col(MONEY, 3),
    "outstanding": Col(MONEY, 1),
    "invoices": Col(NUMBER, 2),
    "revenue": Col(MONEY, 1),
    "category": Col(rank=2),
    "description": Col(rank=3),
    # competitors
    "competitor": Col(ID, 1),
    "products": Col(rank=2),
    "satisfaction": Col(rank=3),
    "rep": Col(rank=4),
    "style": Col(rank=4),
    "relationship": Col(rank=3),
    "strengths": Col(rank=4),
    "weaknesses": Col(rank=4),
    "first_noted_on": Col(ID, 5),
    "last_noted_on": Col(ID, 3),
    "notes": Col(NUMBER, 5),
    # opportunities
    "opportunity_id": Col(ID, 1),
    "problem": Col(rank=4),
    "stage": Col(ID, 1),
    "budget": Col(MONEY, 1),
    "decision_maker": Col(rank=4),
    "timeline": Col(rank=4),
    "procurement": Col(rank=5),
    "opened_on": Col(ID, 3),
    # satisfaction, team, exceptions
    "measured_on": Col(ID, 1),
    "score": Col(NUMBER, 1),
    "target": Col(NUMBER, 1),
    "gap": Col(NUMBER, 1),
    "note": Col(rank=2),
    "member": Col(ID, 1),
    "role": Col(rank=1),
    "exception_id": Col(ID, 1),
    "rule": Col(ID, 1),
    "approver": Col(ID, 2),
    "used_by": Col(ID, 3),
    "granted_on": Col(ID, 2),
}


@dataclass(frozen=True)
class Completeness:
    pct: Decimal
    present: list[str]
    missing: list[str]


def completeness(db: ViewDB, today: date, key: str | None = None) -> dict[str, Completeness]:
    """Score the file of one account, or of every account, with one query per source."""
    if not db.table_exists("kf_accounts"):
        return {}
    # Every query reads all accounts at once, or just the one asked for.
    only, args = (" AND key=?", (key,)) if key is not None else ("", ())
    accounts = db.query(f"SELECT key, last_contact_on FROM kf_accounts WHERE 1=1{only}", args)
    profile: dict[str, set[str]] = {}
    for p in db.query(f"SELECT key, field, value FROM kf_account_profile WHERE 1=1{only}", args):
        if p["field"] in PROFILE_ITEMS and p["value"].strip():
            profile.setdefault(p["key"], set()).add(p["field"])
    people: dict[str, list[dict[str, Any]]] = {}
    for c in db.query(
        "SELECT key, contact_id, roles, personality, reports_to, influenced_by FROM kf_contacts"
        f" WHERE current=1{only}",
        args,
    ):
        people.setdefault(c["key"], []).append(c)

    def keys_in(table: str) -> set[str]:
        rows = db.query(f"SELECT DISTINCT key FROM {table} WHERE 1=1{only}", args)
        return {r["key"] for r in rows}

    measured = keys_in("kf_satisfaction")
    competitors = keys_in("kf_competitor_notes")
    opportunities = keys_in("kf_opportunities")

    scores: dict[str, Completeness] = {}
    for a in accounts:
        k = a["key"]
        current = people.get(k, [])
        here = {c["contact_id"] for c in current}
        last = a["last_contact_on"]
        have = [
            *(f in profile.get(k, set()) for f in PROFILE_ITEMS),
            bool(current),
            any("decider" in split_list(c["roles"]) for c in current),
            bool(current) and all(c["personality"] for c in current),
            # A link counts only to someone still there (ADR 0020).
            any(
                c["reports_to"] in here or here & set(split_list(c["influenced_by"]))
                for c in current
            ),
            last is not None and days_since(last, today) <= RECENT_VISIT_DAYS,
            k in measured,
            k in competitors,
            k in opportunities,
        ]
        present = [item for item, ok in zip(ITEMS, have, strict=True) if ok]
        missing = [item for item, ok in zip(ITEMS, have, strict=True) if not ok]
        scores[k] = Completeness(
            (Decimal(len(present) * 100) / len(ITEMS)).quantize(Decimal("0.1")), present, missing
        )
    return scores


def _gone(db: ViewDB, key: str) -> None:
    """Refuse the file of an account closed or merged (ADR 0020), saying so: its
    history is in `account history`, a merged one's facts in its target's file. Reads
    the audit trail only when it is there (READS lists what every file reads)."""
    if not db.table_exists("kf_audit"):
        return
    rows = db.query(
        "SELECT type, summary FROM kf_audit WHERE key=? AND type IN (?, ?)"
        " ORDER BY version DESC LIMIT 1",
        (key, "AccountClosed", "AccountMergedInto"),
    )
    if rows:
        raise NotFound(
            f'account "{key}" is out of the reports ({rows[0]["summary"]}); its history: ',
            Suggest("account history", (key,)),
        )


def build(db: ViewDB, params: ReportParams) -> Report:
    key = params.key
    if key is None:
        raise InvalidInput("the customer file is of one account: give its key")
    accounts = (
        db.query("SELECT * FROM kf_accounts WHERE key=?", (key,))
        if db.table_exists("kf_accounts")
        else []
    )
    if not accounts:
        _gone(db, key)
        raise AccountNotFound(key)
    account = accounts[0]
    today = params.today

    def rows_of(sql: str) -> list[dict[str, Any]]:
        return db.query(sql, (key,))

    contacts = sorted(
        rows_of("SELECT * FROM kf_contacts WHERE key=?"), key=lambda c: id_order(c["contact_id"])
    )
    # Someone who left is named as such wherever a link or a visit names them.
    names = {
        c["contact_id"]: f"{c['contact_id']} {c['name']}"
        + ("" if c["current"] else f" (left {c['left_on']})")
        for c in contacts
    }
    people = [_person(c, names) for c in contacts]
    score = completeness(db, today, key)[key]
    sections: dict[str, Any] = {
        "profile": _profile(
            account, rows_of("SELECT field, value FROM kf_account_profile WHERE key=?")
        ),
        "completeness_pct": score.pct,
        "completeness_missing": score.missing,
        "personnel_changes": [
            {
                "contact_id": c["contact_id"],
                "name": c["name"],
                "title": c["title"],
                "department": c["department"],
                "left_on": c["left_on"],
                "reason": c["left_reason"],
                "analysis": c["left_analysis"],
            }
            for c in sorted(contacts, key=lambda c: (c["left_on"] or "", id_order(c["contact_id"])))
            if not c["current"]
        ],
    }
    sections.update(_visits(rows_of, names, today))
    sections["complaints"] = _complaints(rows_of, today)
    sections.update(_ledger(rows_of))
    sections["competitors"] = _competitors(rows_of)
    sections["opportunities"] = _opportunities(rows_of)
    sections["satisfaction"] = [
        {
            "measured_on": m["occurred_on"],
            "score": Decimal(m["score"]),
            "target": Decimal(m["target"]),
            "gap": Decimal(m["target"]) - Decimal(m["score"]),
            "note": m["note"],
        }
        for m in rows_of(
            "SELECT occurred_on, version, score, target, note FROM kf_satisfaction WHERE key=?"
            " ORDER BY occurred_on, version"
        )
    ]
    # Sorted in Python, not by SQL: PostgreSQL collations would order names differently.
    sections["team"] = sorted(
        rows_of("SELECT member, role, since FROM kf_team WHERE key=?"), key=lambda t: t["member"]
    )
    sections["exceptions"] = sorted(
        rows_of(
            "SELECT exception_id, rule, approver, reason, invoice, used_by, granted_on"
            " FROM kf_exceptions WHERE key=?"
        ),
        key=lambda e: id_order(e["exception_id"]),
    )
    return Report(
        title=f'customer file of {key} "{account["name"]}" (as of {today})',
        columns=PEOPLE_COLUMNS,
        rows=people,
        sections=sections,
        layout=LAYOUT,
        flat=False,
    )


def _profile(account: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    values = {f["field"]: f["value"] for f in fields}
    out: dict[str, Any] = {
        "key": account["key"],
        "name": account["name"],
        "industry": account["industry"],
        "owner": account["owner"],
    }
    # Every company field of the file is shown, set or not, so a gap in the file is visible.
    for name in (*PROFILE_ITEMS, *PROFILE_EXTRA):
        out[name] = values.get(name)
    out.update(
        {
            "currency": account["currency"],
            "tier": account["tier"],
            "lifecycle": account["lifecycle"],
            "relationship_stage": account["stage"],
            "program": f"cycle {account['program_cycle']}, {account['program_step']}",
            "plan_published": bool(account["plan_published"]),
            "opened_on": account["opened_on"],
            "last_contact_on": account["last_contact_on"],
            "visits": account["visits"],
            "lost_on": account["lost_on"],
            "lost_cause": account["lost_cause"],
            "post_mortem_on": account["post_mortem_on"],
            "lessons": account["lessons"],
        }
    )
    return out


def _person(c: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {
        "contact_id": c["contact_id"],
        "name": c["name"],
        "title": c["title"],
        "department": c["department"],
        "roles": ", ".join(r for r in BUYING_ROLES if r in split_list(c["roles"])),
        "influence": c["influence"],
        "attitude": c["attitude"],
        "personality": c["personality"],
        "reports_to": names.get(c["reports_to"], c["reports_to"]) if c["reports_to"] else None,
        "influenced_by": ", ".join(names.get(i, i) for i in split_list(c["influenced_by"])),
        "current": bool(c["current"]),
        "since": c["since"],
    }


def _visits(rows_of: Rows, names: dict[str, str], today: date) -> dict[str, Any]:
    visits = sorted(
        rows_of(
            "SELECT visit_id, occurred_on, contacts, purpose, objective, result, actor"
            " FROM kf_visits WHERE key=?"
        ),
        key=lambda v: (v["occurred_on"], id_order(v["visit_id"])),
    )
    issues = sorted(
        rows_of(
            "SELECT issue_id, visit_id, raised_on, text, followed_up_on, result"
            " FROM kf_issues WHERE key=?"
        ),
        key=lambda i: id_order(i["issue_id"]),
    )
    return {
        "visits": [
            {
                "visit_id": v["visit_id"],
                "on": v["occurred_on"],
                "with": ", ".join(names.get(c, c) for c in split_list(v["contacts"])),
                "purpose": v["purpose"],
                "objective": v["objective"],
                "result": v["result"],
                "by": v["actor"],
            }
            for v in visits
        ],
        "issues": [
            {
                "issue_id": i["issue_id"],
                "visit_id": i["visit_id"],
                "raised_on": i["raised_on"],
                "issue": i["text"],
                "open": i["result"] is None,
                # An open issue ages until its follow-up (P6); a closed one shows the result.
                "age_days": days_since(i["raised_on"], today) if i["result"] is None else None,
                "followed_up_on": i["followed_up_on"],
                "follow_up_result": i["result"],
            }
            for i in issues
        ],
    }


def _complaints(rows_of: Rows, today: date) -> list[dict[str, Any]]:
    complaints = sorted(
        rows_of(
            "SELECT complaint_id, raised_on, severity, status, summary, escalated, outcome,"
            " ended_on, closed_on FROM kf_complaints WHERE key=?"
        ),
        key=lambda c: id_order(c["complaint_id"]),
    )
    return [
        {
            "complaint_id": c["complaint_id"],
            "raised_on": c["raised_on"],
            "severity": c["severity"],
            "status": c["status"],
            "summary": c["summary"],
            "escalated": bool(c["escalated"]),
            "outcome": c["outcome"],
            "outcome_on": c["ended_on"],
            "closed_on": c["closed_on"],
            "open_days": (
                days_since(c["raised_on"], today) if c["status"] in OPEN_STATUSES else None
            ),
        }
        for c in complaints
    ]


def _ledger(rows_of: Rows) -> dict[str, Any]:
    sales = sorted(
        rows_of(
            "SELECT invoice, product, occurred_on, currency, amount_cents, cost_cents,"
            " paid_cents, discount_pct FROM kf_sales WHERE key=?"
        ),
        key=lambda s: (s["occurred_on"], s["invoice"]),
    )
    payments = sorted(
        rows_of(
            "SELECT invoice, occurred_on, currency, amount_cents, version"
            " FROM kf_payments WHERE key=?"
        ),
        key=lambda p: (p["occurred_on"], p["version"]),
    )
    costs = sorted(
        rows_of(
            "SELECT version, occurred_on, currency, amount_cents, category, description"
            " FROM kf_service_costs WHERE key=?"
        ),
        key=lambda c: (c["occurred_on"], c["version"]),
    )
    ledger: dict[str, dict[str, int]] = {}

    def add(currency: str, column: str, cents: int) -> None:
        totals = ledger.setdefault(
            currency, {"sales": 0, "cost_of_sales": 0, "payments": 0, "service_cost": 0}
        )
        totals[column] += cents

    for s in sales:
        add(s["currency"], "sales", s["amount_cents"])
        add(s["currency"], "cost_of_sales", s["cost_cents"])
    for p in payments:
        add(p["currency"], "payments", p["amount_cents"])
    for c in costs:
        add(c["currency"], "service_cost", c["amount_cents"])

    by_product: dict[tuple[str, str], list[int]] = {}
    for s in sales:
        agg = by_product.setdefault((s["product"], s["currency"]), [0, 0, 0])
        agg[0] += 1
        agg[1] += s["amount_cents"]
        agg[2] += s["amount_cents"] - s["cost_cents"]
    return {
        "ledger": [
            {
                "currency": cur,
                "sales": from_cents(t["sales"]),
                "payments": from_cents(t["payments"]),
                # P2: the ledger reconciles, sales - payments = receivable.
                "receivable": from_cents(t["sales"] - t["payments"]),
                "gross_margin": from_cents(t["sales"] - t["cost_of_sales"]),
                "service_cost": from_cents(t["service_cost"]),
                "real_profit": from_cents(t["sales"] - t["cost_of_sales"] - t["service_cost"]),
            }
            for cur, t in sorted(ledger.items())
        ],
        "sales": [
            {
                "invoice": s["invoice"],
                "on": s["occurred_on"],
                "product": s["product"],
                "currency": s["currency"],
                "amount": from_cents(s["amount_cents"]),
                "cost": from_cents(s["cost_cents"]),
                "margin": from_cents(s["amount_cents"] - s["cost_cents"]),
                "discount_pct": None if s["discount_pct"] is None else Decimal(s["discount_pct"]),
                "paid": from_cents(s["paid_cents"]),
                "outstanding": from_cents(s["amount_cents"] - s["paid_cents"]),
            }
            for s in sales
        ],
        "sales_by_product": [
            {
                "product": product,
                "currency": cur,
                "invoices": n,
                "revenue": from_cents(revenue),
                "gross_margin": from_cents(margin),
            }
            for (product, cur), (n, revenue, margin) in sorted(
                by_product.items(), key=lambda kv: (-kv[1][1], kv[0])
            )
        ],
        "payments": [
            {
                "on": p["occurred_on"],
                "invoice": p["invoice"],
                "currency": p["currency"],
                "amount": from_cents(p["amount_cents"]),
            }
            for p in payments
        ],
        "service_costs": [
            {
                "on": c["occurred_on"],
                "category": c["category"],
                "description": c["description"],
                "currency": c["currency"],
                "amount": from_cents(c["amount_cents"]),
            }
            for c in costs
        ],
    }


def _competitors(rows_of: Rows) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    # Latest value wins: notes applied in business-date order (ties: recording order).
    for n in rows_of(
        "SELECT competitor, occurred_on, version, details FROM kf_competitor_notes"
        " WHERE key=? ORDER BY occurred_on, version"
    ):
        entry = merged.setdefault(
            n["competitor"],
            {"competitor": n["competitor"], "first_noted_on": n["occurred_on"], "notes": 0},
        )
        entry["notes"] += 1
        entry["last_noted_on"] = n["occurred_on"]
        entry.setdefault("details", {}).update(json.loads(n["details"]))
    out = []
    for name in sorted(merged):
        entry = merged[name]
        out.append(
            {
                "competitor": name,
                **{k: entry["details"].get(k) for k in _COMPETITOR_FIELDS},
                "first_noted_on": entry["first_noted_on"],
                "last_noted_on": entry["last_noted_on"],
                "notes": entry["notes"],
            }
        )
    return out


# Competitors: their products used, satisfaction, rep, style, relationship, strengths
# and weaknesses against ours (the fields of `competitor note`).
_COMPETITOR_FIELDS = (
    "products",
    "satisfaction",
    "rep",
    "style",
    "relationship",
    "strengths",
    "weaknesses",
)


def _opportunities(rows_of: Rows) -> list[dict[str, Any]]:
    opps = sorted(
        rows_of(
            "SELECT opportunity_id, title, problem, stage, budget_cents, currency,"
            " decision_maker, timeline, procurement, opened_on, closed_on, reason"
            " FROM kf_opportunities WHERE key=?"
        ),
        key=lambda o: id_order(o["opportunity_id"]),
    )
    return [
        {
            "opportunity_id": o["opportunity_id"],
            "title": o["title"],
            "problem": o["problem"],
            "stage": o["stage"],
            "budget": None if o["budget_cents"] is None else from_cents(o["budget_cents"]),
            "currency": o["currency"],
            "decision_maker": o["decision_maker"],
            "timeline": o["timeline"],
            "procurement": o["procurement"],
            "opened_on": o["opened_on"],
            "closed_on": o["closed_on"],
            "reason": o["reason"],
        }
        for o in opps
    ]

"""Every violation or risk of the eight principles across the portfolio (docs/domain.md).

A *violation* is a rule broken as the views stand (a policy limit passed without an
approved exception, an SLA or cadence passed, a ledger that does not add up, a closed
file missing what it needs); a *risk* needs attention but breaks no rule yet, or was
sanctioned and stays visible. Limits are the policies in force on the report date.

- P1 / P4 (rules apply however close / however big; P4 for key and strategic tiers):
  receivable (revenue - received, per currency) above ``credit-limit.<tier>``: a
  violation, or a risk when the account holds a credit-limit exception; every
  exception granted (credit limit or discount ceiling): risk, so that each one stays
  visible. Discounts are not re-checked here: the ceiling is enforced when a sale is
  recorded, and the views keep only today's ceiling, so re-checking old sales against
  it would report a rule change as a breach.
- P2 (clear accounts): payments to an invoice above its amount, payments to an invoice
  that is not a sale, or per-account totals that do not reconcile (revenue - received
  differs from the sales minus payments): violation; an invoice with money still owed
  more than 90 days after its date: risk.
- P3 (a file for every customer): an active or prospect account whose file is less
  than 50% complete (scored as in the customer file report): risk.
- P5 (gratitude however small): an active or prospect account neglected beyond its
  tier's contact cadence (as in the cadence report): violation.
- P6 (every visit like the first): a visit without purpose, objective or result:
  violation; an issue found on a visit still without a follow-up result more than 30
  days after the visit: risk.
- P7 (every complaint reaches an outcome): an open complaint past its tier's SLA (as in
  the complaint board): violation; a closed complaint without an outcome, or an
  archived account with a complaint lacking one: violation (the workflows forbid both).
- P8 (every lost customer reviewed): a lost account with no post-mortem yet: risk; an
  archived account without a post-mortem: violation.
Sorted by principle, account, severity (violations first), then finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from kamflow.domain.values import TIERS
from kamflow.domain.values import format_money as fmt
from kamflow.output import ID, Col
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import (
    Report,
    ReportParams,
    days_since,
    from_cents,
    id_order,
    policy,
)
from kamflow.projections.reports.cadence import contact_rows, open_follow_ups
from kamflow.projections.reports.complaints import open_complaints
from kamflow.projections.reports.file import completeness

COLUMNS = ["principle", "key", "finding", "severity"]
LAYOUT = {
    "principle": Col(ID, 1),
    "key": Col(ID, 1),
    "finding": Col(rank=1),
    "severity": Col(ID, 1),
}
BIG_TIERS = ("key", "strategic")
UNPAID_DAYS = 90
FOLLOW_UP_DAYS = 30
THIN_FILE_PCT = Decimal(50)
SERVED = ("active", "prospect")
SEVERITY_ORDER = {"violation": 0, "risk": 1}

Finding = dict[str, Any]


def _f(principle: str, key: str, finding: str, severity: str) -> Finding:
    return {"principle": principle, "key": key, "finding": finding, "severity": severity}


def build(db: ViewDB, params: ReportParams) -> Report:
    title = f"principles P1-P8 (as of {params.today})"
    if not db.table_exists("kf_accounts"):
        return Report(title=title, columns=COLUMNS, rows=[], layout=LAYOUT)
    accounts = {
        a["key"]: a
        for a in db.query(
            "SELECT key, tier, lifecycle, lost_on, lost_cause, post_mortem_on FROM kf_accounts"
        )
    }
    rows: list[Finding] = [
        *_rules(db, accounts),
        *_ledger(db, params),
        *_files(db, params, accounts),
        *_cadence(db, params),
        *_visits(db, params),
        *_complaints(db, params, accounts),
        *_lost(params, accounts),
        *_out_of_order(db),
        *_conduct(db, accounts),
    ]
    if params.key is not None:
        rows = [r for r in rows if r["key"] == params.key]
    rows.sort(key=lambda r: (r["principle"], r["key"], SEVERITY_ORDER[r["severity"]], r["finding"]))
    summary: dict[str, Any] = {
        "violations": sum(1 for r in rows if r["severity"] == "violation"),
        "risks": sum(1 for r in rows if r["severity"] == "risk"),
        "accounts_concerned": len({r["key"] for r in rows}),
    }
    for p in (*(f"P{n}" for n in range(1, 9)), "roles", "actor"):
        mine = [r for r in rows if r["principle"] == p]
        summary[p] = {
            "violation": sum(1 for r in mine if r["severity"] == "violation"),
            "risk": sum(1 for r in mine if r["severity"] == "risk"),
        }
    return Report(
        title=title, columns=COLUMNS, rows=rows, sections={"summary": summary}, layout=LAYOUT
    )


def _tier_principle(tier: str) -> str:
    # P4: the biggest tiers get the same rules; a finding there is a lost principle.
    return "P4" if tier in BIG_TIERS else "P1"


# ---------------------------------------------------------------- P1, P4
def _rules(db: ViewDB, accounts: dict[str, dict[str, Any]]) -> Iterable[Finding]:
    limits = {tier: policy(db, f"credit-limit.{tier}") for tier in TIERS}
    exceptions = db.query(
        "SELECT key, exception_id, rule, approver, reason, invoice, used_by, granted_on"
        " FROM kf_exceptions"
    )
    credit_exceptions: dict[str, list[str]] = {}
    for e in exceptions:
        if e["rule"] == "credit-limit":
            credit_exceptions.setdefault(e["key"], []).append(e["exception_id"])
        tier = accounts[e["key"]]["tier"]
        scope = f" for invoice {e['invoice']}" if e["invoice"] else ""
        used = f"used by {e['used_by']}" if e["used_by"] else "not used yet"
        yield _f(
            _tier_principle(tier),
            e["key"],
            f"exception {e['exception_id']} to {e['rule']}{scope} granted {e['granted_on']}"
            f" by {e['approver']} ({e['reason']}); {used}",
            "risk",
        )

    for m in db.query("SELECT key, currency, revenue_cents, received_cents FROM kf_account_money"):
        owed = from_cents(m["revenue_cents"] - m["received_cents"])
        tier = accounts[m["key"]]["tier"]
        limit = limits[tier]
        if owed <= limit:
            continue
        covered = sorted(credit_exceptions.get(m["key"], []), key=id_order)
        text = (
            f"receivable {fmt(owed)} {m['currency']} is over the {tier}-tier credit limit of"
            f" {fmt(limit)} by {fmt(owed - limit)}"
        )
        if covered:
            yield _f(
                _tier_principle(tier),
                m["key"],
                f"{text}; under credit-limit exception {', '.join(covered)}",
                "risk",
            )
        else:
            yield _f(_tier_principle(tier), m["key"], f"{text}; no exception granted", "violation")


# ---------------------------------------------------------------- P2
def _ledger(db: ViewDB, params: ReportParams) -> Iterable[Finding]:
    sales = {
        (s["key"], s["invoice"]): s
        for s in db.query("SELECT key, invoice, occurred_on, currency, amount_cents FROM kf_sales")
    }
    paid: dict[tuple[str, str], int] = {}
    payments_by_currency: dict[tuple[str, str], int] = {}
    for p in db.query(
        "SELECT key, invoice, currency, SUM(amount_cents) AS cents FROM kf_payments"
        " GROUP BY key, invoice, currency"
    ):
        cents = int(p["cents"])
        ref = (p["key"], p["invoice"])
        pair = (p["key"], p["currency"])
        payments_by_currency[pair] = payments_by_currency.get(pair, 0) + cents
        sale = sales.get(ref)
        if sale is None:
            yield _f(
                "P2",
                p["key"],
                f"payments of {fmt(from_cents(cents))} {p['currency']} reference invoice"
                f" {p['invoice']}, which is not a recorded sale",
                "violation",
            )
            continue
        if p["currency"] != sale["currency"]:
            yield _f(
                "P2",
                p["key"],
                f"invoice {p['invoice']} is in {sale['currency']} but has payments in"
                f" {p['currency']}",
                "violation",
            )
            continue
        paid[ref] = paid.get(ref, 0) + cents

    sales_by_currency: dict[tuple[str, str], int] = {}
    for ref, s in sorted(sales.items()):
        pair = (s["key"], s["currency"])
        sales_by_currency[pair] = sales_by_currency.get(pair, 0) + s["amount_cents"]
        got = paid.get(ref, 0)
        if got > s["amount_cents"]:
            yield _f(
                "P2",
                s["key"],
                f"invoice {s['invoice']}: payments of {fmt(from_cents(got))} exceed the invoiced"
                f" {fmt(from_cents(s['amount_cents']))} {s['currency']}",
                "violation",
            )
        elif got < s["amount_cents"]:
            age = days_since(s["occurred_on"], params.today)
            if age > UNPAID_DAYS:
                yield _f(
                    "P2",
                    s["key"],
                    f"invoice {s['invoice']} of {s['occurred_on']}:"
                    f" {fmt(from_cents(s['amount_cents'] - got))} of"
                    f" {fmt(from_cents(s['amount_cents']))} {s['currency']}"
                    f" unpaid after {age} days",
                    "risk",
                )

    # The per-account totals must agree with the invoices and payments behind them.
    for m in db.query("SELECT key, currency, revenue_cents, received_cents FROM kf_account_money"):
        pair = (m["key"], m["currency"])
        from_ledger = sales_by_currency.get(pair, 0) - payments_by_currency.get(pair, 0)
        from_totals = m["revenue_cents"] - m["received_cents"]
        if from_ledger != from_totals:
            yield _f(
                "P2",
                m["key"],
                f"ledger does not reconcile in {m['currency']}: sales minus payments"
                f" {fmt(from_cents(from_ledger))}, account totals {fmt(from_cents(from_totals))}",
                "violation",
            )


# ---------------------------------------------------------------- P3
def _files(
    db: ViewDB, params: ReportParams, accounts: dict[str, dict[str, Any]]
) -> Iterable[Finding]:
    for key, score in sorted(completeness(db, params.today).items()):
        if accounts[key]["lifecycle"] in SERVED and score.pct < THIN_FILE_PCT:
            yield _f(
                "P3",
                key,
                f"file {score.pct}% complete (under {THIN_FILE_PCT}%); missing: "
                + "; ".join(score.missing),
                "risk",
            )


# ---------------------------------------------------------------- P5
def _cadence(db: ViewDB, params: ReportParams) -> Iterable[Finding]:
    for r in contact_rows(db, params):
        if r["neglected"]:
            since = (
                f"last contact {r['last_contact_on']}"
                if r["last_contact_on"]
                else "never contacted since opening"
            )
            yield _f(
                "P5",
                r["key"],
                f"no contact for {r['days_since']} days ({since}), over the {r['tier']}-tier"
                f" cadence of {r['cadence_days']} days",
                "violation",
            )


# ---------------------------------------------------------------- P6
def _visits(db: ViewDB, params: ReportParams) -> Iterable[Finding]:
    for v in db.query(
        "SELECT key, visit_id, occurred_on, purpose, objective, result FROM kf_visits"
        " WHERE TRIM(purpose)='' OR TRIM(objective)='' OR TRIM(result)=''"
    ):
        lacking = [f for f in ("purpose", "objective", "result") if not v[f].strip()]
        yield _f(
            "P6",
            v["key"],
            f"visit {v['visit_id']} of {v['occurred_on']} has no {' or '.join(lacking)}",
            "violation",
        )
    for i in open_follow_ups(db, params):
        if i["age_days"] > FOLLOW_UP_DAYS:
            yield _f(
                "P6",
                i["key"],
                f"issue {i['issue_id']} from visit {i['visit_id']} of {i['raised_on']} open"
                f" {i['age_days']} days without a follow-up result: {i['issue']}",
                "risk",
            )


# ---------------------------------------------------------------- P7
def _complaints(
    db: ViewDB, params: ReportParams, accounts: dict[str, dict[str, Any]]
) -> Iterable[Finding]:
    for c in open_complaints(db, ReportParams(today=params.today)):
        if c["overdue"]:
            yield _f(
                "P7",
                c["key"],
                f"complaint {c['complaint_id']} ({c['severity']}, {c['status']}) open"
                f" {c['age_days']} days, {c['days_over']} over the {c['tier']}-tier SLA of"
                f" {c['sla_days']} days",
                "violation",
            )
    for c in db.query(
        "SELECT key, complaint_id, status FROM kf_complaints WHERE outcome IS NULL"
        " OR TRIM(outcome)=''"
    ):
        if c["status"] == "closed":
            yield _f(
                "P7",
                c["key"],
                f"complaint {c['complaint_id']} is closed without an outcome",
                "violation",
            )
        elif accounts[c["key"]]["lifecycle"] == "archived":
            yield _f(
                "P7",
                c["key"],
                f"account archived while complaint {c['complaint_id']} ({c['status']}) has"
                " no outcome",
                "violation",
            )


# ---------------------------------------------------------------- P8
def _lost(params: ReportParams, accounts: dict[str, dict[str, Any]]) -> Iterable[Finding]:
    for key, a in sorted(accounts.items()):
        if a["lifecycle"] == "lost":
            yield _f(
                "P8",
                key,
                f"lost on {a['lost_on']} ({a['lost_cause']}); no post-mortem after"
                f" {days_since(a['lost_on'], params.today)} days",
                "risk",
            )
        elif a["lifecycle"] == "archived" and not a["post_mortem_on"]:
            yield _f("P8", key, "archived without a post-mortem", "violation")


# ---------------------------------------------------------------- dates out of order
# A fact dated before what it is about began (the write side refuses these since it
# checks Account.began; history written earlier may hold them): which principle each
# contradiction weakens, the SQL that finds it (key, item, its date, the start, what
# began), and how to say it.
_ORDER: tuple[tuple[str, str, str], ...] = (
    (
        "P3",
        "SELECT v.key, v.visit_id, v.occurred_on, a.opened_on FROM kf_visits v"
        " JOIN kf_accounts a ON a.key = v.key WHERE v.occurred_on < a.opened_on",
        "visit {1} dated {2}, before the account was opened on {3}",
    ),
    (
        "P6",
        "SELECT key, issue_id, followed_up_on, raised_on FROM kf_issues"
        " WHERE followed_up_on < raised_on",
        "issue {1} followed up on {2}, before it was raised on {3}",
    ),
    (
        "P7",
        "SELECT key, complaint_id, COALESCE(ended_on, closed_on), raised_on FROM kf_complaints"
        " WHERE ended_on < raised_on OR closed_on < raised_on",
        "complaint {1} settled on {2}, before it was raised on {3}",
    ),
    (
        "P2",
        "SELECT s.key, s.invoice, s.occurred_on, a.opened_on FROM kf_sales s"
        " JOIN kf_accounts a ON a.key = s.key WHERE s.occurred_on < a.opened_on",
        "sale {1} dated {2}, before the account was opened on {3}",
    ),
    (
        "P2",
        "SELECT p.key, p.invoice, p.occurred_on, s.occurred_on FROM kf_payments p"
        " JOIN kf_sales s ON s.key = p.key AND s.invoice = p.invoice"
        " WHERE p.occurred_on < s.occurred_on",
        "payment for {1} dated {2}, before the sale on {3}",
    ),
    (
        "P3",
        "SELECT key, opportunity_id, closed_on, opened_on FROM kf_opportunities"
        " WHERE closed_on < opened_on",
        "opportunity {1} closed on {2}, before it was opened on {3}",
    ),
    (
        "P3",
        "SELECT key, contact_id, left_on, since FROM kf_contacts WHERE left_on < since",
        "contact {1} left on {2}, before they were added on {3}",
    ),
)


def _out_of_order(db: ViewDB) -> Iterable[Finding]:
    for principle, sql, text in _ORDER:
        for row in db.rows(sql):
            yield _f(principle, row[0], text.format(*row), "violation")


# ---------------------------------------------------------------- conduct (ADR 0023)
def _conduct(db: ViewDB, accounts: dict[str, dict[str, Any]]) -> Iterable[Finding]:
    """Roles and four eyes in stored history (kamflow.domain.conduct): what the
    commands refuse now, flagged wherever history holds it."""
    from kamflow.domain.conduct import GOVERNANCE, Act, actor_problem, findings, shown_actor

    acts: list[Act] = []
    if db.table_exists("kf_governance_log"):
        for g in db.query(
            "SELECT version, kind, actor, person, role, subject FROM kf_governance_log"
        ):
            acts.append(
                Act(
                    g["kind"],
                    GOVERNANCE,
                    g["version"],
                    g["actor"],
                    person=g["person"],
                    role=g["role"],
                    subject=g["subject"],
                )
            )
    for e in db.query("SELECT key, exception_id, approver, requested_by FROM kf_exceptions"):
        acts.append(
            Act(
                "exception",
                e["key"],
                0,
                e["approver"],
                subject=e["exception_id"],
                requester=e["requested_by"],
                approver=e["approver"],
                tier=accounts[e["key"]]["tier"],
            )
        )
    for t in db.query(
        "SELECT key, version, to_tier, actor, requested_by, approved_by FROM kf_tier_changes"
    ):
        acts.append(
            Act(
                "tier",
                t["key"],
                t["version"],
                t["actor"],
                subject=t["to_tier"],
                requester=t["requested_by"],
                approver=t["approved_by"],
            )
        )
    for f in findings(acts):
        yield _f(f.principle, f.key, f.finding, "violation")
    if db.table_exists("kf_audit"):
        # The actors are few: each distinct one is judged here, then its events read.
        bad = [
            r["actor"]
            for r in db.query("SELECT DISTINCT actor FROM kf_audit")
            if actor_problem(r["actor"])
        ]
        for a in (
            row
            for actor in bad
            for row in db.query(
                "SELECT key, version, type, actor FROM kf_audit WHERE actor = ?", (actor,)
            )
        ):
            problem = actor_problem(a["actor"])
            if problem:
                yield _f(
                    "actor",
                    a["key"],
                    f"{a['type']} (version {a['version']}): {problem} ({shown_actor(a['actor'])})",
                    "violation",
                )

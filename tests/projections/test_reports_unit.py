"""The reports on a small hand-built store, with every figure worked out by hand.

Five accounts, written through the application service as the CLI would, with business
dates set by ``on`` and record time by a fake clock; the report date is 2026-03-31.
Each test runs on SQLite and on PostgreSQL (skipped without a server), so the SQL of
every report is checked on both.

The store, in words (days are counted to 2026-03-31):
- acme, key tier, opened 2025-12-01, a complete file: 2 current contacts in two
  departments (Wang Fang buyer, Li Na decider/approver) and one who left (Zhao Lei);
  one visit on 2026-02-10 (49 days ago, key cadence 30: neglected) with issue I-1
  followed up and I-2 still open (49 days); complaints C-1 resolved, C-2 high raised
  2026-03-20 (11 days, key SLA 5: 6 over), C-3 low acknowledged raised 2026-03-28;
  sales INV-1 100,000 (2025-12-15, 40,000 paid: 60,000 unpaid after 106 days) and
  INV-2 50,000 (2026-03-01); service cost 5,000; satisfaction 6.5 on
  2026-03-15 recorded first, then 7 backdated to 2026-01-15 (target 8); competitor DSM
  noted twice; opportunities O-1 (200,000 CNY, proposal) and O-2 (50,000 USD, lost).
- beta, prospect, opened 2025-12-01, never visited (120 days, cadence 90: neglected),
  one contact, an opportunity without budget, complaint C-1 medium raised 2026-03-25.
- gamma, target, opened 2025-11-01, sale INV-G1 80,000 unpaid (141 days), then the
  target credit limit lowered to 60,000, then lost on 2026-03-10 with no post-mortem.
- delta, strategic, opened 2025-11-01, two contacts in one department ("Board",
  "board"), visited 2026-03-25; a credit-limit exception E-1 by zhou.hui let sale
  INV-D1 of 6,000,000 pass the 5,000,000 strategic limit; never measured.
- omega, target, lost, reviewed and archived: nothing to report on it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, run

from kamflow.application import Kamflow
from kamflow.domain.errors import AccountNotFound, InvalidInput
from kamflow.projections.db import ViewDB
from kamflow.projections.engine import caught_up_views
from kamflow.projections.reports import MODULES, builder
from kamflow.projections.reports.base import Report, ReportParams
from kamflow.projections.reports.file import ITEMS, completeness

TODAY = date(2026, 3, 31)
APPROVER = "zhou.hui"

# (command, fields, actor) in the order they are recorded.
SCRIPT: list[tuple[str, dict[str, Any], str]] = [
    # ACTOR, the first writer, is the admin (ADR 0023).
    ("roster grant", {"person": APPROVER, "role": "approver", "reason": "director"}, ACTOR),
    ("roster grant", {"person": APPROVER, "role": "admin", "reason": "sets policies"}, ACTOR),
    # acme -------------------------------------------------------------------
    (
        "account open",
        {
            "account": "acme",
            "name": "Acme Feed",
            "industry": "feed",
            "owner": ACTOR,
            "tier": "key",
            "on": "2025-12-01",
        },
        ACTOR,
    ),
    (
        "account update",
        {
            "account": "acme",
            "address": "Chengdu",
            "size": "5 mills",
            "strategy": "consolidating",
            "products": "sow feed",
            "finance": "listed",
            "fit": "enzymes fit",
            "on": "2025-12-01",
        },
        ACTOR,
    ),
    (
        "contact add",
        {
            "account": "acme",
            "contact": "Li Na",
            "title": "General Manager",
            "department": "general management",
            "roles": ["decider", "approver"],
            "personality": "open",
            "on": "2025-12-02",
        },
        ACTOR,
    ),
    (
        "contact add",
        {
            "account": "acme",
            "contact": "Wang Fang",
            "title": "Purchasing Manager",
            "department": "procurement",
            "roles": ["buyer"],
            "personality": "doubting",
            "reports_to": "Li Na",
            "on": "2025-12-02",
        },
        ACTOR,
    ),
    (
        "contact add",
        {
            "account": "acme",
            "contact": "Zhao Lei",
            "title": "Production Manager",
            "department": "production",
            "roles": ["user"],
            "on": "2025-12-03",
        },
        ACTOR,
    ),
    ("team assign", {"account": "acme", "member": ACTOR, "on": "2025-12-01"}, ACTOR),
    (
        "sale record",
        {
            "account": "acme",
            "invoice": "INV-1",
            "product": "phytase",
            "amount": "100000",
            "cost": "60000",
            "on": "2025-12-15",
        },
        ACTOR,
    ),
    (
        "payment record",
        {"account": "acme", "invoice": "INV-1", "amount": "40000", "on": "2026-02-01"},
        ACTOR,
    ),
    (
        "complaint raise",
        {"account": "acme", "summary": "wrong labels", "severity": "low", "on": "2026-02-01"},
        ACTOR,
    ),
    (
        "complaint resolve",
        {"account": "acme", "complaint": "C-1", "outcome": "relabelled", "on": "2026-02-05"},
        ACTOR,
    ),
    (
        "visit log",
        {
            "account": "acme",
            "with": ["Wang Fang"],
            "purpose": "phytase trial",
            "objective": "agree trial size",
            "result": "2 t agreed",
            "issues": ["price vs DSM", "COA missing"],
            "on": "2026-02-10",
        },
        ACTOR,
    ),
    (
        "visit follow-up",
        {"account": "acme", "issue": "I-1", "result": "price matched", "on": "2026-02-20"},
        ACTOR,
    ),
    (
        "cost record",
        {"account": "acme", "amount": "5000", "category": "logistics", "on": "2026-02-15"},
        ACTOR,
    ),
    (
        "sale record",
        {
            "account": "acme",
            "invoice": "INV-2",
            "product": "premix",
            "amount": "50000",
            "cost": "30000",
            "on": "2026-03-01",
        },
        ACTOR,
    ),
    (
        "contact leave",
        {
            "account": "acme",
            "contact": "Zhao Lei",
            "reason": "joined a competitor",
            "analysis": "production has no voice now",
            "on": "2026-03-01",
        },
        ACTOR,
    ),
    (
        "competitor note",
        {
            "account": "acme",
            "competitor": "DSM",
            "products": "phytase",
            "rep": "Mr. Chen",
            "on": "2026-01-20",
        },
        ACTOR,
    ),
    (
        "competitor note",
        {
            "account": "acme",
            "competitor": "DSM",
            "rep": "Ms. Liu",
            "strengths": "price",
            "on": "2026-03-10",
        },
        ACTOR,
    ),
    # The newer measurement is recorded first; the older one, backdated, must not hide it.
    (
        "satisfaction record",
        {"account": "acme", "score": "6.5", "target": "8", "on": "2026-03-15"},
        ACTOR,
    ),
    (
        "satisfaction record",
        {"account": "acme", "score": "7", "target": "8", "on": "2026-01-15"},
        ACTOR,
    ),
    (
        "opp open",
        {"account": "acme", "title": "enzyme programme", "budget": "200000", "on": "2026-02-01"},
        ACTOR,
    ),
    ("opp advance", {"account": "acme", "opportunity": "O-1", "on": "2026-02-15"}, ACTOR),
    ("opp advance", {"account": "acme", "opportunity": "O-1", "on": "2026-03-01"}, ACTOR),
    (
        "opp open",
        {
            "account": "acme",
            "title": "premix export",
            "budget": "50000",
            "currency": "USD",
            "on": "2026-02-01",
        },
        ACTOR,
    ),
    (
        "opp lose",
        {"account": "acme", "opportunity": "O-2", "reason": "price", "on": "2026-03-05"},
        ACTOR,
    ),
    (
        "complaint raise",
        {"account": "acme", "summary": "late delivery", "severity": "high", "on": "2026-03-20"},
        ACTOR,
    ),
    (
        "complaint raise",
        {"account": "acme", "summary": "invoice typo", "severity": "low", "on": "2026-03-28"},
        ACTOR,
    ),
    ("complaint ack", {"account": "acme", "complaint": "C-3", "on": "2026-03-29"}, ACTOR),
    # beta -------------------------------------------------------------------
    (
        "account open",
        {
            "account": "beta",
            "name": "Beta Foods",
            "industry": "food",
            "owner": ACTOR,
            "on": "2025-12-01",
        },
        ACTOR,
    ),
    (
        "contact add",
        {
            "account": "beta",
            "contact": "Chen Jie",
            "title": "Buyer",
            "department": "procurement",
            "roles": ["buyer"],
            "on": "2025-12-01",
        },
        ACTOR,
    ),
    ("opp open", {"account": "beta", "title": "trial", "on": "2026-01-10"}, ACTOR),
    (
        "complaint raise",
        {"account": "beta", "summary": "sample late", "severity": "medium", "on": "2026-03-25"},
        ACTOR,
    ),
    # gamma ------------------------------------------------------------------
    (
        "account open",
        {
            "account": "gamma",
            "name": "Gamma Chem",
            "industry": "chemicals",
            "owner": ACTOR,
            "tier": "target",
            "on": "2025-11-01",
        },
        ACTOR,
    ),
    (
        "sale record",
        {
            "account": "gamma",
            "invoice": "INV-G1",
            "product": "catalyst",
            "amount": "80000",
            "cost": "50000",
            "on": "2025-11-10",
        },
        ACTOR,
    ),
    (
        "policy set",
        {
            "policy": "credit-limit.target",
            "value": "60000",
            "reason": "tighter",
            "on": "2026-03-01",
        },
        APPROVER,
    ),
    ("account lose", {"account": "gamma", "cause": "cheaper supplier", "on": "2026-03-10"}, ACTOR),
    # delta ------------------------------------------------------------------
    (
        "account open",
        {
            "account": "delta",
            "name": "Delta Group",
            "industry": "feed",
            "owner": ACTOR,
            "tier": "strategic",
            "on": "2025-11-01",
        },
        ACTOR,
    ),
    (
        "contact add",
        {
            "account": "delta",
            "contact": "Sun Wei",
            "title": "Chairman",
            "department": "Board",
            "roles": ["decider"],
            "on": "2025-11-02",
        },
        ACTOR,
    ),
    (
        "contact add",
        {
            "account": "delta",
            "contact": "Zhou Min",
            "title": "Director",
            "department": "board",
            "roles": ["approver"],
            "on": "2025-11-02",
        },
        ACTOR,
    ),
    (
        "exception request",
        {
            "account": "delta",
            "rule": "credit-limit",
            "invoice": "INV-D1",
            "reason": "bank guarantee",
            "on": "2026-03-19",
        },
        ACTOR,
    ),
    (
        "exception approve",
        {"account": "delta", "exception": "E-1", "on": "2026-03-19"},
        APPROVER,
    ),
    (
        "sale record",
        {
            "account": "delta",
            "invoice": "INV-D1",
            "product": "premix",
            "amount": "6000000",
            "cost": "5000000",
            "on": "2026-03-20",
        },
        ACTOR,
    ),
    (
        "visit log",
        {
            "account": "delta",
            "with": ["Sun Wei"],
            "purpose": "annual review",
            "objective": "renew",
            "result": "renewed",
            "on": "2026-03-25",
        },
        ACTOR,
    ),
    # omega ------------------------------------------------------------------
    (
        "account open",
        {
            "account": "omega",
            "name": "Omega Ltd",
            "industry": "IT",
            "owner": ACTOR,
            "tier": "target",
            "on": "2025-11-01",
        },
        ACTOR,
    ),
    ("account lose", {"account": "omega", "cause": "closed down", "on": "2026-01-10"}, ACTOR),
    (
        "account review",
        {
            "account": "omega",
            "cause": "closed down",
            "lessons": "watch finances",
            "on": "2026-01-20",
        },
        ACTOR,
    ),
    ("account archive", {"account": "omega", "on": "2026-01-25"}, ACTOR),
]


@pytest.fixture
def views(locator: str) -> Iterator[ViewDB]:
    """The hand-built store, its views caught up; on SQLite and on PostgreSQL."""
    # Record time: 2026-03-31 09:00 UTC, one second later at every command.
    kamflow = Kamflow(locator, clock=FakeClock(datetime(2026, 3, 31, 9, 0, tzinfo=UTC)))
    try:
        for name, fields, actor in SCRIPT:
            run(kamflow, name, fields, actor=actor)
        db = caught_up_views(locator)
        try:
            yield db
        finally:
            db.close()
    finally:
        kamflow.close()


def report_on(db: ViewDB, name: str, **params: Any) -> Report:
    return builder(name)(db, ReportParams(today=TODAY, **params))


def pick(rows: list[dict[str, Any]], *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in rows]


# ---------------------------------------------------------------------- complaints
def test_complaint_board_puts_overdue_first_then_oldest(views: ViewDB) -> None:
    report = report_on(views, "complaints")
    assert report.rows == [
        {
            "key": "acme",
            "complaint_id": "C-2",
            "severity": "high",
            "status": "raised",
            "raised_on": "2026-03-20",
            "age_days": 11,
            "sla_days": 5,
            "overdue": True,
            "days_over": 6,
        },
        {
            "key": "beta",
            "complaint_id": "C-1",
            "severity": "medium",
            "status": "raised",
            "raised_on": "2026-03-25",
            "age_days": 6,
            "sla_days": 10,
            "overdue": False,
            "days_over": 0,
        },
        {
            "key": "acme",
            "complaint_id": "C-3",
            "severity": "low",
            "status": "acknowledged",
            "raised_on": "2026-03-28",
            "age_days": 3,
            "sla_days": 5,
            "overdue": False,
            "days_over": 0,
        },
    ]
    summary = report.sections["summary"]
    assert (summary["open"], summary["overdue"], summary["most_days_over"]) == (3, 1, 6)
    assert summary["by_severity"] == {"critical": 0, "high": 1, "medium": 1, "low": 1}


def test_complaint_board_filters_by_account_and_knows_unknown_ones(views: ViewDB) -> None:
    assert pick(report_on(views, "complaints", key="acme").rows, "complaint_id") == [
        ("C-2",),
        ("C-3",),
    ]
    # On the day it was raised a complaint is 0 days old and within any SLA.
    early = builder("complaints")(views, ReportParams(today=date(2026, 3, 25), key="beta"))
    assert pick(early.rows, "age_days", "overdue") == [(0, False)]
    with pytest.raises(AccountNotFound):
        report_on(views, "complaints", key="nobody")


# ---------------------------------------------------------------------- cadence
def test_cadence_lists_neglected_accounts_first_whatever_their_size(views: ViewDB) -> None:
    report = report_on(views, "cadence")
    assert pick(
        report.rows,
        "key",
        "lifecycle",
        "last_contact_on",
        "days_since",
        "cadence_days",
        "neglected",
    ) == [
        ("beta", "prospect", None, 120, 90, True),  # never visited: counted from opening
        ("acme", "active", "2026-02-10", 49, 30, True),
        ("gamma", "lost", None, 150, None, False),  # lost: no cadence applies
        ("omega", "archived", None, 150, None, False),
        ("delta", "active", "2026-03-25", 6, 14, False),
    ]
    assert report.sections["open_follow_ups"] == [
        {
            "key": "acme",
            "issue_id": "I-2",
            "visit_id": "V-1",
            "raised_on": "2026-02-10",
            "age_days": 49,
            "issue": "COA missing",
        }
    ]
    assert report.sections["summary"]["neglected"] == 2


# ---------------------------------------------------------------------- buying centre
def test_buying_centre_flags_missing_deciders_and_single_threads(views: ViewDB) -> None:
    report = report_on(views, "buying-centre")
    assert pick(
        report.rows,
        "key",
        "current_contacts",
        "departments",
        "decider_known",
        "single_thread",
        "flags",
    ) == [
        ("beta", 1, 1, False, True, "one thread, fragile; no decider known"),
        # Two contacts, but "Board" and "board" are one department: still one thread.
        ("delta", 2, 1, True, True, "one thread, fragile"),
        ("gamma", 0, 0, False, True, "no current contact; no decider known"),
        ("acme", 2, 2, True, False, ""),  # Zhao Lei left: he no longer counts
    ]
    acme = report.rows[-1]
    assert acme["roles_covered"] == "decider, buyer, approver"
    assert acme["roles_missing"] == "initiator, user, influencer, gatekeeper"
    assert "omega" not in {r["key"] for r in report.rows}  # archived


def test_buying_centre_of_one_account_maps_who_plays_each_role(views: ViewDB) -> None:
    report = report_on(views, "buying-centre", key="acme")
    roles = {r["role"]: r["contacts"] for r in report.sections["roles"]}
    assert roles["decider"] == ["P-1 Li Na"]
    assert roles["buyer"] == ["P-2 Wang Fang"]
    assert roles["user"] == []


# ---------------------------------------------------------------------- funnel
def test_funnel_counts_and_sums_budget_per_stage_and_currency(views: ViewDB) -> None:
    report = report_on(views, "funnel")
    assert report.columns == [
        "stage",
        "count",
        "no_budget",
        "probability_pct",
        "budget_CNY",
        "weighted_CNY",
        "budget_USD",
        "weighted_USD",
    ]
    assert pick(report.rows, "stage", "count", "no_budget", "budget_CNY", "budget_USD") == [
        ("lead", 1, 1, Decimal("0"), Decimal("0")),
        ("qualified", 0, 0, Decimal("0"), Decimal("0")),
        ("proposal", 1, 0, Decimal("200000"), Decimal("0")),
        ("negotiation", 0, 0, Decimal("0"), Decimal("0")),
        ("won", 0, 0, Decimal("0"), Decimal("0")),
        ("lost", 1, 0, Decimal("0"), Decimal("50000")),
    ]
    assert pick(report.sections["open_opportunities"], "key", "opportunity_id", "stage") == [
        ("acme", "O-1", "proposal"),
        ("beta", "O-1", "lead"),
    ]
    summary = report.sections["summary"]
    assert (summary["open"], summary["won"], summary["lost"]) == (2, 0, 1)
    assert summary["win_rate_pct"] == Decimal("0")
    assert summary["open_budget"] == {"CNY": Decimal("200000"), "USD": Decimal("0")}


# ---------------------------------------------------------------------- satisfaction
def test_satisfaction_takes_the_latest_business_date_and_lists_unmeasured(views: ViewDB) -> None:
    report = report_on(views, "satisfaction")
    assert pick(
        report.rows, "key", "measured_on", "score", "target", "gap", "change", "measurements"
    ) == [("acme", "2026-03-15", Decimal("6.5"), Decimal("8"), Decimal("1.5"), Decimal("-0.5"), 2)]
    assert pick(report.sections["key_accounts_unmeasured"], "key", "tier") == [
        ("delta", "strategic")
    ]


# ---------------------------------------------------------------------- file
def test_file_holds_the_whole_customer_file(views: ViewDB) -> None:
    report = report_on(views, "file", key="acme")
    assert report.flat is False
    assert pick(report.rows, "contact_id", "name", "roles", "reports_to", "current") == [
        ("P-1", "Li Na", "decider, approver", None, True),
        ("P-2", "Wang Fang", "buyer", "P-1 Li Na", True),
        ("P-3", "Zhao Lei", "user", None, False),
    ]
    s = report.sections
    assert s["completeness_pct"] == Decimal("100.0")
    assert s["completeness_missing"] == []
    assert s["profile"]["address"] == "Chengdu"
    assert s["profile"]["tier"] == "key"
    assert pick(s["personnel_changes"], "contact_id", "left_on", "reason", "analysis") == [
        ("P-3", "2026-03-01", "joined a competitor", "production has no voice now")
    ]
    assert pick(s["visits"], "visit_id", "on", "with") == [("V-1", "2026-02-10", "P-2 Wang Fang")]
    assert pick(s["issues"], "issue_id", "open", "age_days", "follow_up_result") == [
        ("I-1", False, None, "price matched"),
        ("I-2", True, 49, None),
    ]
    assert pick(s["complaints"], "complaint_id", "status", "outcome", "open_days") == [
        ("C-1", "resolved", "relabelled", None),
        ("C-2", "raised", None, 11),
        ("C-3", "acknowledged", None, 3),
    ]
    assert s["ledger"] == [
        {
            "currency": "CNY",
            "sales": Decimal("150000"),
            "payments": Decimal("40000"),
            "receivable": Decimal("110000"),
            "gross_margin": Decimal("60000"),
            "service_cost": Decimal("5000"),
            "real_profit": Decimal("55000"),
        }
    ]
    assert pick(s["sales"], "invoice", "paid", "outstanding") == [
        ("INV-1", Decimal("40000"), Decimal("60000")),
        ("INV-2", Decimal("0"), Decimal("50000")),
    ]
    assert pick(s["service_costs"], "category", "amount") == [("logistics", Decimal("5000"))]
    # The later note's rep replaces the earlier one; fields it does not mention stay.
    assert pick(s["competitors"], "competitor", "products", "rep", "strengths", "notes") == [
        ("DSM", "phytase", "Ms. Liu", "price", 2)
    ]
    assert pick(s["opportunities"], "opportunity_id", "stage", "budget", "currency") == [
        ("O-1", "proposal", Decimal("200000"), "CNY"),
        ("O-2", "lost", Decimal("50000"), "USD"),
    ]
    assert pick(s["satisfaction"], "measured_on", "score", "gap") == [
        ("2026-01-15", Decimal("7"), Decimal("1")),
        ("2026-03-15", Decimal("6.5"), Decimal("1.5")),
    ]
    assert pick(s["team"], "member") == [(ACTOR,)]


def test_file_completeness_names_what_is_missing(views: ViewDB) -> None:
    # beta holds a current contact and an opportunity: 2 of 14 items.
    report = report_on(views, "file", key="beta")
    assert report.sections["completeness_pct"] == Decimal("14.3")
    assert report.sections["completeness_missing"] == [
        item
        for item in ITEMS
        if item not in ("key people: a current contact", "projects: an opportunity recorded")
    ]
    # Scored in bulk, the same as one by one.
    every = completeness(views, TODAY)
    assert {k: v.pct for k, v in every.items()} == {
        "acme": Decimal("100.0"),
        "beta": Decimal("14.3"),
        "delta": Decimal("21.4"),  # contact, decider, recent visit
        "gamma": Decimal("0.0"),
        "omega": Decimal("0.0"),
    }
    # The acme visit is 90 days old on 2026-05-11 and too old the day after.
    assert completeness(views, date(2026, 5, 11), "acme")["acme"].pct == Decimal("100.0")
    late = completeness(views, date(2026, 5, 12), "acme")["acme"]
    assert late.missing == ["visits: a visit in the last 90 days"]


def test_file_of_an_unknown_account_is_not_found(views: ViewDB) -> None:
    with pytest.raises(AccountNotFound):
        report_on(views, "file", key="nobody")


# ---------------------------------------------------------------------- principles
def test_principles_lists_every_finding_sorted(views: ViewDB) -> None:
    report = report_on(views, "principles")
    found = pick(report.rows, "principle", "key", "severity", "finding")
    assert [f[:3] for f in found] == [
        ("P1", "gamma", "violation"),
        ("P2", "acme", "risk"),
        ("P2", "gamma", "risk"),
        ("P3", "beta", "risk"),
        ("P3", "delta", "risk"),
        ("P4", "delta", "risk"),
        ("P4", "delta", "risk"),
        ("P5", "acme", "violation"),
        ("P5", "beta", "violation"),
        ("P6", "acme", "risk"),
        ("P7", "acme", "violation"),
        ("P8", "gamma", "risk"),
    ]
    text = [f[3] for f in found]
    assert text[0] == (
        "receivable 80,000.00 CNY is over the target-tier credit limit of 60,000.00 by"
        " 20,000.00; no exception granted"
    )
    assert (
        text[1] == "invoice INV-1 of 2025-12-15: 60,000.00 of 100,000.00 CNY unpaid after 106 days"
    )
    assert (
        text[2] == "invoice INV-G1 of 2025-11-10: 80,000.00 of 80,000.00 CNY unpaid after 141 days"
    )
    assert text[3].startswith("file 14.3% complete (under 50%); missing: profile: address;")
    assert text[4].startswith("file 21.4% complete")
    assert text[5] == (
        "exception E-1 to credit-limit for invoice INV-D1 granted 2026-03-19 by zhou.hui"
        " (bank guarantee); used by INV-D1"
    )
    assert text[6] == (
        "receivable 6,000,000.00 CNY is over the strategic-tier credit limit of 5,000,000.00"
        " by 1,000,000.00; under credit-limit exception E-1"
    )
    assert text[7] == (
        "no contact for 49 days (last contact 2026-02-10), over the key-tier cadence of 30 days"
    )
    assert text[8] == (
        "no contact for 120 days (never contacted since opening), over the prospect-tier"
        " cadence of 90 days"
    )
    assert text[9] == (
        "issue I-2 from visit V-1 of 2026-02-10 open 49 days without a follow-up result:"
        " COA missing"
    )
    assert text[10] == (
        "complaint C-2 (high, raised) open 11 days, 6 over the key-tier SLA of 5 days"
    )
    assert text[11] == "lost on 2026-03-10 (cheaper supplier); no post-mortem after 21 days"
    summary = report.sections["summary"]
    assert (summary["violations"], summary["risks"]) == (4, 8)
    assert summary["P4"] == {"violation": 0, "risk": 2}


# ---------------------------------------------------------------------- audit
def test_audit_filters_by_actor_account_type_and_business_date(views: ViewDB) -> None:
    everything = report_on(views, "audit")
    # + governance Started and AdminBootstrapped (the first writer became admin)
    assert len(everything.rows) == sum(1 for _ in SCRIPT) + 2
    positions = [r["position"] for r in everything.rows]
    assert positions == sorted(positions)

    by_approver = report_on(views, "audit", actor=APPROVER)
    assert pick(by_approver.rows, "key", "type") == [
        ("(governance)", "PolicySet"),
        ("delta", "PolicyExceptionApproved"),
    ]
    raised = report_on(views, "audit", key="acme", event_type="complaintraised")
    assert pick(raised.rows, "version", "occurred_on") == [
        (9, "2026-02-01"),
        (25, "2026-03-20"),
        (26, "2026-03-28"),
    ]
    # since/until bound the business date, inclusive at both ends.
    window = report_on(views, "audit", key="acme", since=date(2026, 3, 20), until=date(2026, 3, 28))
    assert pick(window.rows, "type", "occurred_on") == [
        ("ComplaintRaised", "2026-03-20"),
        ("ComplaintRaised", "2026-03-28"),
    ]
    assert window.rows[0]["actor"] == ACTOR
    with pytest.raises(InvalidInput):
        report_on(views, "audit", since=date(2026, 3, 2), until=date(2026, 3, 1))


# ---------------------------------------------------------------------- empty store
def test_every_report_on_an_empty_store_is_empty(locator: str) -> None:
    kamflow = Kamflow(locator)
    db = caught_up_views(locator)
    try:
        for name in MODULES:
            if name == "file":
                with pytest.raises(AccountNotFound):
                    report_on(db, name, key="acme")
            else:
                assert report_on(db, name).rows == [], name
    finally:
        db.close()
        kamflow.close()


def test_reports_do_not_import_eventsourcing() -> None:
    # A report on caught-up views must cost little more than start-up (ADR 0009).
    code = (
        "import sys\n"
        "from importlib import import_module\n"
        "from kamflow.projections.reports import MODULES\n"
        "for m in MODULES.values(): import_module('kamflow.projections.reports.' + m)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] == 'eventsourcing'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

"""Reports and the projection commands as users and scripts see them.

Every portfolio here is built through the command line on a real store, and every
figure asserted was worked out by hand from the commands above it. Business dates are
set with `--on` relative to today (reports without `--as-of` are as of today, UTC);
where record time matters (audit rows, `--as-of`) a fake clock sets it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, Kam, fake_clock, invoker, json_of, ok

from kamflow.projections.db import ViewDB
from kamflow.projections.views import VIEWS

VIEW_NAMES = list(VIEWS)


def report(kam: Kam, *args: str) -> Any:
    return json_of(kam("report", *args, "--json"))


def today() -> date:
    return datetime.now(UTC).date()


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


def month_start(delta: int) -> str:
    """The first day of the month ``delta`` months from this one."""
    index = today().year * 12 + today().month - 1 + delta
    return date(index // 12, index % 12 + 1, 1).isoformat()


def open_account(kam: Kam, key: str, tier: str = "target", on: str | None = None) -> None:
    when = ["--on", on] if on else []
    ok(kam("account", "open", key, "--name", key.title(), "--industry", "feed",
           "--owner", ACTOR, "--tier", tier, *when))  # fmt: skip


def sale(kam: Kam, key: str, invoice: str, amount: str, cost: str, on: str | None = None) -> None:
    when = ["--on", on] if on else []
    ok(kam("sale", "record", key, "--invoice", invoice, "--product", "phytase",
           "--amount", amount, "--cost", cost, *when))  # fmt: skip


def service_cost(kam: Kam, key: str, amount: str, on: str) -> None:
    ok(kam("cost", "record", key, "--amount", amount, "--category", "technical service",
           "--on", on))  # fmt: skip


def visit(kam: Kam, key: str, who: str, on: str, *issues: str) -> None:
    flags = [arg for issue in issues for arg in ("--issue", issue)]
    ok(kam("visit", "log", key, "--with", who, "--purpose", "trial", "--objective", "size",
           "--result", "agreed", "--on", on, *flags))  # fmt: skip


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Record time set by the test, command by command (``clock.at``)."""
    with fake_clock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC), step=timedelta(0)) as fake:
        yield fake


# ---------------------------------------------------------------- portfolio
def build_portfolio(kam: Kam) -> None:
    """Five accounts; CNY; M is this month.

    | key     | tier      | opened | revenue   | cost of sales | service | real profit |
    | alpha   | strategic | M-14   | 1,000,000 | 600,000 (M-11)| 50,000  | 350,000     |
    | beta    | key       | M-10   | 1,200,000 | 1,000,000     | 130,000 | 70,000      |
    | gamma   | target    | M-8    | 100,000   | 60,000 (M-6)  | 50,000  | -10,000     |
    | delta   | target    | M-2    | 50,000    | 30,000 (today)| 0       | 20,000      |
    | epsilon | prospect  | M-1    | 0         | 0             | 0       | 0           |
    beta: sale B-1 600,000/500,000 and service 130,000 in M-8 (paid in M-7, so that
    B-2 stays under the key-tier credit limit), sale B-2 600,000/500,000 in M-3.
    """
    open_account(kam, "alpha", "strategic", month_start(-14))
    sale(kam, "alpha", "A-1", "1000000", "600000", month_start(-11))
    service_cost(kam, "alpha", "50000", month_start(-10))
    open_account(kam, "beta", "key", month_start(-10))
    sale(kam, "beta", "B-1", "600000", "500000", month_start(-8))
    service_cost(kam, "beta", "130000", month_start(-8))
    ok(kam("payment", "record", "beta", "--invoice", "B-1", "--amount", "600000",
           "--on", month_start(-7)))  # fmt: skip
    sale(kam, "beta", "B-2", "600000", "500000", month_start(-3))
    open_account(kam, "gamma", "target", month_start(-8))
    sale(kam, "gamma", "G-1", "100000", "60000", month_start(-6))
    service_cost(kam, "gamma", "50000", month_start(-1))
    open_account(kam, "delta", "target", month_start(-2))
    sale(kam, "delta", "D-1", "50000", "30000")
    open_account(kam, "epsilon", "prospect", month_start(-1))


def test_portfolio_json_gives_concentration_value_classes_zones_and_months_to_profit(
    locator: str,
) -> None:
    kam = invoker(locator)
    build_portfolio(kam)

    got = report(kam, "portfolio")

    assert got["report"] == f"portfolio (CNY, as of {today()})"
    by_key = {r["key"]: r for r in got["rows"]}
    # Ranked by real profit, best first.
    assert [r["key"] for r in got["rows"]] == ["alpha", "beta", "delta", "epsilon", "gamma"]
    assert by_key["alpha"] == {
        "key": "alpha",
        "name": "Alpha",
        "owner": ACTOR,
        "tier": "strategic",
        "industry": "feed",
        "value_class": "MVC",
        "rule": "among the accounts bringing the first 80% of real profit (0.0% before it)",
        "zone": "key-account zone",
        "revenue": "1000000.00",
        "gross_margin": "400000.00",
        "service_cost": "50000.00",
        "real_profit": "350000.00",
        "margin_pct": "40.0",
        "cost_to_serve_pct": "5.0",
        "months_to_profit": 3,
    }
    # 350,000 of the 440,000 positive real profit came before beta: 79.5% < 80%.
    assert by_key["beta"]["value_class"] == "MVC"
    assert by_key["beta"]["rule"] == (
        "among the accounts bringing the first 80% of real profit (79.5% before it)"
    )
    # 1.2M revenue, but service 130,000 is 10.8% of it (over 10%); margin 16.7% (over 15%).
    assert (by_key["beta"]["zone"], by_key["beta"]["cost_to_serve_pct"]) == (
        "large, costly to serve",
        "10.8",
    )
    assert (by_key["beta"]["margin_pct"], by_key["beta"]["months_to_profit"]) == ("16.7", 7)
    # Service cost 50,000 is above the gross margin of 40,000: below zero.
    assert {k: by_key["gamma"][k] for k in ("value_class", "rule", "real_profit", "zone")} == {
        "value_class": "BZ",
        "rule": "real profit -10000.00 is below bz-profit-floor 0",
        "real_profit": "-10000.00",
        "zone": "small",
    }
    # Past the first 80% of profit; all its revenue is this month's.
    assert (by_key["delta"]["value_class"], by_key["delta"]["rule"]) == (
        "MGC",
        "new revenue: 50000.00 in the last 6 months, none in the 6 before",
    )
    assert by_key["delta"]["months_to_profit"] == 2
    assert {k: by_key["epsilon"][k] for k in ("value_class", "rule", "margin_pct")} == {
        "value_class": "standard",
        "rule": "none of BZ, MVC, MGC applies",
        "margin_pct": None,
    }
    assert by_key["epsilon"]["months_to_profit"] is None
    assert got["summary"] == {
        "accounts": 5,
        "top_20pct_accounts": 1,
        "revenue": "2350000.00",
        "real_profit": "430000.00",
        "top_20pct_revenue_share_pct": "51.1",  # beta's 1.2M of 2.35M
        "top_20pct_profit_share_pct": "81.4",  # alpha's 350,000 of 430,000
        "pareto_80_20": False,
        "key_strategic_revenue_share_pct": "93.6",  # 2.2M of 2.35M
        "key_strategic_profit_share_pct": "97.7",  # 420,000 of 430,000
        "value_classes": {"MVC": 2, "MGC": 1, "standard": 1, "BZ": 1},
        "median_months_to_profit_new_key_accounts": "5.0",  # alpha 3, beta 7
        "new_key_accounts_not_yet_profitable": 0,
    }
    assert [r["key"] for r in got["top_10"]] == ["alpha", "beta", "delta", "epsilon", "gamma"]
    assert [r["key"] for r in got["bottom_10"]] == ["gamma", "epsilon", "delta", "beta", "alpha"]


def test_portfolio_csv_has_one_flat_row_per_account(kam: Kam) -> None:
    build_portfolio(kam)

    # The main rows alone (the CSV goes on with the summary and the top and bottom 10).
    result = kam("report", "portfolio", "--csv", "--section", "rows")

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "key,name,owner,tier,industry,value_class,rule,zone,revenue,gross_margin,service_cost,"
        "real_profit,margin_pct,cost_to_serve_pct,months_to_profit",
        "alpha,Alpha,li.wei,strategic,feed,MVC,among the accounts bringing the first 80% of real"
        " profit (0.0% before it),key-account zone,1000000.00,400000.00,50000.00,350000.00,"
        "40.0,5.0,3",
        "beta,Beta,li.wei,key,feed,MVC,among the accounts bringing the first 80% of real profit"
        ' (79.5% before it),"large, costly to serve",1200000.00,200000.00,130000.00,70000.00,'
        "16.7,10.8,7",
        'delta,Delta,li.wei,target,feed,MGC,"new revenue: 50000.00 in the last 6 months,'
        ' none in the 6 before",small,50000.00,20000.00,0.00,20000.00,40.0,0.0,2',
        'epsilon,Epsilon,li.wei,prospect,feed,standard,"none of BZ, MVC, MGC applies",small,'
        "0.00,0.00,0.00,0.00,,,",
        "gamma,Gamma,li.wei,target,feed,BZ,real profit -10000.00 is below bz-profit-floor 0,small,"
        "100000.00,40000.00,50000.00,-10000.00,40.0,50.0,2",
    ]


def test_portfolio_rules_follow_the_policies_in_force(kam: Kam) -> None:
    build_portfolio(kam)

    # Raising the floor to 25,000 makes delta (20,000) and epsilon (0) below zero too.
    ok(kam("policy", "set", "bz-profit-floor", "25000", "--reason", "floor review"))
    got = {r["key"]: r for r in report(kam, "portfolio")["rows"]}

    assert {k: r["value_class"] for k, r in got.items()} == {
        "alpha": "MVC",
        "beta": "MVC",
        "delta": "BZ",
        "epsilon": "BZ",
        "gamma": "BZ",
    }
    assert got["delta"]["rule"] == "real profit 20000.00 is below bz-profit-floor 25000"


def test_portfolio_as_of_a_date_gives_the_figures_the_log_held_then(
    kam: Kam, clock: FakeClock
) -> None:
    # Given alpha's first sale recorded in January, more sales and beta in March
    clock.at("2026-01-10T09:00:00")
    open_account(kam, "alpha", "key")
    sale(kam, "alpha", "A-1", "100000", "60000")
    clock.at("2026-03-10T09:00:00")
    sale(kam, "alpha", "A-2", "50000", "20000")
    open_account(kam, "beta", "target")
    sale(kam, "beta", "B-1", "30000", "10000")

    # When the portfolio is asked as of the end of January, of March 10, and of before
    january = report(kam, "portfolio", "--as-of", "2026-01-31")
    march = report(kam, "portfolio", "--as-of", "2026-03-10")
    before = report(kam, "portfolio", "--as-of", "2026-01-09")
    now = report(kam, "portfolio")

    # Then each shows what had been recorded by the end of that day
    assert january["report"] == "portfolio (CNY, as of 2026-01-31)"
    assert [
        (r["key"], r["revenue"], r["real_profit"], r["value_class"]) for r in january["rows"]
    ] == [("alpha", "100000.00", "40000.00", "MVC")]
    assert january["summary"]["revenue"] == "100000.00"
    assert january["summary"]["key_strategic_revenue_share_pct"] == "100.0"
    assert [(r["key"], r["revenue"], r["real_profit"]) for r in march["rows"]] == [
        ("alpha", "150000.00", "70000.00"),
        ("beta", "30000.00", "20000.00"),
    ]
    assert march["summary"]["key_strategic_revenue_share_pct"] == "83.3"  # 150,000 of 180,000
    assert before["rows"] == []
    assert before["summary"]["accounts"] == 0
    assert [(r["key"], r["revenue"]) for r in now["rows"]] == [
        ("alpha", "150000.00"),
        ("beta", "30000.00"),
    ]


# ---------------------------------------------------------------- audit
def test_audit_csv_lists_an_actors_events_since_a_business_date(kam: Kam, clock: FakeClock) -> None:
    clock.at("2026-03-02T09:00:00")
    ok(kam("account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner",
           ACTOR, "--on", "2026-02-20", "--command-id", "c-1"))  # fmt: skip
    # ACTOR, the first writer, is the admin (ADR 0023); dated before --since below.
    ok(kam("roster", "grant", "wang.fang", "kam", "--reason", "KAM", "--on", "2026-02-20"))
    clock.at("2026-03-03T10:00:00")
    ok(kam("contact", "add", "acme", "Wang Fang", "--title", "PM", "--department", "procurement",
           "--command-id", "c-2", actor="wang.fang"))  # fmt: skip
    clock.at("2026-03-05T11:00:00")
    ok(kam("visit", "log", "acme", "--with", "Wang Fang", "--purpose", "trial", "--objective",
           "size", "--result", "2 t agreed", "--on", "2026-03-04",
           "--command-id", "c-3"))  # fmt: skip
    clock.at("2026-03-06T12:00:00")
    ok(kam("policy", "set", "complaint-sla-days.key", "4", "--reason", "faster",
           "--command-id", "c-4"))  # fmt: skip
    clock.at("2026-03-07T13:00:00")
    # A late fact: it happened before --since, so it is left out.
    ok(kam("tier", "set", "acme", "key", "--reason", "volume", "--on", "2026-02-27",
           "--command-id", "c-5"))  # fmt: skip

    result = kam(
        "report", "audit", "--actor", ACTOR, "--since", "2026-03-02", "--csv", "--section", "rows"
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "position,key,version,type,actor,delegate,occurred_on,recorded_at,command_id,summary,"
        "subject,field,old,new,old_source",
        "1,(governance),1,Started,li.wei,,2026-03-02,2026-03-02T09:00:00+00:00,c-1,"
        "governance started,,,,,",
        "2,(governance),2,AdminBootstrapped,li.wei,,2026-03-02,2026-03-02T09:00:00+00:00,c-1,"
        '"li.wei holds admin, kam: the first to write to this database",,,,,',
        "6,acme,3,VisitLogged,li.wei,,2026-03-04,2026-03-05T11:00:00+00:00,c-3,"
        "visit V-1: trial -> 2 t agreed,,,,,",
        "7,(governance),4,PolicySet,li.wei,,2026-03-06,2026-03-06T12:00:00+00:00,c-4,"
        "policy complaint-sla-days.key: 5 -> 4 (faster),,complaint-sla-days.key,5,4,recorded",
    ]
    by_other = report(kam, "audit", "--actor", "wang.fang")
    assert [(r["position"], r["type"], r["summary"]) for r in by_other["rows"]] == [
        (5, "ContactAdded", "contact P-1 Wang Fang, PM (procurement), no role")
    ]
    window = report(kam, "audit", "--account", "acme", "--until", "2026-03-01")
    assert [(r["type"], r["occurred_on"]) for r in window["rows"]] == [
        ("AccountOpened", "2026-02-20"),
        ("TierChanged", "2026-02-27"),
    ]
    assert window["summary"] == {
        "events": 2,
        "accounts": 1,
        "by_actor": {"li.wei": 2},
        "by_type": {"AccountOpened": 1, "TierChanged": 1},
    }


# ---------------------------------------------------------------- complaints
def test_complaint_board_flags_overdue_against_the_tier_sla_and_follows_policy_set(
    kam: Kam,
) -> None:
    # Given complaints of several ages on accounts of several tiers (SLA key 5, target 7,
    # prospect 10 days)
    open_account(kam, "kilo", "key", days_ago(30))
    open_account(kam, "tango", "target", days_ago(30))
    open_account(kam, "papa", "prospect", days_ago(30))
    ok(kam("complaint", "raise", "kilo", "--summary", "late", "--severity", "high",
           "--on", days_ago(6)))  # fmt: skip
    ok(kam("complaint", "raise", "kilo", "--summary", "dusty bags", "--severity", "low",
           "--on", days_ago(5)))  # fmt: skip
    ok(kam("complaint", "ack", "kilo", "C-2"))
    ok(kam("complaint", "raise", "tango", "--summary", "wrong grade", "--severity", "medium",
           "--on", days_ago(10)))  # fmt: skip
    ok(kam("complaint", "raise", "tango", "--summary", "invoice", "--severity", "low",
           "--on", days_ago(20)))  # fmt: skip
    ok(kam("complaint", "resolve", "tango", "C-2", "--outcome", "credit note"))
    ok(kam("complaint", "raise", "papa", "--summary", "sample", "--severity", "low",
           "--on", days_ago(2)))  # fmt: skip

    board = report(kam, "complaints")

    # Then overdue ones come first (oldest first), the resolved one is not on the board,
    # and kilo C-2 at exactly 5 days is not yet over its 5-day SLA
    def rows(got: Any) -> list[tuple[Any, ...]]:
        keys = ("key", "complaint_id", "status", "age_days", "sla_days", "overdue", "days_over")
        return [tuple(r[k] for k in keys) for r in got["rows"]]

    assert rows(board) == [
        ("tango", "C-1", "raised", 10, 7, True, 3),
        ("kilo", "C-1", "raised", 6, 5, True, 1),
        ("kilo", "C-2", "acknowledged", 5, 5, False, 0),
        ("papa", "C-1", "raised", 2, 10, False, 0),
    ]
    assert board["rows"][0]["raised_on"] == days_ago(10)
    assert {k: board["summary"][k] for k in ("open", "overdue", "most_days_over")} == {
        "open": 4,
        "overdue": 2,
        "most_days_over": 3,
    }

    # When the key-tier SLA is cut to 4 days
    ok(kam("policy", "set", "complaint-sla-days.key", "4", "--reason", "key accounts first"))
    board = report(kam, "complaints")

    # Then both kilo complaints are overdue under the new SLA
    assert rows(board) == [
        ("tango", "C-1", "raised", 10, 7, True, 3),
        ("kilo", "C-1", "raised", 6, 4, True, 2),
        ("kilo", "C-2", "acknowledged", 5, 4, True, 1),
        ("papa", "C-1", "raised", 2, 10, False, 0),
    ]
    assert board["summary"]["sla_days_by_tier"] == {
        "prospect": 10,
        "target": 7,
        "key": 4,
        "strategic": 3,
    }
    only_kilo = report(kam, "complaints", "kilo")
    assert [r["complaint_id"] for r in only_kilo["rows"]] == ["C-1", "C-2"]
    assert only_kilo["report"] == f"open complaints for kilo (as of {today()})"


def test_complaint_board_as_of_a_date_ages_complaints_to_that_date(kam: Kam) -> None:
    open_account(kam, "kilo", "key", days_ago(30))
    ok(kam("complaint", "raise", "kilo", "--summary", "late", "--severity", "high",
           "--on", days_ago(9)))  # fmt: skip

    then = report(kam, "complaints", "--as-of", days_ago(-1))

    (row,) = then["rows"]
    assert (row["age_days"], row["overdue"], row["days_over"]) == (10, True, 5)


# ---------------------------------------------------------------- customer file
def test_customer_file_json_holds_people_visits_ledger_and_completeness(kam: Kam) -> None:
    open_account(kam, "acme", "key", days_ago(60))
    ok(kam("account", "update", "acme", "--address", "Shanghai", "--size", "800 staff"))
    ok(kam("contact", "add", "acme", "Wang Fang", "--title", "Purchasing Manager",
           "--department", "procurement", "--role", "decider", "--role", "buyer",
           "--personality", "doubting", "--on", days_ago(50)))  # fmt: skip
    ok(kam("contact", "add", "acme", "Li Na", "--title", "Lab head", "--department", "R&D",
           "--role", "user", "--reports-to", "Wang Fang", "--on", days_ago(50)))  # fmt: skip
    visit(kam, "acme", "Wang Fang", days_ago(10), "price vs DSM", "sample size")
    ok(kam("visit", "follow-up", "acme", "I-1", "--result", "price matched",
           "--on", days_ago(8)))  # fmt: skip
    ok(kam("complaint", "raise", "acme", "--summary", "late delivery", "--severity", "high",
           "--on", days_ago(3)))  # fmt: skip
    sale(kam, "acme", "INV-1", "120000", "84000", days_ago(20))
    ok(kam("payment", "record", "acme", "--invoice", "INV-1", "--amount", "60000",
           "--on", days_ago(5)))  # fmt: skip
    ok(kam("competitor", "note", "acme", "DSM", "--strengths", "price"))
    ok(kam("contact", "leave", "acme", "Li Na", "--reason", "new job", "--analysis",
           "lab loses its champion", "--on", days_ago(1)))  # fmt: skip

    got = report(kam, "file", "acme")

    assert got["report"] == f'customer file of acme "Acme" (as of {today()})'
    assert [(p["contact_id"], p["roles"], p["reports_to"], p["current"]) for p in got["rows"]] == [
        ("P-1", "decider, buyer", None, True),
        ("P-2", "user", "P-1 Wang Fang", False),
    ]
    # 7 of 14: address, size, a current contact, a decider, personalities judged,
    # a recent visit, a competitor (Li Na's reporting line left with her).
    assert got["completeness_pct"] == "50.0"
    assert got["completeness_missing"] == [
        "profile: strategy",
        "profile: products",
        "profile: finance",
        "profile: fit",
        "influence: a reporting line or influencer recorded",
        "satisfaction: a measurement",
        "projects: an opportunity recorded",
    ]
    assert [
        (i["issue_id"], i["open"], i["age_days"], i["follow_up_result"]) for i in got["issues"]
    ] == [
        ("I-1", False, None, "price matched"),
        ("I-2", True, 10, None),
    ]
    assert got["ledger"] == [
        {
            "currency": "CNY",
            "sales": "120000.00",
            "payments": "60000.00",
            "receivable": "60000.00",
            "gross_margin": "36000.00",
            "service_cost": "0.00",
            "real_profit": "36000.00",
        }
    ]
    assert [(c["complaint_id"], c["status"], c["open_days"]) for c in got["complaints"]] == [
        ("C-1", "raised", 3)
    ]
    assert [(p["name"], p["left_on"], p["reason"]) for p in got["personnel_changes"]] == [
        ("Li Na", days_ago(1), "new job")
    ]
    assert got["profile"]["visits"] == 1
    assert got["profile"]["last_contact_on"] == days_ago(10)


# ---------------------------------------------------------------- cadence
def test_cadence_lists_neglected_accounts_first_and_open_follow_ups(kam: Kam) -> None:
    # Cadence: key 30 days, strategic 14, target 60, prospect 90.
    open_account(kam, "kilo", "key", days_ago(100))
    ok(kam("contact", "add", "kilo", "Wang", "--title", "PM", "--department", "p",
           "--on", days_ago(100)))  # fmt: skip
    visit(kam, "kilo", "Wang", days_ago(31), "bags torn")
    open_account(kam, "sierra", "strategic", days_ago(100))
    ok(kam("contact", "add", "sierra", "Chen", "--title", "PM", "--department", "p",
           "--on", days_ago(100)))  # fmt: skip
    visit(kam, "sierra", "Chen", days_ago(14))
    open_account(kam, "tango", "target", days_ago(61))
    open_account(kam, "papa", "prospect", days_ago(10))

    got = report(kam, "cadence")

    assert [
        (r["key"], r["last_contact_on"], r["days_since"], r["cadence_days"], r["neglected"])
        for r in got["rows"]
    ] == [
        ("tango", None, 61, 60, True),
        ("kilo", days_ago(31), 31, 30, True),
        ("sierra", days_ago(14), 14, 14, False),
        ("papa", None, 10, 90, False),
    ]
    assert got["summary"] == {
        "accounts_served": 4,
        "neglected": 2,
        "never_contacted": 2,
        "open_follow_ups": 1,
        "cadence_days_by_tier": {"prospect": 90, "target": 60, "key": 30, "strategic": 14},
    }
    assert got["open_follow_ups"] == [
        {
            "key": "kilo",
            "issue_id": "I-1",
            "visit_id": "V-1",
            "raised_on": days_ago(31),
            "age_days": 31,
            "issue": "bags torn",
        }
    ]


# ---------------------------------------------------------------- buying centre
def test_buying_centre_shows_roles_covered_and_missing_and_flags_single_threads(
    kam: Kam,
) -> None:
    open_account(kam, "bravo")
    ok(kam("contact", "add", "bravo", "Wang", "--title", "PM", "--department", "procurement",
           "--role", "buyer", "--role", "decider"))  # fmt: skip
    ok(kam("contact", "add", "bravo", "Li", "--title", "Lab", "--department", "R&D",
           "--role", "user", "--role", "influencer"))  # fmt: skip
    open_account(kam, "charlie")
    ok(kam("contact", "add", "charlie", "Zhao", "--title", "Buyer", "--department", "Procurement",
           "--role", "user"))  # fmt: skip
    ok(kam("contact", "add", "charlie", "Sun", "--title", "Clerk", "--department", "procurement",
           "--role", "decider"))  # fmt: skip
    ok(kam("contact", "leave", "charlie", "Sun", "--reason", "retired", "--analysis", "none"))
    open_account(kam, "delta")

    got = report(kam, "buying-centre")

    keys = ("key", "current_contacts", "departments", "decider_known", "roles_covered",
            "roles_missing", "single_thread", "flags")  # fmt: skip
    assert [tuple(r[k] for k in keys) for r in got["rows"]] == [
        ("charlie", 1, 1, False, "user",
         "initiator, influencer, decider, buyer, approver, gatekeeper", True,
         "one thread, fragile; no decider known"),
        ("delta", 0, 0, False, "",
         "initiator, user, influencer, decider, buyer, approver, gatekeeper", True,
         "no current contact; no decider known"),
        ("bravo", 2, 2, True, "user, influencer, decider, buyer",
         "initiator, approver, gatekeeper", False, ""),
    ]  # fmt: skip
    assert got["summary"] == {
        "accounts": 3,
        "no_decider_known": 2,
        "single_thread": 2,
        "all_seven_roles_covered": 0,
    }


# ---------------------------------------------------------------- funnel
def test_funnel_counts_opportunities_and_budgets_by_stage(kam: Kam) -> None:
    open_account(kam, "acme")
    ok(kam("opp", "open", "acme", "--title", "line 3", "--budget", "100000"))
    ok(kam("opp", "open", "acme", "--title", "premix", "--budget", "50000", "--currency", "USD"))
    ok(kam("opp", "advance", "acme", "O-2"))
    ok(kam("opp", "open", "acme", "--title", "enzymes"))  # no budget
    ok(kam("opp", "lose", "acme", "O-3", "--reason", "price"))
    ok(kam("opp", "open", "acme", "--title", "phytase", "--budget", "20000.50"))
    for _ in range(3):
        ok(kam("opp", "advance", "acme", "O-4"))
    ok(kam("opp", "win", "acme", "O-4"))

    got = report(kam, "funnel")

    # Probabilities are the stage policies' defaults (10, 25, ...; won 100, lost 0).
    assert got["rows"] == [
        {"stage": "lead", "count": 1, "no_budget": 0, "probability_pct": "10",
         "budget_CNY": "100000.00", "weighted_CNY": "10000.00",
         "budget_USD": "0.00", "weighted_USD": "0.00"},
        {"stage": "qualified", "count": 1, "no_budget": 0, "probability_pct": "25",
         "budget_CNY": "0.00", "weighted_CNY": "0.00",
         "budget_USD": "50000.00", "weighted_USD": "12500.00"},
        {"stage": "proposal", "count": 0, "no_budget": 0, "probability_pct": "50",
         "budget_CNY": "0.00", "weighted_CNY": "0.00",
         "budget_USD": "0.00", "weighted_USD": "0.00"},
        {"stage": "negotiation", "count": 0, "no_budget": 0, "probability_pct": "75",
         "budget_CNY": "0.00", "weighted_CNY": "0.00",
         "budget_USD": "0.00", "weighted_USD": "0.00"},
        {"stage": "won", "count": 1, "no_budget": 0, "probability_pct": "100",
         "budget_CNY": "20000.50", "weighted_CNY": "20000.50",
         "budget_USD": "0.00", "weighted_USD": "0.00"},
        {"stage": "lost", "count": 1, "no_budget": 1, "probability_pct": "0",
         "budget_CNY": "0.00", "weighted_CNY": "0.00",
         "budget_USD": "0.00", "weighted_USD": "0.00"},
    ]  # fmt: skip
    assert got["summary"] == {
        "opportunities": 4,
        "open": 2,
        "won": 1,
        "lost": 1,
        "win_rate_pct": "50.0",
        "open_budget": {"CNY": "100000.00", "USD": "50000.00"},
        "weighted_pipeline": {"CNY": "10000.00", "USD": "12500.00"},
        "stale": 0,
        "past_close_date": 0,
        "stale_after_days": 60,
    }
    assert [(o["opportunity_id"], o["stage"]) for o in got["open_opportunities"]] == [
        ("O-2", "qualified"),
        ("O-1", "lead"),
    ]


# ---------------------------------------------------------------- satisfaction
def test_satisfaction_shows_the_latest_gap_worst_first_and_unmeasured_key_accounts(
    kam: Kam,
) -> None:
    open_account(kam, "alpha", "key", on=days_ago(60))
    ok(kam("satisfaction", "record", "alpha", "--score", "7", "--target", "9",
           "--on", days_ago(40)))  # fmt: skip
    ok(kam("satisfaction", "record", "alpha", "--score", "8.5", "--target", "9",
           "--on", days_ago(10)))  # fmt: skip
    open_account(kam, "beta", "target")
    ok(kam("satisfaction", "record", "beta", "--score", "9.5", "--target", "9"))
    open_account(kam, "gamma", "strategic")
    open_account(kam, "delta", "target")

    got = report(kam, "satisfaction")

    keys = ("key", "measured_on", "score", "target", "gap", "change", "measurements")
    assert [tuple(r[k] for k in keys) for r in got["rows"]] == [
        ("alpha", days_ago(10), "8.5", "9", "0.5", "1.5", 2),
        ("beta", today().isoformat(), "9.5", "9", "-0.5", None, 1),
    ]
    assert got["summary"] == {
        "measured_accounts": 2,
        "below_target": 1,
        "at_or_above_target": 1,
        "key_accounts_unmeasured": 1,
    }
    assert [a["key"] for a in got["key_accounts_unmeasured"]] == ["gamma"]


# ---------------------------------------------------------------- principles
def test_principles_lists_every_violation_and_risk_by_principle(kam: Kam) -> None:
    # kilo (key): last visit 40 days ago (cadence 30) with an open issue; a complaint
    # 6 days old (SLA 5); a thin file.
    open_account(kam, "kilo", "key", days_ago(100))
    ok(kam("contact", "add", "kilo", "Wang", "--title", "PM", "--department", "p",
           "--on", days_ago(100)))  # fmt: skip
    visit(kam, "kilo", "Wang", days_ago(40), "bags torn")
    ok(kam("complaint", "raise", "kilo", "--summary", "late", "--severity", "high",
           "--on", days_ago(6)))  # fmt: skip
    # lima (target): a sale 100 days ago, 400 of 1,000 paid; lost, no post-mortem yet.
    open_account(kam, "lima", "target", days_ago(200))
    sale(kam, "lima", "INV-1", "1000", "600", days_ago(100))
    ok(kam("payment", "record", "lima", "--invoice", "INV-1", "--amount", "400",
           "--on", days_ago(70)))  # fmt: skip
    ok(kam("account", "lose", "lima", "--cause", "switched to DSM", "--on", days_ago(12)))

    got = report(kam, "principles")

    assert [(r["principle"], r["key"], r["severity"], r["finding"]) for r in got["rows"]] == [
        ("P2", "lima", "risk",
         f"invoice INV-1 of {days_ago(100)}: 600.00 of 1,000.00 CNY unpaid after 100 days"),
        ("P3", "kilo", "risk",
         "file 14.3% complete (under 50%); missing: profile: address; profile: size;"
         " profile: strategy; profile: products; profile: finance; profile: fit;"
         " buying centre: a decider known; personality types: judged for every current"
         " contact; influence: a reporting line or influencer recorded; satisfaction: a"
         " measurement; competitors: at least one noted; projects: an opportunity recorded"),
        ("P5", "kilo", "violation",
         f"no contact for 40 days (last contact {days_ago(40)}), over the key-tier cadence"
         " of 30 days"),
        ("P6", "kilo", "risk",
         f"issue I-1 from visit V-1 of {days_ago(40)} open 40 days without a follow-up"
         " result: bags torn"),
        ("P7", "kilo", "violation",
         "complaint C-1 (high, raised) open 6 days, 1 over the key-tier SLA of 5 days"),
        ("P8", "lima", "risk", f"lost on {days_ago(12)} (switched to DSM); no post-mortem"
         " after 12 days"),
    ]  # fmt: skip
    assert {k: got["summary"][k] for k in ("violations", "risks", "accounts_concerned")} == {
        "violations": 2,
        "risks": 4,
        "accounts_concerned": 2,
    }


# ---------------------------------------------------------------- bad input
def test_an_unknown_report_is_a_usage_error_on_one_line(kam: Kam) -> None:
    result = kam("report", "nope")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: No such command 'nope'.\n"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("2026-02-30", "is not a day of the calendar (day is out of range for month)"),
        ("30/06/2026", "is not a date; give YYYY-MM-DD (e.g. 2026-11-30), today or yesterday"),
        ("9999-12-31", "is out of range; give a date from 1900-01-01 to 2999-12-31"),
    ],
)
def test_a_malformed_as_of_date_is_a_usage_error_on_one_line(kam: Kam, bad: str, why: str) -> None:
    result = kam("report", "portfolio", "--as-of", bad)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: Invalid value for '--as-of': '{bad}' {why}\n"


def test_rebuilding_an_unknown_view_is_a_usage_error_that_rebuilds_nothing(kam: Kam) -> None:
    open_account(kam, "acme")
    ok(kam("projections", "status"))

    result = kam("projections", "rebuild", "complaints", "nope")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        'Error: unknown view "nope"; one of: accounts, people, visits, complaints, ledger,'
        " market, tasks, audit, governance\n"
    )


def test_a_report_on_an_unknown_account_is_refused_on_one_line(kam: Kam) -> None:
    open_account(kam, "acme")

    result = kam("report", "complaints", "nope")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        'Error: account "nope" not found; list accounts with `kamflow account list`\n'
    )


@pytest.mark.parametrize(
    "name",
    ["portfolio", "complaints", "cadence", "buying-centre", "funnel", "satisfaction",
     "principles", "audit"],
)  # fmt: skip
def test_a_report_on_an_empty_database_is_an_empty_report(empty_store: str, name: str) -> None:
    kam = invoker(empty_store)
    as_json = kam("report", name, "--json")
    as_table = kam("report", name)
    as_csv = kam("report", name, "--csv")

    assert (as_json.exit_code, as_table.exit_code, as_csv.exit_code) == (0, 0, 0)
    assert as_json.stderr == as_table.stderr == as_csv.stderr == ""
    assert json.loads(as_json.stdout)["rows"] == []
    assert "(nothing to report)" in as_table.stdout.splitlines()
    # The header only, then the sections
    assert len(as_csv.stdout.split("\n\n")[0].splitlines()) == 1


# ---------------------------------------------------------------- projections
def status(kam: Kam) -> dict[str, tuple[int, int]]:
    result = kam("projections", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return {s["view"]: (s["position"], s["behind"]) for s in json.loads(result.stdout)}


def test_projections_status_shows_positions_and_how_many_events_behind(locator: str) -> None:
    kam = invoker(locator)
    open_account(kam, "acme")
    ok(kam("contact", "add", "acme", "Wang", "--title", "PM", "--department", "p"))
    report(kam, "portfolio")  # catches the views up: 2 events and the first admin's 2
    assert status(kam) == {name: (4, 0) for name in VIEW_NAMES}

    # When three more events are written and no report has run since
    sale(kam, "acme", "INV-1", "100", "60")
    ok(kam("complaint", "raise", "acme", "--summary", "late", "--severity", "low"))
    # One event: governance began with the first write (its first admin; ADR 0023).
    ok(kam("policy", "set", "complaint-sla-days.key", "4", "--reason", "r"))

    # Then every view is where it was, three events behind
    assert status(kam) == {name: (4, 3) for name in VIEW_NAMES}
    report(kam, "complaints")
    assert status(kam) == {name: (7, 0) for name in VIEW_NAMES}


def view_rows(locator: str) -> dict[str, list[tuple[Any, ...]]]:
    db = ViewDB(locator)
    try:
        return {
            table: sorted((tuple(r.values()) for r in db.query(f"SELECT * FROM {table}")), key=repr)
            for view in VIEWS.values()
            for table in view.tables
        }
    finally:
        db.close()


def test_projections_rebuild_says_what_it_rebuilt_and_gives_the_same_rows(locator: str) -> None:
    kam = invoker(locator)
    build_portfolio(kam)
    report(kam, "portfolio")
    caught_up = view_rows(locator)
    events = len(caught_up["kf_audit"])
    # A row that no event explains, as a bug in older code could have left behind.
    db = ViewDB(locator)
    with db.transaction() as cur:
        cur.execute("UPDATE kf_account_money SET revenue_cents = 1")
    db.close()

    result = kam("projections", "rebuild")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "rebuilt accounts, people, visits, complaints, ledger, market, tasks, audit, governance"
        f" from {events} events\n"
    )
    assert view_rows(locator) == caught_up

    one = kam("projections", "rebuild", "complaints")
    assert one.stdout == f"rebuilt complaints from {events} events\n"
    assert view_rows(locator) == caught_up
    assert status(kam) == {name: (events, 0) for name in VIEW_NAMES}


def test_projections_follow_catches_up_new_events_until_its_time_is_up(kam: Kam) -> None:
    open_account(kam, "acme")
    sale(kam, "acme", "INV-1", "100", "60")
    sale(kam, "acme", "INV-2", "100", "60")

    first = kam("projections", "follow", "--for", "1", "--interval", "0.1")

    assert first.exit_code == 0, first.stderr
    # The first write also recorded governance's first admin (2 events; ADR 0023).
    assert first.stdout == "caught up 5 events (position 5)\nstopped; 5 events applied\n"
    assert status(kam) == {name: (5, 0) for name in VIEW_NAMES}

    ok(kam("cost", "record", "acme", "--amount", "5", "--category", "visits"))
    second = kam("projections", "follow", "--for", "1", "--interval", "0.1")

    assert second.stdout == "caught up 1 events (position 6)\nstopped; 1 events applied\n"
    money = report(kam, "portfolio")["rows"][0]
    assert (money["revenue"], money["service_cost"]) == ("200.00", "5.00")

"""The read models are a fold of the event log, however they are filled (ADR 0009, 0010).

- caught up incrementally, in any batch split, between writes and part-way through
  them, the views hold the same rows as a rebuild from zero, and both hold what an
  independent model of the accepted commands says they should;
- a second catch-up changes nothing (exactly once), also when two run at the same time;
- views "as of" a date are the views as they stood when that date ended;
- a view whose definition changed is rebuilt by the next catch-up.

Generated examples get a store of their own (a SQLite file in a temporary folder, or a
fresh PostgreSQL schema), so the views of one example never see another's events.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import (
    FIRST_WRITE,
    Capped,
    FakeClock,
    Interrupting,
    fresh_store,
    run,
    snapshot_views,
    typed,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.domain.errors import InvalidInput, KamflowError
from kamflow.projections.db import ViewDB
from kamflow.projections.engine import (
    GOVERNANCE_KEY,
    Projector,
    caught_up_views,
    fingerprint,
    views_as_of,
)
from kamflow.projections.log import EventDecoder, StoreSource
from kamflow.projections.reports import MODULES, builder
from kamflow.projections.reports.base import ReportParams
from kamflow.projections.views import VIEWS

ALL_VIEWS = list(VIEWS)
TABLES = ["kf_keys", *(table for view in VIEWS.values() for table in view.tables)]

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# ------------------------------------------------------------------- stores
def rows(db: ViewDB) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table (and the key map), in a stable order."""
    return {
        table: sorted((tuple(r.values()) for r in db.query(f"SELECT * FROM {table}")), key=repr)
        for table in TABLES
    }


def every_report(db: ViewDB, today: date) -> dict[str, Any]:
    """Every report over the views as programs get it (--json), the customer file of
    every account included."""
    params = ReportParams(today=today)
    out = {name: builder(name)(db, params).as_json() for name in MODULES if name != "file"}
    for r in db.query("SELECT key FROM kf_accounts"):
        file_params = ReportParams(today=today, key=r["key"])
        out[f"file {r['key']}"] = builder("file")(db, file_params).as_json()
    return out


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def cents(amount: Decimal) -> int:
    return int(amount * 100)


# -------------------------------------------------------------------- model
OPP_NEXT = {"lead": "qualified", "qualified": "proposal", "proposal": "negotiation"}


@dataclass
class AccountModel:
    """What the views should say about one account, folded from accepted commands."""

    key: str
    currency: str
    tier: str
    lifecycle: str
    events: int = 0
    visits: int = 0
    last_contact_on: date | None = None
    counters: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, bool] = field(default_factory=dict)  # id -> current
    issues: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    complaints: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    invoices: dict[str, list[Any]] = field(default_factory=dict)  # [currency, amount, paid]
    money: dict[str, list[int]] = field(default_factory=dict)  # revenue, cost, service, received
    opportunities: dict[str, str] = field(default_factory=dict)
    team: dict[str, str] = field(default_factory=dict)
    program: tuple[str, int] = ("not-started", 0)
    satisfaction: int = 0
    competitor_notes: int = 0

    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]}"

    def add_money(self, currency: str, index: int, amount: int) -> None:
        self.money.setdefault(currency, [0, 0, 0, 0])[index] += amount


@dataclass
class Model:
    accounts: dict[str, AccountModel] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    governance_events: int = 0

    def event_count(self) -> int:
        return self.governance_events + sum(a.events for a in self.accounts.values())


KEYS = ["acme", "正大饲料", "beta.co", "k_4"]
CONTACT_NAMES = ["Wang Fang", "Li Na", "赵磊", "Chen Jie"]
MEMBERS = ["li.wei", "zhang.san", "王芳"]
POLICIES = ["complaint-sla-days.key", "complaint-sla-days.target", "contact-cadence-days.key"]
KINDS = [
    "contact add",
    "contact leave",
    "visit log",
    "visit follow-up",
    "complaint raise",
    "complaint ack",
    "complaint resolve",
    "sale record",
    "payment record",
    "cost record",
    "satisfaction record",
    "competitor note",
    "opp open",
    "opp advance",
    "opp lose",
    "tier set",
    "team assign",
    "program complete",
    "policy set",
    "account open",
]
# The commands behind the figures most reports use come up more often.
WEIGHTED = [*KINDS, "visit log", "visit follow-up", "sale record", "payment record", "tier set"]
TEXT = st.sampled_from(["ok", "价格太高", "trial of 2 t agreed", "late delivery, line 2"])


def amounts(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=2, allow_nan=False
    ).filter(lambda d: d > 0)


Effect = Callable[[], None]


def mostly(fitting: list[str], every: list[str]) -> st.SearchStrategy[str]:
    """One of the choices that fit, more often than one of all the choices."""
    if not fitting:
        return st.sampled_from(every)
    return st.sampled_from(sorted(fitting)) | st.sampled_from(every)


def prerequisite(kind: str, a: AccountModel) -> str | None:
    """The command to run first when ``kind`` has nothing to act on in account ``a``."""
    if kind in ("contact leave", "visit log") and not any(a.contacts.values()):
        return "contact add"
    if kind == "visit follow-up" and all(done for done, _ in a.issues.values()):
        return "visit log"
    if kind == "complaint ack" and "raised" not in {s for s, _ in a.complaints.values()}:
        return "complaint raise"
    if kind == "complaint resolve" and all(outcome for _, outcome in a.complaints.values()):
        return "complaint raise"
    if kind == "payment record" and all(inv[1] == inv[2] for inv in a.invoices.values()):
        return "sale record"
    if kind in ("opp advance", "opp lose") and not set(a.opportunities.values()) & set(OPP_NEXT):
        return "opp open"
    return None


def draw_command(
    data: st.DataObject, model: Model, today: date
) -> tuple[str, dict[str, Any], Effect]:
    """A command with fields that mostly make sense for the model as it stands, and its
    effect on the model if the store accepts it (some are still refused: that is fine)."""
    draw = data.draw
    kind = draw(st.sampled_from(WEIGHTED if model.accounts else ["account open"]), label="kind")
    on = draw(st.none() | st.integers(0, 9).map(lambda d: today - timedelta(days=d)), label="on")
    day = on or today
    if kind == "policy set":
        name = draw(st.sampled_from(POLICIES))
        value = draw(st.integers(1, 30))

        def set_policy() -> None:
            model.policies[name] = str(value)

        fields = {"policy": name, "value": str(value), "reason": "board decision", "on": on}
        return kind, fields, set_policy
    if kind == "account open":
        unopened = [k for k in KEYS if k not in model.accounts]
        key = draw(st.sampled_from(unopened or KEYS))
        currency = draw(st.sampled_from(["CNY", "USD"]))
        tier = draw(st.sampled_from(["prospect", "target", "key"]))

        def opened() -> None:
            lifecycle = "prospect" if tier == "prospect" else "active"
            model.accounts[key] = AccountModel(key, currency, tier, lifecycle)

        fields = {
            "account": key,
            "name": f"{key} Feed 饲料",
            "industry": "feed",
            "owner": "li.wei",
            "currency": currency,
            "tier": tier,
            "on": on,
        }
        return kind, fields, opened

    a = model.accounts[draw(st.sampled_from(sorted(model.accounts)), label="account")]
    f: dict[str, Any] = {"account": a.key, "on": on}
    current = sorted(cid for cid, now in a.contacts.items() if now)
    effect: Effect
    # Mostly, a step that needs something first (a contact to visit, an open issue to
    # follow up...) becomes the step that creates it; now and then it is tried anyway.
    if draw(st.integers(0, 9), label="tried anyway") > 0:
        while (first := prerequisite(kind, a)) is not None:
            kind = first

    if kind == "contact add":
        f |= {
            "contact": draw(st.sampled_from(CONTACT_NAMES)),
            "title": "Purchasing Manager",
            "department": draw(st.sampled_from(["procurement", "R&D 研发", "finance"])),
            "roles": draw(st.lists(st.sampled_from(["buyer", "decider", "user"]), max_size=2)),
        }

        def effect() -> None:
            a.contacts[a.next_id("P")] = True

    elif kind == "contact leave":
        contact = draw(st.sampled_from(current or ["P-1"]))
        f |= {"contact": contact, "reason": "retired", "analysis": "successor unknown"}

        def effect() -> None:
            a.contacts[contact] = False

    elif kind == "visit log":
        issues = draw(st.lists(TEXT, max_size=2), label="issues")
        f |= {
            "with": [draw(st.sampled_from(current or ["P-1"]))],
            "purpose": "trial",
            "objective": "agree size",
            "result": "agreed",
            "issues": issues,
        }

        def effect() -> None:
            a.next_id("V")
            a.visits += 1
            a.last_contact_on = max(filter(None, (a.last_contact_on, day)))
            for _ in issues:
                a.issues[a.next_id("I")] = (None, None)

    elif kind == "visit follow-up":
        open_issues = sorted(i for i, (done, _) in a.issues.items() if done is None)
        issue = draw(st.sampled_from(open_issues or ["I-1"]))
        result = draw(TEXT)
        f |= {"issue": issue, "result": result}

        def effect() -> None:
            a.issues[issue] = (day.isoformat(), result)

    elif kind == "complaint raise":
        f |= {"summary": "late delivery", "severity": draw(st.sampled_from(["low", "high"]))}

        def effect() -> None:
            a.complaints[a.next_id("C")] = ("raised", None)

    elif kind in ("complaint ack", "complaint resolve"):
        status_now = {"complaint ack": ("raised",), "complaint resolve": ("raised", "acknowledged")}
        fits = [c for c, (status, _) in a.complaints.items() if status in status_now[kind]]
        complaint = draw(mostly(fits, sorted(a.complaints) or ["C-1"]))
        outcome = draw(TEXT)
        f["complaint"] = complaint
        if kind == "complaint resolve":
            f["outcome"] = outcome

        def effect() -> None:
            if kind == "complaint ack":
                a.complaints[complaint] = ("acknowledged", None)
            else:
                a.complaints[complaint] = ("resolved", outcome)

    elif kind == "sale record":
        amount = draw(amounts("1", "30000"), label="amount")
        cost = draw(amounts("0", str(amount)) | st.just(Decimal(0)), label="cost")
        currency = draw(st.none() | st.sampled_from(["CNY", "USD", "EUR"]))
        invoice = draw(st.sampled_from([f"INV-{n}" for n in range(1, 9)]))
        f |= {
            "invoice": invoice,
            "product": "phytase",
            "amount": amount,
            "cost": cost,
            "currency": currency,
        }

        def effect() -> None:
            cur = currency or a.currency
            a.invoices[invoice] = [cur, cents(amount), 0]
            a.add_money(cur, 0, cents(amount))
            a.add_money(cur, 1, cents(cost))
            if a.lifecycle == "prospect":
                a.lifecycle = "active"

    elif kind == "payment record":
        owed = {ref: inv[1] - inv[2] for ref, inv in a.invoices.items() if inv[1] > inv[2]}
        invoice = draw(st.sampled_from(sorted(owed) or ["INV-404"]))
        most = Decimal(owed.get(invoice, 100)) / 100
        amount = draw(amounts("0.01", str(most)), label="payment")
        f |= {"invoice": invoice, "amount": amount}

        def effect() -> None:
            a.invoices[invoice][2] += cents(amount)
            a.add_money(a.invoices[invoice][0], 3, cents(amount))

    elif kind == "cost record":
        amount = draw(amounts("1", "5000"))
        currency = draw(st.none() | st.sampled_from(["CNY", "USD"]))
        f |= {"amount": amount, "currency": currency, "category": "technical service"}

        def effect() -> None:
            a.add_money(currency or a.currency, 2, cents(amount))

    elif kind == "satisfaction record":
        f |= {"score": draw(amounts("0", "10")), "target": Decimal(8)}

        def effect() -> None:
            a.satisfaction += 1

    elif kind == "competitor note":
        f |= {"competitor": draw(st.sampled_from(["DSM", "帝斯曼"])), "strengths": "price"}

        def effect() -> None:
            a.competitor_notes += 1

    elif kind == "opp open":
        f |= {"title": "phytase line 3", "budget": draw(st.none() | amounts("1", "90000"))}

        def effect() -> None:
            a.opportunities[a.next_id("O")] = "lead"

    elif kind in ("opp advance", "opp lose"):
        movable = OPP_NEXT if kind == "opp advance" else (*OPP_NEXT, "negotiation")
        fits = [o for o, stage in a.opportunities.items() if stage in movable]
        opportunity = draw(mostly(fits, sorted(a.opportunities) or ["O-1"]))
        f["opportunity"] = opportunity
        if kind == "opp lose":
            f["reason"] = "price"

        def effect() -> None:
            stage = a.opportunities[opportunity]
            a.opportunities[opportunity] = OPP_NEXT[stage] if kind == "opp advance" else "lost"

    elif kind == "tier set":
        tiers = ["prospect", "target", "key", "strategic"]
        tier = draw(mostly([t for t in tiers if t != a.tier], tiers))
        f |= {"tier": tier, "reason": "top-20% by profit"}

        def effect() -> None:
            a.tier = tier
            if tier != "prospect" and a.lifecycle == "prospect":
                a.lifecycle = "active"

    elif kind == "team assign":
        member = draw(st.sampled_from(MEMBERS))
        role = draw(st.sampled_from(["key-account manager", "engineer"]))
        f |= {"member": member, "role": role}

        def effect() -> None:
            a.team[member] = role

    else:  # program complete
        step = draw(st.sampled_from(["confirm", "deploy-team"]))
        f |= {"step": step, "evidence": "minutes of the kick-off"}

        def effect() -> None:
            a.program = (step, a.program[1] + (1 if step == "confirm" else 0))

    return kind, f, effect


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def assert_views_hold(db: ViewDB, model: Model) -> None:
    """The views say what the model of accepted commands says, table by table."""
    accounts = model.accounts.values()
    assert {
        r["key"]: (
            r["tier"],
            r["lifecycle"],
            r["visits"],
            r["last_contact_on"],
            r["team_size"],
            r["program_step"],
            r["program_cycle"],
        )
        for r in db.query("SELECT * FROM kf_accounts")
    } == {
        a.key: (a.tier, a.lifecycle, a.visits, iso(a.last_contact_on), len(a.team), *a.program)
        for a in accounts
    }
    assert {
        (r["key"], r["currency"]): [
            r["revenue_cents"],
            r["cost_of_sales_cents"],
            r["service_cost_cents"],
            r["received_cents"],
        ]
        for r in db.query("SELECT * FROM kf_account_money")
    } == {(a.key, cur): totals for a in accounts for cur, totals in a.money.items()}
    assert {
        (r["key"], r["complaint_id"]): (r["status"], r["outcome"])
        for r in db.query("SELECT * FROM kf_complaints")
    } == {(a.key, cid): c for a in accounts for cid, c in a.complaints.items()}
    assert {
        (r["key"], r["invoice"]): [r["currency"], r["amount_cents"], r["paid_cents"]]
        for r in db.query("SELECT * FROM kf_sales")
    } == {(a.key, ref): inv for a in accounts for ref, inv in a.invoices.items()}
    assert {
        (r["key"], r["issue_id"]): (r["followed_up_on"], r["result"])
        for r in db.query("SELECT * FROM kf_issues")
    } == {(a.key, iid): i for a in accounts for iid, i in a.issues.items()}
    assert {
        (r["key"], r["contact_id"]): bool(r["current"])
        for r in db.query("SELECT * FROM kf_contacts")
    } == {(a.key, cid): now for a in accounts for cid, now in a.contacts.items()}
    assert {
        (r["key"], r["opportunity_id"]): r["stage"]
        for r in db.query("SELECT * FROM kf_opportunities")
    } == {(a.key, oid): stage for a in accounts for oid, stage in a.opportunities.items()}
    for table, attr in (
        ("kf_satisfaction", "satisfaction"),
        ("kf_competitor_notes", "competitor_notes"),
    ):
        counted = db.query(f"SELECT key, COUNT(*) AS n FROM {table} GROUP BY key")
        assert {r["key"]: r["n"] for r in counted} == {
            a.key: getattr(a, attr) for a in accounts if getattr(a, attr)
        }, table
    assert {r["policy"]: r["value"] for r in db.query("SELECT * FROM kf_policies")} == (
        model.policies
    )
    audit = db.query("SELECT key, COUNT(*) AS n FROM kf_audit GROUP BY key")
    expected = {a.key: a.events for a in accounts}
    if model.governance_events:
        expected[GOVERNANCE_KEY] = model.governance_events
    assert {r["key"]: r["n"] for r in audit} == expected


# --------------------------------------------------------------- properties
@PROPERTY
@given(data=st.data())
def test_views_caught_up_in_any_batch_split_equal_a_rebuild_and_the_fold_of_the_commands(
    backend: str, data: st.DataObject
) -> None:
    clock = FakeClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC), step=timedelta(0))
    with fresh_store(backend) as locator:
        kf = Kamflow(locator, clock=clock)
        db = ViewDB(locator)
        try:
            projector = Projector(db)
            projector.ensure_schema()
            source = StoreSource(kf.locator)
            model = Model()
            steps = data.draw(st.integers(8, 40), label="commands")
            as_of_after = data.draw(st.integers(0, steps - 1), label="as-of after command")
            snapshot: tuple[date, dict[str, Any], Model, dict[str, Any]] | None = None

            # Given a history written command by command, with catch-ups in between
            for i in range(steps):
                name, fields, effect = draw_command(data, model, clock.current.date())
                try:
                    outcome = run(kf, name, {k: v for k, v in fields.items() if v is not None})
                except KamflowError:
                    outcome = None
                if outcome is not None and outcome.applied:
                    effect()
                    if outcome.account == "governance":
                        model.governance_events += len(outcome.events)
                    else:
                        model.accounts[outcome.account].events += len(outcome.events)
                        if outcome.notice:  # the store's first write: its first admin
                            model.governance_events += FIRST_WRITE
                action = data.draw(
                    st.sampled_from(["none", "none", "part", "all", "reset"]), label="then"
                )
                if action == "part":
                    upto = data.draw(st.integers(0, source.max_position()), label="up to")
                    projector.catch_up(Capped(source, upto), batch=data.draw(st.integers(1, 7)))
                elif action == "all":
                    projector.catch_up(source, batch=data.draw(st.integers(1, 7), label="batch"))
                elif action == "reset":
                    some = data.draw(st.lists(st.sampled_from(ALL_VIEWS), unique=True))
                    projector.reset(some)
                if i == as_of_after:
                    # The day ends here: what every view said then, and what the model said.
                    day = clock.current.date()
                    with contextlib.closing(snapshot_views(kf)) as then:
                        reported = every_report(then, day)
                        snapshot = (day, rows(then), copy.deepcopy(model), reported)
                    clock.next_day(hour=8)
                else:
                    clock.current += timedelta(hours=data.draw(st.integers(1, 30), label="gap"))

            # When the views catch up with the rest
            projector.catch_up(source, batch=data.draw(st.integers(1, 9), label="last batch"))
            incremental = rows(db)
            positions = projector.positions()
            reported = every_report(db, clock.current.date())

            # Then they hold what the accepted commands say, every event once
            assert set(positions.values()) == {source.max_position()}
            assert_views_hold(db, model)
            assert len(incremental["kf_audit"]) == kf.event_count() == model.event_count()

            # and catching up again changes nothing
            assert projector.catch_up(source, batch=3) == 0
            assert rows(db) == incremental
            assert projector.positions() == positions

            # and a rebuild from zero gives the very same rows
            projector.reset(ALL_VIEWS)
            assert set(projector.positions().values()) == {0}
            projector.catch_up(source, batch=data.draw(st.integers(1, 50), label="rebuild batch"))
            assert rows(db) == incremental
            assert projector.positions() == positions
            assert every_report(db, clock.current.date()) == reported

            # and the views as of the snapshot's day are the views as they stood then
            assert snapshot is not None
            day, then_rows, then_model, then_report = snapshot
            with contextlib.closing(views_as_of(kf, end_of(day))) as as_of:
                assert rows(as_of) == then_rows
                assert_views_hold(as_of, then_model)
                assert every_report(as_of, day) == then_report
        finally:
            db.close()
            kf.close()


# ----------------------------------------------------------------- examples
def test_views_keep_the_latest_visit_and_promote_prospects_on_a_tier_or_a_sale(
    locator: str,
) -> None:
    kf = Kamflow(locator)
    day = datetime.now(UTC).date()
    try:
        # Given a visit entered late (before the one already logged), three prospects
        # of which one changes tier and one buys, and two part payments
        for key in ("acme", "papa", "sierra", "tango"):
            run(kf, "account open", {"account": key, "name": key, "industry": "f", "owner": "o",
                                     "on": day - timedelta(days=30)})  # fmt: skip
        run(kf, "contact add", {"account": "acme", "contact": "Wang", "title": "PM",
                                "department": "p"})  # fmt: skip
        for back in (2, 5):
            run(kf, "visit log", {"account": "acme", "with": ["Wang"], "purpose": "p",
                                  "objective": "o", "result": "r", "issues": ["bags"],
                                  "on": day - timedelta(days=back)})  # fmt: skip
        run(kf, "visit follow-up", {"account": "acme", "issue": "I-2", "result": "new bags"})
        run(kf, "tier set", {"account": "tango", "tier": "target", "reason": "volume"})
        run(kf, "sale record", {"account": "sierra", "invoice": "S-1", "product": "p",
                                "amount": "1000", "cost": "600"})  # fmt: skip
        for amount in ("300", "200.50"):
            run(kf, "payment record", {"account": "sierra", "invoice": "S-1", "amount": amount})

        # When a report opens the views
        db = caught_up_views(locator)

        # Then they hold the fold of those facts
        try:
            accounts = {
                r["key"]: (r["tier"], r["lifecycle"], r["visits"], r["last_contact_on"])
                for r in db.query("SELECT * FROM kf_accounts")
            }
            assert accounts == {
                "acme": ("prospect", "prospect", 2, (day - timedelta(days=2)).isoformat()),
                "papa": ("prospect", "prospect", 0, None),
                "sierra": ("prospect", "active", 0, None),
                "tango": ("target", "active", 0, None),
            }
            issues = db.query("SELECT issue_id, followed_up_on, result FROM kf_issues")
            assert sorted((i["issue_id"], i["followed_up_on"], i["result"]) for i in issues) == [
                ("I-1", None, None),
                ("I-2", day.isoformat(), "new bags"),
            ]
            (sale,) = db.query("SELECT amount_cents, cost_cents, paid_cents FROM kf_sales")
            assert sale == {"amount_cents": 100000, "cost_cents": 60000, "paid_cents": 50050}
            (money,) = db.query("SELECT * FROM kf_account_money")
            assert money == {
                "key": "sierra",
                "currency": "CNY",
                "revenue_cents": 100000,
                "cost_of_sales_cents": 60000,
                "service_cost_cents": 0,
                "received_cents": 50050,
                "first_profit_month": day.isoformat()[:7],  # 400.00 profit in the month of the sale
            }
        finally:
            db.close()
    finally:
        kf.close()


# -------------------------------------------------------------- concurrency
def write_history(kf: Kamflow, key: str, sales: int) -> None:
    # Opened a year ago, so that facts may be back-dated (never before the opening).
    opened = datetime.now(UTC).date() - timedelta(days=365)
    run(kf, "account open", {"account": key, "name": key, "industry": "feed", "owner": "li",
                             "on": opened})  # fmt: skip
    run(kf, "contact add", {"account": key, "contact": "Wang", "title": "PM", "department": "p"})
    for n in range(sales):
        run(
            kf,
            "sale record",
            {"account": key, "invoice": f"INV-{n}", "product": "p", "amount": 100, "cost": 60},
        )
        run(kf, "payment record", {"account": key, "invoice": f"INV-{n}", "amount": 40})
        # again: the same cost and visit each round, meant (ADR 0020).
        run(kf, "cost record", {"account": key, "amount": 5, "category": "service"}, again=True)
        run(
            kf,
            "visit log",
            {"account": key, "with": ["P-1"], "purpose": "p", "objective": "o", "result": "r"},
            again=True,
        )


def race_catch_ups(locator: str, batch: int) -> tuple[list[str], list[int]]:
    """Two catch-ups, each with its own connections, started together: their errors and
    how many events each applied."""
    start = threading.Barrier(2)
    errors: list[str] = []
    applied: list[int] = []

    def catch_up() -> None:
        with contextlib.ExitStack() as stack:
            try:
                kf = Kamflow(locator)
                stack.callback(kf.close)
                db = ViewDB(locator)
                stack.callback(db.close)
                projector = Projector(db)
                start.wait(timeout=60)
                projector.ensure_schema()
                # A pause between batches (as a progress bar takes) lets the other one in.
                with StoreSource(kf.locator) as source:
                    applied.append(
                        projector.catch_up(
                            source, batch=batch, progress=lambda _: time.sleep(0.002)
                        )
                    )
            except Exception as exc:
                start.abort()
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=catch_up) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a catch-up never finished"
    return errors, applied


def test_two_catch_ups_at_once_apply_every_event_exactly_once(locator: str) -> None:
    kf = Kamflow(locator)
    db = ViewDB(locator)
    try:
        for round_, key in enumerate(["acme", "正大饲料", "beta"]):
            # Given new accounts and events the views have not seen
            write_history(kf, key, sales=4 + round_)
            run(
                kf,
                "policy set",
                {"policy": "complaint-sla-days.key", "value": str(round_ + 2), "reason": "r"},
            )

            # When two catch-ups run at the same time (on fresh views the first time)
            seen = max(Projector(db).positions().values()) if round_ else 0
            errors, applied = race_catch_ups(locator, batch=2)

            # Then neither fails, between them they apply each new event once, and the
            # views are exactly what one rebuild gives
            assert errors == []
            assert sum(applied) == StoreSource(kf.locator).max_position() - seen
            together = rows(db)
            projector = Projector(db)
            positions = projector.positions()
            assert set(positions.values()) == {StoreSource(kf.locator).max_position()}
            assert len(together["kf_audit"]) == kf.event_count()
            assert GOVERNANCE_KEY not in {r[0] for r in together["kf_account_money"]}
            projector.reset(ALL_VIEWS)
            projector.catch_up(StoreSource(kf.locator))
            assert rows(db) == together
        money = db.query("SELECT key, revenue_cents, received_cents FROM kf_account_money")
        assert sorted((r["key"], r["revenue_cents"], r["received_cents"]) for r in money) == [
            ("acme", 40000, 16000),
            ("beta", 60000, 24000),
            ("正大饲料", 50000, 20000),
        ]
    finally:
        db.close()
        kf.close()


# ------------------------------------------------------------ definitions
def test_a_view_whose_definition_changed_is_rebuilt_by_the_next_catch_up(locator: str) -> None:
    kf = Kamflow(locator)
    db = ViewDB(locator)
    try:
        # Given views caught up with a history that has complaints
        write_history(kf, "acme", sales=2)
        run(kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "high"})
        run(kf, "complaint resolve", {"account": "acme", "complaint": "C-1", "outcome": "credit"})
        db.close()
        db = caught_up_views(locator)
        expected = rows(db)
        newest = StoreSource(kf.locator).max_position()

        # and a complaints table written by older code: another shape, other rows,
        # another fingerprint
        with db.transaction() as cur:
            cur.execute("ALTER TABLE kf_complaints ADD COLUMN legacy TEXT")
            cur.execute("UPDATE kf_complaints SET status='from-old-code', legacy='x'")
            cur.execute("UPDATE kf_tracking SET fingerprint='0ld' WHERE view='complaints'")
        db.close()

        # When a report opens the views (ensure_schema, then catch-up as needed)
        db = caught_up_views(locator)

        # Then the complaints view was rebuilt from zero with today's definition
        assert rows(db) == expected
        tracking = {
            r["view"]: (r["position"], r["fingerprint"])
            for r in db.query("SELECT view, position, fingerprint FROM kf_tracking")
        }
        assert tracking == {v.name: (newest, fingerprint(v, db)) for v in VIEWS.values()}
    finally:
        db.close()
        kf.close()


def test_views_made_before_adr_0028_become_key_ordered_tables_with_the_same_rows(
    sqlite_locator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kf = Kamflow(sqlite_locator)
    try:
        # Given views made as kamflow made them before ADR 0028: rowid tables
        write_history(kf, "acme", sales=3)
        write_history(kf, "beta", sales=2)
        with monkeypatch.context() as old_code:
            old_code.setattr(ViewDB, "options", lambda self, columns: "")
            db = caught_up_views(sqlite_locator)
            before = rows(db)
            db.close()

        # When a report opens them with today's code
        db = caught_up_views(sqlite_locator)
        try:
            # Then every table keyed by its leading columns (not an integer) keeps its
            # rows in its key's B-tree; the others keep a rowid (SQLite 3.40's
            # integrity_check misreads WITHOUT ROWID tables keyed otherwise, and `audit
            # verify` runs it); the rows are the same, the file is sound, and the views
            # are at the log's end
            made = dict(db.rows("SELECT name, sql FROM sqlite_master WHERE type='table'"))
            tables = {table for view in VIEWS.values() for table in view.tables}
            assert {t for t in tables if not made[t].endswith("WITHOUT ROWID")} == {
                "kf_audit",
                "kf_governance_log",
                "kf_payments",
                "kf_service_costs",
                "kf_competitor_notes",
                "kf_satisfaction",
            }
            assert db.rows("PRAGMA integrity_check") == [("ok",)]
            assert rows(db) == before
            newest = StoreSource(kf.locator).max_position()
            assert set(Projector(db).positions().values()) == {newest}
        finally:
            db.close()
    finally:
        kf.close()


def test_resetting_an_unknown_view_is_refused_and_resets_nothing(sqlite_locator: str) -> None:
    kf = Kamflow(sqlite_locator)
    write_history(kf, "acme", sales=1)
    db = caught_up_views(sqlite_locator)
    try:
        before = rows(db)

        with pytest.raises(InvalidInput, match='unknown view "nope"'):
            Projector(db).reset(["complaints", "nope"])

        assert rows(db) == before
        assert set(Projector(db).positions().values()) == {StoreSource(kf.locator).max_position()}
    finally:
        db.close()
        kf.close()


# ------------------------------------------------------------ reading the log
def test_the_views_read_every_event_exactly_as_the_application_mapper_decodes_it(
    locator: str,
) -> None:
    kf = Kamflow(locator)
    try:
        write_history(kf, "acme", sales=3)
        run(
            kf,
            "complaint raise",
            {"account": "acme", "summary": 'says "_type_"', "severity": "high"},
        )
        run(kf, "policy set", {"policy": "complaint-sla-days.key", "value": "3", "reason": "r"})
        mapper = kf.app.mapper
        source = StoreSource(kf.locator)
        decoder = EventDecoder(mapper)
        stored = kf.app.recorder.select_notifications(start=1, limit=1000)

        # Every event in the log, read by the views' own reader...
        read = source.read(0, 1000)
        assert [p for p, _ in read] == [n.id for n in stored]
        for (_, got), notification in zip(read, stored, strict=True):
            expected = mapper.to_domain_event(notification)
            assert type(got) is type(expected)
            assert typed(vars(got)) == typed(vars(expected))

        # ...and events the fast path does not take (a transcoded value below the top
        # level, a text that looks like a transcoding) come back as the mapper has them.
        for notification in stored:
            event = mapper.to_domain_event(notification)
            odd = object.__new__(type(event))
            object.__setattr__(
                odd,
                "__dict__",
                {
                    **vars(event),
                    "nested": {"on": date(2026, 1, 2), "amount": [Decimal("1.50")]},
                    "text": '{"_type_": "decimal_str", "_data_": "1"}',
                },
            )
            again = mapper.to_stored_event(odd)
            for oid in (again.originator_id, again.originator_id.hex):
                got = decoder(oid, again.originator_version, again.topic, again.state)
                assert typed(vars(got)) == typed(vars(mapper.to_domain_event(again)))
        source.close()
    finally:
        kf.close()


class Interrupted(Exception):
    pass


def test_a_large_rebuild_builds_secondary_indexes_at_the_end_even_after_a_crash(
    locator: str,
) -> None:
    kf = Kamflow(locator)
    db = ViewDB(locator)
    try:
        # Given views caught up the ordinary way, with figures derived from several rows:
        # team sizes, and the first month in which cumulative profit was above zero
        today = datetime.now(UTC).date()
        this_month, earlier = today.isoformat()[:7], today.replace(day=1) - timedelta(days=62)
        for key in ("acme", "beta", "gamma"):
            write_history(kf, key, sales=3)  # +40 - 5 = +35 a sale, this month
            run(kf, "team assign", {"account": key, "member": "zhou", "role": "service"})
            run(kf, "team assign", {"account": key, "member": "wu", "role": "logistics"})
            run(
                kf,
                "sale record",
                {"account": key, "on": earlier, "invoice": "OLD", "product": "p",
                 "amount": 100, "cost": 60},
            )  # fmt: skip
        db.close()
        db = caught_up_views(locator)
        first = "SELECT key, first_profit_month FROM kf_account_money ORDER BY key"
        old = earlier.isoformat()[:7]
        assert db.rows(first) == [("acme", old), ("beta", old), ("gamma", old)]

        # and a cost entered late, for that earlier month, that moves it on for beta
        run(kf, "cost record", {"account": "beta", "on": earlier, "amount": 90,
                                "category": "late claim"})  # fmt: skip
        db.close()
        db = caught_up_views(locator)
        assert db.rows(first) == [("acme", old), ("beta", this_month), ("gamma", old)]
        expected = rows(db)
        assert db.rows("SELECT DISTINCT team_size FROM kf_accounts") == [(2,)]
        indexes = [name for view in VIEWS.values() for name in view.indexes]
        assert indexes and not db.missing(indexes)

        # When a rebuild big enough to leave the indexes to the end is stopped part-way
        bulk = Projector(db, bulk_from=1)
        bulk.reset(ALL_VIEWS)
        with pytest.raises(Interrupted):
            bulk.catch_up(
                Interrupting(StoreSource(kf.locator), reads=2, error=Interrupted), batch=3, hold=0
            )

        # Then the rows it committed are there, without the indexes it dropped
        assert db.missing(indexes)
        assert 0 < len(rows(db)["kf_audit"]) < len(expected["kf_audit"])

        # and the next report puts the indexes back and finishes the catch-up
        db.close()
        db = caught_up_views(locator)
        assert not db.missing(indexes)
        assert rows(db) == expected

        # and an uninterrupted bulk rebuild gives the same rows, with its indexes
        bulk = Projector(db, bulk_from=1)
        bulk.reset(ALL_VIEWS)
        bulk.catch_up(StoreSource(kf.locator), batch=4)
        assert not db.missing(indexes)
        assert rows(db) == expected
    finally:
        db.close()
        kf.close()


def test_a_view_rebuilt_for_a_new_definition_gets_its_indexes_at_once(locator: str) -> None:
    kf = Kamflow(locator)
    db = ViewDB(locator)
    try:
        # Given caught-up views, and an audit view written by older code
        write_history(kf, "acme", sales=2)
        db.close()
        db = caught_up_views(locator)
        expected = rows(db)
        with db.transaction() as cur:
            cur.execute("UPDATE kf_tracking SET fingerprint='0ld' WHERE view='audit'")
        db.close()

        # When a report opens the views (a small log: no bulk rebuild)
        db = caught_up_views(locator)

        # Then the audit view is rebuilt with its index in place, not at the next report
        assert not db.missing(list(VIEWS["audit"].indexes))
        assert rows(db) == expected
    finally:
        db.close()
        kf.close()

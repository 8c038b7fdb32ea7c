"""The parts `kamflow demo` is built from: its catalogue (data checked against the
domain), the structured ids of an Outcome, the clock a Kamflow is given, and the credit
exceptions the planner plans with the domain's own rule."""

from __future__ import annotations

import random
import re
import tempfile
import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, fake_clock, run
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kamflow import application
from kamflow.application import Kamflow
from kamflow.demo import build_demo, legacy
from kamflow.demo.catalogue import CatalogueError, catalogue, from_data
from kamflow.demo.timeline import Step, cover_credit
from kamflow.domain.policies import POLICIES, credit_limit
from kamflow.domain.values import TIERS

OPEN = {"account": "acme", "name": "Acme", "industry": "feed", "owner": ACTOR}


# ---------------------------------------------------------------------- catalogue
def raw_catalogue() -> dict[str, Any]:
    text = (files("kamflow.demo") / "catalogue.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_the_shipped_catalogue_loads_and_covers_every_name_the_planner_looks_up() -> None:
    c = catalogue()

    assert set(c.credit.limits) == set(c.satisfaction.targets) == set(TIERS)
    assert all(credit_limit(tier) in POLICIES for tier in c.credit.limits)
    assert c.portfolio.companies and all(c.industries[co.industry] for co in c.portfolio.companies)


DROP = object()

# Each row changes one place where the catalogue names something the domain (or another
# part of the catalogue) defines: (the table or list, its key, the new value or DROP,
# what the refusal names). A misspelt name must be refused where it stands, not become a
# demo the domain refuses later, or a table entry nothing reads.
BAD: list[tuple[str, str | int, Any, str]] = [
    ("credit.limits", "stratgic", "1", "credit.limits.stratgic"),
    ("satisfaction.targets", "gold", "9", "satisfaction.targets.gold"),
    ("complaints.resolution_days", "urgent", [1, 2], "complaints.resolution_days.urgent"),
    ("relationship.reasons", "partner", "x", "relationship.reasons.partner"),
    ("program.evidence", "celebrate", "x", "program.evidence.celebrate"),
    ("people.attitudes", "hostile", 1, "people.attitudes.hostile"),
    ("counts.visits", "vip", 3, "counts.visits.vip"),
    ("tiers.promotions.0", "to_tier", "vip", "tiers.promotions.0.to_tier"),
    ("industries.feed.seats.1.roles", 2, "boss", "industries.feed.seats.1.roles.2"),
    ("industries.IT.seats.1", "influence", "huge", "industries.IT.seats.1.influence"),
    ("industries.chemicals.complaints.0", "severity", "urgent", "complaints.0.severity"),
    ("roster.0", "role", "king", "roster.0.role"),
    ("roster.0", "post", "janitor", "unknown post 'janitor'"),
    ("staff", "cfo", "x", "staff.cfo"),
    ("credit.limits", "key", DROP, "credit.limits: missing key"),
    ("credit.limits", "key", "-5", "credit.limits.key: policy credit-limit.key must be"),
    ("relationship.reasons", "synergistic", DROP, "reasons: missing synergistic"),
    ("program.evidence", "monitor", DROP, "evidence: missing monitor"),
    ("counts.stages", "prospect", DROP, "counts.stages: missing prospect"),
    ("industries.food processing.seats.1", "boss", "CEO", "no seat titled 'CEO'"),
    ("industries.feed.seats", 0, "chairman", "no shared seat 'chairman'"),
    ("portfolio.companies.0", "industry", "mining", "unknown industry 'mining'"),
    ("portfolio.companies.0", "currency", "JPY", "no rate for JPY"),
]


@pytest.mark.parametrize(("where", "key", "value", "refusal"), BAD, ids=[b[3] for b in BAD])
def test_a_catalogue_naming_what_the_domain_does_not_know_is_refused(
    where: str, key: str | int, value: Any, refusal: str
) -> None:
    raw = raw_catalogue()
    place: Any = raw
    for step in where.split("."):
        place = place[int(step)] if isinstance(place, list) else place[step]
    if value is DROP:
        del place[key]
    elif isinstance(place, list) and key == len(place):
        place.append(value)
    else:
        place[key] = value

    with pytest.raises(CatalogueError, match="demo catalogue: .*" + re.escape(refusal)):
        from_data(raw)


def test_the_catalogue_those_rows_change_loads() -> None:
    from_data(raw_catalogue())


# ---------------------------------------------------------------------- outcome ids
def test_an_outcome_carries_the_ids_its_events_gave_out(sqlite_locator: str) -> None:
    kf = Kamflow(sqlite_locator, clock=FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    try:
        assert run(kf, "account open", OPEN).ids == {}
        person = {"contact": "Wang Fang", "title": "Buyer", "department": "procurement"}
        contact = run(kf, "contact add", {"account": "acme", **person})
        visit = run(
            kf,
            "visit log",
            {
                "account": "acme",
                "with": ["Wang Fang"],
                "purpose": "trial",
                "objective": "size",
                "result": "2 t",
                "issues": ["price", "late delivery"],
            },
        )
        plain = run(
            kf,
            "visit log",
            {"account": "acme", "with": ["P-1"], "purpose": "q", "objective": "o", "result": "r"},
        )
        complaint = run(
            kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "low"}
        )
        again = run(
            kf,
            "complaint ack",
            {"account": "acme", "complaint": "C-1"},
            command_id="ack-1",
        )
        repeated = run(
            kf,
            "complaint ack",
            {"account": "acme", "complaint": "C-1"},
            command_id="ack-1",
        )
    finally:
        kf.close()

    assert contact.ids == {"contact": "P-1"}
    assert visit.ids == {"visit": "V-1", "issues": ["I-1", "I-2"]}
    assert visit.reference == "V-1 with issues I-1, I-2"  # what people read is unchanged
    assert plain.ids == {"visit": "V-2", "issues": []}
    assert complaint.ids == {"complaint": "C-1"}
    assert again.ids == {"complaint": "C-1"}
    assert repeated.ids == {} and not repeated.applied


# ---------------------------------------------------------------------- the clock
def test_a_kamflow_stamps_record_time_with_its_own_clock(sqlite_locator: str) -> None:
    own = FakeClock(datetime(2026, 5, 4, 9, tzinfo=UTC))
    kf = Kamflow(sqlite_locator, clock=own)
    try:
        # The module's clock (what fake_clock swaps) is not this Kamflow's.
        with fake_clock(date(2026, 1, 5)):
            run(kf, "account open", OPEN)
        swapped = FakeClock(datetime(2026, 7, 1, 9, tzinfo=UTC))
        with pytest.raises(RuntimeError), kf.using_clock(swapped):
            run(kf, "account update", {"account": "acme", "size": "big"})
            raise RuntimeError("the block fails")
        # Back to its own clock (on another account: record time never goes backwards
        # within one).
        run(kf, "account open", OPEN | {"account": "beta"})
        times = [e.recorded_at.date() for key in ("acme", "beta") for e in kf.history(key)]
    finally:
        kf.close()

    assert kf.clock is own
    assert times == [date(2026, 5, 4), date(2026, 7, 1), date(2026, 5, 4)]


def test_the_demo_sets_the_clock_of_its_kamflow_only(tmp_path: Path) -> None:
    own = FakeClock(datetime(2026, 6, 30, 12, tzinfo=UTC))
    kf = Kamflow(str(tmp_path / "demo.db"), clock=own)
    module_clock: list[datetime] = []

    def note(_: int) -> None:
        module_clock.append(application.now())

    try:
        # While the demo writes its year, the module's clock (every other Kamflow's) is
        # still the real one.
        build_demo(kf, accounts=2, seed=1, today=date(2026, 6, 30), progress=note)
        last_demo_time = max(e.recorded_at for e in kf.history(kf.accounts()[0].key))
        after = run(kf, "account update", {"account": kf.accounts()[0].key, "notes": "x"})
        stamped = list(kf.history(after.account))[-1].recorded_at
    finally:
        kf.close()

    assert kf.clock is own
    assert last_demo_time < datetime(2026, 6, 30, tzinfo=UTC)
    assert stamped == own.current
    real = datetime.now(UTC)
    assert module_clock and all(abs(t - real) < timedelta(minutes=5) for t in module_clock)


# ---------------------------------------------------------------------- credit (P1)
SALES = st.lists(
    st.tuples(
        st.integers(1, 2_000).map(lambda n: Decimal(n) * 10),  # the sale
        st.integers(0, 100),  # the percentage of an earlier sale then paid
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(limit=st.integers(0, 50_000), sales=SALES, tier=st.sampled_from(TIERS))
# What the sales owe adds up; a payment lowers it; the limit is the policy set, not the
# default of the tier.
@example(limit=1000, sales=[(Decimal(600), 0), (Decimal(600), 0)], tier="target")
@example(limit=1000, sales=[(Decimal(800), 0), (Decimal(800), 100)], tier="target")
@example(limit=0, sales=[(Decimal(100), 0)], tier="key")
def test_the_planner_grants_exactly_the_credit_exceptions_sales_need(
    limit: int, sales: list[tuple[Decimal, int]], tier: str
) -> None:
    day = date(2026, 2, 2)
    steps: list[Step] = []

    def step(command: str, fields: dict[str, Any], actor: str = ACTOR, **kw: Any) -> Step:
        steps.append(Step(day, 0, len(steps), command, actor, {"on": day, **fields}, **kw))
        return steps[-1]

    step("roster grant", {"person": "zhou.hui", "role": "approver", "reason": "r"})
    step("policy set", {"policy": credit_limit(tier), "value": str(limit), "reason": "r"})
    step("account open", OPEN | {"tier": tier})
    unpaid: list[Step] = []
    for n, (amount, paid_pct) in enumerate(sales, 1):
        if unpaid and paid_pct:
            oldest = unpaid.pop(0)
            paid = (oldest.fields["amount"] * paid_pct / 100).quantize(Decimal("0.01"))
            payment = {"account": "acme", "amount": paid}
            step("payment record", payment, source=oldest, source_field="invoice")
        sale = step(
            "sale record",
            {"account": "acme", "invoice": f"INV-{n}", "product": "p", "amount": amount}
            | {"cost": amount / 2, "currency": "CNY"},
        )
        sale.made = [f"INV-{n}"]
        unpaid.append(sale)

    planned = cover_credit(steps, random.Random(0), "zhou.hui", ["harvest season"])

    with tempfile.TemporaryDirectory() as tmp:
        kf = Kamflow(str(Path(tmp) / "k.db"), clock=FakeClock(datetime(2026, 3, 1, tzinfo=UTC)))
        try:
            for s in planned:  # none refused: every exception a sale needs is there
                if s.command.startswith(legacy.PREFIX):  # the one granted before four eyes
                    legacy.write(kf, s)
                else:
                    outcome = run(kf, s.command, s.resolved(), actor=s.actor)
                    if s.gives:  # the request's id, which its approval names
                        s.made.append(str(outcome.ids[s.gives]))
            exceptions = kf.load("acme").exceptions
        finally:
            kf.close()
    # ...and every one granted was used: none was planned that the rule did not need.
    assert all(e["used_by"] is not None for e in exceptions.values())

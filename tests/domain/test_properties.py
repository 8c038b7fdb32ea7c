"""Properties of the event store, checked with generated histories on SQLite and PostgreSQL.

- a reloaded account (from snapshots or from a plain fold of its events) equals the live
  aggregate the writing process ended with;
- every event type comes back from the store exactly as it was saved: same types, same
  values, Chinese text and Decimal amounts included;
- ``account_at(as_of=d)`` is the fold of exactly the events recorded by the end of d (UTC).

Each test gets one store (a SQLite file, or a PostgreSQL schema of its own); every
generated example works on a fresh account key in it, so examples never see each other.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, run, typed
from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow, Outcome
from kamflow.domain.account import Account
from kamflow.domain.commands import COMMANDS
from kamflow.domain.errors import KamflowError, NotFound
from kamflow.domain.values import (
    ATTITUDES,
    BUYING_ROLES,
    LEVELS,
    PERSONALITIES,
    PROFILE_FIELDS,
    SEVERITIES,
)
from kamflow.domain.values import account_id as aid_of
from kamflow.projections.log import StoreSource

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    # One store per test, shared by the examples (each uses its own account key).
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --------------------------------------------------------------- strategies
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
ANY_TEXT_CHAR = st.characters(categories=("L", "M", "N", "P", "S", "Zs"), exclude_characters="\x00")
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def texts(max_size: int = 24) -> st.SearchStrategy[str]:
    """Non-blank text, trimmed as the commands trim it, rich in Chinese."""
    return (
        st.text(st.one_of(CJK, ASCII, ANY_TEXT_CHAR), min_size=1, max_size=max_size)
        .map(str.strip)
        .filter(bool)
    )


NAME = texts(24)
TEXT = texts(60)
DEPARTMENT = st.sampled_from(["采购部", "procurement", "R&D 研发", "finance", "生产", "QA"])
CURRENCY = st.sampled_from(["CNY", "USD", "EUR"])
PAST_DAY = st.none() | st.dates(min_value=date(2015, 1, 1), max_value=date(2024, 12, 31))
PROFILE_KEYS = PROFILE_FIELDS
# What `competitor note` records about a competitor: its fields but the account, the
# competitor's name and the business date.
COMPETITOR_KEYS = tuple(
    f for f in COMMANDS["competitor note"].model_fields if f not in {"account", "competitor", "on"}
)
INVOICES = st.sampled_from([f"INV-{n:04d}" for n in range(1, 7)] + ["发票-1", "发票-2"])
KINDS = (
    "contact add",
    "contact change",
    "contact leave",
    "visit log",
    "visit follow-up",
    "complaint raise",
    "complaint resolve",
    "complaint reject",
    "tier set",
    "sale record",
    "payment record",
    "cost record",
    "satisfaction record",
    "competitor note",
    "opp open",
    "account update",
)


def amounts(low: str = "0.01", high: str = "100000") -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )


def new_key(data: st.DataObject) -> str:
    stem = data.draw(st.sampled_from(["acme", "正大饲料", "k.a_1"]), label="key stem")
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def opening(data: st.DataObject, key: str) -> dict[str, Any]:
    return {
        "account": key,
        "name": data.draw(NAME, label="name"),
        "industry": data.draw(NAME, label="industry"),
        "owner": data.draw(NAME, label="owner"),
        "currency": data.draw(CURRENCY, label="currency"),
        "tier": data.draw(st.sampled_from(["prospect", "target", "key"]), label="tier"),
        # The earliest day any fact is drawn for (PAST_DAY): nothing about an account
        # may be dated before it was opened.
        "on": date(2015, 1, 1),
    }


def draw_command(data: st.DataObject, account: Account) -> tuple[str, dict[str, Any]]:
    """One of the commands users type, with fields that mostly make sense for the
    account as it stands (some are still refused by its rules; that is fine)."""
    draw = data.draw
    kind = draw(st.sampled_from(KINDS), label="command")
    current = [cid for cid, c in account.contacts.items() if c["current"]]
    some_contact = st.sampled_from(current) if current else st.just("P-1")
    f: dict[str, Any] = {"account": account.key, "on": draw(PAST_DAY)}
    if kind == "contact add":
        f |= {
            "contact": draw(NAME),
            "title": draw(NAME),
            "department": draw(DEPARTMENT),
            "roles": draw(st.lists(st.sampled_from(BUYING_ROLES), max_size=3)),
            "influence": draw(st.none() | st.sampled_from(LEVELS)),
            "attitude": draw(st.none() | st.sampled_from(ATTITUDES)),
            "personality": draw(st.none() | st.sampled_from(PERSONALITIES)),
        }
        if current:
            f["reports_to"] = draw(st.none() | st.sampled_from(current))
            f["influenced_by"] = draw(st.lists(st.sampled_from(current), max_size=2))
    elif kind == "contact change":
        f["contact"] = draw(some_contact)
        options: dict[str, st.SearchStrategy[Any]] = {
            "title": NAME,
            "department": DEPARTMENT,
            "roles": st.lists(st.sampled_from(BUYING_ROLES), max_size=3),
            "influence": st.sampled_from(LEVELS),
            "attitude": st.sampled_from(ATTITUDES),
            "personality": st.sampled_from(PERSONALITIES),
        }
        if current:
            options["reports_to"] = st.sampled_from(current)
            options["influenced_by"] = st.lists(st.sampled_from(current), max_size=2)
        for field in draw(st.lists(st.sampled_from(sorted(options)), min_size=1, unique=True)):
            f[field] = draw(options[field])
    elif kind == "contact leave":
        f |= {"contact": draw(some_contact), "reason": draw(TEXT), "analysis": draw(TEXT)}
    elif kind == "visit log":
        f |= {
            "with": draw(st.lists(some_contact, min_size=1, max_size=2)),
            "purpose": draw(TEXT),
            "objective": draw(TEXT),
            "result": draw(TEXT),
            "issues": draw(st.lists(TEXT, max_size=3)),
        }
    elif kind == "visit follow-up":
        issues = sorted(account.open_issues) or ["I-1"]
        f |= {"issue": draw(st.sampled_from(issues)), "result": draw(TEXT)}
    elif kind == "complaint raise":
        f |= {"summary": draw(TEXT), "severity": draw(st.sampled_from(SEVERITIES))}
    elif kind in ("complaint resolve", "complaint reject"):
        complaint = draw(st.sampled_from(sorted(account.complaints) or ["C-1"]))
        field = "outcome" if kind == "complaint resolve" else "justification"
        f |= {"complaint": complaint, field: draw(TEXT)}
    elif kind == "tier set":
        f |= {
            "tier": draw(st.sampled_from(["prospect", "target", "key", "strategic"])),
            "reason": draw(TEXT),
            "approved_by": draw(st.none() | NAME),
        }
    elif kind == "sale record":
        amount = draw(amounts("1", "60000"))
        f |= {
            "invoice": draw(INVOICES),
            "product": draw(NAME),
            "amount": amount,
            "cost": draw(amounts("0", str(amount))),
            "currency": draw(st.none() | CURRENCY),
            "discount": draw(st.none() | amounts("0", "20")),
        }
    elif kind == "payment record":
        owed = {
            ref: Decimal(inv["amount"]) - Decimal(inv["paid"])
            for ref, inv in account.invoices.items()
        }
        open_refs = sorted(ref for ref, left in owed.items() if left > 0)
        if open_refs:
            ref = draw(st.sampled_from(open_refs))
            f |= {"invoice": ref, "amount": draw(amounts("0.01", str(owed[ref])))}
        else:
            f |= {"invoice": "INV-0404", "amount": draw(amounts())}
    elif kind == "cost record":
        f |= {
            "amount": draw(amounts()),
            "currency": draw(st.none() | CURRENCY),
            "category": draw(NAME),
            "description": draw(st.just("") | TEXT),
        }
    elif kind == "satisfaction record":
        f |= {
            "score": draw(amounts("0", "10")),
            "target": draw(amounts("0", "10")),
            "note": draw(st.just("") | TEXT),
        }
    elif kind == "competitor note":
        f["competitor"] = draw(st.sampled_from(["DSM", "帝斯曼", "BASF", "新和成 NHU"]))
        for field in draw(st.lists(st.sampled_from(COMPETITOR_KEYS), unique=True, max_size=3)):
            f[field] = draw(TEXT)
    elif kind == "opp open":
        f |= {
            "title": draw(NAME),
            "problem": draw(st.just("") | TEXT),
            "budget": draw(st.none() | amounts()),
            "currency": draw(st.none() | CURRENCY),
            "decision_maker": draw(st.just("") | NAME),
            "timeline": draw(st.just("") | TEXT),
            "procurement": draw(st.just("") | TEXT),
        }
    else:  # account update
        for field in draw(st.lists(st.sampled_from(PROFILE_KEYS), min_size=1, max_size=3)):
            f[field] = draw(NAME)
    return kind, {k: v for k, v in f.items() if v is not None}


# ------------------------------------------------------------------ helpers
def try_run(kf: Kamflow, data: st.DataObject, name: str, fields: dict[str, Any]) -> Outcome | None:
    """Run a generated command; a refusal by a rule is an ordinary outcome here."""
    cid = uuid.uuid4().hex if data.draw(st.booleans(), label="client command id") else None
    try:
        outcome = run(kf, name, fields, command_id=cid)
    except KamflowError:
        event(f"refused: {name}")
        return None
    event(f"accepted: {name}")
    return outcome


@contextlib.contextmanager
def live_accounts() -> Iterator[list[Account]]:
    """Every Account whose new events were collected for saving, in order: after a
    command is accepted, the last one is the live aggregate of the writing process."""
    seen: list[Account] = []
    original = Account.collect_events

    def collect(self: Account) -> Any:
        seen.append(self)
        return original(self)

    Account.collect_events = collect  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Account.collect_events = original  # type: ignore[method-assign]


@contextlib.contextmanager
def saved_events(kf: Kamflow) -> Iterator[list[Account.Event]]:
    """The account events exactly as the application handed them to the store."""
    captured: list[Account.Event] = []
    original = kf.app.save

    def save(*objs: Any, **kwargs: Any) -> Any:
        result = original(*objs, **kwargs)
        captured.extend(o for o in objs if isinstance(o, Account.Event))
        return result

    kf.app.save = save  # type: ignore[method-assign]
    try:
        yield captured
    finally:
        del kf.app.save  # back to the class's method


def account_event_types() -> set[str]:
    """Every event class the Account declares. ``Created`` is the one eventsourcing adds
    to every aggregate; Account is created by AccountOpened, so it is never recorded."""
    return {
        name
        for name, obj in vars(Account).items()
        if isinstance(obj, type)
        and issubclass(obj, Account.Event)
        and obj is not Account.Event
        and name != "Created"
    }


@pytest.fixture
def kf(locator: str) -> Iterator[Kamflow]:
    kamflow = Kamflow(locator)
    yield kamflow
    kamflow.close()


@contextlib.contextmanager
def reopened(locator: str) -> Iterator[Kamflow]:
    """A fresh Kamflow on the same store, as a second process would open it. Closed at
    once: a PostgreSQL pool left open per example would exhaust the server's clients."""
    kamflow = Kamflow(locator)
    try:
        yield kamflow
    finally:
        kamflow.close()


# ------------------------------------------------------------- property a
@PROPERTY
@given(data=st.data())
def test_a_reloaded_account_equals_the_live_aggregate_and_a_plain_fold(
    kf: Kamflow, locator: str, data: st.DataObject
) -> None:
    key = new_key(data)
    recorded = 0
    with live_accounts() as live:
        recorded += len(run(kf, "account open", opening(data, key)).events)
        for _ in range(data.draw(st.integers(1, 45), label="commands")):
            outcome = try_run(kf, data, *draw_command(data, live[-1]))
            if outcome is not None:
                recorded += len(outcome.events)
        final = live[-1]
    assert final.version == recorded

    with reopened(locator) as fresh:
        loaded = fresh.load(key)
        folded = project_aggregate(None, fresh.app.events.get(aid_of(key)))
        assert fresh.app.snapshots is not None
        snapshots = list(fresh.app.snapshots.get(aid_of(key)))
    assert loaded == final
    assert folded == final
    # From version 20 on, the load started from a snapshot rather than from event 1.
    assert bool(snapshots) == (recorded >= 20)


# ------------------------------------------------------------- property b
def every_event_script(data: st.DataObject, key: str, approver: str) -> list[tuple[str, dict]]:
    """A valid history that records every event type the Account has, with generated
    payloads. Each command here must be accepted."""
    draw = data.draw
    acct = {"account": key}
    tier = draw(st.sampled_from(["prospect", "target"]))
    limit = Decimal(50000 if tier == "prospect" else 200000)
    small_sale = draw(amounts("1", "40000"))
    big_sale = limit + draw(amounts("0.01", "500000"))
    issues = draw(st.lists(TEXT, min_size=1, max_size=3))
    return [
        ("account open", {**opening(data, key), "tier": tier}),
        ("account update", {**acct, "address": draw(TEXT), "notes": draw(TEXT)}),
        (
            "contact add",
            {
                **acct,
                "contact": "王芳 " + draw(NAME),
                "title": draw(NAME),
                "department": "采购部",
                "roles": draw(st.lists(st.sampled_from(BUYING_ROLES), min_size=1, max_size=3)),
                "influence": draw(st.sampled_from(LEVELS)),
                "attitude": draw(st.sampled_from(ATTITUDES)),
                "personality": draw(st.sampled_from(PERSONALITIES)),
            },
        ),
        (
            "contact add",
            {
                **acct,
                "contact": "李伟 " + draw(NAME),
                "title": draw(NAME),
                "department": "finance",
                "reports_to": "P-1",
                "influenced_by": ["P-1"],
            },
        ),
        (
            "contact change",
            {
                **acct,
                "contact": "P-2",
                "roles": draw(st.lists(st.sampled_from(BUYING_ROLES), min_size=1, max_size=3)),
                "title": draw(NAME),
            },
        ),
        (
            "visit log",
            {
                **acct,
                "with": ["P-1", "P-2"],
                "purpose": draw(TEXT),
                "objective": draw(TEXT),
                "result": draw(TEXT),
                "issues": issues,
                "on": draw(PAST_DAY),
            },
        ),
        ("visit follow-up", {**acct, "issue": "I-1", "result": draw(TEXT)}),
        *(
            ("complaint raise", {**acct, "summary": draw(TEXT), "severity": severity})
            for severity in draw(st.lists(st.sampled_from(SEVERITIES), min_size=3, max_size=3))
        ),
        ("complaint ack", {**acct, "complaint": "C-1"}),
        ("complaint escalate", {**acct, "complaint": "C-1", "reason": draw(TEXT), "to": "总经理"}),
        ("complaint investigate", {**acct, "complaint": "C-1", "note": draw(TEXT)}),
        ("complaint resolve", {**acct, "complaint": "C-1", "outcome": draw(TEXT)}),
        ("complaint close", {**acct, "complaint": "C-1", "confirmation": draw(TEXT)}),
        ("complaint reject", {**acct, "complaint": "C-2", "justification": draw(TEXT)}),
        ("complaint resolve", {**acct, "complaint": "C-3", "outcome": draw(TEXT)}),
        (
            "sale record",
            {
                **acct,
                "invoice": "发票-"
                + draw(st.text(ASCII.filter(str.isalnum), min_size=1, max_size=8)),
                "product": draw(NAME),
                "amount": small_sale,
                "cost": draw(amounts("0", str(small_sale))),
                "discount": draw(amounts("0", "15")),
            },
        ),
        (
            "exception request",
            {**acct, "rule": "credit-limit", "reason": draw(TEXT), "invoice": "INV-BIG"},
        ),
        ("exception approve", {**acct, "exception": "E-1"}),
        (
            "sale record",
            {
                **acct,
                "invoice": "INV-BIG",
                "product": draw(NAME),
                "amount": big_sale,
                "cost": draw(amounts("0", "1000")),
            },
        ),
        ("payment record", {**acct, "invoice": "INV-BIG", "amount": draw(amounts("0.01", "50"))}),
        (
            "cost record",
            {**acct, "amount": draw(amounts()), "category": draw(NAME), "description": draw(TEXT)},
        ),
        (
            "satisfaction record",
            {
                **acct,
                "score": draw(amounts("0", "10")),
                "target": draw(amounts("0", "10")),
                "note": draw(TEXT),
            },
        ),
        (
            "competitor note",
            {**acct, "competitor": "帝斯曼 " + draw(NAME), "strengths": draw(TEXT), "rep": "张三"},
        ),
        *(
            (
                "opp open",
                {
                    **acct,
                    "title": draw(NAME),
                    "problem": draw(TEXT),
                    "budget": draw(st.none() | amounts()),
                    "decision_maker": draw(NAME),
                    "timeline": draw(TEXT),
                    "procurement": draw(TEXT),
                },
            )
            for _ in range(2)
        ),
        ("opp advance", {**acct, "opportunity": "O-1", "close_by": "2999-01-31"}),
        (
            "opp close-by",
            {**acct, "opportunity": "O-2", "close_by": "2999-02-28", "reason": draw(TEXT)},
        ),
        (
            "opp probability",
            {**acct, "opportunity": "O-2", "probability": "37.5", "reason": draw(TEXT)},
        ),
        ("opp advance", {**acct, "opportunity": "O-1", "to": "proposal"}),
        ("opp advance", {**acct, "opportunity": "o-1"}),
        ("opp win", {**acct, "opportunity": "O-1", "note": draw(TEXT)}),
        ("opp lose", {**acct, "opportunity": "O-2", "reason": draw(TEXT)}),
        ("task add", {**acct, "title": draw(NAME), "due": "2999-01-01", "about": "O-1"}),
        ("task move", {**acct, "task": "T-1", "due": "2999-02-01", "reason": draw(TEXT)}),
        ("task done", {**acct, "task": "T-1", "note": draw(TEXT)}),
        ("task add", {**acct, "title": draw(NAME), "due": "2999-01-01", "owner": draw(NAME)}),
        ("task cancel", {**acct, "task": "T-2", "reason": draw(TEXT)}),
        ("tier request", {**acct, "tier": "strategic", "reason": draw(TEXT)}),
        ("tier approve", acct),
        ("tier set", {**acct, "tier": "key", "reason": draw(TEXT), "approved_by": "陈总"}),
        ("stage advance", {**acct, "stage": "early", "reason": draw(TEXT)}),
        ("team assign", {**acct, "member": draw(NAME), "role": draw(NAME)}),
        ("team assign", {**acct, "member": "临时 temp", "role": "support"}),
        ("team release", {**acct, "member": "临时 temp", "reason": draw(TEXT)}),
        ("program complete", {**acct, "step": "confirm", "evidence": draw(TEXT)}),
        ("stage uncouple", {**acct, "reason": draw(TEXT)}),
        ("stage re-engage", {**acct, "reason": draw(TEXT)}),
        ("contact leave", {**acct, "contact": "P-2", "reason": draw(TEXT), "analysis": draw(TEXT)}),
        # corrections (ADR 0020)
        (
            "visit amend",
            {**acct, "visit": "V-1", "objective": "改 " + draw(NAME)[:100], "reason": draw(TEXT)},
        ),
        ("visit void", {**acct, "ref": "V-1", "reason": draw(TEXT)}),
        ("contact rename", {**acct, "contact": "P-1", "new_name": "改名 Renamed"}),
        ("sale credit", {**acct, "invoice": "INV-BIG", "amount": "0.01", "reason": draw(TEXT)}),
        ("account lose", {**acct, "cause": draw(TEXT)}),
        ("account review", {**acct, "cause": draw(TEXT), "lessons": draw(TEXT)}),
        ("account reactivate", {**acct, "reason": draw(TEXT)}),
        ("account lose", {**acct, "cause": draw(TEXT)}),
        ("account review", {**acct, "cause": draw(TEXT), "lessons": draw(TEXT)}),
        ("account archive", {**acct, "note": draw(st.just("") | TEXT)}),
    ]


@settings(PROPERTY, max_examples=25)
@given(data=st.data())
def test_b_every_event_type_round_trips_through_the_store_unchanged(
    kf: Kamflow, locator: str, data: st.DataObject
) -> None:
    key = new_key(data)
    approver = f"审批人-{uuid.uuid4().hex[:8]}"
    # The store's first writer (ACTOR) is its admin and a KAM; approvals are another's.
    with contextlib.suppress(KamflowError):  # granted already by an earlier example
        run(kf, "account open", {"account": "zz-first", "name": "F", "industry": "i", "owner": "o"})
    run(kf, "roster grant", {"person": approver, "role": "approver", "reason": "approves"})
    with saved_events(kf) as saved:
        for name, fields in every_event_script(data, key, approver):
            cid = uuid.uuid4().hex if data.draw(st.booleans(), label="client id") else None
            actor = approver if name.endswith(" approve") else ACTOR
            # again: the script repeats some writes on purpose (ADR 0020).
            run(kf, name, fields, actor=actor, command_id=cid, again=True)
        # An exception granted by one person alone, as before four eyes (ADR 0023): only
        # below the commands now, and stored history still holds such events.
        kf.record_below_commands(
            key,
            ACTOR,
            kf.today(),
            lambda account, meta: account.record(
                Account.PolicyExceptionGranted,
                meta,
                exception_id=account.next_id("E"),
                rule="credit-limit",
                approver=ACTOR,
                reason="before four eyes",
                invoice=None,
            ),
        )

    # A merge writes on two accounts and closing ends the stream as archiving does:
    # tests/domain/test_corrections.py writes and reads those back.
    # A forget changes what the person's earlier events read as ([erased]), so it is no
    # "unchanged" round trip: tests/system/test_erasure.py writes and reads it back.
    apart = {"AccountAbsorbed", "AccountMergedInto", "AccountClosed", "ContactForgotten"}
    assert {type(e).__name__ for e in saved} == account_event_types() - apart
    assert [e.originator_version for e in saved] == list(range(1, len(saved) + 1))

    mapper = kf.app.mapper
    for original in saved:
        again = mapper.to_domain_event(mapper.to_stored_event(original))
        assert type(again) is type(original)
        assert typed(vars(again)) == typed(vars(original))

    with reopened(locator) as fresh:
        read_back = list(fresh.app.events.get(aid_of(key)))
    assert [type(e) for e in read_back] == [type(e) for e in saved]
    for stored, original in zip(read_back, saved, strict=True):
        assert typed(vars(stored)) == typed(vars(original)), type(original).__name__

    # and the views' own reader (its SQL and its JSON decoding) gives the same events
    with reopened(locator) as fresh, StoreSource(fresh.locator) as source:
        read = [e for _, e in source.read(0, 1_000_000) if e.originator_id == aid_of(key)]
    assert [type(e) for e in read] == [type(e) for e in saved]
    for got, original in zip(read, saved, strict=True):
        assert typed(vars(got)) == typed(vars(original)), type(original).__name__


# ------------------------------------------------------------- property c
GAPS = st.one_of(
    st.just(timedelta(0)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=6)),
    st.timedeltas(min_value=timedelta(hours=20), max_value=timedelta(days=9)),
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=UTC)


@PROPERTY
@given(data=st.data())
def test_c_account_as_of_a_date_is_the_fold_of_events_recorded_by_its_end(
    kf: Kamflow, locator: str, data: st.DataObject
) -> None:
    key = new_key(data)
    start = data.draw(
        st.datetimes(
            min_value=datetime(2025, 1, 1), max_value=datetime(2025, 12, 31), timezones=ZONES
        ),
        label="first record time",
    )
    clock = FakeClock(start, step=timedelta(0))  # moved on by the test alone
    # (version, the record time the clock gave) for every event written
    written: list[tuple[int, datetime]] = []
    with kf.using_clock(clock), live_accounts() as live:
        outcome = run(kf, "account open", {**opening(data, key), "on": None})
        written += [(v, clock.current) for _, v in outcome.events]
        for _ in range(data.draw(st.integers(1, 30), label="commands")):
            clock.current += data.draw(GAPS, label="gap")
            maybe = try_run(kf, data, *draw_command(data, live[-1]))
            if maybe is not None:
                written += [(v, clock.current) for _, v in maybe.events]

    with reopened(locator) as fresh:
        events = list(fresh.app.events.get(aid_of(key)))
        assert [(e.originator_version, e.timestamp) for e in events] == written

        days_recorded = sorted({t.astimezone(UTC).date() for _, t in written})
        candidates = sorted(
            {d + timedelta(days=shift) for d in days_recorded for shift in (-1, 0, 1)}
        )
        probes = data.draw(
            st.lists(st.sampled_from(candidates), min_size=1, max_size=10, unique=True),
            label="as-of days",
        )
        for day in [days_recorded[0] - timedelta(days=1), *probes]:
            upto = max((v for v, t in written if t < end_of(day)), default=0)
            if upto == 0:
                with pytest.raises(NotFound, match="not yet recorded"):
                    fresh.account_at(key, as_of=day)
                continue
            as_of = fresh.account_at(key, as_of=day)
            assert as_of.version == upto, day
            assert as_of == project_aggregate(None, events[:upto]), day

        version = data.draw(st.integers(1, len(events)), label="version")
        assert fresh.account_at(key, version=version) == project_aggregate(None, events[:version])

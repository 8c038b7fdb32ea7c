"""The Account aggregate as a specification: given events, when a command, then events or a refusal.

Every test drives the real application service over a real store (a SQLite file, or
PostgreSQL where the backend matters), exactly as the CLI and `kamflow apply` do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import ACTOR, FIRST_WRITE, FakeClock, run
from eventsourcing.application import project_aggregate

from kamflow.application import Kamflow, Outcome
from kamflow.domain.errors import (
    AccountNotFound,
    Conflict,
    InvalidInput,
    NotFound,
    RuleViolation,
)
from kamflow.domain.values import account_id

DAY_ONE = date(2026, 3, 2)


@pytest.fixture
def clock() -> FakeClock:
    """Record time of every Kamflow here: from 09:00 UTC on DAY_ONE."""
    return FakeClock(DAY_ONE)


@pytest.fixture
def kf(sqlite_locator: str, clock: FakeClock) -> Iterator[Kamflow]:
    kamflow = Kamflow(sqlite_locator, clock=clock)
    yield kamflow
    kamflow.close()


def open_acme(kf: Kamflow, **extra: Any) -> Outcome:
    """Acme, opened on 2026-01-01: facts about it may be back-dated to that day, never
    before it (nothing about an account is dated before it was opened)."""
    fields = {
        "account": "acme",
        "name": "Acme Feed",
        "industry": "feed",
        "owner": ACTOR,
        "on": OPENED,
    }
    return run(kf, "account open", {**fields, **extra})


OPENED = "2026-01-01"


def add_wang_fang(kf: Kamflow, **extra: Any) -> Outcome:
    fields = {
        "account": "acme",
        "contact": "Wang Fang",
        "title": "Purchasing Manager",
        "department": "procurement",
        "roles": ["buyer"],
    }
    return run(kf, "contact add", {**fields, **extra})


def log_visit(kf: Kamflow, issues: list[str], **extra: Any) -> Outcome:
    fields = {
        "account": "acme",
        "with": ["Wang Fang"],
        "purpose": "phytase trial",
        "objective": "agree trial size",
        "result": "trial of 2 t agreed",
        "issues": issues,
    }
    return run(kf, "visit log", {**fields, **extra})


def record_sale(kf: Kamflow, invoice: str, amount: str, **extra: Any) -> Outcome:
    fields = {
        "account": "acme",
        "invoice": invoice,
        "product": "phytase",
        "amount": amount,
        "cost": "0",
    }
    return run(kf, "sale record", {**fields, **extra})


def events_after(kf: Kamflow, version: int, key: str = "acme") -> list[tuple[str, dict[str, Any]]]:
    """The (type, payload) of every event of the account after the given version."""
    return [(e.type, e.payload) for e in kf.history(key) if e.version > version]


# ------------------------------------------------------------------ opening (P3)
def test_an_account_opens_with_its_minimum_file(kf: Kamflow) -> None:
    outcome = open_acme(kf)

    assert outcome.events == [("AccountOpened", 1)]
    assert events_after(kf, 0) == [
        (
            "AccountOpened",
            {
                "key": "acme",
                "name": "Acme Feed",
                "industry": "feed",
                "owner": ACTOR,
                "currency": "CNY",
                "tier": "prospect",
            },
        )
    ]
    account = kf.load("acme")
    assert account.tier == "prospect"
    assert account.lifecycle == "prospect"


@pytest.mark.parametrize("missing", ["name", "industry", "owner"])
def test_an_account_without_its_minimum_file_is_refused_under_P3(kf: Kamflow, missing: str) -> None:
    fields = {"account": "acme", "name": "Acme Feed", "industry": "feed", "owner": ACTOR}
    del fields[missing]

    with pytest.raises(InvalidInput) as refused:
        run(kf, "account open", fields)

    assert str(refused.value) == f"missing required field --{missing}"
    assert kf.event_count() == 0


def test_account_keys_are_normalised_so_Acme_and_acme_are_the_same_account(
    kf: Kamflow,
) -> None:
    outcome = open_acme(kf, account="  Acme ")

    assert outcome.account == "acme"
    assert kf.load("ACME").key == "acme"
    with pytest.raises(Conflict):
        open_acme(kf, account="acme")


def test_chinese_names_and_chinese_keys_work(kf: Kamflow) -> None:
    fields = {"account": "正大", "name": "正大饲料 Acme Feed", "industry": "饲料", "owner": "李伟"}

    run(kf, "account open", fields)
    run(
        kf,
        "contact add",
        {"account": "正大", "contact": "王芳", "title": "采购经理", "department": "采购部"},
    )

    account = kf.load("正大")
    assert account.key == "正大"
    assert account.profile == {"name": "正大饲料 Acme Feed", "industry": "饲料", "owner": "李伟"}
    assert account.contacts["P-1"]["name"] == "王芳"
    assert [e.type for e in kf.history("正大")] == ["AccountOpened", "ContactAdded"]


def test_reading_an_unknown_account_is_not_found(kf: Kamflow) -> None:
    open_acme(kf)

    with pytest.raises(AccountNotFound) as missing:
        kf.load("nope")

    assert (
        str(missing.value) == 'account "nope" not found; list accounts with `kamflow account list`'
    )


# ------------------------------------------------------------------ profile
def test_a_profile_update_records_only_the_fields_that_change(kf: Kamflow) -> None:
    open_acme(kf)

    run(kf, "account update", {"account": "acme", "name": "Acme Feed", "address": "Chengdu"})

    assert events_after(kf, 1) == [
        ("ProfileUpdated", {"changes": {"address": "Chengdu"}, "previous": {"address": None}})
    ]
    assert kf.load("acme").profile["address"] == "Chengdu"


# ------------------------------------------------------------------ people
def test_adding_a_contact_gives_them_the_next_person_id(kf: Kamflow) -> None:
    open_acme(kf)

    first = add_wang_fang(kf, roles=["influencer", "buyer"], personality="doubting")
    second = run(
        kf,
        "contact add",
        {"account": "acme", "contact": "Li Na", "title": "GM", "department": "management"},
    )

    assert (first.reference, second.reference) == ("P-1", "P-2")
    kind, payload = events_after(kf, 1)[0]
    assert kind == "ContactAdded"
    assert payload == {
        "contact_id": "P-1",
        "name": "Wang Fang",
        "title": "Purchasing Manager",
        "department": "procurement",
        "roles": ["buyer", "influencer"],
        "influence": None,
        "attitude": None,
        "personality": "doubting",
        "reports_to": None,
        "influenced_by": [],
        "personal": {},  # none given (ADR 0026: mobile, e-mail... encrypted when given)
    }


def test_a_second_current_contact_of_the_same_name_is_another_person(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)

    # Two people may share a name (ADR 0020): they are told apart by id.
    add_wang_fang(kf, contact="wang fang", title="Engineer")

    contacts = kf.load("acme").contacts
    assert [(c, contacts[c]["title"]) for c in contacts] == [
        ("P-1", "Purchasing Manager"),
        ("P-2", "Engineer"),
    ]


def test_changing_a_contact_records_what_changed_and_replaces_roles(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf, roles=["buyer", "influencer"])

    run(
        kf,
        "contact change",
        {
            "account": "acme",
            "contact": "Wang Fang",
            "title": "Procurement Director",
            "department": "procurement",
            "roles": ["decider"],
        },
    )

    assert events_after(kf, 2) == [
        (
            "ContactChanged",
            {
                "contact_id": "P-1",
                "changes": {"title": "Procurement Director", "roles": ["decider"]},
                "previous": {"title": "Purchasing Manager", "roles": ["buyer", "influencer"]},
            },
        )
    ]
    contact = kf.load("acme").contacts["P-1"]
    assert (contact["title"], contact["roles"]) == ("Procurement Director", ["decider"])


def test_a_contact_change_that_changes_nothing_is_refused(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)

    with pytest.raises(Conflict) as refused:
        run(kf, "contact change", {"account": "acme", "contact": "P-1", "roles": ["buyer"]})

    assert str(refused.value) == "contact P-1: nothing to change; the values are unchanged"
    assert kf.event_count() == FIRST_WRITE + 2


def test_reports_to_names_an_existing_contact_and_is_stored_as_their_id(kf: Kamflow) -> None:
    open_acme(kf)
    run(
        kf,
        "contact add",
        {"account": "acme", "contact": "Li Na", "title": "GM", "department": "management"},
    )

    add_wang_fang(kf, reports_to="li na")

    assert kf.load("acme").contacts["P-2"]["reports_to"] == "P-1"


def test_reports_to_a_person_not_in_the_file_is_refused(kf: Kamflow) -> None:
    open_acme(kf)

    with pytest.raises(NotFound) as refused:
        add_wang_fang(kf, reports_to="Zhao Lei")

    assert str(refused.value) == (
        'no current contact "Zhao Lei" on "acme";'
        ' add one with `kamflow contact add acme "Zhao Lei" ...`'
    )
    assert kf.event_count() == FIRST_WRITE + 1


def test_a_contact_who_leaves_is_recorded_with_the_analysis(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)

    run(
        kf,
        "contact leave",
        {
            "account": "acme",
            "contact": "Wang Fang",
            "reason": "moved to a competitor",
            "analysis": "re-map the decision process",
        },
    )

    assert events_after(kf, 2) == [
        (
            "ContactLeft",
            {
                "contact_id": "P-1",
                "reason": "moved to a competitor",
                "analysis": "re-map the decision process",
            },
        )
    ]
    contact = kf.load("acme").contacts["P-1"]
    assert (contact["current"], contact["left_on"]) == (False, DAY_ONE)


def test_a_contact_who_left_cannot_be_visited(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)
    run(
        kf,
        "contact leave",
        {"account": "acme", "contact": "P-1", "reason": "retired", "analysis": "none"},
    )

    with pytest.raises(NotFound) as by_name:
        log_visit(kf, [])
    with pytest.raises(Conflict) as by_id:
        log_visit(kf, [], **{"with": ["P-1"]})

    assert str(by_name.value).startswith('no current contact "Wang Fang" on "acme"')
    assert str(by_id.value) == 'contact P-1 "Wang Fang" has left "acme"'
    assert kf.event_count() == FIRST_WRITE + 3


# ------------------------------------------------------------------ visits (P6)
def test_issues_found_on_visits_are_numbered_across_visits(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)

    log_visit(kf, ["price vs DSM", "bag size"])
    log_visit(kf, ["late samples"])

    visits = [p for kind, p in events_after(kf, 2) if kind == "VisitLogged"]
    assert [v["visit_id"] for v in visits] == ["V-1", "V-2"]
    assert [v["issues"] for v in visits] == [
        {"I-1": "price vs DSM", "I-2": "bag size"},
        {"I-3": "late samples"},
    ]
    assert sorted(kf.load("acme").open_issues) == ["I-1", "I-2", "I-3"]


def test_a_visit_names_its_contacts_by_id_and_counts_as_contact(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)

    log_visit(kf, [], on="2026-02-20")

    kind, payload = events_after(kf, 2)[0]
    assert (kind, payload["contacts"]) == ("VisitLogged", ["P-1"])
    assert kf.load("acme").last_contact_on == date(2026, 2, 20)


def test_a_follow_up_closes_the_issue(kf: Kamflow) -> None:
    open_acme(kf)
    add_wang_fang(kf)
    log_visit(kf, ["price vs DSM", "bag size"])

    run(
        kf,
        "visit follow-up",
        {"account": "acme", "issue": "i-1", "result": "price matched for trial volume"},
    )

    assert events_after(kf, 3) == [
        ("FollowUpRecorded", {"issue_id": "I-1", "result": "price matched for trial volume"})
    ]
    assert list(kf.load("acme").open_issues) == ["I-2"]


@pytest.mark.parametrize("missing", ["purpose", "objective"])
def test_a_visit_without_a_purpose_or_objective_is_refused(kf: Kamflow, missing: str) -> None:
    open_acme(kf)
    add_wang_fang(kf)
    fields = {"account": "acme", "with": ["P-1"], "purpose": "p", "objective": "o", "result": "r"}
    del fields[missing]

    with pytest.raises(InvalidInput) as refused:
        run(kf, "visit log", fields)

    assert str(refused.value) == f"missing required field --{missing}"
    assert kf.event_count() == FIRST_WRITE + 2


# ------------------------------------------------------------------ complaints (P7)
def test_complaints_are_numbered_per_account(kf: Kamflow) -> None:
    open_acme(kf)

    first = run(kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "high"})
    second = run(kf, "complaint raise", {"account": "acme", "summary": "torn", "severity": "low"})

    assert (first.reference, second.reference) == ("C-1", "C-2")
    assert events_after(kf, 1) == [
        ("ComplaintRaised", {"complaint_id": "C-1", "summary_text": "late", "severity": "high"}),
        ("ComplaintRaised", {"complaint_id": "C-2", "summary_text": "torn", "severity": "low"}),
    ]


def test_a_complaint_is_resolved_with_its_outcome(kf: Kamflow) -> None:
    open_acme(kf)
    run(kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "high"})

    run(kf, "complaint resolve", {"account": "acme", "complaint": "c-1", "outcome": "credit note"})

    assert events_after(kf, 2) == [
        ("ComplaintResolved", {"complaint_id": "C-1", "outcome": "credit note"})
    ]
    complaint = kf.load("acme").complaints["C-1"]
    assert (complaint["status"], complaint["outcome"]) == ("resolved", "credit note")


def test_a_complaint_is_rejected_with_its_justification(kf: Kamflow) -> None:
    open_acme(kf)
    run(kf, "complaint raise", {"account": "acme", "summary": "torn", "severity": "low"})

    run(
        kf,
        "complaint reject",
        {"account": "acme", "complaint": "C-1", "justification": "damaged after delivery"},
    )

    assert events_after(kf, 2) == [
        ("ComplaintRejected", {"complaint_id": "C-1", "justification": "damaged after delivery"})
    ]
    assert kf.load("acme").complaints["C-1"]["status"] == "rejected"


def test_a_complaint_with_an_outcome_cannot_be_resolved_or_rejected_again(kf: Kamflow) -> None:
    open_acme(kf)
    run(kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "high"})
    run(kf, "complaint resolve", {"account": "acme", "complaint": "C-1", "outcome": "credit"})

    with pytest.raises(Conflict) as twice:
        run(kf, "complaint resolve", {"account": "acme", "complaint": "C-1", "outcome": "more"})
    with pytest.raises(Conflict):
        run(kf, "complaint reject", {"account": "acme", "complaint": "C-1", "justification": "x"})

    assert str(twice.value) == (
        'complaint C-1 on "acme" is resolved; "resolve" is not allowed from there'
        " (allowed now: close)"
    )
    assert kf.event_count() == FIRST_WRITE + 3


# ------------------------------------------------------------------ tier
def test_a_tier_change_records_from_and_to(kf: Kamflow) -> None:
    open_acme(kf)

    run(
        kf,
        "tier set",
        {"account": "acme", "tier": "key", "reason": "top-20% by profit", "approved_by": "zhao"},
    )

    assert events_after(kf, 1) == [
        (
            "TierChanged",
            {
                "from_tier": "prospect",
                "to_tier": "key",
                "reason": "top-20% by profit",
                "approved_by": "zhao",
            },
        )
    ]
    account = kf.load("acme")
    assert (account.tier, account.lifecycle) == ("key", "active")


# ------------------------------------------------------------------ sales and payments (P2)
def test_receivable_is_sales_minus_payments_per_currency(kf: Kamflow) -> None:
    open_acme(kf)
    record_sale(kf, "INV-1", "12000")
    record_sale(kf, "INV-2", "3000.50")
    record_sale(kf, "INV-3", "1000", currency="USD")

    run(kf, "payment record", {"account": "acme", "invoice": "INV-1", "amount": "6000"})
    run(kf, "payment record", {"account": "acme", "invoice": "INV-2", "amount": "3000.50"})
    run(kf, "payment record", {"account": "acme", "invoice": "INV-3", "amount": "250"})

    account = kf.load("acme")
    assert account.receivable() == {"CNY": Decimal("6000"), "USD": Decimal("750")}
    assert events_after(kf, 6)[0] == (
        "PaymentReceived",
        {"invoice": "INV-3", "amount": Decimal("250"), "currency": "USD"},
    )


# ------------------------------------------------------------------ command ids
def test_the_same_command_id_applied_twice_records_one_event(kf: Kamflow) -> None:
    open_acme(kf)
    raise_late = {"account": "acme", "summary": "late", "severity": "high"}
    first = run(kf, "complaint raise", raise_late, command_id="cmd-17")
    run(kf, "complaint raise", {**raise_late, "summary": "other"})

    again = run(kf, "complaint raise", raise_late, command_id="cmd-17")

    assert first.events == [("ComplaintRaised", 2)]
    assert (again.applied, again.events) == (False, [])
    assert [e.command_id for e in kf.history("acme")][1] == "cmd-17"
    assert sorted(kf.load("acme").complaints) == ["C-1", "C-2"]
    assert kf.event_count() == FIRST_WRITE + 3


def test_a_retried_open_with_the_same_command_id_opens_nothing_again(
    kf: Kamflow, sqlite_locator: str, clock: FakeClock
) -> None:
    beta = {"account": "beta", "name": "Beta", "industry": "feed", "owner": ACTOR}
    opened = run(kf, "account open", beta, command_id="open-beta")
    retry = Kamflow(sqlite_locator, clock=clock)  # another process, retrying after a lost reply

    again = run(retry, "account open", {**beta, "name": "Beta Again"}, command_id="open-beta")

    retry.close()
    assert (opened.applied, again.applied) == (True, False)
    assert kf.load("beta").profile["name"] == "Beta"
    assert kf.event_count() == FIRST_WRITE + 1


def test_commands_without_an_id_get_distinct_generated_ids(kf: Kamflow) -> None:
    open_acme(kf)
    raise_late = {"account": "acme", "summary": "late", "severity": "high"}

    run(kf, "complaint raise", raise_late)
    run(kf, "complaint raise", raise_late, again=True)  # a second complaint, meant

    ids = [e.command_id for e in kf.history("acme")]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert sorted(kf.load("acme").complaints) == ["C-1", "C-2"]


# ------------------------------------------------------------------ the envelope
def test_every_event_carries_actor_business_date_record_time_and_command_id(
    kf: Kamflow, clock: FakeClock
) -> None:
    open_acme(kf)
    run(kf, "roster grant", {"person": "zhang.min", "role": "kam", "reason": "KAM"})
    clock.next_day()

    run(
        kf,
        "complaint raise",
        {"account": "acme", "summary": "late", "severity": "high", "on": "2026-02-27"},
        actor="zhang.min",
        command_id="c-42",
    )

    opened, raised = kf.history("acme")
    assert (opened.actor, opened.occurred_on) == (ACTOR, date.fromisoformat(OPENED))
    assert opened.recorded_at == datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)
    assert (raised.actor, raised.occurred_on, raised.command_id) == (
        "zhang.min",
        date(2026, 2, 27),
        "c-42",
    )
    assert raised.recorded_at == datetime(2026, 3, 3, 9, 0, 1, tzinfo=UTC)


def test_the_business_date_defaults_to_today(kf: Kamflow, clock: FakeClock) -> None:
    clock.next_day(10)

    open_acme(kf, on=None)

    (opened,) = kf.history("acme")
    assert opened.occurred_on == date(2026, 3, 12)
    assert kf.load("acme").opened_on == date(2026, 3, 12)


def test_a_business_date_in_the_future_is_refused(kf: Kamflow) -> None:
    open_acme(kf)

    with pytest.raises(InvalidInput) as refused:
        run(
            kf,
            "complaint raise",
            {"account": "acme", "summary": "late", "severity": "high", "on": "2026-03-03"},
        )
    with pytest.raises(InvalidInput):
        open_acme(kf, account="beta", on="2026-03-03")

    assert str(refused.value) == "date 2026-03-03 is in the future; today is 2026-03-02"
    assert kf.event_count() == FIRST_WRITE + 1


# ------------------------------------------------------------------ time travel
@pytest.fixture
def acme_over_five_days(kf: Kamflow, clock: FakeClock) -> Kamflow:
    """v1 opened on 2 March, v2 tier target on 4 March, v3 tier key on 6 March."""
    open_acme(kf)
    clock.next_day(2)
    run(kf, "tier set", {"account": "acme", "tier": "target", "reason": "growing"})
    clock.next_day(2)
    run(kf, "tier set", {"account": "acme", "tier": "key", "reason": "top 20%"})
    return kf


def test_an_account_can_be_read_as_it_stood_after_its_nth_event(
    acme_over_five_days: Kamflow,
) -> None:
    kf = acme_over_five_days

    tiers = [kf.account_at("acme", version=n).tier for n in (1, 2, 3)]

    assert tiers == ["prospect", "target", "key"]
    assert kf.account_at("acme", version=2).version == 2


@pytest.mark.parametrize(
    ("as_of", "version", "tier"),
    [
        (date(2026, 3, 2), 1, "prospect"),
        (date(2026, 3, 3), 1, "prospect"),
        (date(2026, 3, 4), 2, "target"),
        (date(2026, 3, 5), 2, "target"),
        (date(2026, 12, 31), 3, "key"),
    ],
)
def test_an_account_can_be_read_as_the_log_held_it_on_a_date(
    acme_over_five_days: Kamflow, as_of: date, version: int, tier: str
) -> None:
    account = acme_over_five_days.account_at("acme", as_of=as_of)

    assert (account.version, account.tier) == (version, tier)


def test_record_time_never_goes_backwards_on_a_skewed_clock(kf: Kamflow, clock: FakeClock) -> None:
    open_acme(kf)
    clock.next_day(3)
    run(kf, "tier set", {"account": "acme", "tier": "target", "reason": "growing"})
    clock.current = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # another machine, a day behind

    run(kf, "tier set", {"account": "acme", "tier": "key", "reason": "top 20%"})

    times = [e.recorded_at for e in kf.history("acme")]
    assert times[2] == times[1] == datetime(2026, 3, 5, 9, 0, 1, tzinfo=UTC)
    assert kf.account_at("acme", as_of=date(2026, 3, 4)).tier == "prospect"


def test_an_event_recorded_at_midnight_belongs_to_the_new_day(
    kf: Kamflow, clock: FakeClock
) -> None:
    open_acme(kf)
    clock.current = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)  # next reading: 00:00:00

    run(kf, "tier set", {"account": "acme", "tier": "key", "reason": "signed at midnight"})

    assert kf.account_at("acme", as_of=date(2026, 3, 2)).tier == "prospect"
    assert kf.account_at("acme", as_of=date(2026, 3, 3)).tier == "key"


def test_as_of_follows_record_time_not_the_business_date(kf: Kamflow, clock: FakeClock) -> None:
    open_acme(kf)
    clock.next_day(5)

    run(
        kf,
        "tier set",
        {"account": "acme", "tier": "key", "reason": "late entry", "on": "2026-03-02"},
    )

    assert kf.account_at("acme", as_of=date(2026, 3, 6)).tier == "prospect"
    assert kf.account_at("acme", as_of=date(2026, 3, 7)).tier == "key"


def test_a_version_beyond_the_last_is_refused(acme_over_five_days: Kamflow) -> None:
    with pytest.raises(NotFound) as refused:
        acme_over_five_days.account_at("acme", version=4)

    assert str(refused.value) == 'account "acme" has 3 events; --version 4 is beyond its last'


def test_a_version_below_one_is_bad_input(acme_over_five_days: Kamflow) -> None:
    with pytest.raises(InvalidInput) as refused:
        acme_over_five_days.account_at("acme", version=0)

    assert str(refused.value) == "--version must be at least 1 (got 0)"


def test_a_date_before_the_first_event_is_refused(acme_over_five_days: Kamflow) -> None:
    with pytest.raises(NotFound) as refused:
        acme_over_five_days.account_at("acme", as_of=date(2026, 3, 1))

    assert str(refused.value) == (
        'account "acme" was not yet recorded on 2026-03-01 (first recorded 2026-03-02)'
    )


def test_as_of_and_version_together_are_refused(acme_over_five_days: Kamflow) -> None:
    with pytest.raises(InvalidInput, match="give --as-of or --version, not both"):
        acme_over_five_days.account_at("acme", as_of=date(2026, 3, 4), version=2)


# ------------------------------------------------------------------ snapshots
def build_long_history(kf: Kamflow) -> None:
    """Open acme and give it 60-odd events of every kind the aggregate keeps state for."""
    open_acme(kf, tier="target")
    add_wang_fang(kf, roles=["buyer", "decider"], influence="high")
    run(
        kf,
        "contact add",
        {"account": "acme", "contact": "王芳", "title": "GM", "department": "management"},
    )
    for i in range(1, 13):
        log_visit(kf, [f"issue {i}"], on=f"2026-01-{i:02d}")
        run(kf, "visit follow-up", {"account": "acme", "issue": f"I-{i}", "result": "done"})
        record_sale(kf, f"INV-{i}", f"{i * 1000}.50", cost=f"{i * 700}")
        run(kf, "payment record", {"account": "acme", "invoice": f"INV-{i}", "amount": "500.25"})
    run(kf, "complaint raise", {"account": "acme", "summary": "late", "severity": "high"})
    run(kf, "complaint resolve", {"account": "acme", "complaint": "C-1", "outcome": "credit"})
    run(kf, "tier set", {"account": "acme", "tier": "key", "reason": "grew"})
    run(kf, "satisfaction record", {"account": "acme", "score": "7.5", "target": "8.25"})
    run(kf, "cost record", {"account": "acme", "amount": "3500", "category": "service"})
    run(kf, "competitor note", {"account": "acme", "competitor": "DSM", "strengths": "price"})
    run(kf, "opp open", {"account": "acme", "title": "line 3", "budget": "500000"})
    run(kf, "account update", {"account": "acme", "address": "成都"}, command_id="addr")
    log_visit(kf, ["still open"])


@pytest.fixture
def stores(locator: str, clock: FakeClock) -> Iterator[Callable[[], Kamflow]]:
    """Opens Kamflow instances on one store (SQLite, then PostgreSQL), closing them all."""
    opened: list[Kamflow] = []

    def open_store() -> Kamflow:
        opened.append(Kamflow(locator, clock=clock))
        return opened[-1]

    yield open_store
    for kamflow in opened:
        kamflow.close()


def test_an_account_loaded_from_snapshots_equals_its_full_replay(
    stores: Callable[[], Kamflow],
) -> None:
    writer = stores()
    build_long_history(writer)
    aid = account_id("acme")

    loaded = stores().load("acme")

    replayed = project_aggregate(None, writer.app.events.get(aid))
    assert writer.app.snapshots is not None
    # The newest is kept; older ones only at as-of checkpoints (ADR 0024).
    assert [s.originator_version for s in writer.app.snapshots.get(aid)] == [60]
    assert loaded.version == 60
    assert loaded == replayed
    assert loaded.receivable() == {"CNY": Decimal("72003.00")}
    assert list(loaded.open_issues) == ["I-13"]


def test_an_account_between_snapshots_equals_its_replay_to_that_version(
    stores: Callable[[], Kamflow],
) -> None:
    writer = stores()
    build_long_history(writer)
    aid = account_id("acme")

    at_47 = stores().account_at("acme", version=47)

    assert at_47.version == 47
    assert at_47 == project_aggregate(None, writer.app.events.get(aid, lte=47))


# ------------------------------------------------------------------ refusals
# Given the steps, when the command: refused with this error and message (and principle),
# and nothing written (the events are the given steps' own, one each).
Step = Callable[[Kamflow], object]


def does(command: str, **fields: Any) -> Step:
    """A step: ``command`` on acme (unless ``account`` says otherwise) with ``fields``."""
    return lambda kf: run(kf, command, {"account": "acme", **fields})


def sale(invoice: str, amount: str, **extra: Any) -> Step:
    return lambda kf: record_sale(kf, invoice, amount, **extra)


def visit(issues: list[str], **extra: Any) -> Step:
    return lambda kf: log_visit(kf, issues, **extra)


REFUSALS = [
    pytest.param(
        [open_acme],
        lambda kf: open_acme(kf, name="Another Acme"),
        Conflict,
        None,
        'account "acme" already exists ("Acme Feed"); change it with `kamflow account update acme`',
        id="opening_an_account_that_exists_is_refused",
    ),
    pytest.param(
        [open_acme],
        does("complaint raise", account="nope", summary="late", severity="low"),
        RuleViolation,
        "P3",
        'P3: account "nope" has no file; open it first with'
        " `kamflow account open nope --name ... --industry ... --owner ...`",
        id="a_fact_about_an_account_never_opened_is_refused_under_P3",
    ),
    pytest.param(
        [open_acme, does("account update", address="Chengdu")],
        does("account update", address="Chengdu", industry="feed"),
        Conflict,
        None,
        'account "acme": nothing to update; the values are unchanged',
        id="a_profile_update_with_unchanged_values_is_refused",
    ),
    pytest.param(
        [
            open_acme,
            add_wang_fang,
            visit(["price vs DSM"]),
            does("visit follow-up", issue="I-1", result="matched"),
        ],
        does("visit follow-up", issue="I-1", result="again"),
        Conflict,
        None,
        'issue I-1 on "acme" already has a follow-up result',
        id="a_second_follow_up_of_the_same_issue_is_refused",
    ),
    pytest.param(
        [open_acme, add_wang_fang, visit(["price vs DSM"])],
        does("visit follow-up", issue="I-2", result="done"),
        NotFound,
        None,
        'no issue I-2 on "acme"',
        id="a_follow_up_of_an_unknown_issue_is_not_found",
    ),
    pytest.param(
        [open_acme, add_wang_fang],
        visit(["price"], result=None),
        RuleViolation,
        "P6",
        'P6: a visit to "acme" needs a result as well as a purpose and an objective; add --result',
        id="a_visit_without_a_result_is_refused_under_P6",
    ),
    pytest.param(
        [open_acme],
        does("complaint resolve", complaint="C-7", outcome="x"),
        NotFound,
        None,
        'no complaint C-7 on "acme"',
        id="resolving_an_unknown_complaint_is_not_found",
    ),
    pytest.param(
        [lambda kf: open_acme(kf, tier="target")],
        does("tier set", tier="target", reason="again"),
        Conflict,
        None,
        'account "acme" is already tier target',
        id="setting_the_tier_an_account_already_has_is_refused",
    ),
    pytest.param(
        [open_acme, sale("INV-0042", "12000")],
        sale("INV-0042", "5000"),
        RuleViolation,
        "P2",
        'P2: invoice INV-0042 is already recorded on "acme"; each sale needs its own invoice ref',
        id="a_sale_with_an_invoice_already_recorded_is_refused_under_P2",
    ),
    pytest.param(
        [open_acme],
        does("payment record", invoice="INV-9", amount="10"),
        RuleViolation,
        "P2",
        "P2: payment references invoice INV-9, which is not a sale on"
        ' "acme"; record the sale first',
        id="a_payment_for_an_unknown_invoice_is_refused_under_P2",
    ),
    pytest.param(
        [
            open_acme,
            sale("INV-0042", "12000"),
            does("payment record", invoice="INV-0042", amount="10000"),
        ],
        does("payment record", invoice="INV-0042", amount="2000.01"),
        RuleViolation,
        "P2",
        "P2: payment of 2,000.01 CNY exceeds the 2,000.00 still owed on invoice INV-0042",
        id="a_payment_over_what_is_still_owed_is_refused_under_P2",
    ),
    pytest.param(
        [open_acme, sale("INV-7", "1000", currency="usd")],
        does("payment record", invoice="INV-7", amount="10", currency="CNY"),
        RuleViolation,
        "P2",
        "P2: invoice INV-7 is in USD, not CNY",
        id="a_payment_in_another_currency_than_its_invoice_is_refused",
    ),
]


@pytest.mark.parametrize(("given", "when", "error", "principle", "message"), REFUSALS)
def test_a_refused_command_says_why_and_records_nothing(
    kf: Kamflow,
    given: list[Step],
    when: Step,
    error: type[Exception],
    principle: str | None,
    message: str,
) -> None:
    for step in given:
        step(kf)

    with pytest.raises(error) as refused:
        when(kf)

    assert str(refused.value) == message
    if principle is not None:
        assert isinstance(refused.value, RuleViolation)
        assert refused.value.principle == principle
    assert kf.event_count() == FIRST_WRITE + len(given)

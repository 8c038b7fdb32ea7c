"""Every event that overwrites a value records the value it replaced (issue 11, item 5).

``ProfileUpdated``, ``ContactChanged``, ``CompetitorNoted``, ``TeamMemberAssigned`` and
``TeamMemberReleased`` carry ``previous`` (old value by field, None for one not set);
``TierChanged``, ``OpportunityAdvanced``, ``RelationshipStageChanged``, ``PolicySet`` and
``SettingSet`` carried theirs already. Each event says what it replaced as ``Change``s
(``changed()``) and in its summary (``old -> new``). An event stored before kamflow kept
old values is upcast with ``previous`` None, and `account history` recomputes it from
the events before it (``old_source`` "recomputed"), or says it is unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from conftest import REPLACING, FakeClock, fake_clock, strip_old_values

from kamflow.application import Kamflow
from kamflow.domain.account import Account
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.envelope import UNKNOWN, Change
from kamflow.projections.db import ViewDB

ACTOR = "li.wei"


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 3, 2)) as fake:
        yield fake


@pytest.fixture
def kf(sqlite_locator: str) -> Iterator[Kamflow]:
    kamflow = Kamflow(sqlite_locator)
    yield kamflow
    kamflow.close()


def run(kf: Kamflow, command: str, **fields: Any) -> None:
    kf.execute(build(COMMANDS[command], fields), actor=ACTOR)


def write_changes(kf: Kamflow) -> None:
    """One of every change, on acme (and governance)."""
    run(kf, "account open", account="acme", name="Acme", industry="feed", owner=ACTOR,
        on="2026-01-05")  # fmt: skip
    run(kf, "account update", account="acme", owner="zhang.min", address="Chengdu")
    run(kf, "contact add", account="acme", contact="Wang Fang", title="Buyer",
        department="procurement", roles=["buyer"])  # fmt: skip
    run(kf, "contact change", account="acme", contact="Wang Fang",
        title="Purchasing Director", roles=["decider", "buyer"])  # fmt: skip
    run(kf, "competitor note", account="acme", competitor="DSM", strengths="price")
    run(kf, "competitor note", account="acme", competitor="dsm", strengths="quality",
        products="phytase")  # fmt: skip
    run(kf, "team assign", account="acme", member="zhang.min")
    run(kf, "team assign", account="acme", member="Zhang.Min", role="technical service")
    run(kf, "team release", account="acme", member="zhang.min", reason="moved south")
    run(kf, "tier set", account="acme", tier="key", reason="volume")
    run(kf, "stage advance", account="acme", stage="early")
    run(kf, "opp open", account="acme", title="line 3")
    run(kf, "opp advance", account="acme", opportunity="O-1")
    run(kf, "policy set", policy="complaint-sla-days.key", value="4", reason="faster")
    run(kf, "policy set", policy="timezone", value="UTC", reason="one zone")


# (type, subject, field, old, new) of every change write_changes makes, in order.
CHANGES: list[tuple[str, str | None, str, Any, Any]] = [
    ("ProfileUpdated", None, "address", None, "Chengdu"),
    ("ProfileUpdated", None, "owner", ACTOR, "zhang.min"),
    ("ContactChanged", "P-1", "roles", ["buyer"], ["buyer", "decider"]),
    ("ContactChanged", "P-1", "title", "Buyer", "Purchasing Director"),
    ("CompetitorNoted", "DSM", "strengths", None, "price"),
    ("CompetitorNoted", "dsm", "products", None, "phytase"),
    ("CompetitorNoted", "dsm", "strengths", "price", "quality"),
    ("TeamMemberAssigned", "zhang.min", "role", None, "key-account manager"),
    ("TeamMemberAssigned", "zhang.min", "role", "key-account manager", "technical service"),
    ("TeamMemberReleased", "zhang.min", "role", "technical service", None),
    ("TierChanged", None, "tier", "prospect", "key"),
    ("RelationshipStageChanged", None, "stage", "pre-kam", "early"),
    ("OpportunityAdvanced", "O-1", "stage", "lead", "qualified"),
]
SUMMARIES = {
    "ProfileUpdated": "profile: address (not set) -> Chengdu, owner li.wei -> zhang.min",
    "ContactChanged": (
        "contact P-1 changed: roles buyer -> buyer/decider, title Buyer -> Purchasing Director"
    ),
    "TeamMemberReleased": "team: zhang.min released from technical service (moved south)",
}


def account_changes(kf: Kamflow) -> list[tuple[str, Any, ...]]:
    return [
        (e.type, c["subject"], c["field"], c["old"], c["new"])
        for e in kf.history("acme")
        for c in e.changes
    ]


def test_every_change_event_records_the_value_it_replaced(kf: Kamflow) -> None:
    write_changes(kf)

    events = {e.type: e for e in kf.history("acme")}
    # In the event itself, as stored
    assert events["ProfileUpdated"].payload["previous"] == {"address": None, "owner": ACTOR}
    assert events["ContactChanged"].payload["previous"] == {"roles": ["buyer"], "title": "Buyer"}
    assert events["TeamMemberReleased"].payload["previous"] == {"role": "technical service"}
    # and as the changes it made, old value first, in `account history`
    assert account_changes(kf) == CHANGES
    assert {e.type: e.summary for e in kf.history("acme") if e.type in SUMMARIES} == SUMMARIES
    assert [e.summary for e in kf.history("acme") if e.type == "CompetitorNoted"] == [
        "competitor DSM: strengths (not set) -> price",
        "competitor dsm: products (not set) -> phytase, strengths price -> quality",
    ]
    assert [e.summary for e in kf.history("acme") if e.type == "TeamMemberAssigned"] == [
        "team: zhang.min assigned as key-account manager",
        "team: zhang.min role key-account manager -> technical service",
    ]
    assert {c["old_source"] for e in kf.history("acme") for c in e.changes} == {"recorded"}
    governance = [(type(e).__name__, *c[:4]) for e in kf.governance_history() for c in e.changed()]
    assert governance == [
        ("PolicySet", None, "complaint-sla-days.key", 5, 4),
        ("SettingSet", None, "timezone", None, "UTC"),
    ]


def test_a_detail_noted_again_as_it_was_says_unchanged(kf: Kamflow) -> None:
    write_changes(kf)
    run(kf, "competitor note", account="acme", competitor="DSM", strengths="quality")

    *_, last = kf.history("acme")

    assert last.summary == "competitor DSM: strengths quality (unchanged)"
    assert last.changes == [
        {"subject": "DSM", "field": "strengths", "old": "quality", "new": "quality",
         "old_source": "recorded"}
    ]  # fmt: skip


def test_an_event_stored_before_old_values_were_kept_is_upcast_with_them_unknown(
    kf: Kamflow,
) -> None:
    write_changes(kf)
    assert strip_old_values(kf.locator) == 7
    stored = kf.app.recorder.select_events(kf.locate("acme")[1], gt=1, lte=2)

    event = kf.app.mapper.to_domain_event(stored[0])

    assert isinstance(event, Account.ProfileUpdated)
    assert event.previous is None
    assert event.changed() == [
        Change(None, "address", UNKNOWN, "Chengdu", "unknown"),
        Change(None, "owner", UNKNOWN, "zhang.min", "unknown"),
    ]
    assert event.summary() == "profile: address (unknown) -> Chengdu, owner (unknown) -> zhang.min"


def test_account_history_recomputes_old_values_of_an_old_event_from_the_events_before_it(
    kf: Kamflow,
) -> None:
    write_changes(kf)
    recorded = [(e.summary, e.payload) for e in kf.history("acme")]
    strip_old_values(kf.locator)

    again = list(kf.history("acme"))

    # The same old values, the same summaries, the same payload: said to be recomputed.
    assert [(e.summary, e.payload) for e in again] == recorded
    assert account_changes(kf) == CHANGES
    sources = {(e.type, c["old_source"]) for e in again for c in e.changes}
    assert {s for t, s in sources if t in REPLACING} == {"recomputed"}
    assert {s for t, s in sources if t not in REPLACING} == {"recorded"}


def test_an_old_value_history_cannot_give_back_is_marked_unknown(kf: Kamflow) -> None:
    write_changes(kf)
    strip_old_values(kf.locator)
    # A change of a contact the account never had (a store edited by hand): its old
    # value cannot be known, and the account cannot be replayed past it.
    db = ViewDB(kf.locator)
    try:
        ((aid,),) = db.rows(
            f"SELECT originator_id FROM {db.events_table} WHERE topic = ?",
            ("kamflow.domain.account:Account.AccountOpened",),
        )
        envelope = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-02T09:00:00+00:00"},
                    "actor": ACTOR, "occurred_on": {"_type_": "date_iso", "_data_": "2026-03-02"},
                    "command_id": "x", "command_id_given": False}  # fmt: skip
        with db.transaction() as cur:
            for version, topic, fields in [
                (14, "ContactChanged", {"contact_id": "P-9", "changes": {"title": "CEO"}}),
                (15, "ProfileUpdated", {"changes": {"owner": "wang.lei"}}),
            ]:
                fields.update(envelope)
                cur.execute(
                    db.sql(
                        f"INSERT INTO {db.events_table} (originator_id, originator_version,"
                        " topic, state) VALUES (?, ?, ?, ?)"
                    ),
                    (aid, version, f"kamflow.domain.account:Account.{topic}",
                     json.dumps(fields).encode()),
                )  # fmt: skip
    finally:
        db.close()

    *_, changed, updated = kf.history("acme")

    assert changed.summary == "contact P-9 changed: title (unknown) -> CEO"
    assert changed.changes == [
        {"subject": "P-9", "field": "title", "old": None, "new": "CEO", "old_source": "unknown"}
    ]
    assert updated.summary == "profile: owner (unknown) -> wang.lei"

"""Client-chosen command ids are recognised from an indexed table (kamflow.applied, ADR
0024): exactly once, however the index came to be (written with the events, or caught
up from events stored before it existed), on both backends."""

from __future__ import annotations

from datetime import date

from conftest import FakeClock, run

from kamflow.application import Kamflow
from kamflow.applied import TABLE
from kamflow.domain.account import Account
from kamflow.domain.values import account_id
from kamflow.projections.db import ViewDB

OPEN = {
    "account": "beta",
    "name": "Beta Feed",
    "industry": "feed",
    "owner": "li.wei",
    "tier": "key",
}


def _costs(kf: Kamflow, count: int, *, prefix: str = "v") -> list[bool]:
    return [
        run(
            kf,
            "cost record",
            {"account": "beta", "amount": "10", "category": "service"},
            command_id=f"{prefix}-{n}",
        ).applied
        for n in range(count)
    ]


def _index_rows(locator: str, key: str = "beta") -> list[tuple[str, int]]:
    """The index rows of one account (the governance stream has its own: the first
    writer's admin, ADR 0023)."""
    aid = account_id(key)
    db = ViewDB(locator)
    try:
        rows = db.rows(
            f"SELECT command_id, originator_version FROM {TABLE} WHERE originator_id = ?",
            (aid if db.postgres else aid.hex,),
        )
    finally:
        db.close()
    return sorted((str(c), int(v)) for c, v in rows)


def _forget_index(locator: str) -> None:
    """The index as a store written before it existed has it: empty."""
    db = ViewDB(locator)
    try:
        with db.transaction() as cur:
            cur.execute(f"DELETE FROM {TABLE}")
    finally:
        db.close()


def test_every_given_id_is_applied_once_and_the_account_state_holds_none(locator: str) -> None:
    kf = Kamflow(locator, clock=FakeClock(date(2026, 3, 2)))
    run(kf, "account open", OPEN, command_id="open")

    first = _costs(kf, 45)
    again = _costs(kf, 45)

    assert first == [True] * 45
    assert again == [False] * 45
    account = kf.load("beta")
    assert account.version == 46
    assert "command_log" not in vars(account)
    # Written with the events: every id, and the mark at the last version.
    assert _index_rows(locator) == sorted(
        [("", 46), ("open", 1)] + [(f"v-{n}", n + 2) for n in range(45)]
    )
    assert kf.applied.count(account.id) == 46


def test_ids_stored_before_the_index_existed_are_still_recognised_and_indexed(
    locator: str,
) -> None:
    kf = Kamflow(locator, clock=FakeClock(date(2026, 3, 2)))
    run(kf, "account open", OPEN, command_id="open")
    _costs(kf, 25)
    _forget_index(locator)
    later = Kamflow(locator, clock=FakeClock(date(2026, 3, 3)))

    again = _costs(later, 25)
    more = _costs(later, 2, prefix="new")

    assert again == [False] * 25
    assert more == [True, True]
    assert later.load("beta").version == 28
    assert ("v-24", 26) in _index_rows(locator)
    assert ("", 28) in _index_rows(locator)


def test_apply_of_a_file_already_applied_skips_every_line_on_a_kept_account(
    locator: str,
) -> None:
    from kamflow.batch import apply_lines

    kf = Kamflow(locator, clock=FakeClock(date(2026, 3, 2)))
    lines = [
        b'{"command": "account open", "account": "beta", "name": "Beta Feed",'
        b' "industry": "feed", "owner": "li.wei", "tier": "key", "command_id": "open"}'
    ] + [
        b'{"command": "cost record", "account": "beta", "amount": "10",'
        b' "category": "service", "command_id": "c-%d"}' % n
        for n in range(30)
    ]

    first = apply_lines(kf, lines, actor="li.wei")
    again = apply_lines(Kamflow(locator, clock=FakeClock(date(2026, 3, 3))), lines, actor="x")

    assert first == "applied 31 commands"
    assert again == "applied 0 commands, 31 already applied (skipped)"
    assert kf.load("beta").version == 31


def test_a_snapshot_taken_before_the_index_loads_without_its_command_log() -> None:
    state = {"command_log": "\na\nb\n", "key": "beta"}

    Account.upcast_v3_v4(state)

    # Version 4 also gave accounts their (empty) tasks (issue 15) and requests (ADR 0023).
    assert state == {"key": "beta", "tasks": {}, "requests": {}}

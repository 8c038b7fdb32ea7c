""" "Last" means latest by business date, everywhere (issue 10, item 6): a visit or a
satisfaction survey entered late, with its real date, never hides a later one.

``account show`` reads the account's state, which a snapshot may hold: one taken by
older code (Account class_version 1) is used when it agrees with the rule, and
otherwise skipped with a warning and the account replayed from its events.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import Kam, fake_clock, invoker, ok

from kamflow.domain.values import account_id

TODAY = date(2026, 12, 1)


@pytest.fixture
def kam(locator: str) -> Iterator[Kam]:
    with fake_clock(TODAY):
        yield invoker(locator)


def apply(kam: Kam, tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    ok(kam("apply", str(path)))


OPEN = [
    {
        "command": "account open", "account": "acme", "name": "Acme", "industry": "feed",
        "owner": "li.wei", "on": "2026-08-01",
    },
    {
        "command": "contact add", "account": "acme", "contact": "Wang Fang", "title": "GM",
        "department": "management", "on": "2026-08-01",
    },
]  # fmt: skip


def visit(on: str, purpose: str) -> dict[str, Any]:
    return {
        "command": "visit log", "account": "acme", "with": ["Wang Fang"], "purpose": purpose,
        "objective": "o", "result": "r", "on": on,
    }  # fmt: skip


def survey(on: str, score: str) -> dict[str, Any]:
    return {
        "command": "satisfaction record", "account": "acme", "score": score, "target": "8",
        "on": on,
    }  # fmt: skip


def test_the_last_visit_is_the_latest_by_date_not_the_last_entered(
    kam: Kam, tmp_path: Path
) -> None:
    # V-2 is entered after V-1 but happened before it.
    apply(kam, tmp_path, [*OPEN, visit("2026-11-20", "trial"), visit("2026-09-01", "intro")])

    shown = ok(kam("account", "show", "acme"))
    view = json.loads(kam("account", "show", "acme", "--json").stdout)
    # Of two visits on the latest day, the one entered last.
    apply(kam, tmp_path, [visit("2026-11-20", "again")])

    assert "  last: V-1 on 2026-11-20: trial" in shown
    assert view["last_visit"] == {"id": "V-1", "on": "2026-11-20", "purpose": "trial"}
    assert view["last_contact_on"] == "2026-11-20"
    assert "  last: V-3 on 2026-11-20: again" in ok(kam("account", "show", "acme"))


def test_the_satisfaction_shown_is_the_latest_survey_as_the_report_has_it(
    kam: Kam, tmp_path: Path
) -> None:
    apply(kam, tmp_path, [*OPEN, survey("2026-11-20", "8.5"), survey("2026-09-01", "6")])

    view = json.loads(kam("account", "show", "acme", "--json").stdout)
    reported = json.loads(kam("report", "satisfaction", "--json").stdout)["rows"]

    assert view["satisfaction"] == {"score": "8.5", "target": "8", "on": "2026-11-20"}
    assert [(r["measured_on"], r["score"]) for r in reported] == [("2026-11-20", "8.5")]


# ------------------------------------------------------------------ old snapshots
def old_snapshot(db: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite acme's snapshot at version 20 as class version 1 code would have
    stored it, changed by ``change``."""
    with sqlite3.connect(db) as conn:
        where = "originator_id=? AND originator_version=20"
        uid = account_id("acme").hex
        (raw,) = conn.execute(
            f"SELECT state FROM stored_snapshots WHERE {where}", (uid,)
        ).fetchone()
        state = json.loads(raw)
        assert state["state"].pop("class_version") == 4
        change(state["state"])
        conn.execute(
            f"UPDATE stored_snapshots SET state=? WHERE {where}", (json.dumps(state).encode(), uid)
        )


def twenty_events(late_visit_last: bool) -> list[dict[str, Any]]:
    """acme with 20 events, its latest visit V-1 on 2026-11-20, and V-2 (of 2026-09-01,
    entered late) the 20th event or not."""
    notes = [
        {"command": "account update", "account": "acme", "notes": f"n{i}", "on": "2026-08-02"}
        for i in range(16)
    ]
    visits = [visit("2026-11-20", "trial"), visit("2026-09-01", "intro")]
    return [*OPEN, *visits, *notes] if not late_visit_last else [*OPEN, *notes, *visits]


def shown_after_old_snapshot(
    db: str, tmp_path: Path, lines: list[dict[str, Any]], change: Callable[[dict[str, Any]], None]
) -> Result:
    """`account show acme` once ``lines`` are applied and acme's snapshot at version 20
    is rewritten as older code would have stored it, changed by ``change``."""
    with fake_clock(TODAY):
        kam = invoker(db)
        apply(kam, tmp_path, lines)
        old_snapshot(db, change)
        return kam("account", "show", "acme")


def test_an_old_snapshot_that_holds_a_late_entered_visit_as_the_last_is_not_used(
    sqlite_locator: str, tmp_path: Path
) -> None:
    shown = shown_after_old_snapshot(
        sqlite_locator,
        tmp_path,
        twenty_events(True),
        # As the old rule had it: the last entered.
        lambda s: s.update(
            last_visit={"id": "V-2", "on": {"_type_": "date_iso", "_data_": "2026-09-01"},
                        "purpose": "intro"}
        ),
    )  # fmt: skip

    assert "  last: V-1 on 2026-11-20: trial" in shown.stdout
    assert shown.stderr.startswith('Warning: snapshot of "acme" at version 20 cannot be used:')
    assert "is not the latest one" in shown.stderr


def test_an_old_snapshot_that_agrees_with_the_rule_is_used_quietly(
    sqlite_locator: str, tmp_path: Path
) -> None:
    shown = shown_after_old_snapshot(
        sqlite_locator,
        tmp_path,
        twenty_events(False),
        # A mark that only the snapshot holds, to see that it was used.
        lambda s: s["profile"].update(name="From the snapshot"),
    )

    assert (shown.exit_code, shown.stderr) == (0, "")
    assert shown.stdout.startswith("acme  From the snapshot")
    assert "  last: V-1 on 2026-11-20: trial" in shown.stdout

"""Stores written by older kamflow (tests/fixtures/, never regenerated) still load,
report and rebuild with today's code.

Each test opens a copy of a fixture store (``conftest.old_store``): the file itself on
SQLite, its events byte for byte in a PostgreSQL schema. Tests whose subject is
something else (escaping, quarantine, rebuilds, workflow tables) use the same stores
in their own modules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from conftest import invoke, json_of, old_store, report_commands

from kamflow.application import Kamflow
from kamflow.projections.log import REPLACEMENT


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# ------------------------------------------------------------------ main 03f4076, NUL text
def test_a_store_with_nul_text_from_older_code_reports_and_rebuilds_on_both_backends(
    locator: str,
) -> None:
    # Given the store older code wrote: NUL in an industry, a complaint summary, an
    # invoice ref and a command id (and escapes, a bidi override and a line break)
    old_store("nul-03f4076.db", locator)

    # When every report runs (the first one catches the views up)
    commands = report_commands(locator)
    answers = {}
    for name, args in commands.items():
        result = invoke(locator, *args)
        # Then every one answers, with nothing to say on stderr
        assert (result.exit_code, result.stderr) == (0, ""), name
        answers[name] = json.loads(result.stdout)

    # and each NUL is shown as the replacement character, on both backends
    r = REPLACEMENT
    assert answers["file a"]["profile"]["industry"] == f"x{r}y"
    assert [c["summary"] for c in answers["file clean"]["complaints"]] == [f"late{r}delivery"]
    assert [s["invoice"] for s in answers["file clean"]["sales"]] == [f"INV{r}1"]
    audit = answers["audit"]["rows"]
    assert [row["command_id"] for row in audit if row["key"] == "clean"] == [
        "n-2", "n-3", "n-4", f"id{r}with-nul", "n-6",
    ]  # fmt: skip
    assert all("\x00" not in json.dumps(a, ensure_ascii=False) for a in answers.values())

    # and a rebuild answers and gives the same reports, as do views "as of" today
    rebuilt = invoke(locator, "projections", "rebuild")
    # (stderr holds only the progress bar's line end when it is not a terminal)
    assert (rebuilt.exit_code, rebuilt.stderr.strip()) == (0, ""), rebuilt.stderr
    assert rebuilt.stdout.endswith(" from 7 events\n")
    for name, args in commands.items():
        assert json_of(invoke(locator, *args)) == answers[name]
        assert json_of(invoke(locator, *args, "--as-of", today())) == answers[name]
    assert invoke(locator, "projections", "status").exit_code == 0


# ------------------------------------------------------------------ main 03f4076, the demo
def test_every_event_and_snapshot_older_kamflow_stored_passes_the_checks(tmp_path: Path) -> None:
    # The checks on stored data must not turn history written by earlier code into
    # "unreadable": the demo store of main 03f4076, events and snapshots.
    kf = Kamflow(old_store("demo-03f4076.db.gz", str(tmp_path / "demo.db")))
    warnings: list[str] = []
    kf.warn = warnings.append
    try:
        listed = kf.listing()
        histories = sum(len(list(kf.history(item.key))) for item in listed)
        governance = kf.governance_history()
    finally:
        kf.close()

    assert len(listed) == 60
    assert [item.problem for item in listed if item.problem] == []
    assert warnings == []
    assert histories + len(governance) == 3185


def test_a_task_on_an_account_snapshotted_before_tasks_existed(tmp_path: Path) -> None:
    # Given the demo store of main 03f4076, whose accounts have snapshots of version 2
    # or 3 (no tasks in them): the snapshot is upcast, the account takes a task, and
    # the agenda (a view that store never had) shows it.
    store = old_store("demo-03f4076.db.gz", str(tmp_path / "demo.db"))
    key = json_of(invoke(store, "account", "list", "--json"))[0]["key"]
    kf = Kamflow(store)
    try:
        snapshots = kf.app.snapshots
        assert snapshots is not None
        assert list(snapshots.get(kf.load(key).id)), "the fixture has a snapshot of it"
    finally:
        kf.close()

    added = invoke(store, "task", "add", key, "call the buyer", "--due", "2999-01-01", "--json")
    tasks = json_of(invoke(store, "task", "list", "--json"))["rows"]

    assert json.loads(added.stdout)["reference"] == "T-1"
    assert [(t["key"], t["task_id"], t["due_on"]) for t in tasks] == [(key, "T-1", "2999-01-01")]

"""Writes answer scripts: `--json` on every write prints what was recorded (the events
with their versions, the new ids), and with `--json` every error is one JSON object on
stderr: its exit code, kind, principle (rule violations) and message.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result
from conftest import ACTOR, FakeClock, event_count, fake_clock, invoke, leaf_commands, ok, refusal

from kamflow.cli.factory import ModelCommand

GENERATED = re.compile(r"[0-9a-f]{32}")
NO_STORE = (
    "; create one with `kamflow account open KEY --name ... --industry ... --owner ...`"
    " or `kamflow demo`, or point --db or KAMFLOW_DB at one"
)


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 12, 1)) as fake:
        yield fake


def answer(result: Result) -> Any:
    """The one JSON line a command that succeeded printed (nothing on stderr)."""
    (line,) = ok(result)
    return json.loads(line)


def error(result: Result, exit_code: int) -> dict[str, Any]:
    """The one JSON object a command that failed printed on stderr (nothing on stdout)."""
    found = json.loads(refusal(result, exit_code))
    assert list(found) == ["error"]
    assert found["error"]["exit_code"] == exit_code
    return dict(found["error"])


@pytest.fixture
def acme(locator: str) -> str:
    """A store holding acme (prospect tier) with Wang Fang."""
    return open_acme(locator)


def open_acme(locator: str) -> str:
    for args in (
        ["account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", ACTOR,
         "--on", "2026-11-01"],
        ["contact", "add", "acme", "Wang Fang", "--title", "buyer", "--department", "procurement",
         "--on", "2026-11-01"],
    ):  # fmt: skip
        assert invoke(locator, *args).exit_code == 0, args
    return locator


# ------------------------------------------------------------------ answers
def test_a_write_with_json_prints_its_events_ids_and_reference(acme: str) -> None:
    result = invoke(acme, "complaint", "raise", "acme", "--summary", "late", "--severity",
                    "high", "--json")  # fmt: skip

    found = answer(result)

    assert GENERATED.fullmatch(found.pop("command_id"))
    assert found == {
        "account": "acme",
        "events": [{"type": "ComplaintRaised", "version": 3}],
        "ids": {"complaint": "C-1"},
        "reference": "C-1",
        "applied": True,
    }
    assert list(answer(result)) == [
        "account", "events", "ids", "reference", "command_id", "applied",
    ]  # fmt: skip


# Every command that gives out a new id, each after the one before it on acme, and the
# ids it answers with; then commands that act on one, and answer with the id they used.
GIVING: list[tuple[list[str], dict[str, Any]]] = [
    (["contact", "add", "acme", "Li Na", "--title", "GM", "--department", "general"],
     {"contact": "P-2"}),
    (["visit", "log", "acme", "--with", "Wang Fang", "--purpose", "p", "--objective", "o",
      "--result", "r", "--issue", "price", "--issue", "stock"],
     {"visit": "V-1", "issues": ["I-1", "I-2"]}),
    (["complaint", "raise", "acme", "--summary", "late", "--severity", "high"],
     {"complaint": "C-1"}),
    (["opp", "open", "acme", "--title", "line 3", "--budget", "5000"], {"opportunity": "O-1"}),
    (["exception", "request", "acme", "--rule", "credit-limit", "--invoice", "INV-9",
      "--reason", "harvest"], {"exception": "E-1"}),
    (["--actor", "zhao", "exception", "approve", "acme", "E-1"], {"exception": "E-1"}),
    (["visit", "follow-up", "acme", "I-2", "--result", "stock moved"], {"issue": "I-2"}),
    (["complaint", "resolve", "acme", "C-1", "--outcome", "credit note"], {"complaint": "C-1"}),
    (["opp", "advance", "acme", "O-1"], {"opportunity": "O-1"}),
    (["contact", "leave", "acme", "Li Na", "--reason", "retired", "--analysis", "none"],
     {"contact": "P-2"}),
]  # fmt: skip


def test_every_command_that_gives_an_id_answers_with_it(acme: str) -> None:
    # The exception needs an approver who did not ask for it (four eyes).
    assert (
        invoke(acme, "roster", "grant", "zhao", "approver", "--reason", "director").exit_code == 0
    )

    for args, ids in GIVING:
        found = answer(invoke(acme, *args, "--json"))

        assert (found["applied"], found["ids"]) == (True, ids), args


def test_a_governance_write_answers_for_governance(acme: str) -> None:
    found = answer(invoke(acme, "policy", "set", "credit-limit.key", "2000000", "--reason",
                          "board", "--json"))  # fmt: skip

    assert (found["account"], found["applied"], found["ids"]) == ("governance", True, {})
    assert [e["type"] for e in found["events"]][-1] == "PolicySet"


def test_a_command_id_already_applied_answers_applied_false_and_no_events(acme: str) -> None:
    args = ["complaint", "raise", "acme", "--summary", "late", "--severity", "high",
            "--command-id", "cr-1", "--json"]  # fmt: skip
    first = answer(invoke(acme, *args))
    before = event_count(acme)

    again = answer(invoke(acme, *args))

    assert (first["applied"], first["command_id"]) == (True, "cr-1")
    assert again == {
        "account": "acme",
        "events": [],
        "ids": {},
        "reference": None,
        "command_id": "cr-1",
        "applied": False,
    }
    assert event_count(acme) == before


def test_every_write_command_takes_json() -> None:
    writes = {
        p: c for p, c in leaf_commands().items() if isinstance(c, ModelCommand) or p == ("apply",)
    }

    lacking = [
        " ".join(path)
        for path, command in writes.items()
        if not any(
            isinstance(p, click.Option) and p.opts == ["--json"] and p.is_flag
            for p in command.params
        )
    ]

    assert len(writes) > 30 and lacking == []


# ------------------------------------------------------------------ errors
WRITES = sorted(p for p, c in leaf_commands().items() if isinstance(c, ModelCommand))


@pytest.mark.parametrize("path", WRITES, ids=" ".join)
def test_a_usage_error_of_any_write_with_json_is_a_json_object(
    sqlite_locator: str, path: tuple[str, ...]
) -> None:
    found = error(invoke(sqlite_locator, *path, "--json", "--bogus"), 2)

    assert found.pop("message").startswith("No such option '--bogus'.")
    assert found == {"exit_code": 2, "kind": "usage"}
    assert not Path(sqlite_locator).exists()


def test_a_missing_option_with_json_is_a_json_usage_error(acme: str) -> None:
    found = error(invoke(acme, "complaint", "raise", "acme", "--severity", "high", "--json"), 2)

    assert found == {"exit_code": 2, "kind": "usage", "message": "missing option --summary"}


def test_a_rule_violation_with_json_names_its_principle(acme: str) -> None:
    before = event_count(acme)

    found = error(
        invoke(acme, "sale", "record", "acme", "--invoice", "INV-1", "--product", "premix",
               "--amount", "120000", "--cost", "84000", "--json"),
        1,
    )  # fmt: skip

    assert (found["kind"], found["principle"]) == ("RuleViolation", "P1")
    assert found["message"].startswith('P1: sale INV-1 would take what "acme" owes to 120,000.00')
    assert list(found) == ["exit_code", "kind", "principle", "message"]
    assert event_count(acme) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["complaint", "resolve", "acme", "C-9", "--outcome", "x"], 'no complaint C-9 on "acme"'),
        (["account", "show", "nope"],
         'account "nope" not found; list accounts with `kamflow account list`'),
    ],
    ids=["write", "read"],
)  # fmt: skip
def test_a_not_found_with_json_is_a_json_object(acme: str, args: list[str], message: str) -> None:
    found = error(invoke(acme, *args, "--json"), 1)

    assert found == {"exit_code": 1, "kind": "NotFound", "message": message}


def test_bad_input_with_json_is_a_json_object(acme: str) -> None:
    found = error(
        invoke(acme, "payment", "record", "acme", "--invoice", "INV-1", "--amount", "-5", "--json"),
        2,
    )

    assert found["kind"] == "InvalidInput" and "--amount" in found["message"]


def test_a_storage_error_with_json_is_a_json_object(sqlite_locator: str) -> None:
    acme = open_acme(sqlite_locator)
    mode = os.stat(acme).st_mode
    os.chmod(acme, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        found = error(
            invoke(acme, "complaint", "raise", "acme", "--summary", "x", "--severity", "low",
                   "--json"),
            1,
        )  # fmt: skip
    finally:
        os.chmod(acme, mode)

    assert found == {
        "exit_code": 1,
        "kind": "StorageError",
        "message": f'database "{acme}" is read-only (the file or its folder is not writable);'
        " nothing was written",
    }


def test_a_read_of_no_database_with_json_is_a_json_storage_error(tmp_path: Path) -> None:
    db = tmp_path / "kamflow.db"

    found = error(invoke(str(db), "account", "list", "--json"), 1)

    assert found == {
        "exit_code": 1,
        "kind": "StorageError",
        "message": f"no kamflow database at {db}{NO_STORE}",
    }


def test_without_json_an_error_stays_one_line_for_people(acme: str) -> None:
    result = invoke(acme, "complaint", "resolve", "acme", "C-9", "--outcome", "x")

    assert (result.exit_code, result.stderr) == (1, 'Error: no complaint C-9 on "acme"\n')


def test_json_after_a_double_dash_is_an_argument_not_the_option(acme: str) -> None:
    result = invoke(acme, "account", "show", "--", "--json")

    assert result.stderr.startswith('Error: account "--json" not found')


# ------------------------------------------------------------------ apply --json
LINES = [
    {"command": "complaint raise", "account": "acme", "summary": "late", "severity": "high",
     "command_id": "a-1"},
    {"command": "visit log", "account": "acme", "with": ["Wang Fang"], "purpose": "p",
     "objective": "o", "result": "r", "issues": ["price"], "command_id": "a-2"},
]  # fmt: skip


def jsonl(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def test_apply_with_json_answers_what_each_line_recorded(acme: str) -> None:
    assert invoke(acme, "apply", "-", input=jsonl(LINES[:1])).exit_code == 0

    found = answer(invoke(acme, "apply", "-", "--json", input=jsonl(LINES)))

    assert (found["applied"], found["skipped"], found["failed_line"]) == (1, 1, None)
    assert [(r["line"], r["applied"], r["ids"], r["command_id"]) for r in found["results"]] == [
        (1, False, {}, "a-1"),
        (2, True, {"visit": "V-1", "issues": ["I-1"]}, "a-2"),
    ]
    assert found["results"][1]["events"] == [{"type": "VisitLogged", "version": 4}]


def test_apply_with_json_answers_the_lines_applied_and_the_failed_lines_error(acme: str) -> None:
    bad = {"command": "payment record", "account": "acme", "invoice": "X", "amount": "1"}

    result = invoke(acme, "apply", "-", "--json", input=jsonl([*LINES, bad]))

    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert (found["applied"], found["skipped"], found["failed_line"]) == (2, 0, 3)
    assert [r["ids"] for r in found["results"]] == [
        {"complaint": "C-1"},
        {"visit": "V-1", "issues": ["I-1"]},
    ]
    (line,) = result.stderr.splitlines()
    assert json.loads(line)["error"] == {
        "exit_code": 1,
        "kind": "RuleViolation",
        "principle": "P2",
        "line": 3,
        "applied": 2,
        "message": 'line 3: P2: payment references invoice X, which is not a sale on "acme";'
        " record the sale first; lines before it applied (2 commands), nothing of line 3"
        " or after",
    }


def test_apply_with_json_reports_a_line_that_is_not_json_as_invalid_input(acme: str) -> None:
    result = invoke(acme, "apply", "-", "--json", input="{not json\n")

    assert result.exit_code == 2
    assert json.loads(result.stdout)["failed_line"] == 1
    (line,) = result.stderr.splitlines()
    found = json.loads(line)["error"]
    assert (found["kind"], found["line"], found["applied"]) == ("InvalidInput", 1, 0)
    assert found["message"].startswith("line 1: not valid JSON")

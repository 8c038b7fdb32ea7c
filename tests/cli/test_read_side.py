"""Reads of the store through one output path, and what the command line says about
its own arguments and about the fields of `kamflow apply`.

Reads (account show/list/history, program status, policy show, roster show, workflow
list) are queries returning a Report; the JSON of each is pinned by the golden test,
the text and CSV here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import FIRST_WRITE, FakeClock, Kam, event_count, fake_clock, invoker, ok, refusal
from test_cli import play_design_examples


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 12, 1)) as fake:
        yield fake


# ------------------------------------------------------------------ reads
def test_account_history_csv_adds_the_command_id_the_table_leaves_out(kam: Kam) -> None:
    play_design_examples(kam)
    ok(
        kam(
            "complaint",
            "raise",
            "acme",
            "--summary",
            "torn",
            "--severity",
            "low",
            "--command-id",
            "c9",
        )
    )

    table = ok(kam("account", "history", "acme"))
    csv = ok(kam("account", "history", "acme", "--csv"))

    assert "command_id" not in table[0]
    assert csv[0] == "version,occurred_on,recorded_at,actor,delegate,type,summary,command_id"
    assert csv[-1] == (
        "9,2026-12-01,2026-12-01T09:00:09+00:00,li.wei,,ComplaintRaised,"
        "complaint C-2 (low): torn,c9"
    )  # no delegate: li.wei recorded it


def test_program_status_shows_each_step_and_what_the_next_needs(kam: Kam) -> None:
    play_design_examples(kam)
    ok(kam("program", "complete", "acme", "confirm", "--evidence", "top-20%"))

    text = ok(kam("program", "status", "acme"))
    view = json.loads(kam("program", "status", "acme", "--json").stdout)

    assert text[:6] == [
        "acme: program cycle 1, last step confirm",
        "",
        " #  step                    status",
        "--  ----------------------  ------",
        " 1  confirm                 done",
        " 2  deploy-team             next",
    ]
    assert text[-3:] == ["Next", "  step: deploy-team", "  needs: " + "; ".join(view["needs"])]
    assert (view["last_step"], view["next_step"], view["next_step_ready"]) == (
        "confirm",
        "deploy-team",
        False,
    )


def test_a_read_of_nothing_says_so(empty_store: str) -> None:
    kam = invoker(empty_store)
    assert ok(kam("account", "list")) == ["(nothing to report)"]
    assert ok(kam("roster", "show")) == ["(nothing to report)"]
    assert ok(kam("account", "list", "--csv")) == [
        "key,name,industry,owner,tier,lifecycle,version,status"
    ]
    assert ok(kam("roster", "show", "--json")) == ["[]"]


def test_policy_show_csv_says_yes_or_no_where_json_says_true_or_false(kam: Kam) -> None:
    ok(kam("policy", "set", "credit-limit.key", "2000000", "--reason", "board"))

    csv = ok(kam("policy", "show", "--csv"))
    shown = json.loads(kam("policy", "show", "--json").stdout)

    row = next(line for line in csv if line.startswith("credit-limit.key,"))
    assert row.split(",")[:4] == ["credit-limit.key", "2000000", "no", "li.wei"]
    assert next(p for p in shown if p["policy"] == "credit-limit.key")["default"] is False


def test_json_and_csv_together_are_refused_before_the_read(kam: Kam) -> None:
    # The account does not exist: the usage error comes first, nothing is looked up.
    line = refusal(kam("account", "history", "nope", "--json", "--csv"), 2)

    assert json.loads(line) == {
        "error": {"exit_code": 2, "kind": "usage", "message": "give --json or --csv, not both"}
    }


# ------------------------------------------------------------------ arguments
def test_a_bad_positional_argument_is_named_as_the_usage_line_names_it(
    kam: Kam, sqlite_locator: str
) -> None:
    play_design_examples(kam)

    line = refusal(kam("visit", "follow-up", "acme", "I 1", "--result", "done"), 2)

    assert line == (
        "Error: invalid ISSUE: string should match pattern '^[A-Za-z]-\\d+$' (got 'I 1')"
    )
    assert event_count(sqlite_locator) == FIRST_WRITE + 8


# ------------------------------------------------------------------ apply --fields
def test_apply_fields_lists_the_json_keys_of_a_command_as_apply_reads_them(kam: Kam) -> None:
    lines = ok(kam("apply", "--fields", "contact add"))

    rows = {line.split()[0]: line.split()[1:] for line in lines[5:]}
    assert lines[2] == '{"command": "contact add", ...}'
    assert lines[3].split() == ["key", "type", "default", "help"]
    assert list(rows) == [
        "account", "contact", "title", "department", "roles", "influence", "attitude",
        "personality", "reports_to", "influenced_by", "mobile", "email", "wechat",
        "birthday", "family", "hobbies", "personal_notes", "note", "on", "command_id",
    ]  # fmt: skip
    roles = "initiator|user|influencer|decider|buyer|approver|gatekeeper"
    assert rows["roles"][:4] == ["list", "of", roles, "[]"]
    assert rows["influence"][:2] == ["low|medium|high", "none"]
    assert rows["title"][:2] == ["text", "(required)"]


def test_apply_fields_names_keys_that_differ_from_the_options(kam: Kam) -> None:
    visit = ok(kam("apply", "--fields", "visit log"))
    opened = ok(kam("apply", "--fields", "account open"))

    # `--with` and `--issue` on the command line; "with" and "issues" in a JSON line.
    assert [line.split()[0] for line in visit[5:]] == [
        "account", "with", "purpose", "objective", "result", "issues", "on", "command_id",
    ]  # fmt: skip
    assert [line.split()[:3] for line in opened[5:]][:2] == [
        ["account", "text", "(required)"],
        ["name", "text", "(required)"],
    ]
    assert ["tier", "prospect|target|key|strategic", '"prospect"'] in [
        line.split()[:3] for line in opened
    ]


def test_apply_fields_of_a_noun_lists_each_of_its_commands(kam: Kam) -> None:
    lines = ok(kam("apply", "--fields", "visit"))
    every = ok(kam("apply", "--fields"))

    assert [line for line in lines if line.startswith('{"command"')] == [
        '{"command": "visit log", ...}',
        '{"command": "visit follow-up", ...}',
        '{"command": "visit void", ...}',
        '{"command": "visit amend", ...}',
    ]
    # + fx and forecast, corrections, tasks, four eyes (exception and tier request/approve),
    # keys (roster key, roster revoke-key), contact forget
    assert sum(line.startswith('{"command"') for line in every) == 38 + 3 + 12 + 4 + 4 + 2 + 1


def test_apply_fields_of_an_unknown_command_or_with_a_file_is_bad_usage(
    kam: Kam, tmp_path: Path
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("")

    unknown = refusal(kam("apply", "--fields", "visit lgo"), 2)
    both = refusal(kam("apply", str(path), "--fields", "visit log"), 2)
    neither = refusal(kam("apply"), 2)

    assert unknown.startswith('Error: unknown command "visit lgo"; one of: account archive, ')
    assert both == "Error: give a FILE to apply or --fields, not both"
    assert neither == "Error: missing argument FILE"

"""Bad input: one clear line on stderr, the right exit code, nothing written (ADR 0005).

Exit codes: 2 for bad usage or input, 1 for something not found or refused by a rule.
Every test counts the stored events before and after: a refusal never writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import (
    ACTOR,
    FIRST_WRITE,
    FakeClock,
    Kam,
    event_count,
    fake_clock,
    invoke,
    invoker,
    old_store,
    plain_date,
    plain_number,
    refusal,
    write_commands,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kamflow.cli import cli
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.errors import InvalidInput

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nope"


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 3, 2)) as fake:
        yield fake


@pytest.fixture
def db(sqlite_locator: str) -> str:
    """A store holding acme: opened (on 2026-02-01, so that facts may be back-dated),
    Wang Fang, a visit with issue I-1, complaint C-1, INV-1."""
    kam = invoker(sqlite_locator)
    for args in (
        [
            "account", "open", "acme", "--name", "Acme Feed", "--industry", "feed",
            "--owner", ACTOR, "--on", "2026-02-01",
        ],
        [
            "contact", "add", "acme", "Wang Fang", "--title", "Purchasing Manager",
            "--department", "procurement",
        ],
        [
            "visit", "log", "acme", "--with", "Wang Fang", "--purpose", "trial",
            "--objective", "size", "--result", "2 t", "--issue", "price",
        ],
        ["complaint", "raise", "acme", "--summary", "late delivery", "--severity", "high"],
        [
            "sale", "record", "acme", "--invoice", "INV-1", "--product", "phytase",
            "--amount", "12000", "--cost", "8400",
        ],
    ):  # fmt: skip
        assert kam(*args).exit_code == 0, args
    assert event_count(sqlite_locator) == FIRST_WRITE + 5
    return sqlite_locator


@pytest.fixture
def kam(db: str) -> Kam:
    return invoker(db)


def assert_refused(result: Result, db: str, *, code: int, line: str) -> None:
    """Exactly one line on stderr, nothing on stdout, the exit code, and no event written."""
    assert result.stderr == f"Error: {line}\n"
    assert result.stdout == ""
    assert result.exit_code == code
    assert event_count(db) == FIRST_WRITE + 5


# ------------------------------------------------------------------ not found, refused


def test_a_step_out_of_order_is_refused(kam: Kam, db: str) -> None:
    kam("visit", "follow-up", "acme", "I-1", "--result", "matched")

    result = kam("visit", "follow-up", "acme", "I-1", "--result", "matched again")

    assert result.stderr == 'Error: issue I-1 on "acme" already has a follow-up result\n'
    assert (result.stdout, result.exit_code) == ("", 1)
    assert event_count(db) == FIRST_WRITE + 6


# ------------------------------------------------------------------ dates
# A date is YYYY-MM-DD, today or yesterday, from 1900-01-01 to 2999-12-31, on every path
# (issue 10): anything else is refused with the right form, on one line.
NOT_A_DATE = "is not a date; give YYYY-MM-DD (e.g. 2026-11-30), today or yesterday"
OUT_OF_RANGE = "is out of range; give a date from 1900-01-01 to 2999-12-31"
BAD_DATES = [
    ("2026/03/01", NOT_A_DATE),
    ("2026-W09-1", NOT_A_DATE),  # an ISO week date: date.fromisoformat takes it
    ("20260301", NOT_A_DATE),  # the basic ISO form: date.fromisoformat takes it
    ("2026-3-1", NOT_A_DATE),
    ("２０２６-03-01", NOT_A_DATE),  # full-width digits
    ("tomorrow", NOT_A_DATE),
    ("2026-02-30", "is not a day of the calendar (day is out of range for month)"),
    ("2026-13-01", "is not a day of the calendar (month must be in 1..12)"),
    ("1899-12-31", OUT_OF_RANGE),
    ("9999-12-31", OUT_OF_RANGE),  # an as-of day whose end overflowed
]
DATE_PATHS = {
    "--on": ["complaint", "raise", "acme", "--summary", "s", "--severity", "low", "--on"],
    "--as-of": ["account", "show", "acme", "--as-of"],
    "report --as-of": ["report", "complaints", "--as-of"],
    "--since": ["report", "audit", "--since"],
    "--until": ["report", "audit", "--until"],
}


@pytest.mark.parametrize(("value", "why"), BAD_DATES, ids=[v for v, _ in BAD_DATES])
@pytest.mark.parametrize("path", list(DATE_PATHS))
def test_a_malformed_impossible_or_out_of_range_date_is_bad_input_on_every_path(
    kam: Kam, db: str, path: str, value: str, why: str
) -> None:
    result = kam(*DATE_PATHS[path], value)

    option = path.split()[-1]
    assert_refused(result, db, code=2, line=f"Invalid value for '{option}': '{value}' {why}")


@pytest.mark.parametrize(("value", "why"), BAD_DATES, ids=[v for v, _ in BAD_DATES])
def test_a_bad_date_in_an_apply_line_is_bad_input(kam: Kam, db: str, value: str, why: str) -> None:
    line = jsonl("cost record", amount="10", category="x", on=value)

    result = kam("apply", "-", input=line + "\n")

    assert_refused(
        result,
        db,
        code=2,
        line=f"line 1: invalid \"on\": '{value}' {why}; nothing applied, nothing of line 1"
        " or after",
    )


@pytest.mark.parametrize(("word", "day"), [("today", "2026-03-02"), ("yesterday", "2026-03-01")])
def test_today_and_yesterday_are_dates_on_the_command_line_and_in_apply(
    kam: Kam, db: str, word: str, day: str
) -> None:
    typed = kam("cost", "record", "acme", "--amount", "1", "--category", "x", "--on", word)
    # The same cost again, meant (not a repeat, ADR 0020).
    line = json.dumps({"command": "cost record", "account": "acme", "amount": "1",
                       "category": "x", "on": word, "again": True})  # fmt: skip
    applied = kam("apply", "-", input=line)
    audit = kam("report", "audit", "--since", word, "--json")

    assert (typed.exit_code, applied.exit_code, audit.exit_code) == (0, 0, 0)
    history = json.loads(kam("account", "history", "acme", "--json").stdout)
    assert [e["occurred_on"] for e in history[-2:]] == [day, day]
    assert json.loads(audit.stdout)["report"] == f"audit trail (since {day})"


# ------------------------------------------------------------------ amounts
# Amounts are plain decimals with an optional thousands separator, as kamflow prints
# them (85,000.50), stored in one form; anything else is refused showing the right form.
NOT_PLAIN = "is not a plain number such as 85000.50 or 85,000.50"
BAD_AMOUNTS = [
    ("1e2", f"'1e2' {NOT_PLAIN}"),
    ("1E+2", f"'1E+2' {NOT_PLAIN}"),
    ("1_000", f"'1_000' {NOT_PLAIN}"),
    ("１２０", f"'１２０' {NOT_PLAIN}"),  # full-width digits
    ("85,00.5", f"'85,00.5' {NOT_PLAIN}"),
    ("1,0000", f"'1,0000' {NOT_PLAIN}"),
    (",100", f"',100' {NOT_PLAIN}"),
    (".5", f"'.5' {NOT_PLAIN}"),
    ("5.", f"'5.' {NOT_PLAIN}"),
    ("+5", f"'+5' {NOT_PLAIN}"),
    ("0x10", f"'0x10' {NOT_PLAIN}"),
    ("abc", f"'abc' {NOT_PLAIN}"),
    ("NaN", f"'NaN' {NOT_PLAIN}"),
    ("Infinity", f"'Infinity' {NOT_PLAIN}"),
    ("-5", "input should be greater than 0 (got '-5')"),
    ("0", "input should be greater than 0 (got '0')"),
    ("10.001", "decimal input should have no more than 2 decimal places (got '10.001')"),
    ("1,000,000,000,000.01", "input should be less than or equal to 1000000000000"
     " (got '1000000000000.01')"),
]  # fmt: skip


@pytest.mark.parametrize(("amount", "why"), BAD_AMOUNTS, ids=[a for a, _ in BAD_AMOUNTS])
def test_an_amount_that_is_not_a_plain_positive_decimal_is_bad_input(
    kam: Kam, db: str, amount: str, why: str
) -> None:
    result = kam("payment", "record", "acme", "--invoice", "INV-1", "--amount", amount)

    assert_refused(result, db, code=2, line=f"invalid --amount: {why}")


@pytest.mark.parametrize(
    ("literal", "why"),
    [
        ('"1e2"', f"'1e2' {NOT_PLAIN}"),
        ('"１２０"', f"'１２０' {NOT_PLAIN}"),
        ("1e2", "1e2 is written with an exponent; give a plain number such as 85000.50 or"
         " 85,000.50"),
        ("1.5E+3", "1.5E+3 is written with an exponent; give a plain number such as 85000.50"
         " or 85,000.50"),
    ],
    ids=["text-exponent", "text-full-width", "number-exponent", "number-exponent-upper"],
)  # fmt: skip
def test_an_amount_that_is_not_plain_in_an_apply_line_is_bad_input(
    kam: Kam, db: str, literal: str, why: str
) -> None:
    line = f'{{"command": "cost record", "account": "acme", "category": "x", "amount": {literal}}}'

    result = kam("apply", "-", input=line + "\n")

    assert_refused(
        result,
        db,
        code=2,
        line=f'line 1: invalid "amount": {why}; nothing applied, nothing of line 1 or after',
    )


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("85,000.50", "85000.50"),
        ("1,000", "1000.00"),
        ("1000", "1000.00"),
        ("1000.5", "1000.50"),
        ("0.10", "0.10"),
        (" 12 ", "12.00"),
    ],
)
def test_a_plain_amount_with_or_without_separators_is_stored_in_one_form(
    kam: Kam, db: str, typed: str, stored: str
) -> None:
    result = kam("cost", "record", "acme", "--amount", typed, "--category", "x")

    assert (result.exit_code, result.stderr) == (0, "")
    history = json.loads(kam("account", "history", "acme", "--json").stdout)
    assert history[-1]["payload"]["amount"] == stored


@pytest.mark.parametrize(
    ("literal", "stored"),
    [("12000", "12000.00"), ("12000.5", "12000.50"), ('"12,000.50"', "12000.50")],
)
def test_a_plain_json_number_or_text_amount_in_apply_is_stored_in_one_form(
    kam: Kam, db: str, literal: str, stored: str
) -> None:
    line = f'{{"command": "cost record", "account": "acme", "category": "x", "amount": {literal}}}'

    result = kam("apply", "-", input=line + "\n")

    assert (result.exit_code, result.stderr) == (0, "")
    history = json.loads(kam("account", "history", "acme", "--json").stdout)
    assert history[-1]["payload"]["amount"] == stored


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["satisfaction", "record", "acme", "--score", "7e0", "--target", "8"],
         f"invalid --score: '7e0' {NOT_PLAIN}"),
        (["sale", "record", "acme", "--invoice", "INV-2", "--product", "p", "--amount", "10",
          "--cost", "5", "--discount", "１０"],
         f"invalid --discount: '１０' {NOT_PLAIN}"),
        (["policy", "set", "credit-limit.key", "1e6", "--reason", "r"],
         f"policy credit-limit.key: '1e6' {NOT_PLAIN}"),
        (["policy", "set", "complaint-sla-days.key", "1_0", "--reason", "r"],
         f"policy complaint-sla-days.key: '1_0' {NOT_PLAIN}"),
    ],
    ids=["score", "discount", "policy-amount", "policy-days"],
)  # fmt: skip
def test_scores_percentages_and_policy_values_follow_the_same_rule(
    kam: Kam, db: str, args: list[str], line: str
) -> None:
    result = kam(*args)

    assert_refused(result, db, code=2, line=line)


def test_a_policy_value_with_thousands_separators_is_accepted(kam: Kam, db: str) -> None:
    result = kam("policy", "set", "credit-limit.key", "2,000,000", "--reason", "board")

    assert result.stdout == (
        'recorded PolicySet (version 3) on "governance": credit-limit.key = 2000000\n'
    )


# ------------------------------------------------------------------ time zones
@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["--tz", "Mars/Base", "account", "list"], {},
         "Invalid value for '--tz': unknown time zone \"Mars/Base\"; give an IANA name such"
         " as Asia/Shanghai or UTC"),
        (["--tz", "Asia", "account", "list"], {},
         "Invalid value for '--tz': unknown time zone \"Asia\"; give an IANA name such as"
         " Asia/Shanghai or UTC"),
        (["--tz", "../../etc/passwd", "account", "list"], {},
         "Invalid value for '--tz': unknown time zone \"../../etc/passwd\"; give an IANA"
         " name such as Asia/Shanghai or UTC"),
        (["--tz", "+08:00", "account", "list"], {},
         "Invalid value for '--tz': unknown time zone \"+08:00\"; give an IANA name such as"
         " Asia/Shanghai or UTC"),
        (["account", "list"], {"KAMFLOW_TZ": "Beijing"},
         "Invalid value for '--tz': unknown time zone \"Beijing\"; give an IANA name such as"
         " Asia/Shanghai or UTC"),
        (["policy", "set", "timezone", "China", "--reason", "r"], {},
         "policy timezone: unknown time zone \"China\"; give an IANA name such as"
         " Asia/Shanghai or UTC"),
    ],
    ids=["unknown", "a-folder", "a-path", "an-offset", "environment", "team-setting"],
)  # fmt: skip
def test_an_unknown_time_zone_is_bad_input(
    kam: Kam, db: str, monkeypatch: pytest.MonkeyPatch, args: list[str],
    env: dict[str, str], line: str,
) -> None:  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    result = kam(*args)

    assert_refused(result, db, code=2, line=line)


# ------------------------------------------------------------------ vocabularies
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["tier", "set", "acme", "gold", "--reason", "x"],
            "Invalid value for 'TIER': 'gold' is not one of 'prospect', 'target', 'key',"
            " 'strategic'.",
        ),
        (
            [
                "contact", "add", "acme", "Bob", "--title", "t", "--department", "d",
                "--role", "boss",
            ],
            "Invalid value for '--role': 'boss' is not one of 'initiator', 'user', 'influencer',"
            " 'decider', 'buyer', 'approver', 'gatekeeper'.",
        ),
        (
            ["complaint", "raise", "acme", "--summary", "s", "--severity", "huge"],
            "Invalid value for '--severity': 'huge' is not one of 'low', 'medium', 'high',"
            " 'critical'.",
        ),
        (
            [
                "contact", "add", "acme", "Bob", "--title", "t", "--department", "d",
                "--personality", "grumpy",
            ],
            "Invalid value for '--personality': 'grumpy' is not one of 'opinionated', 'open',"
            " 'doubting', 'would-be-expert', 'weather-vane', 'flatterer', 'introvert', 'showy'.",
        ),
    ],
    ids=["tier", "role", "severity", "personality"],
)  # fmt: skip
def test_an_unknown_enum_value_is_bad_input(kam: Kam, db: str, args: list[str], line: str) -> None:
    result = kam(*args)

    assert_refused(result, db, code=2, line=line)


# ------------------------------------------------------------------ every message one line
WRITES = write_commands()
CHOICES = [
    pytest.param(path, command, param, id=f"{' '.join(path)} {param.human_readable_name}")
    for path, command in WRITES
    for param in command.params
    if isinstance(param.type, click.Choice)
]
REQUIRED_CHOICES = [choice for choice in CHOICES if choice.values[2].required]


def args_without(command: click.Command, left_out: click.Parameter | None) -> list[str]:
    """Arguments for every required parameter of ``command`` but ``left_out``."""
    args: list[str] = []
    for param in command.params:
        if param is left_out or not param.required:
            continue
        value = str(param.type.choices[0]) if isinstance(param.type, click.Choice) else "x"
        args += [value] if isinstance(param, click.Argument) else [param.opts[0], value]
    return args


def choices_of(param: click.Parameter) -> str:
    assert isinstance(param.type, click.Choice)
    return ", ".join(str(c) for c in param.type.choices)


@pytest.mark.parametrize(("path", "command", "param"), REQUIRED_CHOICES)
def test_a_missing_choice_is_named_with_its_choices_on_one_line(
    kam: Kam, db: str, path: list[str], command: click.Command, param: click.Parameter
) -> None:
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    assert not isinstance(param, click.Argument) or param is arguments[-1]

    line = refusal(kam(*path, *args_without(command, param)), 2)

    if isinstance(param, click.Option):
        what = f"option {max(param.opts, key=len)}"
    else:
        what = f"argument {param.human_readable_name}"
    assert line == f"Error: missing {what} (one of: {choices_of(param)})"
    assert event_count(db) == FIRST_WRITE + 5


@pytest.mark.parametrize(("path", "command", "param"), CHOICES)
def test_a_value_that_is_not_a_choice_is_refused_on_one_line_naming_the_choices(
    kam: Kam, db: str, path: list[str], command: click.Command, param: click.Parameter
) -> None:
    args = args_without(command, param)
    if isinstance(param, click.Argument):
        position = [p for p in command.params if isinstance(p, click.Argument)].index(param)
        args.insert(position, "nope")
    else:
        args += [param.opts[0], "nope"]

    line = refusal(kam(*path, *args), 2)

    hint = param.get_error_hint(click.Context(command))
    assert line.startswith(f"Error: Invalid value for {hint}: 'nope' is not ")
    assert all(f"'{choice}'" in line for choice in choices_of(param).split(", "))
    assert event_count(db) == FIRST_WRITE + 5


@pytest.mark.parametrize(
    ("path", "command"), [pytest.param(p, c, id=" ".join(p)) for p, c in WRITES]
)
def test_a_write_without_its_arguments_is_refused_on_one_line(
    kam: Kam, db: str, path: list[str], command: click.Command
) -> None:
    line = refusal(kam(*path), 2)

    assert line.startswith("Error: missing ")
    assert event_count(db) == FIRST_WRITE + 5


# ------------------------------------------------------------------ required and too long
@pytest.mark.parametrize("missing", ["--purpose", "--objective", "--with"])
def test_a_visit_without_a_required_field_is_bad_input(kam: Kam, db: str, missing: str) -> None:
    fields = {"--with": "P-1", "--purpose": "trial", "--objective": "size", "--result": "ok"}
    del fields[missing]

    result = kam("visit", "log", "acme", *[part for item in fields.items() for part in item])

    assert_refused(result, db, code=2, line=f"missing option {missing}")


def test_text_of_exactly_the_limit_is_accepted(kam: Kam, db: str) -> None:
    result = kam("complaint", "raise", "acme", "--summary", "x" * 2000, "--severity", "low")

    assert (result.exit_code, result.stderr) == (0, "")
    assert event_count(db) == FIRST_WRITE + 6


# ------------------------------------------------------------------ apply
GOOD_LINE = json.dumps(
    {"command": "cost record", "account": "acme", "amount": "10", "category": "logistics"}
)


def jsonl(command: str, **fields: str) -> str:
    return json.dumps({"command": command, "account": "acme", **fields})


@pytest.mark.parametrize(
    ("bad_line", "code", "why"),
    [
        pytest.param(
            '{"command": "cost record", "account": "acme"',
            2,
            "not valid JSON: Expecting ',' delimiter at column 45",
            id="bad-json",
        ),
        pytest.param("[1, 2]", 2, "each line must be a JSON object", id="not-an-object"),
        pytest.param(
            '{"account": "acme"}',
            2,
            'missing "command", e.g. {"command": "visit log", ...}',
            id="no-command",
        ),
        pytest.param(
            jsonl("visit delete"),
            2,
            'unknown command "visit delete"; one of: ',
            id="unknown-command",
        ),
        pytest.param(
            jsonl("cost record", amount="-1", category="x"),
            2,
            "invalid \"amount\": input should be greater than 0 (got '-1')",
            id="invalid-field",
        ),
        pytest.param(
            jsonl("cost record", amount="1", category="x", colour="red"),
            2,
            "unknown field 'colour'",
            id="unknown-field",
        ),
        pytest.param(
            jsonl("complaint resolve", complaint="C-9", outcome="x"),
            1,
            'no complaint C-9 on "acme"',
            id="refused-by-the-account",
        ),
    ],
)
def test_a_bad_line_in_apply_names_its_line_number_and_keeps_the_lines_before(
    kam: Kam, db: str, tmp_path: Path, bad_line: str, code: int, why: str
) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text(f"{GOOD_LINE}\n\n{bad_line}\n{GOOD_LINE}\n", encoding="utf-8")

    result = kam("apply", str(path))

    assert result.exit_code == code
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: line 3: {why}")
    assert line.endswith("; lines before it applied (1 command), nothing of line 3 or after")
    assert event_count(db) == FIRST_WRITE + 6


def test_a_line_of_invalid_utf8_in_apply_is_bad_input(kam: Kam, db: str) -> None:
    result = kam("apply", "-", input=GOOD_LINE.encode() + b"\n" + b'{"command": "\xff"}\n')

    assert result.stderr == (
        "Error: line 2: not valid UTF-8 (byte 13); lines before it applied (1 command),"
        " nothing of line 2 or after\n"
    )
    assert (result.stdout, result.exit_code) == ("", 2)
    assert event_count(db) == FIRST_WRITE + 6


def test_apply_of_a_missing_file_is_bad_usage(kam: Kam, db: str, tmp_path: Path) -> None:
    result = kam("apply", str(tmp_path / "nope.jsonl"))

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: Invalid value for 'FILE': ")
    assert "nope.jsonl" in line
    assert event_count(db) == FIRST_WRITE + 5


# ------------------------------------------------------------------ invalid UTF-8
# Bytes that are not UTF-8 reach Python's argv as lone surrogates (PEP 383); CliRunner
# takes them that way, and a real process gets the raw bytes.
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["account", "update", "acme", "--name", "Acme \udcff Feed"],
            "--name is not valid UTF-8 text",
        ),
        (
            ["contact", "add", "acme", "Wang \udcff", "--title", "t", "--department", "d"],
            # A positional argument is named as the usage line names it, not as an option.
            "NAME is not valid UTF-8 text",
        ),
        (
            ["account", "show", "ac\udcffme"],
            'account key "ac\\udcffme" has U+DCFF; use letters, digits, "-", "_" or "."',
        ),
        (
            [
                "cost", "record", "acme", "--amount", "1", "--category", "x",
                "--command-id", "\udcff",
            ],
            "--command-id is not valid UTF-8 text",
        ),
    ],
    ids=["option", "argument", "key", "command-id"],
)  # fmt: skip
def test_invalid_utf8_in_an_argument_is_bad_input(
    kam: Kam, db: str, args: list[str], line: str
) -> None:
    result = kam(*args)

    assert_refused(result, db, code=2, line=line)


def test_invalid_utf8_in_the_actor_is_bad_input(db: str) -> None:
    kam = invoker(db, actor="li.\udcffwei")

    result = kam("cost", "record", "acme", "--amount", "1", "--category", "x")

    assert_refused(result, db, code=2, line="actor (--actor) is not valid UTF-8 text")


def test_invalid_utf8_bytes_in_a_real_command_line_are_bad_input(db: str) -> None:
    argv: list[str | bytes] = [
        sys.executable, "-m", "kamflow", "--db", db, "--actor", ACTOR,
        "complaint", "raise", "acme", "--summary", b"late \xff delivery", "--severity", "low",
    ]  # fmt: skip

    done = subprocess.run(argv, capture_output=True, env={**os.environ, "PYTHONUTF8": "1"})

    assert done.stderr.decode() == "Error: --summary is not valid UTF-8 text\n"
    assert (done.stdout, done.returncode) == (b"", 2)
    assert event_count(db) == FIRST_WRITE + 5


# ------------------------------------------------------------------ storage
def test_an_unreachable_postgresql_is_one_clear_line(tmp_path: Path) -> None:
    kam = invoker(UNREACHABLE)
    started = time.monotonic()

    result = kam("account", "list")

    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: cannot open database postgresql://postgres@127.0.0.1:1/nope: ")
    assert time.monotonic() - started < 10


def test_a_database_in_a_missing_folder_is_bad_usage(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "kamflow.db"
    kam = invoker(str(missing))

    # A write: a read of it says there is no database there (tests/test_newcomer.py).
    result = kam("account", "open", "z", "--name", "Z", "--industry", "feed", "--owner", "li")

    assert result.stderr == (
        f'Error: cannot create database "{missing}": folder "{missing.parent}" does not exist\n'
    )
    assert (result.stdout, result.exit_code) == ("", 2)
    assert not missing.parent.exists()


# ------------------------------------------------------------------ text kamflow never stores
# The rule (kamflow.domain.text): NUL, C0 controls, DEL, C1 controls, bidirectional
# controls and line separators are refused in every field; multi-line prose fields may
# hold line feeds and tabs. Each refusal names the field and the character.
ONE_LINE = "not allowed in one-line text"
PROSE = "multi-line text may hold only line breaks (U+000A) and tabs (U+0009)"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        pytest.param(
            ["account", "update", "acme", "--industry", "x\x00y"],
            "invalid --industry: character 2 is NUL (U+0000), which kamflow never stores",
            id="nul-one-line",
        ),
        pytest.param(
            ["account", "update", "acme", "--notes", "two\x00lines"],
            "invalid --notes: character 4 is NUL (U+0000), which kamflow never stores",
            id="nul-multi-line",
        ),
        pytest.param(
            [
                "sale", "record", "acme", "--invoice", "INV\x002", "--product", "p",
                "--amount", "1", "--cost", "1",
            ],
            "invalid --invoice: character 4 is NUL (U+0000), which kamflow never stores",
            id="nul-invoice",
        ),
        pytest.param(
            ["account", "update", "acme", "--name", "Evil\x1b[2J\x1b[1;1HCo"],
            f"invalid --name: character 5 is the control character U+001B, {ONE_LINE}",
            id="c0-escape",
        ),
        pytest.param(
            ["account", "update", "acme", "--owner", "li\twei"],
            f"invalid --owner: character 3 is the control character U+0009, {ONE_LINE}",
            id="c0-tab-in-one-line",
        ),
        pytest.param(
            ["contact", "add", "acme", "Li Na", "--title", "GM\nCEO", "--department", "d"],
            f"invalid --title: character 3 is the control character U+000A, {ONE_LINE}",
            id="c0-line-feed-in-one-line",
        ),
        pytest.param(
            ["complaint", "raise", "acme", "--summary", "late\r\nagain", "--severity", "low"],
            f"invalid --summary: character 5 is the control character U+000D; {PROSE}",
            id="c0-carriage-return-in-prose",
        ),
        pytest.param(
            ["account", "update", "acme", "--notes", "ring\x07"],
            f"invalid --notes: character 5 is the control character U+0007; {PROSE}",
            id="c0-bell-in-prose",
        ),
        pytest.param(
            ["cost", "record", "acme", "--amount", "1", "--category", "log\x7fistics"],
            f"invalid --category: character 4 is the control character U+007F, {ONE_LINE}",
            id="del",
        ),
        pytest.param(
            ["account", "update", "acme", "--name", " \x85Acme"],
            f"invalid --name: character 2 is the control character U+0085, {ONE_LINE}",
            id="c1-next-line-where-it-would-be-stripped",
        ),
        pytest.param(
            ["cost", "record", "acme", "--amount", "1", "--category", "x", "--description",
             "\x9b31mred"],
            f"invalid --description: character 1 is the control character U+009B; {PROSE}",
            id="c1-csi-in-prose",
        ),
        pytest.param(
            ["account", "update", "acme", "--owner", "o\u202eevil"],
            "invalid --owner: character 2 is the bidirectional control U+202E,"
            " which kamflow never stores",
            id="bidi-override",
        ),
        pytest.param(
            ["visit", "log", "acme", "--with", "Wang Fang", "--with", "\u2066Li\u2069",
             "--purpose", "p", "--objective", "o", "--result", "r"],
            "invalid --with: character 1 is the bidirectional control U+2066,"
            " which kamflow never stores",
            id="bidi-isolate-in-a-list-item",
        ),
        pytest.param(
            ["visit", "follow-up", "acme", "I-1", "--result", "matched \u202b"],
            "invalid --result: character 9 is the bidirectional control U+202B,"
            " which kamflow never stores",
            id="bidi-in-prose",
        ),
        pytest.param(
            ["visit", "log", "acme", "--with", "Wang Fang", "--purpose", "p", "--objective",
             "o", "--result", "r", "--issue", "price\nand stock"],
            f"invalid --issue: character 6 is the control character U+000A, {ONE_LINE}",
            id="line-feed-in-an-issue",
        ),
        pytest.param(
            ["account", "update", "acme", "--notes", "one\u2028two"],
            "invalid --notes: character 4 is the line separator U+2028;"
            " write a line break as U+000A",
            id="line-separator",
        ),
        pytest.param(
            ["policy", "set", "discount-ceiling-pct", "2\x000", "--reason", "r"],
            "invalid VALUE: character 2 is NUL (U+0000), which kamflow never stores",
            id="policy-value",
        ),
    ],
)  # fmt: skip
def test_control_and_bidi_characters_are_refused_naming_the_field_and_the_character(
    kam: Kam, db: str, args: list[str], line: str
) -> None:
    result = kam(*args)

    assert_refused(result, db, code=2, line=line)


def test_multi_line_prose_keeps_line_feeds_and_tabs_and_shows_them_escaped(
    kam: Kam, db: str
) -> None:
    assert kam("account", "update", "acme", "--notes", "two\nlines\tand a tab").exit_code == 0

    shown = kam("account", "show", "acme")

    assert "notes: two\\nlines\\tand a tab\n" in shown.stdout
    assert event_count(db) == FIRST_WRITE + 6


@pytest.mark.parametrize(
    ("actor", "line"),
    [
        ("li\x1b[2Jwei", "invalid actor (--actor): character 3 is the control character U+001B,"
         f" {ONE_LINE}"),
        ("li\u202ewei", "invalid actor (--actor): character 3 is the bidirectional control U+202E,"
         " which kamflow never stores"),
        ("li\nwei", "the actor (--actor) is more than one line; give one name"),
        ("x" * 201, "the actor (--actor) is 201 characters; at most 200"),
        ("   ", "the actor (--actor) is blank; give the name of the person acting,"
         " e.g. --actor li.wei"),
    ],
    ids=["escape", "bidi", "line-feed", "201-characters", "blank"],
)  # fmt: skip
def test_an_actor_with_control_characters_or_too_long_is_bad_input(
    db: str, actor: str, line: str
) -> None:
    result = invoke(db, "cost", "record", "acme", "--amount", "1", "--category", "x", actor=actor)

    assert_refused(result, db, code=2, line=line)


def test_an_actor_from_the_environment_is_held_to_the_same_rule(db: str) -> None:
    result = CliRunner(env={"KAMFLOW_ACTOR": "zhao\x9b2J"}).invoke(
        cli, ["--db", db, "cost", "record", "acme", "--amount", "1", "--category", "x"]
    )

    assert_refused(
        result,
        db,
        code=2,
        line=f"invalid actor (KAMFLOW_ACTOR): character 5 is the control character U+009B,"
        f" {ONE_LINE}",
    )


@pytest.mark.parametrize(
    ("command_id", "line"),
    [
        ("id\x00with-nul", "invalid --command-id: character 3 is NUL (U+0000),"
         " which kamflow never stores"),
        ("id\x1b]0;x\x07", f"invalid --command-id: character 3 is the control character"
         f" U+001B, {ONE_LINE}"),
        ("id\u2067", "invalid --command-id: character 3 is the bidirectional control U+2067,"
         " which kamflow never stores"),
    ],
    ids=["nul", "escape", "bidi"],
)  # fmt: skip
def test_a_command_id_with_control_characters_is_bad_input(
    kam: Kam, db: str, command_id: str, line: str
) -> None:
    result = kam(
        "cost", "record", "acme", "--amount", "1", "--category", "x", "--command-id", command_id
    )

    assert_refused(result, db, code=2, line=line)


def test_a_visit_with_101_people_is_bad_input(kam: Kam, db: str) -> None:
    people = [part for n in range(101) for part in ("--with", f"P-{n}")]

    result = kam(
        "visit", "log", "acme", *people, "--purpose", "p", "--objective", "o", "--result", "r"
    )

    assert_refused(
        result,
        db,
        code=2,
        line="invalid --with: list should have at most 100 items after validation, not 101",
    )


# ------------------------------------------------------------------ numbers the views can hold
@pytest.mark.parametrize(
    ("args", "line"),
    [
        pytest.param(
            ["cost", "record", "acme", "--amount", "1000000000000.01", "--category", "x"],
            "invalid --amount: input should be less than or equal to 1000000000000"
            " (got '1000000000000.01')",
            id="amount-over-a-trillion",
        ),
        pytest.param(
            ["cost", "record", "acme", "--amount", "9999999999999999.99", "--category", "x"],
            "invalid --amount: input should be less than or equal to 1000000000000"
            " (got '9999999999999999.99')",
            id="amount-old-code-took",
        ),
        pytest.param(
            ["cost", "record", "acme", "--amount", "1e400", "--category", "x"],
            f"invalid --amount: '1e400' {NOT_PLAIN}",
            id="amount-1e400",
        ),
        pytest.param(
            ["sale", "record", "acme", "--invoice", "INV-2", "--product", "p", "--amount", "1",
             "--cost", "10,000,000,000,000"],
            "invalid --cost: input should be less than or equal to 1000000000000"
            " (got '10000000000000')",
            id="cost",
        ),
        pytest.param(
            ["opp", "open", "acme", "--title", "t", "--budget", "2000000000000"],
            "invalid --budget: input should be less than or equal to 1000000000000"
            " (got '2000000000000')",
            id="budget",
        ),
        pytest.param(
            ["policy", "set", "credit-limit.key", "1000.001", "--reason", "r"],
            "policy credit-limit.key takes at most 2 decimal places, got 1000.001",
            id="policy-value",
        ),
    ],
)  # fmt: skip
def test_a_number_beyond_what_the_views_hold_is_bad_input(
    kam: Kam, db: str, args: list[str], line: str
) -> None:
    result = kam(*args)

    assert_refused(result, db, code=2, line=line)


def test_a_cost_that_would_take_an_accounts_total_past_the_bound_is_refused(
    kam: Kam, db: str
) -> None:
    trillion = {
        "command": "cost record",
        "account": "acme",
        "amount": "1000000000000",
        "again": True,  # a thousand of the same cost, meant (ADR 0020)
    }
    lines = [json.dumps({**trillion, "category": "x"})] * 1000

    result = kam("apply", "-", input="\n".join([*lines, lines[0]]) + "\n")

    assert result.stderr == (
        "Error: line 1001: a service cost of 1,000,000,000,000.00 would take the service cost"
        ' of "acme" to 1,001,000,000,000,000.00 CNY; kamflow keeps at most'
        " 1,000,000,000,000,000.00 per account and currency (its views hold totals as 64-bit"
        " cents); lines before it applied (1000 commands), nothing of line 1001 or after\n"
    )
    assert result.exit_code == 1
    assert event_count(db) == FIRST_WRITE + 1005
    assert kam("report", "portfolio", "--json").exit_code == 0


# ------------------------------------------------------------------ apply: parser chokes
@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        pytest.param("[" * 100_000, "not valid JSON: nested too deeply", id="nested-brackets"),
        pytest.param(
            '{"command": "cost record", "account": "acme", "amount": ' + "1" * 5000 + "}",
            "not valid JSON: a number with more than 4300 digits",
            id="integer-of-5000-digits",
        ),
        pytest.param(
            '{"command": "cost record", "account": "acme", "amount": NaN, "category": "x"}',
            "not valid JSON: NaN is not a JSON number",
            id="nan",
        ),
        pytest.param(
            '{"command": "cost record", "account": "acme", "amount": Infinity, "category": "x"}',
            "not valid JSON: Infinity is not a JSON number",
            id="infinity",
        ),
        pytest.param(
            '{"command": "cost record", "account": "acme", "amount": 1e400, "category": "x"}',
            'invalid "amount": 1e400 is written with an exponent; give a plain number such as'
            " 85000.50 or 85,000.50",
            id="1e400",
        ),
        pytest.param(
            '{"command": "account open", "account": "a", "name": "A", "industry": "x\\u0000y",'
            ' "owner": "o"}',
            'invalid "industry": character 2 is NUL (U+0000), which kamflow never stores',
            id="nul-escape",
        ),
        pytest.param(
            '{"command": "cost record", "account": "acme", "amount": "1", "category": "x",'
            ' "command_id": "id\\u0000with-nul"}',
            'invalid "command_id": character 3 is NUL (U+0000), which kamflow never stores',
            id="nul-in-command-id",
        ),
        pytest.param(
            '{"command": "account update", "account": "acme", "name": "Evil\\u001b[2JCo"}',
            f'invalid "name": character 5 is the control character U+001B, {ONE_LINE}',
            id="escape-sequence",
        ),
        pytest.param(
            '{"command": "account open", "account": "a\\u0000b", "name": "A", "industry": "x",'
            ' "owner": "o"}',
            'invalid "account": character 2 is NUL (U+0000), which kamflow never stores',
            id="nul-in-the-key",
        ),
        pytest.param(
            '{"command": "cost record", "account": "acme", "amount": "1", "category": "x",'
            ' "on": 0}',
            'invalid "on": give the date as YYYY-MM-DD, not a number (got 0)',
            id="date-as-a-number",
        ),
    ],
)
def test_an_apply_line_that_chokes_the_parser_or_holds_forbidden_text_is_bad_input(
    kam: Kam, db: str, tmp_path: Path, bad_line: str, why: str
) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text(f"{GOOD_LINE}\n{bad_line}\n{GOOD_LINE}\n", encoding="utf-8")

    result = kam("apply", str(path))

    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: line 2: {why}")
    assert line.endswith("; lines before it applied (1 command), nothing of line 2 or after")
    assert event_count(db) == FIRST_WRITE + 6


def test_the_nul_line_of_the_issue_is_refused_and_every_report_still_answers(
    locator: str,
) -> None:
    kam = invoker(locator)
    poison = (
        '{"command":"account open","account":"a","name":"A","industry":"x\\u0000y","owner":"o"}'
    )

    result = kam("apply", "-", input=poison + "\n")

    assert result.stderr == (
        'Error: line 1: invalid "industry": character 2 is NUL (U+0000), which kamflow never'
        " stores; nothing applied, nothing of line 1 or after\n"
    )
    assert result.exit_code == 2
    assert event_count(locator) == 0
    assert (
        kam("account", "open", "b", "--name", "B", "--industry", "x", "--owner", "o").exit_code == 0
    )
    for report in ("portfolio", "complaints", "audit"):
        answered = kam("report", report, "--json")
        assert (answered.exit_code, answered.stderr) == (0, ""), report


# ------------------------------------------------------------------ stored text printed escaped
RAW = ("\x1b", "\x00", "\u202e", "\x9b")


@pytest.fixture
def nul_store(tmp_path: Path) -> str:
    """A copy of a store written by main 03f4076, holding NUL, ESC and U+202E."""
    return old_store("nul-03f4076.db", str(tmp_path / "nul.db"))


def test_account_list_shows_stored_control_characters_escaped(nul_store: str) -> None:
    result = invoke(nul_store, "account", "list")

    assert result.exit_code == 0
    assert not any(ch in result.stdout for ch in RAW)
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["a"][2] == "x\\x00y"
    assert rows["esc"][1:4] == ["Evil\\x1b[2J\\x1b[1;1HCo", "feed", "o\\u202eevil"]


def test_account_show_shows_stored_escape_sequences_escaped(nul_store: str) -> None:
    result = invoke(nul_store, "account", "show", "esc")

    assert result.exit_code == 0
    assert not any(ch in result.stdout for ch in RAW)
    assert result.stdout.startswith("esc  Evil\\x1b[2J\\x1b[1;1HCo\n")
    assert "  o\\u202eevil  " in result.stdout


def test_account_history_shows_stored_nul_and_line_breaks_escaped(nul_store: str) -> None:
    result = invoke(nul_store, "account", "history", "clean")

    assert result.exit_code == 0
    assert not any(ch in result.stdout for ch in RAW)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 5  # the line break in the note did not split a row
    assert lines[3].endswith("complaint C-1 (high): late\\x00delivery")
    assert lines[4].endswith("sale INV\\x001 premix: 100.00 CNY (cost 50.00)")
    assert lines[6].endswith("profile: notes (not set) -> two\\nlines")


def test_json_and_csv_escape_bidi_controls_too(nul_store: str) -> None:
    kam = invoker(nul_store)

    as_json = kam("account", "list", "--json").stdout
    as_csv = kam("account", "list", "--csv").stdout

    assert not any(ch in as_json + as_csv for ch in RAW)
    assert '"owner": "o\\u202eevil"' in as_json
    assert [r["owner"] for r in json.loads(as_json)] == ["o", "li.wei", "o\u202eevil"]
    assert "esc,Evil\\x1b[2J\\x1b[1;1HCo,feed,o\\u202eevil," in as_csv


def test_an_error_quoting_stored_or_typed_text_shows_it_escaped_on_one_line(
    nul_store: str,
) -> None:
    kam = invoker(nul_store)

    stored = kam("account", "open", "esc", "--name", "x", "--industry", "x", "--owner", "x")
    typed = kam("account", "show", "es\x1b[2Jc")

    assert stored.stderr == (
        'Error: account "esc" already exists ("Evil\\x1b[2J\\x1b[1;1HCo");'
        " change it with `kamflow account update esc`\n"
    )
    assert typed.stderr == (
        'Error: account key "es\\x1b[2Jc" has U+001B; use letters, digits, "-", "_" or "."\n'
    )


# ------------------------------------------------------------------ generated dates and amounts
# Every string is either taken as exactly the value the reference parser of the test
# (conftest.plain_date, plain_number) gives, or refused with exit 2 and one line.
GENERATED = settings(
    max_examples=60,
    deadline=None,
    # One store per test, shared by the examples (none of them writes).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ISO_DAYS = st.dates(date(1800, 1, 1), date(3100, 12, 31)).map(date.isoformat)
DATE_TEXT = st.one_of(
    ISO_DAYS,
    ISO_DAYS,
    ISO_DAYS,
    st.dates(date(1800, 1, 1), date(3100, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
    st.dates().map(lambda d: d.isoformat().replace("-", "/")),
    st.dates().map(lambda d: f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}-1"),
    st.builds(
        lambda y, m, d: f"{y}-{m}-{d}",
        st.integers(0, 99999),
        st.integers(0, 99).map(lambda n: f"{n:02d}"),
        st.integers(0, 99).map(lambda n: f"{n:02d}"),
    ),
    st.sampled_from(["today", "Yesterday", " today ", "tomorrow", "now", "", "２０２６-03-01"]),
    st.text(alphabet="0123456789-/ WTtodayesr２٣", max_size=12),
)
AMOUNT_TEXT = st.one_of(
    st.decimals(min_value=-1, max_value=Decimal(10**13), places=2).map(lambda d: f"{d:,}"),
    st.decimals(min_value=0, max_value=Decimal(10**6), places=2).map(lambda d: f"{d:,}"),
    st.decimals(min_value=0, max_value=Decimal(10**6), places=2).map(str),
    st.decimals(min_value=-1, max_value=Decimal(10**13), places=3).map(str),
    st.integers(-(10**14), 10**14).map(lambda n: f"{n:_}"),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e2", "１２０", "85,00.5", "85,000.50", " 7 ", "-0", "0.00", ".5"]),
    st.text(alphabet="0123456789,.-+_eE １２", max_size=14),
)
TODAY = date(2026, 3, 2)  # the clock of every test here


@GENERATED
@given(text=DATE_TEXT)
def test_a_generated_date_is_the_reference_day_or_refused_on_one_line(
    kam: Kam, db: str, text: str
) -> None:
    expected = plain_date(text, TODAY)

    result = kam("report", "audit", "--since", text, "--json")

    event("refused" if expected is None else "accepted")
    if expected is None:
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        (line,) = result.stderr.splitlines()  # with --json, the error is JSON too
        error = json.loads(line)["error"]
        assert (error["kind"], error["exit_code"]) == ("usage", 2)
        assert error["message"].startswith("Invalid value for '--since': ")
    else:
        assert (result.exit_code, result.stderr) == (0, "")
        assert json.loads(result.stdout)["report"] == f"audit trail (since {expected})"


@GENERATED
@given(text=DATE_TEXT)
def test_a_generated_date_in_an_apply_line_is_the_reference_day_or_refused(text: str) -> None:
    fields = {"account": "acme", "amount": "1", "category": "x", "on": text}
    expected = plain_date(text, TODAY)
    event("refused" if expected is None else "accepted")

    try:
        command = build(COMMANDS["cost record"], fields, today=TODAY)
    except InvalidInput as exc:
        assert expected is None, text
        assert "\n" not in exc.render("apply")
        assert exc.exit_code == 2
    else:
        assert command.on == expected


@GENERATED
@given(text=AMOUNT_TEXT, through_apply=st.booleans())
def test_a_generated_amount_is_the_reference_number_or_refused_on_one_line(
    kam: Kam, db: str, text: str, through_apply: bool
) -> None:
    number = plain_number(text)
    fits = (
        number is not None and 0 < number <= 10**12 and number == number.quantize(Decimal("0.01"))
    )
    before = event_count(db)
    event("refused" if not fits else "accepted")

    if through_apply:
        # again: hypothesis may draw one amount twice, each a cost of its own (ADR 0020).
        line = json.dumps({"command": "cost record", "account": "acme", "amount": text,
                           "category": "x", "again": True})  # fmt: skip
        result = kam("apply", "-", input=line + "\n")
    else:
        result = kam("cost", "record", "acme", "--amount", text, "--category", "x", "--again")

    if not fits:
        assert (result.exit_code, result.stdout) == (2, ""), result.output
        assert len(result.stderr.splitlines()) == 1
        assert event_count(db) == before
    else:
        assert number is not None
        assert (result.exit_code, result.stderr) == (0, ""), text
        history = json.loads(kam("account", "history", "acme", "--json").stdout)
        assert history[-1]["payload"]["amount"] == f"{number:.2f}"


# ------------------------------------------------------------------ one command, one refusal
# The command line, its exit code and its one line on stderr; nothing is written.
REFUSED = [
    pytest.param(
        ["account", "show", "nope"],
        1,
        'account "nope" not found; list accounts with `kamflow account list`',
        id="showing_an_unknown_account_is_not_found",
    ),
    pytest.param(
        ["account", "history", "nope"],
        1,
        'account "nope" not found; list accounts with `kamflow account list`',
        id="the_history_of_an_unknown_account_is_not_found",
    ),
    pytest.param(
        ["complaint", "raise", "nope", "--summary", "late", "--severity", "low"],
        1,
        (
            'P3: account "nope" has no file; open it first with'
            " `kamflow account open nope --name ... --industry ... --owner ...`"
        ),
        id="writing_to_an_unknown_account_is_refused_under_P3",
    ),
    pytest.param(
        ["account", "open", "ACME", "--name", "Acme 2", "--industry", "x", "--owner", "y"],
        1,
        (
            'account "acme" already exists ("Acme Feed");'
            " change it with `kamflow account update acme`"
        ),
        id="opening_an_account_that_exists_is_refused",
    ),
    pytest.param(
        ["visit", "log", "acme", "--with", "P-1", "--purpose", "p", "--objective", "o"],
        1,
        (
            'P6: a visit to "acme" needs a result as well as a purpose and an objective;'
            " add --result"
        ),
        id="a_visit_without_a_result_is_refused_under_P6",
    ),
    pytest.param(
        ["cost", "record", "acme", "--amount", "10", "--category", "x", "--on", "2026-03-03"],
        2,
        "date 2026-03-03 is in the future; today is 2026-03-02",
        id="a_business_date_in_the_future_is_bad_input",
    ),
    pytest.param(
        ["sale", "record", "acme", "--invoice", "INV-2", "--product", "p",
         "--amount", "100", "--cost", "-1"],
        2,
        "invalid --cost: input should be greater than or equal to 0 (got '-1')",
        id="a_negative_cost_is_bad_input",
    ),
    pytest.param(
        ["exception", "grant", "acme", "--reason", "x"],
        2,
        "missing option --rule (one of: credit-limit, discount-ceiling)",
        id="the_issue_example_of_a_missing_choice_option",
    ),
    pytest.param(
        ["complaint", "raise", "acme", "--summary", "   ", "--severity", "low"],
        2,
        "invalid --summary: string should have at least 1 character (got '   ')",
        id="a_blank_required_field_is_bad_input",
    ),
    pytest.param(
        ["complaint", "raise", "acme", "--summary", "x" * 2001, "--severity", "low"],
        2,
        "invalid --summary: string should have at most 2000 characters",
        id="a_summary_of_2001_characters_is_too_long",
    ),
    pytest.param(
        ["account", "open", "beta", "--name", "名" * 201, "--industry", "x", "--owner", "y"],
        2,
        "invalid --name: string should have at most 200 characters",
        id="a_name_of_201_characters_is_too_long",
    ),
    pytest.param(
        ["account", "open", "acme feed", "--name", "x", "--industry", "y", "--owner", "z"],
        2,
        'account key "acme feed" has " "; use letters, digits, "-", "_" or "."',
        id="an_account_key_with_spaces_is_bad_input",
    ),
    pytest.param(
        ["account", "show", "acme", "--version", "6"],
        1,
        'account "acme" has 5 events; --version 6 is beyond its last',
        id="a_version_beyond_the_last_is_not_found",
    ),
    pytest.param(
        ["account", "show", "acme", "--version", "0"],
        2,
        "--version must be at least 1 (got 0)",
        id="a_version_below_one_is_bad_input",
    ),
    pytest.param(
        ["account", "show", "acme", "--version", "latest"],
        2,
        "Invalid value for '--version': 'latest' is not a valid integer.",
        id="a_non_numeric_version_is_bad_input",
    ),
    pytest.param(
        ["account", "show", "acme", "--as-of", "2026-03-01"],
        1,
        'account "acme" was not yet recorded on 2026-03-01 (first recorded 2026-03-02)',
        id="an_as_of_date_before_the_account_is_not_found",
    ),
    pytest.param(
        ["cost", "record", "acme", "--amount", "1", "--category", "x", "--command-id", ""],
        2,
        "--command-id must not be empty",
        id="an_empty_command_id_is_bad_input",
    ),
    pytest.param(
        ["acount", "list"],
        2,
        "No such command 'acount'. (Did you mean one of: 'account', 'contact', 'cost'?)",
        id="an_unknown_command_is_bad_usage",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "line"), REFUSED)
def test_a_refused_command_line_says_one_line_and_writes_nothing(
    kam: Kam, db: str, args: list[str], code: int, line: str
) -> None:
    result = kam(*args)

    assert_refused(result, db, code=code, line=line)

"""The command line as users and scripts see it: exact output lines and exit codes.

Everything goes through click's CliRunner against a real store. Record time comes from
a fake clock so that tables holding it can be compared line by line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    ACTOR,
    FIRST_WRITE,
    FakeClock,
    Kam,
    event_count,
    fake_clock,
    invoke,
    invoker,
    ok,
)

from kamflow.cli import cli


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 12, 1)) as fake:
        yield fake


# A key-account manager's first commands on an account, in the order they would be
# typed (the examples kamflow was specified with), each with the one line it must print.
DESIGN_EXAMPLES: list[tuple[list[str], str]] = [
    (
        [
            "account", "open", "acme", "--name", "正大饲料 Acme Feed",
            "--industry", "feed", "--owner", "li.wei", "--on", "2026-11-01",
        ],
        'recorded AccountOpened (version 1) on "acme"',
    ),
    (
        [
            "contact", "add", "acme", "Wang Fang", "--title", "Purchasing Manager",
            "--department", "procurement", "--role", "buyer", "--role", "influencer",
            "--influence", "high", "--personality", "doubting",
        ],
        'recorded ContactAdded (version 2) on "acme": P-1',
    ),
    (
        [
            "visit", "log", "acme", "--with", "Wang Fang", "--purpose", "phytase trial",
            "--objective", "agree trial size", "--result", "trial of 2 t agreed",
            "--issue", "price vs DSM", "--on", "2026-11-20",
        ],
        'recorded VisitLogged (version 3) on "acme": V-1 with issues I-1',
    ),
    (
        ["visit", "follow-up", "acme", "I-1", "--result", "price matched for trial volume"],
        'recorded FollowUpRecorded (version 4) on "acme": I-1',
    ),
    (
        [
            "complaint", "raise", "acme", "--summary", "late delivery, line 2 stopped",
            "--severity", "high",
        ],
        'recorded ComplaintRaised (version 5) on "acme": C-1',
    ),
    (
        [
            "complaint", "resolve", "acme", "C-1",
            "--outcome", "credit note; second carrier contracted",
        ],
        'recorded ComplaintResolved (version 6) on "acme": C-1',
    ),
    (
        ["tier", "set", "acme", "key", "--reason", "top-20% by profit two quarters running"],
        'recorded TierChanged (version 7) on "acme": key',
    ),
    (
        [
            "sale", "record", "acme", "--invoice", "INV-0042", "--product", "phytase",
            "--amount", "120000", "--cost", "84000", "--currency", "CNY",
        ],
        'recorded SaleRecorded (version 8) on "acme": INV-0042',
    ),
]  # fmt: skip


def play_design_examples(kam: Kam) -> None:
    for args, line in DESIGN_EXAMPLES:
        assert ok(kam(*args)) == [line], args


# ------------------------------------------------------------------ writes
def test_the_design_examples_each_print_the_event_account_version_and_reference(
    kam: Kam, sqlite_locator: str
) -> None:
    for args, line in DESIGN_EXAMPLES:
        result = kam(*args)

        assert ok(result) == [line], args

    assert event_count(sqlite_locator) == FIRST_WRITE + len(DESIGN_EXAMPLES)


def test_account_update_prints_the_profile_change(kam: Kam) -> None:
    kam("account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", ACTOR)

    result = kam("account", "update", "acme", "--address", "Chengdu, Sichuan", "--size", "12 mills")

    assert ok(result) == ['recorded ProfileUpdated (version 2) on "acme"']


def test_contact_change_and_leave_print_the_person_id(kam: Kam) -> None:
    play_design_examples(kam)

    changed = kam(
        "contact", "change", "acme", "Wang Fang", "--title", "Procurement Director",
        "--role", "decider",
    )  # fmt: skip
    left = kam(
        "contact", "leave", "acme", "p-1", "--reason", "moved to a competitor",
        "--analysis", "procurement now led by Li Na",
    )  # fmt: skip

    assert ok(changed) == ['recorded ContactChanged (version 9) on "acme": P-1']
    assert ok(left) == ['recorded ContactLeft (version 10) on "acme": P-1']


def test_complaint_reject_prints_the_complaint_id(kam: Kam) -> None:
    play_design_examples(kam)
    kam("complaint", "raise", "acme", "--summary", "torn bags", "--severity", "low")

    result = kam(
        "complaint", "reject", "acme", "c-2", "--justification", "damage happened after delivery"
    )

    assert ok(result) == ['recorded ComplaintRejected (version 10) on "acme": C-2']


def test_money_satisfaction_competitor_and_opportunity_commands_print_what_they_recorded(
    kam: Kam,
) -> None:
    play_design_examples(kam)

    outputs = [
        kam("payment", "record", "acme", "--invoice", "INV-0042", "--amount", "60000"),
        kam("cost", "record", "acme", "--amount", "3500", "--category", "technical service"),
        kam("satisfaction", "record", "acme", "--score", "7.5", "--target", "8.5"),
        kam("competitor", "note", "acme", "DSM", "--products", "phytase", "--strengths", "price"),
        kam(
            "opp", "open", "acme", "--title", "enzyme line 3", "--budget", "500000",
            "--decision-maker", "GM Zhao", "--timeline", "2027-Q1", "--procurement", "tender",
        ),
    ]  # fmt: skip

    assert [ok(r) for r in outputs] == [
        ['recorded PaymentReceived (version 9) on "acme": INV-0042'],
        ['recorded ServiceCostRecorded (version 10) on "acme": technical service'],
        ['recorded SatisfactionMeasured (version 11) on "acme": 7.5'],
        ['recorded CompetitorNoted (version 12) on "acme": DSM'],
        ['recorded OpportunityOpened (version 13) on "acme": O-1'],
    ]


def test_a_command_id_given_twice_is_applied_once_and_says_so(
    kam: Kam, sqlite_locator: str
) -> None:
    play_design_examples(kam)
    args = ["payment", "record", "acme", "--invoice", "INV-0042", "--amount", "100"]
    first = kam(*args, "--command-id", "pay-0042-1")

    again = kam(*args, "--command-id", "pay-0042-1")

    assert ok(first) == ['recorded PaymentReceived (version 9) on "acme": INV-0042']
    assert ok(again) == ['already applied: command pay-0042-1 on "acme"; nothing written']
    assert event_count(sqlite_locator) == FIRST_WRITE + 9


# ------------------------------------------------------------------ reads
SHOW_ACME = """\
acme  正大饲料 Acme Feed

industry  owner   tier  lifecycle  opened      version  last contact
--------  ------  ----  ---------  ----------  -------  ------------
feed      li.wei  key   active     2026-11-01        8  2026-11-20

People
id   name       title               department   roles              influence  type      status
---  ---------  ------------------  -----------  -----------------  ---------  --------  -------
P-1  Wang Fang  Purchasing Manager  procurement  buyer, influencer  high       doubting  current

Visits
  count: 1
  last: V-1 on 2026-11-20: phytase trial

Complaints
id   raised      severity  status    summary                        outcome
---  ----------  --------  --------  -----------------------------  --------------------------------------
C-1  2026-12-01  high      resolved  late delivery, line 2 stopped  credit note; second carrier contracted

Money
currency     revenue  gross margin  service cost  real profit  received  receivable
--------  ----------  ------------  ------------  -----------  --------  ----------
CNY       120,000.00     36,000.00          0.00    36,000.00      0.00  120,000.00
"""  # noqa: E501


def test_account_show_prints_the_file(kam: Kam) -> None:
    play_design_examples(kam)

    result = kam("account", "show", "ACME")

    assert ok(result) == SHOW_ACME.splitlines()


def test_account_show_json_gives_the_file_with_money_as_strings(kam: Kam) -> None:
    play_design_examples(kam)

    view = json.loads(kam("account", "show", "acme", "--json").stdout)

    assert {k: view[k] for k in ("key", "name", "industry", "owner", "tier", "version")} == {
        "key": "acme",
        "name": "正大饲料 Acme Feed",
        "industry": "feed",
        "owner": "li.wei",
        "tier": "key",
        "version": 8,
    }
    # Amounts are stored in one form, with two decimals (issue 10).
    assert view["money"]["CNY"]["receivable"] == "120000.00"
    assert view["money"]["CNY"]["gross_margin"] == "36000.00"
    assert [c["id"] for c in view["complaints"]] == ["C-1"]
    assert view["open_issues"] == []


def test_account_list_prints_a_table_aligned_for_chinese_names(kam: Kam) -> None:
    play_design_examples(kam)
    kam("account", "open", "正大", "--name", "正大集团", "--industry", "饲料", "--owner", "李伟")

    result = kam("account", "list")

    assert ok(result) == [
        "key   name                industry  owner   tier      lifecycle  version  status",
        "----  ------------------  --------  ------  --------  ---------  -------  ------",
        "acme  正大饲料 Acme Feed  feed      li.wei  key       active           8  ok",
        "正大  正大集团            饲料      李伟    prospect  prospect         1  ok",
    ]


def test_account_list_json_of_an_empty_store_is_an_empty_list(empty_store: str) -> None:
    result = invoke(empty_store, "account", "list", "--json")

    assert ok(result) == ["[]"]


def test_account_history_prints_who_did_what_when(kam: Kam) -> None:
    play_design_examples(kam)

    result = kam("account", "history", "acme")

    assert ok(result)[:5] == [
        "version  occurred_on  recorded_at                 actor   type               summary",
        "-------  -----------  --------------------------  ------  -----------------  "
        + "-" * len("contact P-1 Wang Fang, Purchasing Manager (procurement), buyer/influencer"),
        "      1  2026-11-01   2026-12-01 09:00:01 +00:00  li.wei  AccountOpened      "
        'opened "正大饲料 Acme Feed" (feed), owner li.wei, tier prospect',
        "      2  2026-12-01   2026-12-01 09:00:02 +00:00  li.wei  ContactAdded       "
        "contact P-1 Wang Fang, Purchasing Manager (procurement), buyer/influencer",
        "      3  2026-11-20   2026-12-01 09:00:03 +00:00  li.wei  VisitLogged        "
        "visit V-1: phytase trial -> trial of 2 t agreed; issues I-1",
    ]
    assert ok(result)[-1] == (
        "      8  2026-12-01   2026-12-01 09:00:08 +00:00  li.wei  SaleRecorded       "
        "sale INV-0042 phytase: 120,000.00 CNY (cost 84,000.00)"
    )


def test_account_list_and_history_json_have_the_documented_shape(kam: Kam) -> None:
    play_design_examples(kam)
    kam(
        "complaint", "raise", "acme", "--summary", "torn", "--severity", "low", "--command-id", "c9"
    )

    accounts = json.loads(kam("account", "list", "--json").stdout)
    history = json.loads(kam("account", "history", "acme", "--json").stdout)

    assert {k: accounts[0][k] for k in ("key", "name", "industry", "owner", "tier")} == {
        "key": "acme",
        "name": "正大饲料 Acme Feed",
        "industry": "feed",
        "owner": "li.wei",
        "tier": "key",
    }
    assert [e["version"] for e in history] == list(range(1, 10))
    assert {
        k: history[-1][k]
        for k in ("version", "type", "actor", "occurred_on", "recorded_at", "command_id", "payload")
    } == {
        "version": 9,
        "type": "ComplaintRaised",
        "actor": "li.wei",
        "occurred_on": "2026-12-01",
        "recorded_at": "2026-12-01T09:00:09+00:00",
        "command_id": "c9",
        "payload": {"complaint_id": "C-2", "summary_text": "torn", "severity": "low"},
    }
    assert history[7]["payload"]["amount"] == "120000.00"


def test_account_show_at_a_version_and_as_of_a_date(kam: Kam, clock: FakeClock) -> None:
    kam("account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", ACTOR)
    clock.next_day(2)
    kam("tier", "set", "acme", "target", "--reason", "growing")
    clock.next_day(2)
    kam("tier", "set", "acme", "key", "--reason", "top 20%")

    at_v1 = kam("account", "show", "acme", "--version", "1")
    as_of_4th = kam("account", "show", "acme", "--as-of", "2026-12-04")
    now = kam("account", "show", "acme")

    assert ok(at_v1)[:5] == [
        "acme  Acme",
        "",
        "industry  owner   tier      lifecycle  opened      version  last contact",
        "--------  ------  --------  ---------  ----------  -------  ------------",
        "feed      li.wei  prospect  prospect   2026-12-01        1  -",
    ]
    assert ok(as_of_4th)[4] == "feed      li.wei  target  active     2026-12-01        2  -"
    assert ok(now)[4] == "feed      li.wei  key   active     2026-12-01        3  -"


# ------------------------------------------------------------------ apply
APPLY_LINES = [
    {
        "command": "account open", "account": "Beta", "name": "北方 Beta",
        "industry": "feed", "owner": "li.wei", "command_id": "b-1",
    },
    {
        "command": "contact add", "account": "beta", "contact": "Zhao Lei", "title": "GM",
        "department": "management", "roles": ["decider"], "command_id": "b-2",
    },
    {
        "command": "visit log", "account": "beta", "with": ["Zhao Lei"], "purpose": "intro",
        "objective": "meet the GM", "result": "trial agreed", "issues": ["bag size"],
        "command_id": "b-3",
    },
]  # fmt: skip


def write_jsonl(path: Path, lines: list[dict[str, object]], *extra: str) -> Path:
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    path.write_text(text + "".join(extra), encoding="utf-8")
    return path


def test_apply_runs_every_line_of_a_file(kam: Kam, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "beta.jsonl", APPLY_LINES)

    result = kam("apply", str(path))

    assert ok(result) == ["applied 3 commands"]
    assert [e["type"] for e in json.loads(kam("account", "history", "beta", "--json").stdout)] == [
        "AccountOpened",
        "ContactAdded",
        "VisitLogged",
    ]


def test_apply_reads_stdin_and_skips_blank_lines(kam: Kam) -> None:
    lines = [json.dumps(line) for line in APPLY_LINES]

    result = kam("apply", "-", input="\n".join([lines[0], "", lines[1], "   ", lines[2]]) + "\n")

    assert ok(result) == ["applied 3 commands"]
    assert ok(kam("account", "list"))[2].startswith("beta  北方 Beta")


def test_apply_reads_a_file_saved_with_a_byte_order_mark_and_crlf_line_ends(
    kam: Kam, tmp_path: Path
) -> None:
    path = tmp_path / "windows.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + b"".join(json.dumps(line).encode() + b"\r\n" for line in APPLY_LINES)
    )

    result = kam("apply", str(path))

    assert ok(result) == ["applied 3 commands"]


def test_re_applying_a_file_with_command_ids_applies_nothing_twice(
    kam: Kam, sqlite_locator: str, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "beta.jsonl", APPLY_LINES)
    kam("apply", str(path))
    longer = write_jsonl(
        tmp_path / "beta2.jsonl",
        [
            *APPLY_LINES,
            {"command": "visit follow-up", "account": "beta", "issue": "I-1", "result": "ok"},
        ],
    )

    again = kam("apply", str(path))
    extended = kam("apply", str(longer))

    assert ok(again) == ["applied 0 commands, 3 already applied (skipped)"]
    assert ok(extended) == ["applied 1 command, 3 already applied (skipped)"]
    assert event_count(sqlite_locator) == FIRST_WRITE + 4


def test_a_malformed_line_stops_apply_keeping_the_lines_before_it(
    kam: Kam, sqlite_locator: str, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "beta.jsonl",
        APPLY_LINES[:2],
        json.dumps(
            {"command": "complaint raise", "account": "beta", "summary": "late", "severity": "huge"}
        )
        + "\n",
        json.dumps(APPLY_LINES[2]) + "\n",
    )

    result = kam("apply", str(path))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: line 3: invalid \"severity\": input should be 'low', 'medium', 'high' or"
        " 'critical' (got 'huge'); lines before it applied (2 commands), nothing of line 3"
        " or after\n"
    )
    assert event_count(sqlite_locator) == FIRST_WRITE + 2
    assert "Traceback" not in result.output


def test_after_a_failed_apply_the_corrected_file_resumes_where_it_stopped(
    kam: Kam, sqlite_locator: str, tmp_path: Path
) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", APPLY_LINES[:2], "{not json}\n")
    kam("apply", str(bad))
    good = write_jsonl(tmp_path / "good.jsonl", APPLY_LINES)

    result = kam("apply", str(good))

    assert ok(result) == ["applied 1 command, 2 already applied (skipped)"]
    assert event_count(sqlite_locator) == FIRST_WRITE + 3


# ------------------------------------------------------------------ both backends
def test_a_round_trip_on_each_backend(locator: str) -> None:
    kam = invoker(locator)

    play_design_examples(kam)

    assert ok(kam("account", "show", "acme")) == SHOW_ACME.splitlines()
    listed = json.loads(kam("account", "list", "--json").stdout)
    assert [(a["key"], a["tier"], a["version"]) for a in listed] == [("acme", "key", 8)]
    history = json.loads(kam("account", "history", "acme", "--json").stdout)
    assert [e["type"] for e in history][-2:] == ["TierChanged", "SaleRecorded"]
    assert event_count(locator) == FIRST_WRITE + 8


def test_apply_is_idempotent_on_each_backend(locator: str, tmp_path: Path) -> None:
    kam = invoker(locator)
    path = write_jsonl(tmp_path / "beta.jsonl", APPLY_LINES)

    first = kam("apply", str(path))
    again = kam("apply", "-", input=path.read_bytes())

    assert ok(first) == ["applied 3 commands"]
    assert ok(again) == ["applied 0 commands, 3 already applied (skipped)"]
    assert event_count(locator) == FIRST_WRITE + 3


def test_as_of_on_each_backend(locator: str, clock: FakeClock) -> None:
    kam = invoker(locator)
    kam("account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", ACTOR)
    clock.next_day()
    kam("tier", "set", "acme", "target", "--reason", "growing")

    before = json.loads(kam("account", "show", "acme", "--as-of", "2026-12-01", "--json").stdout)
    after = json.loads(kam("account", "show", "acme", "--as-of", "2026-12-02", "--json").stdout)

    assert (before["version"], before["tier"]) == (1, "prospect")
    assert (after["version"], after["tier"]) == (2, "target")


# ------------------------------------------------------------------ the program itself
def test_version_prints_the_program_and_its_version() -> None:
    result = CliRunner().invoke(cli, ["--version"], catch_exceptions=False)

    assert ok(result) == ["kamflow, version 0.1.0"]


def test_the_database_and_actor_come_from_the_environment(sqlite_locator: str) -> None:
    env = {"KAMFLOW_DB": sqlite_locator, "KAMFLOW_ACTOR": "zhang.min"}
    runner = CliRunner(env=env)

    opened = runner.invoke(
        cli,
        ["account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", ACTOR],
        catch_exceptions=False,
    )

    assert ok(opened) == ['recorded AccountOpened (version 1) on "acme"']
    history = json.loads(invoke(sqlite_locator, "account", "history", "acme", "--json").stdout)
    assert history[0]["actor"] == "zhang.min"

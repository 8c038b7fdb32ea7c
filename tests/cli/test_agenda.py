"""Tasks and the agenda as a key-account manager uses them (issue 15, ADR 0022).

Given a small book of two accounts and two managers, each source of due items (tasks,
visit follow-ups, complaint SLAs, contact cadence) appears on its day for its owner, in
the business time zone; the calendar file parses and has one event per item; task
commands refuse what makes no sense in one line, from the command line and from `apply`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock, Kam, fake_clock, invoker, json_of, ok, refusal

# The book is written on 1 December 2026 (09:00 UTC) with the dates it happened.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOOK = [
    # acme: a key account (complaint SLA 5 days, contact cadence 30 days), li.wei's.
    ["account", "open", "acme", "--name", "Acme Feed", "--industry", "feed", "--owner", "li.wei",
     "--tier", "key", "--on", "2026-10-01"],
    ["contact", "add", "acme", "Zhou Tao", "--title", "GM", "--department", "management",
     "--on", "2026-10-01"],
    ["opp", "open", "acme", "--title", "enzyme line 3", "--on", "2026-10-02"],
    ["visit", "log", "acme", "--with", "Zhou Tao", "--purpose", "trial", "--objective", "size",
     "--result", "2 t agreed", "--issue", "price vs DSM", "--on", "2026-11-20"],
    ["complaint", "raise", "acme", "--summary", "late delivery", "--severity", "high",
     "--on", "2026-11-28"],
    ["task", "add", "acme", "call Zhou Tao about O-1", "--due", "2026-12-05", "--about", "O-1"],
    ["task", "add", "acme", "send samples", "--due", "2026-11-25", "--owner", "zhang.min",
     "--on", "2026-11-20"],
    # beta: a target account (cadence 60 days), zhang.min's, never contacted.
    ["account", "open", "beta", "--name", "Beta Foods", "--industry", "food", "--owner",
     "zhang.min", "--tier", "target", "--on", "2026-09-01"],
]  # fmt: skip

# (due_on, owner, key, kind, ref, days_overdue), as the agenda of 1 December sorts them.
BETA_CADENCE = ("2026-10-31", "zhang.min", "beta", "cadence", "", 31)  # 09-01 + 60 days
SAMPLES = ("2026-11-25", "zhang.min", "acme", "task", "T-2", 6)
COMPLAINT = ("2026-12-03", "li.wei", "acme", "complaint", "C-1", 0)  # 11-28 + 5 days
CALL = ("2026-12-05", "li.wei", "acme", "task", "T-1", 0)
FOLLOW_UP = ("2026-12-20", "li.wei", "acme", "follow-up", "I-1", 0)  # 11-20 + 30 days
ACME_CADENCE = ("2026-12-20", "li.wei", "acme", "cadence", "", 0)  # 11-20 + 30 days


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    with fake_clock(NOW, step=timedelta(0)) as fixed:
        yield fixed


@pytest.fixture
def book(locator: str, clock: FakeClock) -> Kam:
    kam = invoker(locator)
    for args in BOOK:
        result = kam(*args)
        assert result.exit_code == 0, result.output
    return kam


def items(result: Any) -> list[tuple[Any, ...]]:
    rows = json_of(result)["rows"]
    cols = ("due_on", "owner", "key", "kind", "ref", "days_overdue")
    return [tuple(r[c] for c in cols) for r in rows]


# ------------------------------------------------------------------ the agenda's sources
def test_each_source_is_due_on_its_day_for_its_owner_overdue_first(book: Kam) -> None:
    found = items(book("agenda", "--days", "30", "--json"))

    assert found == [BETA_CADENCE, SAMPLES, COMPLAINT, CALL, FOLLOW_UP, ACME_CADENCE]


def test_a_week_is_today_and_the_six_days_after(book: Kam) -> None:
    agenda = json_of(book("agenda", "--json"))

    assert [tuple(r[c] for c in ("due_on", "kind")) for r in agenda["rows"]] == [
        ("2026-10-31", "cadence"),
        ("2026-11-25", "task"),
        ("2026-12-03", "complaint"),
        ("2026-12-05", "task"),
    ]
    assert agenda["summary"]["from"] == "2026-12-01"
    assert agenda["summary"]["to"] == "2026-12-07"
    assert (agenda["summary"]["overdue"], agenda["summary"]["due"]) == (2, 2)


def test_one_owners_agenda_has_only_what_they_must_do(book: Kam) -> None:
    assert items(book("agenda", "--owner", "zhang.min", "--days", "30", "--json")) == [
        BETA_CADENCE,
        SAMPLES,
    ]
    assert items(book("agenda", "--owner", "LI.WEI", "--days", "30", "--json")) == [
        COMPLAINT,
        CALL,
        FOLLOW_UP,
        ACME_CADENCE,
    ]


def test_what_is_done_leaves_the_agenda(book: Kam) -> None:
    for args in (
        ["task", "done", "acme", "T-2", "--note", "sent"],
        ["visit", "follow-up", "acme", "I-1", "--result", "price matched"],
        ["complaint", "ack", "acme", "C-1"],
        ["complaint", "resolve", "acme", "C-1", "--outcome", "credit note"],
        ["contact", "add", "beta", "Li Na", "--title", "buyer", "--department", "purchasing"],
        ["visit", "log", "beta", "--with", "Li Na", "--purpose", "p", "--objective", "o",
         "--result", "r"],
    ):  # fmt: skip
        ok(book(*args))

    assert items(book("agenda", "--days", "30", "--json")) == [CALL, ACME_CADENCE]


def test_a_moved_task_is_due_on_its_new_date_and_keeps_its_first(book: Kam) -> None:
    ok(book("task", "move", "acme", "T-1", "--due", "2026-12-08", "--reason", "travelling"))

    (call,) = [r for r in items(book("agenda", "--days", "9", "--json")) if r[4] == "T-1"]
    (task,) = [r for r in json_of(book("task", "list", "--json"))["rows"] if r["key"] == "acme"
               and r["task_id"] == "T-1"]  # fmt: skip
    audit = json_of(book("report", "audit", "--type", "TaskMoved", "--json"))["rows"]

    assert call == ("2026-12-08", "li.wei", "acme", "task", "T-1", 0)
    assert (task["due_on"], task["first_due_on"], task["moves"]) == ("2026-12-08", "2026-12-05", 1)
    assert audit[0]["summary"] == "task T-1 moved 2026-12-05 -> 2026-12-08: travelling"


def test_an_opportunity_is_due_on_its_close_date_until_won_or_lost(
    book: Kam, clock: FakeClock
) -> None:
    ok(book("opp", "close-by", "acme", "O-1", "2026-12-03", "--reason", "tender in December"))
    clock.current = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    past = [r for r in items(book("agenda", "--json")) if r[3] == "opportunity"]
    ok(book("opp", "lose", "acme", "O-1", "--reason", "price"))
    after = [r for r in items(book("agenda", "--json")) if r[3] == "opportunity"]

    assert past == [("2026-12-03", "li.wei", "acme", "opportunity", "O-1", 2)]
    assert after == []


def test_an_owner_no_account_or_task_has_is_one_line_naming_the_owners(book: Kam) -> None:
    line = refusal(book("agenda", "--owner", "nobody"), 1)

    assert line == 'Error: no account or task is owned by "nobody"; owners: li.wei, zhang.min'


# ------------------------------------------------------------------ the business time zone
@pytest.mark.parametrize(
    ("moment", "today", "expected"),
    [
        # 23:30 on 4 December in Shanghai: the task of the 4th is today's.
        (datetime(2026, 12, 4, 15, 30, tzinfo=UTC), "2026-12-04", [("T-1", 0, "today, Fri")]),
        # 00:30 on 5 December there: it is a day overdue, the one of the 5th is today's.
        (
            datetime(2026, 12, 4, 16, 30, tzinfo=UTC),
            "2026-12-05",
            [("T-1", 1, "overdue"), ("T-2", 0, "today, Sat")],
        ),
    ],
    ids=["23:30 Shanghai", "00:30 Shanghai"],
)
def test_the_day_is_the_business_zones(
    sqlite_locator: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    moment: datetime,
    today: str,
    expected: list[tuple[str, int, str]],
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    kam = invoker(sqlite_locator)
    ok(kam(*BOOK[0]))
    ok(kam("task", "add", "acme", "call", "--due", "2026-12-04"))
    ok(kam("task", "add", "acme", "visit", "--due", "2026-12-05"))
    clock.current = moment

    agenda = json_of(kam("agenda", "--days", "1", "--json"))

    tasks = [r for r in agenda["rows"] if r["kind"] == "task"]
    assert agenda["summary"]["from"] == today
    assert [(r["ref"], r["days_overdue"], r["when"][:10]) for r in tasks] == expected


def test_due_today_is_the_business_date_not_the_utc_one(
    sqlite_locator: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    kam = invoker(sqlite_locator)
    ok(kam(*BOOK[0]))
    clock.current = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)  # 00:30 on the 5th in Shanghai

    ok(kam("task", "add", "acme", "call", "--due", "today"))

    (task,) = json_of(kam("task", "list", "--json"))["rows"]
    assert task["due_on"] == "2026-12-05"


# ------------------------------------------------------------------ the calendar file
def events(path: Path) -> list[Any]:
    from icalendar import Calendar

    calendar = Calendar.from_ical(path.read_bytes())
    return list(calendar.walk("VEVENT"))


def test_the_calendar_has_one_event_per_item_and_parses(book: Kam, tmp_path: Path) -> None:
    path = tmp_path / "agenda.ics"

    assert ok(book("agenda", "--days", "30", "--ics", str(path))) == [f"wrote {path}: 6 events"]

    found = events(path)
    by_uid = {str(e["UID"]): e for e in found}
    assert len(found) == len(by_uid) == 6
    call = by_uid["task.acme.T-1@kamflow"]
    assert call.decoded("DTSTART") == date(2026, 12, 5)
    assert str(call["SUMMARY"]) == "acme T-1: call Zhou Tao about O-1"
    assert "account: Acme Feed (acme)" in str(call["DESCRIPTION"])
    # An overdue item is on the day of the export, saying since when it is due.
    beta = by_uid["cadence.beta@kamflow"]
    assert beta.decoded("DTSTART") == date(2026, 12, 1)
    assert str(beta["SUMMARY"]).endswith("(due 2026-10-31, 31 days overdue)")


def test_a_new_export_updates_the_same_events(book: Kam, tmp_path: Path) -> None:
    first, second = tmp_path / "1.ics", tmp_path / "2.ics"
    ok(book("agenda", "--owner", "li.wei", "--days", "30", "--ics", str(first)))
    ok(book("task", "move", "acme", "T-1", "--due", "2026-12-09"))
    ok(book("agenda", "--owner", "li.wei", "--days", "30", "--ics", str(second)))

    before = {str(e["UID"]): e.decoded("DTSTART") for e in events(first)}
    after = {str(e["UID"]): e.decoded("DTSTART") for e in events(second)}

    assert before.keys() == after.keys()
    assert before["task.acme.T-1@kamflow"] == date(2026, 12, 5)
    assert after["task.acme.T-1@kamflow"] == date(2026, 12, 9)


def test_the_calendar_is_written_alone(book: Kam, tmp_path: Path) -> None:
    line = refusal(book("agenda", "--ics", str(tmp_path / "a.ics"), "--json"), 2)

    assert "--ics writes the calendar alone" in line
    assert not (tmp_path / "a.ics").exists()


# ------------------------------------------------------------------ formats
def test_the_agenda_as_csv_and_xlsx(book: Kam, tmp_path: Path) -> None:
    import openpyxl

    lines = ok(book("agenda", "--days", "30", "--csv"))
    path = tmp_path / "agenda.xlsx"
    ok(book("agenda", "--days", "30", "--xlsx", str(path)))
    sheet = openpyxl.load_workbook(path)["rows"]

    assert lines[0] == "due_on,when,days_overdue,owner,key,account,kind,ref,what"
    assert lines[1] == (
        "2026-10-31,overdue,31,zhang.min,beta,Beta Foods,cadence,,"
        "contact due (every 60 days; never contacted)"
    )
    assert [c.value for c in sheet[1]][:5] == ["due_on", "when", "days_overdue", "owner", "key"]
    assert sheet.max_row == 7


def test_the_agenda_for_people_is_grouped_by_day_within_80_columns(book: Kam, locator: str) -> None:
    screen = invoker(locator, env={"COLUMNS": "80"})

    lines = ok(screen("agenda", "--owner", "li.wei", "--days", "30"))

    assert lines[0] == "agenda for li.wei, 2026-12-01 to 2026-12-30 (overdue first)"
    assert [line for line in lines if line.startswith(("Thu", "Sat", "Sun", "overdue"))] == [
        "Thu 2026-12-03",
        "Sat 2026-12-05",
        "Sun 2026-12-20",
    ]
    assert max(len(line) for line in lines) <= 80


def test_the_task_list_by_owner_and_overdue(book: Kam) -> None:
    ok(book("task", "add", "beta", "first visit", "--due", "2026-11-30", "--on", "2026-11-02"))

    overdue = json_of(book("task", "list", "--overdue", "--json"))["rows"]
    mine = json_of(book("task", "list", "--owner", "li.wei", "--json"))["rows"]
    csv = ok(book("task", "list", "--csv"))

    assert [(r["key"], r["task_id"], r["days_overdue"]) for r in overdue] == [
        ("acme", "T-2", 6),
        ("beta", "T-1", 1),
    ]
    assert [(r["key"], r["task_id"]) for r in mine] == [("acme", "T-1")]
    assert csv[0].startswith("key,task_id,due_on,days_overdue,owner,status,title,about")


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["task", "add", "acme", "x", "--due", "2026-12-09", "--about", "O-7"], 1,
         'Error: no opportunity O-7 on "acme"'),
        (["task", "add", "acme", "x", "--due", "2026-12-09", "--about", "I-2"], 1,
         'Error: no issue I-2 on "acme"'),
        (["task", "add", "acme", "x", "--due", "2026-12-09", "--about", "Z-1"], 1,
         "Error: a task is about one of O-n (opportunity), C-n (complaint), I-n (issue),"
         " P-n (contact), not Z-1"),
        (["task", "add", "acme", "x", "--due", "2026-09-30"], 2,
         'Error: "acme" was opened on 2026-10-01; a task cannot be --due on 2026-09-30,'
         " before it"),
        (["task", "done", "acme", "T-9"], 1, 'Error: no task T-9 on "acme"'),
        (["task", "move", "acme", "T-1", "--due", "2026-12-05"], 1,
         'Error: task T-1 on "acme" is already due on 2026-12-05'),
        (["task", "cancel", "acme", "T-1"], 2, "Error: missing option --reason"),
    ],
    ids=["unknown opportunity", "unknown issue", "unknown kind", "before opening",
         "unknown task", "same date", "cancel without reason"],
)  # fmt: skip
def test_a_task_command_that_makes_no_sense_is_refused_in_one_line(
    book: Kam, locator: str, args: list[str], code: int, line: str
) -> None:
    before = json_of(book("account", "show", "acme", "--json"))["version"]

    assert refusal(book(*args), code) == line
    assert json_of(book("account", "show", "acme", "--json"))["version"] == before


def test_done_twice_and_moving_a_cancelled_task_are_refused(book: Kam) -> None:
    ok(book("task", "done", "acme", "T-1", "--note", "called"))
    ok(book("task", "cancel", "acme", "T-2", "--reason", "samples no longer wanted"))

    assert refusal(book("task", "done", "acme", "T-1"), 1) == (
        'Error: task T-1 on "acme" is already done'
    )
    assert refusal(book("task", "move", "acme", "T-2", "--due", "2026-12-20"), 1) == (
        'Error: task T-2 on "acme" is already cancelled'
    )


def test_tasks_through_apply(book: Kam) -> None:
    lines = [
        {"command": "task add", "account": "acme", "title": "book the review",
         "due": "2026-12-10", "about": "C-1"},
        {"command": "task done", "account": "acme", "task": "T-3", "note": "booked"},
        {"command": "task done", "account": "acme", "task": "T-3"},
    ]  # fmt: skip
    text = "".join(json.dumps(line) + "\n" for line in lines)

    result = book("apply", "-", input=text)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'Error: line 3: task T-3 on "acme" is already done; lines before it applied'
        " (2 commands), nothing of line 3 or after"
    ]
    (task,) = [r for r in json_of(book("task", "list", "--all", "--json"))["rows"]
               if r["task_id"] == "T-3"]  # fmt: skip
    assert (task["status"], task["about"], task["note"]) == ("done", "C-1", "booked")

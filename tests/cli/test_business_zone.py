"""The business time zone (issue 10, ADR 0015): the team's day, not UTC's.

One setting, ``--tz`` > ``KAMFLOW_TZ`` > the team's recorded ``timezone`` > the
machine's zone (``TZ``, ``/etc/localtime``), decides which day an instant falls on:
the default ``--on``, the future check, the end of an ``--as-of`` day, the reports'
today; and every printed time is shown in it with its offset. Stored record times stay
UTC. Every test sets the zone and the clock itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FIRST_WRITE, FakeClock, Kam, event_count, fake_clock, invoker

from kamflow.application import Kamflow

# 04:29 in Shanghai on 1 December is still 30 November in UTC.
SHANGHAI_DAWN = datetime(2026, 11, 30, 20, 29, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Record time stays where it is put: at SHANGHAI_DAWN unless a test moves it."""
    with fake_clock(SHANGHAI_DAWN, step=timedelta(0)) as fixed:
        yield fixed


@pytest.fixture
def shanghai(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's zone is China's, as for the teams kamflow is for."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")


@pytest.fixture
def kam(locator: str, clock: FakeClock) -> Kam:
    return invoker(locator)


def open_acme(kam: Kam) -> None:
    for args in (
        ["account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", "li.wei",
         "--on", "2026-11-01"],
        ["contact", "add", "acme", "Wang Fang", "--title", "PM", "--department", "procurement",
         "--on", "2026-11-01"],
    ):  # fmt: skip
        result = kam(*args)
        assert result.exit_code == 0, result.output


VISIT = ["visit", "log", "acme", "--with", "Wang Fang", "--purpose", "intro",
         "--objective", "map needs", "--result", "ok"]  # fmt: skip


def history(kam: Kam) -> list[dict[str, object]]:
    result = kam("account", "history", "acme", "--json")
    assert result.exit_code == 0, result.output
    records: list[dict[str, object]] = json.loads(result.stdout)
    return records


# ------------------------------------------------------------------ today
def test_at_dawn_in_shanghai_today_is_the_first_of_december(
    kam: Kam, locator: str, shanghai: None
) -> None:
    open_acme(kam)

    typed = kam(*VISIT, "--on", "2026-12-01")
    defaulted = kam(*VISIT, "--again")  # the same visit, a second one (ADR 0020)

    assert (typed.exit_code, typed.stderr) == (0, "")
    assert (defaulted.exit_code, defaulted.stderr) == (0, "")
    assert [e["occurred_on"] for e in history(kam)[-2:]] == ["2026-12-01", "2026-12-01"]


def test_the_future_is_the_day_after_the_business_date_of_the_record_time(
    kam: Kam, locator: str, shanghai: None
) -> None:
    open_acme(kam)

    result = kam(*VISIT, "--on", "2026-12-02")

    assert result.stderr == "Error: date 2026-12-02 is in the future; today is 2026-12-01\n"
    assert result.exit_code == 2
    assert event_count(locator) == FIRST_WRITE + 2


def test_today_and_yesterday_are_business_dates(kam: Kam, shanghai: None) -> None:
    open_acme(kam)

    assert kam(*VISIT, "--on", "today").exit_code == 0
    assert kam(*VISIT, "--on", "Yesterday").exit_code == 0

    assert [e["occurred_on"] for e in history(kam)[-2:]] == ["2026-12-01", "2026-11-30"]


def test_apply_reads_today_in_the_business_zone(kam: Kam, shanghai: None, tmp_path: Path) -> None:
    open_acme(kam)
    line = {"command": "cost record", "account": "acme", "amount": "10", "category": "x"}
    path = tmp_path / "lines.jsonl"
    path.write_text(
        "\n".join(json.dumps({**line, "on": on}) for on in ("today", "yesterday")) + "\n",
        encoding="utf-8",
    )

    result = kam("apply", str(path))

    assert result.exit_code == 0, result.output
    assert [e["occurred_on"] for e in history(kam)[-2:]] == ["2026-12-01", "2026-11-30"]


def test_stored_record_times_stay_utc(locator: str, clock: FakeClock, shanghai: None) -> None:
    open_acme(invoker(locator))
    kf = Kamflow(locator)
    try:
        stored = kf.app.events.get(kf.load("acme").id)
        assert [e.timestamp for e in stored] == [SHANGHAI_DAWN, SHANGHAI_DAWN]
        assert all(e.timestamp.utcoffset() == timedelta(0) for e in stored)
    finally:
        kf.close()


# ------------------------------------------------------------------ as of
def test_as_of_a_day_ends_at_midnight_in_the_business_zone(
    kam: Kam, locator: str, clock: FakeClock, shanghai: None
) -> None:
    clock.current = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 on the 30th in Shanghai
    open_acme(kam)
    clock.current = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 01:00 on 1 December there
    assert (
        kam("tier", "set", "acme", "target", "--reason", "r", "--on", "2026-11-30").exit_code == 0
    )

    shown = kam("account", "show", "acme", "--as-of", "2026-11-30", "--json")
    audit = kam("report", "audit", "--as-of", "2026-11-30", "--json")
    in_utc = kam("--tz", "UTC", "account", "show", "acme", "--as-of", "2026-11-30", "--json")

    assert json.loads(shown.stdout)["version"] == 2
    assert [r["type"] for r in json.loads(audit.stdout)["rows"]] == [
        "Started",  # governance, and its first writer became admin (ADR 0023)
        "AdminBootstrapped",
        "AccountOpened",
        "ContactAdded",
    ]
    assert json.loads(in_utc.stdout)["version"] == 3


def test_an_account_not_yet_recorded_names_its_first_business_day(kam: Kam, shanghai: None) -> None:
    open_acme(kam)

    result = kam("account", "show", "acme", "--as-of", "2026-11-30")

    assert result.stderr == (
        'Error: account "acme" was not yet recorded on 2026-11-30 (first recorded 2026-12-01)\n'
    )
    assert result.exit_code == 1


# ------------------------------------------------------------------ reports' today
def test_reports_count_ages_in_business_days(kam: Kam, clock: FakeClock, shanghai: None) -> None:
    open_acme(kam)
    kam("complaint", "raise", "acme", "--summary", "late", "--severity", "low",
        "--on", "2026-11-21")  # fmt: skip

    report = json.loads(kam("report", "complaints", "--json").stdout)

    assert report["report"] == "open complaints (as of 2026-12-01)"
    assert [r["age_days"] for r in report["rows"]] == [10]


# ------------------------------------------------------------------ printed times
def test_every_printed_record_time_is_in_the_business_zone_with_its_offset(
    kam: Kam, shanghai: None
) -> None:
    open_acme(kam)
    kam("policy", "set", "credit-limit.key", "2000000", "--reason", "board")

    table = kam("account", "history", "acme").stdout
    shown = json.loads(kam("account", "show", "acme", "--json").stdout)
    audit = json.loads(kam("report", "audit", "--json").stdout)
    audit_table = kam("report", "audit").stdout
    audit_csv = kam("report", "audit", "--csv").stdout
    policies = json.loads(kam("policy", "show", "--json").stdout)

    assert "2026-12-01 04:29:00 +08:00" in table
    assert [e["recorded_at"] for e in history(kam)] == ["2026-12-01T04:29:00+08:00"] * 2
    assert shown["recorded_at"] == "2026-12-01T04:29:00+08:00"
    assert {r["recorded_at"] for r in audit["rows"]} == {"2026-12-01T04:29:00+08:00"}
    assert "2026-12-01 04:29:00 +08:00" in audit_table
    assert "2026-12-01T04:29:00+08:00" in audit_csv
    (limit,) = [p for p in policies if p["policy"] == "credit-limit.key"]
    assert limit["set_at"] == "2026-12-01T04:29:00+08:00"


# ------------------------------------------------------------------ which zone
def test_the_team_setting_is_recorded_shown_and_used(
    kam: Kam, locator: str, clock: FakeClock
) -> None:
    # The machine says UTC (tests/conftest.py): the team works in Shanghai.
    set_zone = kam("policy", "set", "timezone", "Asia/Shanghai", "--reason", "team in Beijing")
    open_acme(kam)

    policies = json.loads(kam("policy", "show", "--json").stdout)
    kam(*VISIT)

    assert set_zone.stdout == (
        "recorded Started (version 1), AdminBootstrapped (version 2), SettingSet (version 3)"
        ' on "governance":'
        " timezone = Asia/Shanghai\n"
    )
    (setting,) = [p for p in policies if p["policy"] == "timezone"]
    assert (setting["value"], setting["default"], setting["set_by"]) == (
        "Asia/Shanghai",
        False,
        "li.wei",
    )
    assert history(kam)[-1]["occurred_on"] == "2026-12-01"
    # Reports read the setting from the views (kf_policies), and show times in it.
    audit = json.loads(kam("report", "audit", "--json").stdout)
    assert audit["rows"][-1]["recorded_at"] == "2026-12-01T04:29:00+08:00"


def test_the_policy_history_records_a_change_of_zone(kam: Kam) -> None:
    kam("policy", "set", "timezone", "Asia/Shanghai", "--reason", "team in Beijing")

    again = kam("policy", "set", "timezone", "Asia/Shanghai", "--reason", "again")
    moved = kam("policy", "set", "timezone", "Asia/Urumqi", "--reason", "moved west")
    audit = json.loads(kam("report", "audit", "--json").stdout)

    assert (again.exit_code, again.stderr) == (
        1,
        "Error: setting timezone is already Asia/Shanghai\n",
    )
    assert moved.exit_code == 0
    assert audit["rows"][-1]["summary"] == (
        "setting timezone: Asia/Shanghai -> Asia/Urumqi (moved west)"
    )


def test_the_option_beats_the_environment_which_beats_the_team_setting(
    kam: Kam, monkeypatch: pytest.MonkeyPatch
) -> None:
    kam("policy", "set", "timezone", "America/New_York", "--reason", "r")
    open_acme(kam)

    def shown(*args: str) -> str:
        result = kam(*args, "account", "show", "acme", "--json")
        assert result.exit_code == 0, result.output
        return str(json.loads(result.stdout)["recorded_at"])

    team = shown()
    monkeypatch.setenv("KAMFLOW_TZ", "Europe/Berlin")
    environment = shown()
    option = shown("--tz", "Asia/Tokyo")

    assert team == "2026-11-30T15:29:00-05:00"
    assert environment == "2026-11-30T21:29:00+01:00"
    assert option == "2026-12-01T05:29:00+09:00"


@pytest.mark.parametrize(
    ("tz", "name"),
    [
        ("Asia/Shanghai", "Asia/Shanghai"),
        (":Asia/Shanghai", "Asia/Shanghai"),
        ("/usr/share/zoneinfo/Asia/Shanghai", "Asia/Shanghai"),
        ("Europe/London", "Europe/London"),
    ],
)
def test_the_machine_zone_comes_from_tz(
    monkeypatch: pytest.MonkeyPatch, tz: str, name: str
) -> None:
    from kamflow.zones import local_zone

    monkeypatch.setenv("TZ", tz)

    assert local_zone().key == name


def test_without_tz_the_machine_zone_is_the_one_etc_localtime_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kamflow.zones
    from kamflow.zones import local_zone

    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Shanghai")
    monkeypatch.delenv("TZ")
    monkeypatch.setattr(kamflow.zones, "LOCALTIME", link)
    monkeypatch.setattr(kamflow.zones, "TIMEZONE_FILE", tmp_path / "none")

    assert local_zone().key == "Asia/Shanghai"


def test_with_no_zone_named_anywhere_the_machine_zone_is_utc(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kamflow.zones
    from kamflow.zones import local_zone

    monkeypatch.setenv("TZ", "CST-8")  # a POSIX rule, not a zone name
    monkeypatch.setattr(kamflow.zones, "LOCALTIME", tmp_path / "none")
    monkeypatch.setattr(kamflow.zones, "TIMEZONE_FILE", tmp_path / "none")

    assert local_zone().key == "UTC"


# ------------------------------------------------------------------ the demo
def test_the_demo_records_during_office_hours_in_the_business_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kamflow.demo import build_demo

    monkeypatch.setenv("KAMFLOW_TZ", "America/New_York")
    kf = Kamflow(str(tmp_path / "demo.db"))
    try:
        build_demo(kf, accounts=3, seed=7, today=date(2026, 11, 30))
        events = [e for a in kf.accounts() for e in kf.history(a.key)]
    finally:
        kf.close()

    assert events
    assert all(9 <= e.recorded_at.hour < 18 for e in events)
    assert all(e.recorded_at.date() == e.occurred_on for e in events)


def test_the_last_team_setting_counts_when_a_write_reads_it(
    kam: Kam, locator: str, clock: FakeClock
) -> None:
    # A write reads the setting from the governance log's stored JSON (Kamflow.zone),
    # without loading the governance aggregate: the same answer, the last one set.
    kam("policy", "set", "timezone", "Asia/Shanghai", "--reason", "team in Beijing")
    kam("policy", "set", "timezone", "Europe/Berlin", "--reason", "team moved")
    kam("policy", "set", "timezone", "Asia/Shanghai", "--reason", "moved back")

    store = Kamflow(locator, clock=clock)

    assert str(store.zone) == "Asia/Shanghai"
    assert store.governance().settings["timezone"] == "Asia/Shanghai"

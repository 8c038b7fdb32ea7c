"""The director's monthly review (issue 15, ADR 0021): periods, --compare, owners,
currencies converted at the rate of each business date, the scorecard, the forecast.

Every figure asserted here is worked out by hand in the comments from the commands that
build the store. Business dates are given with --on; the module clock is a fake one, so
"today" (the report date) is the test's, in the business time zone Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import Kam, fake_clock, invoker, json_of, ok, refusal

from kamflow.output import width

TODAY = date(2026, 12, 1)
ZONE = {"KAMFLOW_TZ": "Asia/Shanghai"}


def D(text: str) -> Decimal:  # reads like the figures it checks
    return Decimal(text)


def report(kam: Kam, *args: str) -> Any:
    return json_of(kam("report", *args, "--json"))


def rows_by_key(found: Any) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in found["rows"]}


def money(value: Any) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def review(locator: str) -> Iterator[Kam]:
    """Two accounts, two owners, two currencies, three months (September to November
    2026), and rates for USD from 1 September (7.00) and 15 October (7.20):

    acme (li.wei, CNY): sales 10,000 (cost 6,000) on 2026-09-10, 20,000 (12,000) on
    2026-10-05, 30,000 (15,000) on 2026-11-20; service cost 1,000 on 2026-11-05.
    globex (zhang.min, USD): sales 500 (300) on 2026-08-20, before any rate; 1,000 (600)
    on 2026-10-10 at 7.00; 1,000 (500) on 2026-10-20 at 7.20; 2,000 (1,000) on
    2026-11-03 at 7.20; service cost 100 on 2026-11-06 at 7.20.
    """
    kam = invoker(locator, env=ZONE)
    with fake_clock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)):  # 10:00 in Shanghai
        for key, owner, currency in (("acme", "li.wei", "CNY"), ("globex", "zhang.min", "USD")):
            ok(kam("account", "open", key, "--name", key.title(), "--industry", "feed",
                   "--owner", owner, "--tier", "key", "--currency", currency,
                   "--on", "2026-08-01"))  # fmt: skip
        ok(kam("fx", "set", "USD", "CNY", "7.00", "--on", "2026-09-01", "--source", "boc mid"))
        ok(kam("fx", "set", "USD", "CNY", "7.20", "--on", "2026-10-15", "--source", "boc mid"))
        for key, invoice, amount, cost, on in (
            ("acme", "A1", "10000", "6000", "2026-09-10"),
            ("acme", "A2", "20000", "12000", "2026-10-05"),
            ("acme", "A3", "30000", "15000", "2026-11-20"),
            ("globex", "G1", "500", "300", "2026-08-20"),
            ("globex", "G2", "1000", "600", "2026-10-10"),
            ("globex", "G3", "1000", "500", "2026-10-20"),
            ("globex", "G4", "2000", "1000", "2026-11-03"),
        ):
            ok(kam("sale", "record", key, "--invoice", invoice, "--product", "phytase",
                   "--amount", amount, "--cost", cost, "--on", on))  # fmt: skip
        for key, amount, on in (("acme", "1000", "2026-11-05"), ("globex", "100", "2026-11-06")):
            ok(kam("cost", "record", key, "--amount", amount, "--category", "service",
                   "--on", on))  # fmt: skip
        yield kam


def test_a_month_counts_only_its_business_dates_converted_at_each_days_rate(
    review: Kam,
) -> None:
    found = report(review, "portfolio", "--month", "2026-10")
    rows = rows_by_key(found)
    # acme: A2 only. globex: G2 at 7.00 (7,000; cost 4,200), G3 at 7.20 (7,200; 3,600).
    assert (money(rows["acme"]["revenue"]), money(rows["acme"]["real_profit"])) == (
        D("20000.00"),
        D("8000.00"),
    )
    assert (money(rows["globex"]["revenue"]), money(rows["globex"]["real_profit"])) == (
        D("14200.00"),
        D("6400.00"),
    )
    assert found["period"] == {"name": "2026-10", "from": "2026-10-01", "to": "2026-10-31"}
    used = {(r["from"], r["rate"], r["applied"], r["amounts"]) for r in found["rates_used"]}
    assert used == {("2026-09-01", "7.00", "x", 1), ("2026-10-15", "7.20", "x", 1)}
    assert "no_rate" not in found


def test_compare_previous_gives_the_other_month_and_the_change(review: Kam) -> None:
    found = report(review, "portfolio", "--month", "2026-11", "--compare", "previous")
    rows = rows_by_key(found)
    # November: acme 30,000 - 15,000 - 1,000 = 14,000; globex G4 14,400 - 7,200 - 720
    # (service 100 x 7.20) = 6,480. October as above: 20,000 / 8,000 and 14,200 / 6,400.
    acme, globex = rows["acme"], rows["globex"]
    assert money(acme["revenue_then"]) == D("20000.00")
    assert money(acme["revenue_change"]) == D("10000.00")
    assert money(acme["revenue_change_pct"]) == D("50.0")
    assert money(globex["revenue_change"]) == D("200.00")
    assert money(globex["revenue_change_pct"]) == D("1.4")  # 200 / 14,200
    assert money(globex["real_profit"]) == D("6480.00")
    compared = found["summary"]["compare"]
    assert compared["period"]["name"] == "2026-10"
    assert money(found["summary"]["revenue"]) == D("44400.00")
    assert money(compared["revenue_then"]) == D("34200.00")
    assert money(compared["revenue_change"]) == D("10200.00")
    assert money(compared["revenue_change_pct"]) == D("29.8")  # 10,200 / 34,200
    assert money(compared["real_profit_change"]) == D("6080.00")  # 20,480 - 14,400
    assert money(compared["real_profit_change_pct"]) == D("42.2")


def test_compare_last_year_with_nothing_then_has_no_percentage(review: Kam) -> None:
    found = report(review, "portfolio", "--month", "2026-11", "--compare", "last-year")
    acme = rows_by_key(found)["acme"]
    assert found["summary"]["compare"]["period"]["name"] == "2025-11"
    assert (money(acme["revenue_then"]), acme["revenue_change_pct"]) == (D("0.00"), None)


def test_an_amount_with_no_rate_on_its_date_is_listed_not_counted(review: Kam) -> None:
    found = report(review, "portfolio", "--quarter", "2026Q3")
    rows = rows_by_key(found)
    # Q3: acme A1 (10,000); globex G1 on 2026-08-20, before the first USD rate.
    assert money(rows["acme"]["revenue"]) == D("10000.00")
    assert money(rows["globex"]["revenue"]) == D("0.00")
    assert found["no_rate"] == [
        {
            "key": "globex",
            "kind": "sales",
            "occurred_on": "2026-08-20",
            "currency": "USD",
            "amount": "500.00",
        }
    ]
    assert any("1 amounts in USD have no rate to CNY" in n for n in found["notes"])


def test_the_reverse_pair_converts_by_dividing_rounded_half_even(review: Kam) -> None:
    found = report(review, "portfolio", "--currency", "USD")
    acme = rows_by_key(found)["acme"]
    # 10,000 / 7.00 = 1,428.571 -> 1,428.57; 20,000 / 7.00 = 2,857.143 -> 2,857.14;
    # 30,000 / 7.20 = 4,166.667 -> 4,166.67: 8,452.38. Costs 857.14 + 1,714.29 +
    # 2,083.33 = 4,654.76; service 1,000 / 7.20 = 138.89. Profit 3,658.73.
    assert money(acme["revenue"]) == D("8452.38")
    assert money(acme["real_profit"]) == D("3658.73")
    # globex's own USD, all of it (G1 too: no conversion needed).
    assert money(rows_by_key(found)["globex"]["revenue"]) == D("4500.00")
    assert {r["applied"] for r in found["rates_used"]} == {"/"}


def test_owner_filter_and_grouping(review: Kam) -> None:
    found = report(review, "portfolio", "--month", "2026-11", "--owner", "Zhang.Min")
    assert [r["key"] for r in found["rows"]] == ["globex"]
    assert money(found["summary"]["revenue"]) == D("14400.00")
    grouped = report(review, "portfolio", "--by", "owner")["by_owner"]
    # All time: acme 60,000 (profit 60,000 - 33,000 - 1,000); globex 7,000 + 7,200 +
    # 14,400 = 28,600 (profit 28,600 - 15,000 - 720); G1 has no rate.
    assert [(g["owner"], money(g["revenue"]), money(g["real_profit"])) for g in grouped] == [
        ("li.wei", D("60000.00"), D("26000.00")),
        ("zhang.min", D("28600.00"), D("12880.00")),
    ]


def test_the_scorecard_gives_one_line_per_manager_and_the_total(review: Kam) -> None:
    found = report(review, "scorecard", "--month", "2026-11", "--compare", "previous")
    lines = {r["owner"]: r for r in found["rows"]}
    assert list(lines) == ["li.wei", "zhang.min", "total"]
    assert (money(lines["li.wei"]["revenue"]), money(lines["li.wei"]["real_profit"])) == (
        D("30000.00"),
        D("14000.00"),
    )
    assert money(lines["zhang.min"]["revenue_change"]) == D("200.00")
    assert money(lines["total"]["revenue"]) == D("44400.00")
    assert money(lines["total"]["revenue_change_pct"]) == D("29.8")
    assert lines["li.wei"]["accounts"] == 1


def test_ytd_and_from_to_are_periods_too(review: Kam) -> None:
    ytd = report(review, "portfolio", "--ytd")
    assert ytd["period"] == {"name": "2026 to 2026-12-01", "from": "2026-01-01", "to": "2026-12-01"}
    span = report(review, "portfolio", "--from", "2026-10-10", "--to", "2026-10-20")
    # G2 and G3 only: 7,000 + 7,200.
    assert money(rows_by_key(span)["globex"]["revenue"]) == D("14200.00")
    assert money(rows_by_key(span)["acme"]["revenue"]) == D("0.00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2026-11", "--ytd"), "give one period, not --month and --ytd"),
        (("--compare", "previous"), "--compare previous needs a period"),
        (("--month", "2026-13"), "is not a month"),
        (("--quarter", "2026Q5"), "is not a quarter"),
        (("--from", "2026-11-02", "--to", "2026-11-01"), "is after --to"),
        (
            ("--currency", "XYZ"),
            'no account, amount or rate is in "XYZ"; currencies present: CNY, USD',
        ),
        (("--owner", "nobody"), 'no account is owned by "nobody"; owners: li.wei, zhang.min'),
    ],
)
def test_bad_period_currency_or_owner_is_one_line(
    review: Kam, args: tuple[str, ...], message: str
) -> None:
    for name in ("portfolio", "scorecard", "funnel"):
        assert message in refusal(review("report", name, *args), 2)


def test_fx_import_checks_every_line_first_and_skips_what_is_recorded(
    review: Kam, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("currency,quote,rate,on,source\nEUR,CNY,7.8,2026-11-01,ecb\nEUR,CNY,-1,x,y\n")
    assert "bad.csv line 3" in refusal(review("fx", "import", str(bad)), 2)
    assert len(json_of(review("fx", "show", "--json"))["rows"]) == 2  # nothing written
    good = tmp_path / "rates.csv"
    good.write_text(
        "currency,quote,rate,on,source\nEUR,CNY,7.8,2026-11-01,ecb\nUSD,CNY,7.20,2026-10-15,boc\n"
    )
    assert ok(review("fx", "import", str(good))) == [
        f"recorded 1 rate from {good}; 1 was already recorded"
    ]


def test_new_reports_fit_80_columns_and_have_csv_and_xlsx(
    review: Kam, locator: str, tmp_path: Path
) -> None:
    narrow = invoker(locator, env={**ZONE, "COLUMNS": "80"})
    for args in (
        ("report", "scorecard", "--month", "2026-11", "--compare", "previous"),
        ("report", "portfolio", "--month", "2026-11", "--compare", "previous", "--by", "owner"),
        ("report", "funnel", "--currency", "CNY"),
        ("fx", "show"),
    ):
        lines = ok(narrow(*args))
        assert max(width(line) for line in lines) <= 80, args
        assert ok(narrow(*args, "--csv"))[0].startswith(("owner,", "key,", "stage,", "currency,"))
        out = tmp_path / f"{args[1]}.xlsx"
        assert ok(narrow(*args, "--xlsx", str(out)))[0].startswith(f"wrote {out}")


@pytest.fixture
def pipeline(sqlite_locator: str) -> Kam:
    """One account with four open opportunities, recorded on 2026-12-01:

    O-1 lead, budget 100,000, close by 2026-12-15 (10%: 10,000);
    O-2 budget 200,000, close by 2026-12-20, qualified on 2026-10-01 (25%: 50,000);
    O-3 lead, budget 50,000, close by 2027-01-10, probability set to 40 (20,000);
    O-4 lead, budget 10,000, no close date (1,000).
    Stale after 30 days (policy); every opportunity opened on 2026-09-01.
    """
    kam = invoker(sqlite_locator, env=ZONE)
    with fake_clock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)):
        ok(kam("account", "open", "acme", "--name", "Acme", "--industry", "feed",
               "--owner", "li.wei", "--tier", "key", "--on", "2026-08-01"))  # fmt: skip
        ok(kam("policy", "set", "opportunity-stale-days", "30", "--reason", "monthly review"))
        for title, budget, close_by in (
            ("line 1", "100000", "2026-12-15"),
            ("line 2", "200000", "2026-12-20"),
            ("line 3", "50000", "2027-01-10"),
            ("line 4", "10000", None),
        ):
            by = ["--close-by", close_by] if close_by else []
            ok(kam("opp", "open", "acme", "--title", title, "--budget", budget,
                   "--on", "2026-09-01", *by))  # fmt: skip
        ok(kam("opp", "advance", "acme", "O-2", "qualified", "--on", "2026-10-01"))
        ok(kam("opp", "probability", "acme", "O-3", "40", "--reason", "trial passed",
               "--on", "2026-10-02"))  # fmt: skip
    return kam


def funnel_on(kam: Kam, day: date, *args: str) -> Any:
    with fake_clock(datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)):
        return report(kam, "funnel", *args)


def test_weighted_pipeline_by_close_month(pipeline: Kam) -> None:
    found = funnel_on(pipeline, TODAY)
    by_month = [
        (m["close_month"], m["opportunities"], money(m["budget"]), money(m["weighted"]))
        for m in found["weighted_by_month"]
    ]
    assert by_month == [
        ("2026-12", 2, D("300000.00"), D("60000.00")),  # 10,000 + 50,000
        ("2027-01", 1, D("50000.00"), D("20000.00")),
        ("none", 1, D("10000.00"), D("1000.00")),
    ]
    assert money(found["summary"]["weighted_pipeline"]["CNY"]) == D("81000.00")
    o3 = next(o for o in found["open_opportunities"] if o["opportunity_id"] == "O-3")
    assert (money(o3["probability_pct"]), o3["close_by"]) == (D("40"), "2027-01-10")


@pytest.mark.parametrize(
    ("day", "stale"),
    [(date(2026, 10, 30), False), (date(2026, 10, 31), False), (date(2026, 11, 1), True)],
)
def test_stale_after_the_policys_days_not_on_them(pipeline: Kam, day: date, stale: bool) -> None:
    # O-2's last stage step: 2026-10-01; 29, 30 and 31 days later.
    found = funnel_on(pipeline, day)
    o2 = next(o for o in found["open_opportunities"] if o["opportunity_id"] == "O-2")
    assert ("stale" in o2["flags"]) is stale, o2["flags"]


@pytest.mark.parametrize(
    ("day", "past"),
    [(date(2026, 12, 14), False), (date(2026, 12, 15), False), (date(2026, 12, 16), True)],
)
def test_past_close_only_after_the_close_date(pipeline: Kam, day: date, past: bool) -> None:
    found = funnel_on(pipeline, day)
    o1 = next(o for o in found["open_opportunities"] if o["opportunity_id"] == "O-1")
    assert ("past close 2026-12-15" in o1["flags"]) is past, o1["flags"]


def test_close_date_changes_are_recorded_and_shown(pipeline: Kam, sqlite_locator: str) -> None:
    with fake_clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)):
        ok(pipeline("opp", "close-by", "acme", "O-1", "2027-02-28", "--reason", "tender moved"))
        assert "is before the opportunity's opening" in refusal(
            pipeline("opp", "close-by", "acme", "O-1", "2026-08-01", "--reason", "x"), 2
        )
    found = funnel_on(pipeline, TODAY)
    months = {m["close_month"]: m["opportunities"] for m in found["weighted_by_month"]}
    assert months == {"2026-12": 1, "2027-01": 1, "2027-02": 1, "none": 1}
    from kamflow.projections.db import ViewDB

    db = ViewDB(sqlite_locator)
    try:
        assert (
            db.scalar(
                "SELECT close_by FROM kf_opportunities WHERE key='acme' AND opportunity_id='O-1'"
            )
            == "2027-02-28"
        )
    finally:
        db.close()


def test_a_period_keeps_what_is_expected_to_close_in_it(pipeline: Kam) -> None:
    found = funnel_on(pipeline, TODAY, "--month", "2026-12")
    assert sorted(o["opportunity_id"] for o in found["open_opportunities"]) == ["O-1", "O-2"]


def test_owner_filters_complaints_and_cadence_too(review: Kam) -> None:
    with fake_clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)):
        ok(review("complaint", "raise", "globex", "--summary", "late delivery",
                  "--severity", "high", "--on", "2026-11-20"))  # fmt: skip
    mine = report(review, "complaints", "--owner", "li.wei")
    theirs = report(review, "complaints", "--owner", "zhang.min")
    assert (mine["rows"], [r["key"] for r in theirs["rows"]]) == ([], ["globex"])
    cadence = report(review, "cadence", "--owner", "li.wei")
    assert [r["key"] for r in cadence["rows"]] == ["acme"]
    assert "no account is owned by" in refusal(review("report", "cadence", "--owner", "x"), 2)


def test_as_of_says_what_the_log_held_and_combines_with_a_period(review: Kam) -> None:
    # A November sale entered late, on 3 December.
    with fake_clock(datetime(2026, 12, 3, 2, 0, tzinfo=UTC)):
        ok(review("sale", "record", "acme", "--invoice", "A4", "--product", "phytase",
                  "--amount", "5000", "--cost", "2000", "--on", "2026-11-25"))  # fmt: skip
        now = report(review, "portfolio", "--month", "2026-11")
        then = report(review, "portfolio", "--month", "2026-11", "--as-of", "2026-12-01")
    assert money(rows_by_key(now)["acme"]["revenue"]) == D("35000.00")
    assert money(rows_by_key(then)["acme"]["revenue"]) == D("30000.00")


def test_scorecard_against_a_year_with_nothing_has_no_percentage(review: Kam) -> None:
    found = report(review, "scorecard", "--month", "2026-11", "--compare", "last-year")
    total = found["rows"][-1]
    assert (total["owner"], total["revenue_then"], total["revenue_change_pct"]) == (
        "total",
        "0.00",
        None,
    )

"""`kamflow demo`: a realistic year of key-account work, built through the real commands."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kamflow import application
from kamflow.application import Kamflow, account_view
from kamflow.demo import DemoSummary, build_demo, render_summary
from kamflow.domain.errors import Conflict, InvalidInput

TODAY = date(2026, 6, 30)


@dataclass(frozen=True)
class Built:
    kamflow: Kamflow
    summary: DemoSummary
    locator: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    locator = str(tmp_path_factory.mktemp("demo") / "demo.db")
    kamflow = Kamflow(locator)
    seen: list[int] = []
    summary = build_demo(kamflow, seed=7, today=TODAY, progress=seen.append)
    assert seen and seen[-1] == summary.events
    yield Built(kamflow, summary, locator)
    kamflow.close()


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_builds_sixty_accounts_with_chinese_and_english_names(demo: Built) -> None:
    every = demo.kamflow.accounts()
    # The demo's corrections add one duplicate key, merged into the biggest account.
    accounts = [a for a in every if a.lifecycle != "merged"]
    assert [a.key for a in every if a.lifecycle == "merged"] == [
        f"{demo.summary.top_account}-import"
    ]

    assert demo.summary.accounts == len(accounts) == 60
    names = [str(a.profile["name"]) for a in accounts]
    assert sum(_has_chinese(n) for n in names) >= 20
    assert any(not _has_chinese(n) for n in names)
    assert all(a.key.isascii() for a in accounts)
    assert len({a.profile["industry"] for a in accounts}) >= 4
    assert demo.summary.by_tier.keys() == {"strategic", "key", "target", "prospect"}
    assert sum(demo.summary.by_tier.values()) == 60
    assert 2_000 <= demo.summary.events == demo.kamflow.event_count()


def test_complaints_mostly_reach_an_outcome_and_a_few_stay_open(demo: Built) -> None:
    complaints = [c for a in demo.kamflow.accounts() for c in a.complaints.values()]

    assert len(complaints) == demo.summary.complaints_raised
    with_outcome = [c for c in complaints if c["outcome"] is not None]
    assert len(with_outcome) == demo.summary.complaints_with_outcome
    assert demo.summary.complaints_open == len(complaints) - len(with_outcome) > 0
    assert len(with_outcome) > len(complaints) / 2
    statuses = {c["status"] for c in complaints}
    assert {"closed", "rejected"} & statuses
    assert statuses & {"raised", "acknowledged", "investigating", "escalated"}


def test_value_is_concentrated_and_some_accounts_are_below_zero(demo: Built) -> None:
    views = [account_view(a) for a in demo.kamflow.accounts()]
    cny = [v["money"]["CNY"] for v in views if "CNY" in v["money"]]
    revenue = sorted((m["revenue"] for m in cny), reverse=True)

    # The 80/20 shape (docs/domain.md, Key accounts and the 80/20 rule): the top fifth of
    # accounts brings most of the revenue.
    assert sum(revenue[: len(revenue) // 5]) > Decimal("0.6") * sum(revenue)
    below_zero = [
        v["key"]
        for v in views
        for m in v["money"].values()
        if m["revenue"] > 0 and m["real_profit"] < 0
    ]
    assert len(below_zero) >= 2
    assert set(demo.summary.revenue) >= {"CNY", "USD"}
    assert any(m["receivable"] > 0 for v in views for m in v["money"].values())


def test_a_second_run_on_the_same_store_is_refused_and_writes_nothing(demo: Built) -> None:
    before = demo.kamflow.event_count()

    with pytest.raises(Conflict, match=r"already holds .* events; the demo needs a fresh one"):
        build_demo(demo.kamflow, seed=7, today=TODAY)

    assert demo.kamflow.event_count() == before


def test_record_time_spans_the_year_and_never_precedes_business_dates(demo: Built) -> None:
    first: list[datetime] = []
    last: list[datetime] = []

    for account in demo.kamflow.accounts()[:12]:
        history = list(demo.kamflow.history(account.key))
        times = [e.recorded_at for e in history]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert all(e.occurred_on <= e.recorded_at.date() for e in history)
        assert all(e.recorded_at.date() - e.occurred_on <= timedelta(days=1) for e in history)
        first.append(times[0])
        last.append(times[-1])

    assert min(first).date() >= TODAY - timedelta(days=365)
    assert max(last).date() < TODAY
    assert max(last) - min(first) > timedelta(days=300)
    assert demo.summary.first_on == TODAY - timedelta(days=365)
    assert demo.summary.last_on == TODAY - timedelta(days=1)


def test_the_demo_history_passes_the_workflow_checks(demo: Built) -> None:
    for account in demo.kamflow.accounts():
        assert demo.kamflow.check_workflows(account.key) == []


def test_the_real_clock_is_back_after_the_demo(demo: Built) -> None:
    assert abs(application.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_same_seed_gives_the_same_history(tmp_path: Path) -> None:
    runs = []
    for name in ("one.db", "two.db"):
        kamflow = Kamflow(str(tmp_path / name))
        build_demo(kamflow, accounts=8, seed=42, today=TODAY)
        keys = [a.key for a in kamflow.accounts()]
        histories = {
            key: [
                (e.type, e.actor, e.occurred_on, e.recorded_at, e.payload)
                for e in kamflow.history(key)
            ]
            for key in keys
        }
        runs.append((kamflow.event_count(), keys, histories))
        kamflow.close()

    assert runs[0] == runs[1]
    assert len(runs[0][1]) == 8 + 1  # and the duplicate key the corrections merge


def test_a_portfolio_needs_at_least_one_account(tmp_path: Path) -> None:
    kamflow = Kamflow(str(tmp_path / "none.db"))

    with pytest.raises(InvalidInput, match="--accounts"):
        build_demo(kamflow, accounts=0)

    assert kamflow.event_count() == 0
    kamflow.close()


def test_the_summary_says_what_was_built_and_what_to_try_next(demo: Built) -> None:
    text = render_summary(demo.summary, demo.locator)

    assert f"{demo.summary.accounts} accounts" in text
    assert f"{demo.summary.events:,} events" in text
    assert f"kamflow --db {demo.locator} account list" in text
    assert f"account show {demo.summary.top_account}" in text
    assert "kamflow account list" in render_summary(demo.summary, "kamflow.db")

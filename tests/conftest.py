"""Shared fixtures: real SQLite files and, where reachable, the real PostgreSQL.

`locator` runs a test once per backend. PostgreSQL tests get a schema of their own,
dropped afterwards; without a server they skip with the reason shown in the summary.
`fake_clock` puts record time under a test's control.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kamflow.application import Kamflow, set_clock

# Tests never depend on the machine's time zone: the business zone is UTC unless a test
# says otherwise (TZ or KAMFLOW_TZ set by the test, --tz, or a recorded team setting).
os.environ["TZ"] = "UTC"
os.environ.pop("KAMFLOW_TZ", None)


def event_count(locator: str) -> int:
    """Events in the store, read by a Kamflow of its own."""
    kamflow = Kamflow(locator)
    try:
        return kamflow.event_count()
    finally:
        kamflow.close()


def typed(value: Any) -> Any:
    """A value with the type of every part made visible, so that a Decimal that came
    back as a float, a list as a tuple or a date as a string compares unequal."""
    if isinstance(value, dict):
        return ("dict", {(type(k).__name__, k): typed(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    return (type(value).__name__, value)


class FakeClock:
    """Record time under the test's control: one second per reading, days on demand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current

    def next_day(self, days: int = 1) -> None:
        day = self.current.date() + timedelta(days=days)
        self.current = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)

    @property
    def today(self) -> date:
        return self.current.date()


@contextlib.contextmanager
def fake_clock(day: date) -> Iterator[FakeClock]:
    """kamflow's clock at 09:00 UTC on ``day``, for the length of the block."""
    fake = FakeClock(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))
    set_clock(fake)
    try:
        yield fake
    finally:
        set_clock(None)


POSTGRES_URL = os.environ.get(
    "KAMFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_problem() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"


_PROBLEM: str | bool | None = False


def postgres_problem() -> str | None:
    global _PROBLEM
    if _PROBLEM is False:
        _PROBLEM = _postgres_problem()
        if _PROBLEM and os.environ.get("CI"):
            # In CI PostgreSQL is part of the contract: fail, never skip quietly.
            raise RuntimeError(_PROBLEM)
    return _PROBLEM  # type: ignore[return-value]


@pytest.fixture
def sqlite_locator(tmp_path: Path) -> str:
    return str(tmp_path / "kamflow.db")


@pytest.fixture
def postgres_locator() -> Iterator[str]:
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    with postgres_schema() as url:
        yield url


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A locator for a fresh PostgreSQL schema, dropped with everything in it after."""
    import psycopg

    schema = f"kf_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def locator(request: pytest.FixtureRequest) -> str:
    """A fresh, empty store: once as a SQLite file, once as a PostgreSQL schema."""
    name = "sqlite_locator" if request.param == "sqlite" else "postgres_locator"
    return str(request.getfixturevalue(name))

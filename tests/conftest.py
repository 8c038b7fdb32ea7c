"""Shared fixtures: real SQLite files and, where reachable, the real PostgreSQL.

`locator` runs a test once per backend. PostgreSQL tests get a schema of their own,
dropped afterwards; without a server they skip with the reason shown in the summary.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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

"""The sealed recorders keep eventsourcing's recorder contract (ADR 0017): its own
contract tests (``eventsourcing.tests.persistence``), run against kamflow's recorders
on a real SQLite file and a real PostgreSQL schema, then the chain they wrote walked."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_URL, postgres_problem
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from kamflow.seal import GENESIS, link
from kamflow.sealed import SealedSQLiteRecorder, head, iter_sealed, orphans


def _walks(recorder: Any) -> None:
    """Whatever the contract test wrote forms one valid chain: every event sealed, each
    seal linked to the one before. (Not ``seal.walk``: the contract tests write versions
    from 0 and in any order, which kamflow's accounts never do.)"""
    previous = GENESIS
    count = 0
    for row in iter_sealed(recorder):
        expected = link(previous, row.position, row.originator_id, row.version, row.topic,
                        row.state)  # fmt: skip
        assert row.seal == expected, f"position {row.position}: seal does not chain"
        previous, count = expected, count + 1
    assert orphans(recorder) == []
    assert head(recorder) == (count, previous)


class SQLiteStore:
    """A fresh SQLite file per test, as eventsourcing's own SQLite tests use one."""

    def setUp(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="kamflow-contract-")
        self.recorders: list[Any] = []

    def tearDown(self) -> None:
        for recorder in self.recorders:
            _walks(recorder)
            recorder.datastore.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_recorder(self) -> SealedSQLiteRecorder:
        datastore = SQLiteDatastore(str(Path(self.folder) / "store.db"))
        recorder = SealedSQLiteRecorder(datastore)
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder


class TestSealedSQLiteRecorder(SQLiteStore, ApplicationRecorderTestCase[SealedSQLiteRecorder]):
    def setUp(self) -> None:
        SQLiteStore.setUp(self)
        ApplicationRecorderTestCase.setUp(self)

    def tearDown(self) -> None:
        ApplicationRecorderTestCase.tearDown(self)
        SQLiteStore.tearDown(self)


class TestSealedSQLiteNonInterleaving(SQLiteStore, NonInterleavingNotificationIDsBaseCase):
    def setUp(self) -> None:
        SQLiteStore.setUp(self)

    def tearDown(self) -> None:
        SQLiteStore.tearDown(self)


class PostgresStore:
    """A fresh PostgreSQL schema per test, dropped after."""

    def setUp(self) -> None:
        problem = postgres_problem()
        if problem:
            pytest.skip(problem)
        import psycopg

        self.schema = f"kf_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        self.recorders: list[Any] = []

    def tearDown(self) -> None:
        import psycopg

        try:
            for recorder in self.recorders:
                _walks(recorder)
        finally:
            for recorder in self.recorders:
                recorder.datastore.close()
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def create_recorder(self) -> Any:
        from eventsourcing.postgres import PostgresDatastore
        from psycopg.conninfo import conninfo_to_dict

        from kamflow.sealed_postgres import SealedPostgresRecorder

        info = conninfo_to_dict(POSTGRES_URL)
        datastore = PostgresDatastore(
            dbname=str(info.get("dbname", "postgres")),
            host=str(info.get("host", "127.0.0.1")),
            port=str(info.get("port", "5432")),
            user=str(info.get("user", "postgres")),
            password=str(info.get("password", "")),
            schema=self.schema,
            pool_size=4,
            max_overflow=8,
        )
        recorder = SealedPostgresRecorder(datastore, events_table_name="kamflow_events")
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder


class TestSealedPostgresRecorder(PostgresStore, ApplicationRecorderTestCase[Any]):
    def setUp(self) -> None:
        PostgresStore.setUp(self)
        ApplicationRecorderTestCase.setUp(self)

    def tearDown(self) -> None:
        ApplicationRecorderTestCase.tearDown(self)
        PostgresStore.tearDown(self)


class TestSealedPostgresNonInterleaving(PostgresStore, NonInterleavingNotificationIDsBaseCase):
    def setUp(self) -> None:
        PostgresStore.setUp(self)

    def tearDown(self) -> None:
        PostgresStore.tearDown(self)

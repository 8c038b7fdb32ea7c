"""The sealed PostgreSQL recorder and the factory that makes it (ADR 0017).

A module of its own so that a SQLite store never imports psycopg (see
``kamflow/sealed.py`` for the tables and the read API).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import ApplicationRecorder, ProgrammingError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from kamflow.seal import GENESIS
from kamflow.sealed import (
    META,
    SEAL_BATCH,
    SEALS,
    _meta_rows,
    as_uuid,
    chain_seals,
    position_taken,
    sealing_off,
)


class SealedPostgresRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, sealing each event it inserts
    in the transaction that inserts it, after eventsourcing's EXCLUSIVE lock on the
    events table (which serialises every writer of this application)."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if self.datastore.enable_db_functions:
            # eventsourcing's insert function takes no table lock and seals nothing.
            raise ProgrammingError("kamflow's sealed recorder does not use database functions")
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (position bigint PRIMARY KEY,"
                " seal bytea NOT NULL CHECK (length(seal) = 32))"
            ).format(schema, Identifier(SEALS)),
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (name text PRIMARY KEY, value text NOT NULL)"
            ).format(schema, Identifier(META)),
        ]
        self._previous = SQL(
            "SELECT seal FROM {}.{} WHERE position < %s ORDER BY position DESC LIMIT 1"
        ).format(schema, Identifier(SEALS))
        self._insert_seals = SQL("INSERT INTO {}.{} (position, seal) VALUES (%s, %s)").format(
            schema, Identifier(SEALS)
        )
        self._algorithm = SQL("SELECT value FROM {}.{} WHERE name = 'algorithm'").format(
            schema, Identifier(META)
        )

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if not positions:
            return positions
        # Still inside the transaction that holds the table lock taken before the insert.
        curs.execute(self._previous, (positions[0],))
        found = curs.fetchone()
        previous = bytes(found["seal"]) if found is not None else GENESIS
        try:
            curs.executemany(self._insert_seals, chain_seals(previous, positions, stored_events))
        except psycopg.errors.UniqueViolation:
            raise position_taken(positions[0]) from None
        return positions

    def create_table(self) -> None:
        super().create_table()
        self.seal_history()

    def seal_history(self) -> None:
        """Seal a store written before sealing existed, once, on first use: every event
        in one transaction under the events table's EXCLUSIVE lock."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._algorithm)
            if curs.fetchone() is not None:
                return
            with conn.transaction():
                for statement in self.lock_table_statements:
                    curs.execute(statement)
                curs.execute(self._algorithm)
                if curs.fetchone() is None:
                    self._seal_all(curs)

    def _seal_all(self, curs: Cursor[DictRow]) -> None:
        schema = Identifier(self.datastore.schema)
        select = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM {}.{} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(schema, Identifier(self.events_table_name))
        previous, last, first = GENESIS, 0, 0
        while True:
            curs.execute(select, (last, SEAL_BATCH))
            rows = curs.fetchall()
            if not rows:
                break
            events = [
                StoredEvent(
                    as_uuid(r["originator_id"]),
                    r["originator_version"],
                    r["topic"],
                    bytes(r["state"]),
                )
                for r in rows
            ]
            sealed = chain_seals(previous, [int(r["notification_id"]) for r in rows], events)
            curs.executemany(
                SQL(
                    "INSERT INTO {}.{} (position, seal) VALUES (%s, %s)"
                    " ON CONFLICT (position) DO UPDATE SET seal = EXCLUDED.seal"
                ).format(schema, Identifier(SEALS)),
                sealed,
            )
            first = first or sealed[0][0]
            last, previous = sealed[-1]
        curs.executemany(
            SQL("INSERT INTO {}.{} (name, value) VALUES (%s, %s)").format(schema, Identifier(META)),
            _meta_rows(first, last),
        )


class PostgresStoreFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, making the sealed application recorder."""

    application_recorder_class = SealedPostgresRecorder

    def application_recorder(self) -> ApplicationRecorder:
        if not sealing_off():
            return super().application_recorder()
        # The benchmark's baseline: eventsourcing's own recorder, table for table.
        recorder = PostgresApplicationRecorder(
            datastore=self.datastore,
            events_table_name=f"{self.env.name.lower() or 'stored'}_events",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

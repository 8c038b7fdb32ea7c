"""The sealed PostgreSQL recorder and the factory that makes it (ADR 0017).

A module of its own so that a SQLite store never imports psycopg (see
``kamflow/sealed.py`` for the tables and the read API).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier, Literal

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
from kamflow.signing import SIGNATURES, WriteSigner


class SealedPostgresRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, sealing each event it inserts
    in the transaction that inserts it, after eventsourcing's EXCLUSIVE lock on the
    events table (which serialises every writer of this application); and offering
    that lock for a whole load-decide-save (``write_lock``). ``sealing``: as
    ``kamflow.sealed.SealedSQLiteRecorder``'s."""

    sealing = True

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self._held = threading.local()
        self.signer: WriteSigner | None = None  # as SealedSQLiteRecorder's (ADR 0025)
        if self.datastore.enable_db_functions:
            # eventsourcing's insert function takes no table lock and seals nothing.
            raise ProgrammingError("kamflow's sealed recorder does not use database functions")
        schema = Identifier(self.datastore.schema)
        self._lock = SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
            schema, Identifier(self.events_table_name)
        )
        if not self.sealing:
            return
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (position bigint PRIMARY KEY,"
                " seal bytea NOT NULL CHECK (length(seal) = 32))"
            ).format(schema, Identifier(SEALS)),
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (name text PRIMARY KEY, value text NOT NULL)"
            ).format(schema, Identifier(META)),
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (position bigint PRIMARY KEY,"
                " last_position bigint NOT NULL, signer text NOT NULL, behalf text NOT NULL,"
                " key_id text NOT NULL, anchor bytea NOT NULL, signature bytea NOT NULL)"
            ).format(schema, Identifier(SIGNATURES)),
        ]
        self._insert_signature = SQL(
            "INSERT INTO {}.{} (position, last_position, signer, behalf, key_id, anchor,"
            " signature) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        ).format(schema, Identifier(SIGNATURES))
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
        if not positions or not self.sealing:
            return positions
        # Still inside the transaction that holds the table lock taken before the insert.
        curs.execute(self._previous, (positions[0],))
        found = curs.fetchone()
        previous = bytes(found["seal"]) if found is not None else GENESIS
        sealed = chain_seals(previous, positions, stored_events)
        try:
            curs.executemany(self._insert_seals, sealed)
            if self.signer is not None:
                curs.execute(self._insert_signature, self.signer.row(sealed, previous))
        except psycopg.errors.UniqueViolation:
            raise position_taken(positions[0]) from None
        return positions

    def create_table(self) -> None:
        super().create_table()
        if self.sealing:
            self.seal_history()

    @contextlib.contextmanager
    def write_lock(
        self, wait: float, *, exclusive: Sequence[UUID] = (), shared: Sequence[UUID] = ()
    ) -> Iterator[None]:
        """Hold a write lock for the block, waiting at most ``wait`` seconds for it:
        events this thread inserts in the block are written in this transaction,
        committed at its end (rolled back if an insert failed or the block raised).
        PostgreSQL queues lock waiters first come, first served. Raises
        eventsourcing's OperationalError when the lock is not had in time.

        Without ids: the events table's EXCLUSIVE lock (the one every insert takes)
        for the whole block. With ids (ADR 0029): transaction-level advisory locks,
        ``exclusive`` ones (the aggregate decided on) and ``shared`` ones (what the
        decision reads, such as the roster), taken in that order of ids; the table
        lock is then taken only by the insert, in the same transaction, so writers of
        other aggregates decide meanwhile and the seals still form one chain (each is
        computed under the table lock, which is held until the commit)."""
        milliseconds = f"{max(1, round(wait * 1000))}ms"
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            # lock_timeout covers advisory locks too; kept for the insert's table lock.
            curs.execute(SQL("SET LOCAL lock_timeout = {}").format(Literal(milliseconds)))
            # A wait past the timeout: eventsourcing's OperationalError (get_connection).
            if exclusive or shared:
                # Always in one order of ids (shared before exclusive when both name
                # one id), so two writers never wait for each other's advisory locks.
                wanted = {advisory_key(i): "" for i in exclusive}
                wanted.update({advisory_key(i): "_shared" for i in shared if i not in exclusive})
                for key in sorted(wanted):
                    curs.execute(_ADVISORY[wanted[key]], (key,))
                self._held.table = False
            else:
                curs.execute(self._lock)
                curs.execute(SQL("SET LOCAL lock_timeout = 0"))
                self._held.table = True
            self._held.cursor, self._held.failed = curs, False
            try:
                yield
            finally:
                self._held.cursor = None
            if self._held.failed:
                raise psycopg.Rollback()

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        if getattr(self._held, "cursor", None) is None:
            super()._lock_table(curs)
        elif not self._held.table:
            # Advisory locks held: the table lock now, for the insert and its seals,
            # waiting as long as write_lock's lock_timeout allows.
            curs.execute(self._lock)
        # else the table lock is held already: no round trips

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        curs = getattr(self._held, "cursor", None)
        if curs is None:
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return inserted
        try:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            positions = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        except psycopg.IntegrityError as exc:
            self._held.failed = True
            raise IntegrityError(str(exc)) from exc
        except BaseException:
            self._held.failed = True
            raise
        return positions

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


# The two advisory locks a writer takes on an aggregate (ADR 0029), as whole statements.
_ADVISORY = {
    "": SQL("SELECT pg_advisory_xact_lock(%s)"),
    "_shared": SQL("SELECT pg_advisory_xact_lock_shared(%s)"),
}


def advisory_key(aggregate_id: UUID) -> int:
    """The advisory lock key of an aggregate: its id's first 64 bits, as PostgreSQL's
    signed bigint. Two ids sharing them only take turns, as every writer did before."""
    return int.from_bytes(aggregate_id.bytes[:8], "big", signed=True)


class PostgresStoreFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, making the sealed application recorder."""

    application_recorder_class = SealedPostgresRecorder

    def application_recorder(self) -> ApplicationRecorder:
        if not sealing_off():
            return super().application_recorder()
        # The benchmark's baseline (and an "older kamflow" in tests): no seal tables.
        recorder = UnsealedPostgresRecorder(
            datastore=self.datastore,
            events_table_name=f"{self.env.name.lower() or 'stored'}_events",
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder


class UnsealedPostgresRecorder(SealedPostgresRecorder):
    """The same recorder without seals or their tables (``sealing_off``)."""

    sealing = False

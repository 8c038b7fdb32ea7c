"""The sealed log: eventsourcing's recorders sealing every event in the transaction
that stores it, and the read of the log with its seals. ADR 0017; the format is
``kamflow/seal.py``.

Tables (next to eventsourcing's events table, in the same file or schema):

- ``kamflow_seals(position PRIMARY KEY, seal BLOB/BYTEA)``: the 32-byte seal of the
  event at that log position (SQLite rowid, PostgreSQL notification_id).
- ``kamflow_seal_meta(name PRIMARY KEY, value)``: ``algorithm`` (``seal.ALGORITHM``);
  on a store written before sealing existed, ``sealed_after_from`` and
  ``sealed_after_to``: the first and last positions sealed after the fact, on first
  use (all in one transaction, under the write lock).

Writers: ``SealedSQLiteRecorder`` (here; SQLite's write lock, taken by the first
insert, serialises writers) and ``SealedPostgresRecorder`` (``kamflow.sealed_postgres``,
imported only for PostgreSQL; eventsourcing's EXCLUSIVE lock on the events table
serialises writers). Each reads the previous seal inside that lock, so concurrent
writers keep one chain. The factories choose them (``kamflow.sqlite_store``,
``kamflow.sealed_postgres``); ``KAMFLOW_BENCHMARK_NO_SEAL=1`` makes the factories use
eventsourcing's plain recorders, for the benchmark's baseline only.

The read API (stable; other modules build on it). ``source`` is a ``Kamflow`` or one
of the sealed recorders (``kamflow.app.recorder``):

- ``iter_sealed(source, start=1, *, batch=2000) -> Iterator[seal.Row]``: every event
  at position >= ``start`` with its stored seal (None: no seal), in log order, read in
  batches of ``batch`` rows inside one read transaction (memory flat in the log size);
  a generator: close it (``contextlib.closing``) when stopping early.
- ``by_account(source, snapshots_table, *, batch=2000)``: a context manager giving two
  streams of ``StoredEvent`` in account order (id, then version) read in one read
  transaction: the snapshots, and the events of accounts with snapshots up to each
  one's last (what ``audit verify`` replays); memory flat in the log size.
- ``orphans(source) -> list[int]``: positions that have a seal but no event.
- ``head(source) -> tuple[int, bytes]``: (how many events the log holds, the seal
  stored for its last event; ``seal.GENESIS`` for an empty log).
- ``seal_meta(source) -> dict[str, str]``: the meta table ({} on a store never sealed).
- ``is_sealed(source) -> bool``: whether the store has the seal tables.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from kamflow.domain.errors import StorageError
from kamflow.seal import ALGORITHM, GENESIS, Row, link
from kamflow.signing import INSERT as SIGNATURE_INSERT
from kamflow.signing import SQLITE_TABLE as SIGNATURES_TABLE
from kamflow.signing import WriteSigner

SEALS = "kamflow_seals"
META = "kamflow_seal_meta"
# Read by the factories only: the benchmark's baseline without seals (never for use).
NO_SEAL_ENV = "KAMFLOW_BENCHMARK_NO_SEAL"
SEAL_BATCH = 2000


def sealing_off() -> bool:
    """Whether the benchmark asked for eventsourcing's plain recorders."""
    return os.environ.get(NO_SEAL_ENV, "") == "1"


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def chain_seals(
    previous: bytes, positions: Sequence[int], events: Sequence[StoredEvent]
) -> list[tuple[int, bytes]]:
    """(position, seal) of each event just inserted at ``positions``, chained from
    ``previous`` (the seal of the event before the first)."""
    sealed: list[tuple[int, bytes]] = []
    for position, event in zip(positions, events, strict=True):
        previous = link(
            previous,
            position,
            as_uuid(event.originator_id),
            event.originator_version,
            event.topic,
            bytes(event.state),
        )
        sealed.append((position, previous))
    return sealed


def position_taken(position: int) -> StorageError:
    """A new event's position already has a seal: the log's last events were removed
    (SQLite hands their rowids out again). Writing on would bury the evidence."""
    return StorageError(
        f"position {position} of the log already has a seal, but no event: events were"
        " removed from the end of the log outside kamflow; nothing was written (run"
        " `kamflow audit verify`)"
    )


# ------------------------------------------------------------------ SQLite
class SealedSQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, sealing each event it inserts, and
    offering the store's write lock for a whole load-decide-save (``write_lock``).

    ``sealing = False`` (the factory, for ``KAMFLOW_BENCHMARK_NO_SEAL``): no seal
    tables, no seals, as kamflow before ADR 0017 (the benchmark's baseline, and the
    tests' stores "written by an older kamflow")."""

    sealing = True

    def __init__(
        self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name)
        self._held = threading.local()
        # Who signs the events inserted now (kamflow.signing, ADR 0025); set by Kamflow.
        self.signer: WriteSigner | None = None

    def construct_create_table_statements(self) -> list[str]:
        if not self.sealing:
            return super().construct_create_table_statements()
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {SEALS} ("
            "position INTEGER PRIMARY KEY, seal BLOB NOT NULL CHECK (length(seal) = 32))",
            f"CREATE TABLE IF NOT EXISTS {META} (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            SIGNATURES_TABLE,
        ]

    def create_table(self) -> None:
        super().create_table()
        if self.sealing:
            self.seal_history()

    @contextlib.contextmanager
    def write_lock(
        self, wait: float, *, exclusive: Sequence[UUID] = (), shared: Sequence[UUID] = ()
    ) -> Iterator[None]:
        """Hold SQLite's write lock (BEGIN IMMEDIATE) for the block: events this thread
        inserts in it are written in this transaction, committed at its end (rolled
        back if an insert failed or the block raised). ``wait``: seconds; SQLite waits
        for another writer as long as the connection's busy timeout, which the factory
        set from the same lock timeout. Raises eventsourcing's OperationalError when
        the lock is not had in time. ``exclusive`` and ``shared`` (the aggregates a
        PostgreSQL writer locks alone, ADR 0029) change nothing: SQLite has one
        writer at a time whatever it writes."""
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise OperationalError(exc) from exc
            self._held.cursor, self._held.failed = cursor, False
            try:
                yield
            except BaseException:
                conn.rollback()
                raise
            finally:
                self._held.cursor = None
            try:
                if self._held.failed:
                    conn.rollback()
                else:
                    conn.commit()
            except sqlite3.OperationalError as exc:
                raise OperationalError(exc) from exc

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        cursor = getattr(self._held, "cursor", None)
        if cursor is None:
            return super().insert_events(stored_events, **kwargs)
        try:
            return self._insert_events(cursor, stored_events, **kwargs)
        except sqlite3.IntegrityError as exc:
            self._held.failed = True
            raise IntegrityError(exc) from exc
        except BaseException:
            self._held.failed = True
            raise

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The first INSERT takes SQLite's write lock (nothing was read before it in
        # this transaction), so the seal read next is the latest: no other writer can
        # commit until this transaction ends.
        positions = super()._insert_events(c, stored_events, **kwargs)
        if not positions or not self.sealing:
            return positions
        c.execute(
            f"SELECT seal FROM {SEALS} WHERE position < ? ORDER BY position DESC LIMIT 1",
            (positions[0],),
        )
        found = c.fetchone()
        previous = bytes(found[0]) if found is not None else GENESIS
        sealed = chain_seals(previous, positions, stored_events)
        try:
            c.executemany(f"INSERT INTO {SEALS} (position, seal) VALUES (?, ?)", sealed)
            if self.signer is not None:
                # Signed in the same transaction: the write and its signature, or neither.
                c.execute(SIGNATURE_INSERT.format("?"), self.signer.row(sealed, previous))
        except sqlite3.IntegrityError:
            raise position_taken(positions[0]) from None
        return positions

    def seal_history(self) -> None:
        """Seal a store written before sealing existed, once, on first use: every event
        in one transaction under the write lock (BEGIN IMMEDIATE), recorded in the meta
        table. Cheap when done already: one read."""
        if self._meta_value("algorithm") is not None:
            return
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(f"SELECT value FROM {META} WHERE name = 'algorithm'")
                if cursor.fetchone() is None:
                    self._seal_all(cursor)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def _meta_value(self, name: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT value FROM {META} WHERE name = ?", (name,))
            found = c.fetchone()
            return None if found is None else str(found[0])

    def _seal_all(self, cursor: Any) -> None:
        previous, last, first = GENESIS, 0, 0
        while True:
            cursor.execute(
                "SELECT rowid, originator_id, originator_version, topic, state"
                f" FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, SEAL_BATCH),
            )
            rows = cursor.fetchall()
            if not rows:
                break
            events = [StoredEvent(UUID(r[1]), r[2], r[3], bytes(r[4])) for r in rows]
            sealed = chain_seals(previous, [int(r[0]) for r in rows], events)
            cursor.executemany(
                f"INSERT OR REPLACE INTO {SEALS} (position, seal) VALUES (?, ?)", sealed
            )
            first = first or sealed[0][0]
            last, previous = sealed[-1]
        cursor.executemany(
            f"INSERT INTO {META} (name, value) VALUES (?, ?)", _meta_rows(first, last)
        )


def _meta_rows(first: int, last: int) -> list[tuple[str, str]]:
    rows = [("algorithm", ALGORITHM)]
    if last:
        rows += [("sealed_after_from", str(first)), ("sealed_after_to", str(last))]
    return rows


# ------------------------------------------------------------------ reading
def _recorder(source: Any) -> Any:
    app = getattr(source, "app", None)
    return app.recorder if app is not None else source


def _postgres(recorder: Any) -> bool:
    return not isinstance(recorder, SQLiteApplicationRecorder)


def is_sealed(source: Any) -> bool:
    """Whether the store has the seal tables (a store opened read-only that was
    written before sealing existed has none)."""
    recorder = _recorder(source)
    if _postgres(recorder):
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute("SELECT to_regclass(%s) AS t", (f"{recorder.datastore.schema}.{META}",))
            row = curs.fetchone()
            return row is not None and row["t"] is not None
    with recorder.datastore.transaction(commit=False) as c:
        c.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = ?", (META,))
        return bool(c.fetchone()[0])


def seal_meta(source: Any) -> dict[str, str]:
    """The seal meta table as a dict; {} on a store without it."""
    if not is_sealed(source):
        return {}
    recorder = _recorder(source)
    if _postgres(recorder):
        from psycopg import sql

        statement = sql.SQL("SELECT name, value FROM {}.{}").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(META)
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return {str(r["name"]): str(r["value"]) for r in curs.fetchall()}
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT name, value FROM {META}")
        return {str(r[0]): str(r[1]) for r in c.fetchall()}


def iter_sealed(
    source: Any, start: int = 1, *, batch: int = SEAL_BATCH
) -> Generator[Row, None, None]:
    """Every event at position >= ``start`` with the seal stored for it (None: none), in
    log order, read in batches inside one read transaction. On a store without seal
    tables every seal is None."""
    recorder = _recorder(source)
    sealed = is_sealed(recorder)
    if _postgres(recorder):
        yield from _iter_postgres(recorder, start, batch, sealed)
        return
    table = recorder.events_table_name
    join = f"LEFT JOIN {SEALS} s ON s.position = e.rowid" if sealed else ""
    seal = "s.seal" if sealed else "NULL"
    statement = (
        f"SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, {seal}"
        f" FROM {table} e {join} WHERE e.rowid >= ? ORDER BY e.rowid LIMIT ?"
    )
    ids: dict[Any, UUID] = {}  # one UUID per account, not per event
    with recorder.datastore.transaction(commit=False) as c:
        position = start
        while True:
            c.execute(statement, (position, batch))
            rows = c.fetchall()
            for r in rows:
                yield _row(r[0], r[1], r[2], r[3], r[4], r[5], ids)
            if len(rows) < batch:
                return
            position = int(rows[-1][0]) + 1


def _row(
    position: Any, oid: Any, version: Any, topic: Any, state: Any, seal: Any, ids: dict[Any, UUID]
) -> Row:
    aid = ids.get(oid)
    if aid is None:
        aid = ids[oid] = oid if isinstance(oid, UUID) else UUID(str(oid))
    return Row(
        int(position),
        aid,
        int(version),
        str(topic),
        # A state edited by hand as text (sqlite3's replace() returns TEXT) is hashed as
        # its UTF-8 bytes: it no longer matches its seal, as it should not.
        state if type(state) is bytes else _bytes(state),
        bytes(seal) if seal is not None else None,
    )


def _iter_postgres(recorder: Any, start: int, batch: int, sealed: bool) -> Iterator[Row]:
    from psycopg import sql

    schema = sql.Identifier(recorder.datastore.schema)
    events = sql.Identifier(recorder.events_table_name)
    join = (
        sql.SQL("LEFT JOIN {}.{} s ON s.position = e.notification_id").format(
            schema, sql.Identifier(SEALS)
        )
        if sealed
        else sql.SQL("")
    )
    statement = sql.SQL(
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
        " {seal} AS seal FROM {schema}.{events} e {join}"
        " WHERE e.notification_id >= %s ORDER BY e.notification_id LIMIT %s"
    ).format(
        seal=sql.SQL("s.seal" if sealed else "NULL::bytea"),
        schema=schema,
        events=events,
        join=join,
    )
    ids: dict[Any, UUID] = {}
    with _snapshot(recorder) as curs:
        position = start
        while True:
            curs.execute(statement, (position, batch))
            rows = curs.fetchall()
            for r in rows:
                yield _row(
                    r["notification_id"],
                    r["originator_id"],
                    r["originator_version"],
                    r["topic"],
                    r["state"],
                    r["seal"],
                    ids,
                )
            if len(rows) < batch:
                return
            position = int(rows[-1]["notification_id"]) + 1


@contextlib.contextmanager
def _snapshot(recorder: Any) -> Iterator[Any]:
    """A PostgreSQL cursor in a read-only REPEATABLE READ transaction: one snapshot of
    the log for a whole walk, however many batches it reads."""
    with (
        recorder.datastore.get_connection() as conn,
        conn.transaction(force_rollback=True),
        conn.cursor() as curs,
    ):
        curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield curs


REPLAY_BATCH = 50  # a snapshot holds a whole account's state: fewer rows per batch


@contextlib.contextmanager
def by_account(
    source: Any, snapshots: str, *, batch: int = SEAL_BATCH
) -> Iterator[tuple[Iterator[StoredEvent], Iterator[StoredEvent]]]:
    """(snapshots, events): two streams read in one read transaction (one view of the
    store), both in account order (originator id, then version): every row of the
    snapshots table ``snapshots`` (beside the events table, same file or schema), and
    the events of the accounts that have a snapshot, each up to its last snapshot's
    version. Each stream reads in batches (keyset pagination on the primary key), so
    memory is flat in the log size; the two may be read in turn. ADR 0017."""
    recorder = _recorder(source)
    if _postgres(recorder):
        from psycopg import sql

        names = {
            "schema": sql.Identifier(recorder.datastore.schema),
            "events": sql.Identifier(recorder.events_table_name),
            "snaps": sql.Identifier(snapshots),
        }
        snap_statement: Any = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{snaps}"
            " WHERE (originator_id, originator_version) > (%s, %s)"
            " ORDER BY originator_id, originator_version LIMIT %s"
        ).format(**names)
        event_statement: Any = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{events}"
            " WHERE (originator_id, originator_version) > (%s, %s)"
            " ORDER BY originator_id, originator_version LIMIT %s"
        ).format(**names)
        last_statement: Any = sql.SQL(
            "SELECT originator_id, MAX(originator_version) AS upto FROM {schema}.{snaps}"
            " GROUP BY originator_id"
        ).format(**names)
        start: tuple[Any, int] = (UUID(int=0), 0)
        reading: Any = _snapshot(recorder)
    else:
        events = recorder.events_table_name
        snap_statement = (
            f"SELECT originator_id, originator_version, topic, state FROM {snapshots}"
            " WHERE (originator_id, originator_version) > (?, ?)"
            " ORDER BY originator_id, originator_version LIMIT ?"
        )
        event_statement = (
            f"SELECT originator_id, originator_version, topic, state FROM {events}"
            " WHERE (originator_id, originator_version) > (?, ?)"
            " ORDER BY originator_id, originator_version LIMIT ?"
        )
        last_statement = (
            f"SELECT originator_id, MAX(originator_version) FROM {snapshots} GROUP BY originator_id"
        )
        start = ("", 0)
        reading = recorder.datastore.transaction(commit=False)
    named = _postgres(recorder)  # psycopg rows are dicts, sqlite3's are sequences
    with reading as cursor:
        # Each account's last snapshot's version (memory grows with the accounts, as
        # the chain walk's): the events stream skips the others without decoding.
        cursor.execute(last_statement)
        last = {
            (r["originator_id"] if named else r[0]): int(r["upto"] if named else r[1])
            for r in cursor.fetchall()
        }

        def stream(statement: Any, size: int, upto: dict[Any, int] | None) -> Iterator[StoredEvent]:
            key = start
            ids: dict[Any, UUID] = {}
            while True:
                cursor.execute(statement, (*key, size))
                rows = [
                    (r["originator_id"], r["originator_version"], r["topic"], r["state"])
                    if named
                    else (r[0], r[1], r[2], r[3])
                    for r in cursor.fetchall()
                ]
                for oid, version, topic, state in rows:
                    if upto is not None and int(version) > upto.get(oid, 0):
                        continue
                    aid = ids.get(oid)
                    if aid is None:
                        ids.clear()  # in account order: one id at a time is enough
                        aid = oid if isinstance(oid, UUID) else UUID(str(oid))
                        ids[oid] = aid
                    data = state if type(state) is bytes else _bytes(state)
                    yield StoredEvent(aid, int(version), str(topic), data)
                if len(rows) < size:
                    return
                key = (rows[-1][0], rows[-1][1])

        yield (
            stream(snap_statement, min(batch, REPLAY_BATCH), None),
            stream(event_statement, batch, last),
        )


def _bytes(state: Any) -> bytes:
    # A state edited by hand as text (sqlite3's replace() returns TEXT) is its UTF-8
    # bytes: it no longer matches its seal, nor decodes as stored, as it should not.
    return str(state).encode() if isinstance(state, str) else bytes(state or b"")


def orphans(source: Any) -> list[int]:
    """Positions that have a seal but no event (an event deleted, its seal left)."""
    recorder = _recorder(source)
    if not is_sealed(recorder):
        return []
    if _postgres(recorder):
        from psycopg import sql

        statement = sql.SQL(
            "SELECT s.position FROM {schema}.{seals} s LEFT JOIN {schema}.{events} e"
            " ON e.notification_id = s.position WHERE e.notification_id IS NULL"
            " ORDER BY s.position"
        ).format(
            schema=sql.Identifier(recorder.datastore.schema),
            seals=sql.Identifier(SEALS),
            events=sql.Identifier(recorder.events_table_name),
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return [int(r["position"]) for r in curs.fetchall()]
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(
            f"SELECT s.position FROM {SEALS} s LEFT JOIN {recorder.events_table_name} e"
            " ON e.rowid = s.position WHERE e.rowid IS NULL ORDER BY s.position"
        )
        return [int(r[0]) for r in c.fetchall()]


def head(source: Any) -> tuple[int, bytes]:
    """(how many events the log holds, the seal stored for its last event). An empty
    log, or a last event without a seal, gives ``seal.GENESIS``."""
    recorder = _recorder(source)
    sealed = is_sealed(recorder)
    if _postgres(recorder):
        from psycopg import sql

        schema = sql.Identifier(recorder.datastore.schema)
        events = sql.Identifier(recorder.events_table_name)
        statement = sql.SQL(
            "SELECT (SELECT COUNT(*) FROM {schema}.{events}) AS n,"
            " (SELECT MAX(notification_id) FROM {schema}.{events}) AS last"
        ).format(schema=schema, events=events)
        with _snapshot(recorder) as curs:
            curs.execute(statement)
            row = curs.fetchone()
            count, last = int(row["n"]), row["last"]
            seal = None
            if sealed and last is not None:
                curs.execute(
                    sql.SQL("SELECT seal FROM {}.{} WHERE position = %s").format(
                        schema, sql.Identifier(SEALS)
                    ),
                    (last,),
                )
                found = curs.fetchone()
                seal = bytes(found["seal"]) if found is not None else None
        return count, seal or GENESIS
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT COUNT(*), MAX(rowid) FROM {recorder.events_table_name}")
        count, last = c.fetchone()
        seal = None
        if sealed and last is not None:
            c.execute(f"SELECT seal FROM {SEALS} WHERE position = ?", (last,))
            found = c.fetchone()
            seal = bytes(found[0]) if found is not None else None
    return int(count), seal or GENESIS


__all__ = [
    "META",
    "NO_SEAL_ENV",
    "SEALS",
    "SealedSQLiteRecorder",
    "by_account",
    "chain_seals",
    "head",
    "is_sealed",
    "iter_sealed",
    "orphans",
    "seal_meta",
]

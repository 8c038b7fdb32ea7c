"""A plain connection to the database that holds the events, for the views.

Views are ordinary SQL tables next to the event tables, so a BI tool, psql or sqlite3
can read them without kamflow. This module deliberately avoids importing
eventsourcing: a report on caught-up views should cost little more than start-up.
"""

from __future__ import annotations

import copy
import re
import sqlite3
import sys
from collections.abc import Container, Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from typing import Any

from kamflow.storage import connect_postgres, connect_sqlite, lock_timeout, parse

Statement = tuple[str, Sequence[Any]]

CACHE_KIB = 32 * 1024  # the views' page cache (see ViewDB.__init__)
SORTER_KIB = 4 * 1024  # memory for sorting while an index is built (small_sorter)

# SQL text -> the table it writes, for ViewDB.run's ordering.
_TABLES: dict[str, str] = {}
_WRITES = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


def _table(sql: str) -> str:
    found = _WRITES.match(sql)
    table = _TABLES[sql] = found.group(1) if found else ""
    return table


# Where `projections rebuild` builds views before swapping them in (ViewDB.aside): every
# kf_ table and index but the key map, which is the same whoever fills it.
ASIDE_PREFIX = "kfr_"
_OURS = re.compile(r"\bkf_(?!keys\b)")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_KEY_CLAUSE = re.compile(r"PRIMARY KEY\s*\(([^)]*)\)")


def identifier(name: str) -> str:
    """A table or index name read from the catalog, checked before it is put in SQL."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def is_data_fault(exc: BaseException) -> bool:
    """Whether a failed statement was refused for the values it carried (a constraint, a
    value the column's type cannot hold, a parameter the driver cannot bind), so that
    the event they came from is to blame; not for the state of the database (locked,
    full, read-only, gone, a table missing), which stops a catch-up instead.

    Both backends must agree: a list bound to a TEXT column is a ProgrammingError on
    SQLite and a DatatypeMismatch (42804) on PostgreSQL."""
    if isinstance(exc, UnicodeError | OverflowError):
        return True
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return True
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return str(exc).startswith("Error binding parameter")
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return False
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
        return True
    # Client side (cannot adapt a type: no SQLSTATE), or a parameter of the wrong type
    # for its column (42804) or operator (42883).
    return isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate in (None, "42804", "42883")


def _frozen(params: Sequence[Any]) -> Any:
    """Parameters as a key to run a derived statement once per set of them. Parameters
    that cannot be a key (a list, from a stored event whose field has the wrong type)
    are their own key: the statement then fails on them as a data fault and the event
    is quarantined, instead of a TypeError stopping the catch-up."""
    key = tuple(params)
    try:
        hash(key)
    except TypeError:
        return object()
    return key


class ViewDB:
    """One connection, SQLite or PostgreSQL, with `?` placeholders on both."""

    def __init__(self, locator: str) -> None:
        self.locator = locator
        self.postgres = locator.startswith(("postgresql://", "postgres://"))
        # A store whose file or folder is not writable: reads only (kamflow.storage).
        self.read_only = False
        self.prefix = "kf_"  # ASIDE_PREFIX on a ViewDB.aside()
        self._owner = True  # closes the connection
        self._sqls: dict[str, str] = {}  # statement as written -> as executed
        if self.postgres:
            self._conn: Any = _connect_postgres(locator)
            self.events_table = "kamflow_events"
            self.position_column = "notification_id"
        else:
            if locator == ":memory:":
                self._conn = sqlite3.connect(":memory:", isolation_level=None)
            else:
                # Storage failures on this connection (locked past the lock timeout,
                # read-only, not a database, damaged) come out as StorageError.
                store = parse(locator)
                self.read_only = store.read_only
                self._conn = connect_sqlite(store)
                if not store.read_only:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                # A 32 MiB page cache (SQLite's default is 2 MiB): a catch-up updates the
                # views' B-trees all over, and with the default cache most of its
                # statements read their pages back from the OS once the views are large
                # (1M events: ~15% of a rebuild's time). Bounded, so memory stays flat.
                self._conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self.events_table = "stored_events"
            self.position_column = "rowid"

    def close(self) -> None:
        if self._owner:
            self._conn.close()

    def aside(self) -> ViewDB:
        """The same connection, with ``kf_`` renamed ``kfr_`` in every statement that goes
        through ``sql`` (and in ``name``), the key map ``kf_keys`` excepted: the
        handlers' SQL, unchanged, fills tables beside the views that reports read."""
        other = copy.copy(self)
        other.prefix = ASIDE_PREFIX
        other._owner = False
        other._sqls = {}
        return other

    def name(self, name: str) -> str:
        """A table or index name as this ViewDB writes it (see ``aside``)."""
        return name if self.prefix == "kf_" else _OURS.sub(self.prefix, name)

    @contextmanager
    def small_sorter(self) -> Iterator[None]:
        """Build an index without holding all its entries in memory. SQLite's sorter
        keeps up to the page cache's size of entries in memory before it spills sorted
        runs to temporary files; with our 32 MiB cache, building the audit index of a
        million events added ~25 MB to a rebuild's peak, growing with the events."""
        if self.postgres or self.locator == ":memory:":
            yield
            return
        self._conn.execute(f"PRAGMA cache_size=-{SORTER_KIB}")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    def ddl(self, columns: str) -> str:
        """A CREATE TABLE body for this database. On SQLite a BIGINT primary key becomes
        INTEGER, the rowid itself: rows are then stored in key order with no second
        B-tree to keep (PostgreSQL needs BIGINT for 64 bits)."""
        return (
            columns
            if self.postgres
            else columns.replace("BIGINT PRIMARY KEY", "INTEGER PRIMARY KEY")
        )

    def options(self, columns: str) -> str:
        """What follows a view table's CREATE TABLE body (``columns`` as written in
        views.py): on SQLite, `` WITHOUT ROWID`` for a table keyed by its leading
        columns (not an INTEGER PRIMARY KEY, which is the rowid). Its rows are then
        stored in the primary key's B-tree itself, so an account's rows sit together and
        a write places one entry, not an entry in the key's index plus a row in a second
        B-tree ordered by insertion (ADR 0028: on a rebuild most of the views' SQLite
        time). Its key columns are NOT NULL, as on PostgreSQL."""
        if self.postgres:
            return ""
        body = self.ddl(columns)
        if "PRIMARY KEY" not in body or "INTEGER PRIMARY KEY" in body:
            return ""
        # Only when the key's columns come first, in their order: SQLite 3.40's
        # integrity_check (which `audit verify` runs) reports every row of a WITHOUT
        # ROWID table keyed otherwise as holding NULLs in NOT NULL columns.
        clause = _KEY_CLAUSE.search(body)
        defined = [part.split() for part in body[: clause.start() if clause else None].split(",")]
        names = [words[0] for words in defined if words]
        if clause:
            key = [name.strip() for name in clause.group(1).split(",")]
        else:  # a column's own PRIMARY KEY
            key = [words[0] for words in defined if "PRIMARY" in words]
        return " WITHOUT ROWID" if names[: len(key)] == key else ""

    def missing(self, indexes: Sequence[str], cur: Any = None) -> bool:
        """Whether any of these indexes is absent (a rebuild stopped before building
        it, or its table was just created). ``cur``: inside that cursor's transaction."""
        if not indexes:
            return False
        indexes = [self.name(n) for n in indexes]
        marks = ", ".join("?" for _ in indexes)
        if self.postgres:
            sql = (
                "SELECT COUNT(*) FROM pg_indexes"
                f" WHERE schemaname = current_schema() AND indexname IN ({marks})"
            )
        else:
            sql = f"SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND name IN ({marks})"
        if cur is None:
            found = self.scalar(sql, tuple(indexes))
        else:
            cur.execute(self.sql(sql), tuple(indexes))
            found = cur.fetchone()[0]
        return int(found or 0) < len(indexes)

    def sql(self, statement: str) -> str:
        """A statement written for the views (``?`` placeholders, ``kf_`` tables) as this
        connection executes it."""
        if not self.postgres and self.prefix == "kf_":
            return statement
        found = self._sqls.get(statement)
        if found is None:
            found = self.name(statement)
            if self.postgres:
                found = found.replace("?", "%s")
            self._sqls[statement] = found
        return found

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction; SQLite takes its write lock up front (BEGIN IMMEDIATE) so
        two catch-ups cannot both read the same tracking position."""
        if self.postgres:
            with self._conn.transaction(), self._conn.cursor() as cur:
                # PostgreSQL's BEGIN IMMEDIATE: one view writer per schema at a time, or
                # two catch-ups apply the same batch (and race to create the tables).
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
                yield cur
            return
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            self._conn.rollback()
            raise
        else:
            self._conn.commit()

    @contextmanager
    def savepoint(self, cur: Any) -> Iterator[None]:
        """Undo the block's statements, and only them, when it raises: on PostgreSQL a
        failed statement aborts the whole transaction unless rolled back to here."""
        cur.execute("SAVEPOINT kf_try")
        try:
            yield
        except BaseException:
            try:
                cur.execute("ROLLBACK TO SAVEPOINT kf_try")
                cur.execute("RELEASE SAVEPOINT kf_try")
            except Exception:
                pass  # the transaction itself is gone (SQLite rolls back on I/O errors)
            raise
        cur.execute("RELEASE SAVEPOINT kf_try")

    def run(self, cur: Any, statements: Sequence[Statement], derived: Container[str] = ()) -> None:
        """Execute a batch's statements, table by table, each table's in their order.

        Statements on different tables commute, so grouping them by table keeps every
        row's history intact while turning the runs of identical inserts (a visit, a
        payment...) into one ``executemany``. Statements whose SQL is in ``derived``
        (View.derived: a figure computed from the batch's final rows, such as a team
        size) run last, after every table they may read has been written, and once
        for each set of parameters.
        """
        tables = _TABLES
        writes = [s for s in statements if s[0] not in derived]
        writes.sort(key=lambda s: tables.get(s[0]) or _table(s[0]))
        last = {(sql, _frozen(p)): (sql, p) for sql, p in statements if sql in derived}
        sql = self.sql
        for text, same in groupby([*writes, *last.values()], key=itemgetter(0)):
            params = [p for _, p in same]
            if len(params) == 1:
                cur.execute(sql(text), params[0])
            else:
                cur.executemany(sql(text), params)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.postgres:
            with self._conn.cursor() as cur:
                cur.execute(self.sql(statement), params)
                names = [d.name for d in cur.description or ()]
                rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            self._conn.commit()
            return rows
        cur = self._conn.execute(statement, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Plain tuples: for reports over thousands of rows, dicts per row cost too much."""
        if self.postgres:
            with self._conn.cursor() as cur:
                cur.execute(self.sql(statement), params)
                found = [tuple(row) for row in cur.fetchall()]
            self._conn.commit()
            return found
        return [tuple(row) for row in self._conn.execute(statement, params).fetchall()]

    def scalar(self, statement: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(statement, params)
        return next(iter(rows[0].values())) if rows else None

    def table_exists(self, name: str) -> bool:
        name = self.name(name)
        if self.postgres:
            found = self.scalar("SELECT to_regclass(?) IS NOT NULL AS e", (name,))
            return bool(found)
        found = self.scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?", (name,)
        )
        return bool(found)

    def tables_like(self, prefix: str, cur: Any) -> list[str]:
        """Tables (of this schema, on PostgreSQL) whose names start with ``prefix``, read
        inside ``cur``'s transaction."""
        if self.postgres:
            sql = (
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename LIKE %s ESCAPE '\\' ORDER BY tablename"
            )
        else:
            sql = (
                "SELECT name FROM sqlite_master WHERE type='table'"
                " AND name LIKE ? ESCAPE '\\' ORDER BY name"
            )
        cur.execute(sql, (prefix.replace("_", "\\_") + "%",))
        return [identifier(row[0]) for row in cur.fetchall()]

    def max_position(self) -> int:
        """The newest notification id in the event log (0 for an empty store)."""
        if not self.table_exists(self.events_table):
            return 0
        found = self.scalar(f"SELECT MAX({self.position_column}) FROM {self.events_table}")
        return int(found or 0)


def _connect_postgres(locator: str) -> Any:
    """The views' connection: identifiers quoted, failures mapped (kamflow.storage), and
    a catch-up waiting at most the lock timeout for another one's lock."""
    return connect_postgres(parse(locator), mapped=True, lock_wait=lock_timeout())

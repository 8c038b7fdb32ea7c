"""Where the store is (a SQLite file path or a postgresql:// URL) and what goes wrong there.

One place for both paths, the commands (``Kamflow``) and the views (``ViewDB``):
``parse`` refuses a malformed locator (``InvalidInput``, exit 2) before anything is
opened, and ``failure`` turns a driver error that is about the store itself (locked,
read-only, damaged, unreachable, missing schema) into a ``StorageError`` (exit 1) that
says the cause and the store, never its password. Errors about the data a statement
carries (a constraint, a value a column cannot hold) are left to their callers.

Cheap to import: no eventsourcing, and psycopg only when a PostgreSQL store is opened.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, quote, unquote, urlparse

from kamflow.domain.errors import InvalidInput, StorageError

if TYPE_CHECKING:
    import psycopg

DEFAULT_DB = "kamflow.db"

# How long a writer waits for another process's lock before giving up, in seconds.
LOCK_TIMEOUT_ENV = "KAMFLOW_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 10.0
# A schema name kamflow will quote and use: a plain PostgreSQL identifier (63 bytes max).
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
URL_PARAMETERS = ("schema", "connect_timeout")


class ReadOnlyStore(StorageError):
    """A write to a store opened read-only (its file or folder is not writable)."""


class StoreLocked(StorageError):
    """Another process held the store's write lock for longer than the lock timeout."""


class NoStore(StorageError):
    """A read of a store that does not exist (see ``exists``); nothing was created."""


def resolve(locator: str | None) -> str:
    """The locator given, else KAMFLOW_DB, else ./kamflow.db; a file path with ``~``
    expanded (``KAMFLOW_DB='~/kam.db'`` reaches no shell that would expand it)."""
    chosen = locator or os.environ.get("KAMFLOW_DB") or DEFAULT_DB
    return chosen if "://" in chosen else os.path.expanduser(chosen)


def is_postgres(locator: str) -> bool:
    return locator.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class Store:
    """A parsed locator. SQLite: ``path`` and whether it must be opened read-only.
    PostgreSQL: the connection parameters (``connect_timeout`` in whole seconds)."""

    locator: str
    path: str = ""
    read_only: bool = False
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str | None = None
    connect_timeout: int = 5

    @property
    def postgres(self) -> bool:
        return bool(self.host)

    @property
    def named(self) -> str:
        """The store as messages name it: a quoted path, or the URL without password."""
        if not self.postgres:
            return f'"{self.path}"'
        where = f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"
        return where + (f"?schema={self.schema}" if self.schema else "")

    def sqlite_uri(self) -> str:
        """The file as a SQLite URI (``sqlite3.connect(..., uri=True)``). Read-only stores
        open with ``mode=ro``; in a folder no one can write, where no ``-wal``/``-shm``
        file exists (so no writer is active), also ``immutable=1``: SQLite cannot create
        the shared-memory file a WAL reader needs there, and would refuse to read."""
        uri = f"file:{quote(self.path)}"
        if not self.read_only:
            return uri
        uri += "?mode=ro"
        path = Path(self.path)
        folder = path.parent
        if not _writable(folder) and not any(
            Path(f"{path}{end}").exists() for end in ("-wal", "-shm")
        ):
            uri += "&immutable=1"
        return uri

    def env(self) -> dict[str, str]:
        """eventsourcing settings for this store."""
        if not self.postgres:
            env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": self.sqlite_uri()}
            if self.read_only:
                env["CREATE_TABLE"] = "no"
            return env
        env = {
            # eventsourcing's PostgreSQL factory making the sealed recorder (ADR 0017).
            "PERSISTENCE_MODULE": "kamflow.sealed_postgres:PostgresStoreFactory",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": str(self.connect_timeout),
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env


def parse(locator: str) -> Store:
    """The store a locator names. Raises InvalidInput (exit 2) for a malformed locator
    and StorageError (exit 1) for a new file in a folder that cannot be written."""
    if is_postgres(locator):
        return _parse_postgres(locator)
    if "://" in locator:
        raise InvalidInput(
            f'cannot use database "{locator}": give a SQLite file path or a postgresql:// URL'
        )
    path = Path(locator)
    if path.is_dir():
        raise InvalidInput(f'database path "{locator}" is a directory; give a file name')
    if not path.parent.exists():
        raise InvalidInput(
            f'cannot create database "{locator}": folder "{path.parent}" does not exist'
        )
    if path.exists():
        read_only = not (_writable(path) and _writable(path.parent))
    elif not _writable(path.parent):
        raise StorageError(
            f'cannot create database "{locator}": folder "{path.parent}" is not writable'
        )
    else:
        read_only = False
    return Store(locator, path=locator, read_only=read_only)


def _writable(path: Path) -> bool:
    """Whether kamflow may write here. A file or folder whose mode grants no one write
    permission (``chmod a-w``) counts as read-only even for root, who could write it
    anyway: marking a store read-only must mean the same for every user."""
    try:
        return bool(path.stat().st_mode & 0o222) and os.access(path, os.W_OK)
    except OSError:
        return False


def _parse_postgres(locator: str) -> Store:
    url = urlparse(locator)
    where = url.netloc.rsplit("@", 1)[-1]
    try:
        port = url.port or 5432
    except ValueError:
        port = 0
    if port < 1:
        raise InvalidInput(
            f"the port in the database URL must be a number from 1 to 65535: {where}"
        )
    dbname = unquote(url.path.lstrip("/"))
    if not dbname:
        raise InvalidInput(
            "give a database name in the URL: postgresql://USER@HOST:PORT/DBNAME"
            " (kamflow never writes to the server's default database)"
        )
    try:
        query = parse_qs(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    except ValueError:
        raise InvalidInput(f"cannot read the database URL's parameters: {url.query}") from None
    for name, values in query.items():
        if name not in URL_PARAMETERS:
            raise InvalidInput(
                f'unknown parameter "{name}" in the database URL; kamflow reads '
                + " and ".join(URL_PARAMETERS)
            )
        if len(values) > 1:
            raise InvalidInput(f'parameter "{name}" is given {len(values)} times in the URL')
    schema = query.get("schema", [None])[0]
    if schema is not None and not SCHEMA_NAME.fullmatch(schema):
        raise InvalidInput(
            f"?schema= must be a plain identifier (a letter or _, then letters, digits or _,"
            f" at most 63): {schema!r}"
        )
    timeout_text = query.get("connect_timeout", ["5"])[0]
    if not timeout_text.isdigit() or not 1 <= int(timeout_text) <= 3600:
        raise InvalidInput(
            f"?connect_timeout= must be a whole number of seconds from 1 to 3600: {timeout_text!r}"
        )
    return Store(
        locator,
        host=url.hostname or "127.0.0.1",
        port=port,
        user=unquote(url.username or "postgres"),
        password=unquote(url.password or ""),
        dbname=dbname,
        schema=schema,
        connect_timeout=int(timeout_text),
    )


def storage_env(locator: str) -> dict[str, str]:
    """eventsourcing settings for a SQLite path or a postgresql:// URL (see parse)."""
    return parse(locator).env()


def describe_locator(locator: str) -> str:
    """The locator without its password, for messages (never raises)."""
    if "://" not in locator:
        return locator
    url = urlparse(locator)
    try:
        port: object = url.port or 5432
    except ValueError:
        port = url.netloc.rsplit(":", 1)[-1]
    return f"{url.scheme}://{url.username or 'postgres'}@{url.hostname}:{port}{url.path}"


def lock_timeout() -> float:
    """KAMFLOW_LOCK_TIMEOUT in seconds (default 10): how long a write waits for another
    process's lock before it gives up. Raises InvalidInput for anything but a number."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= 86400:
        raise InvalidInput(
            f"{LOCK_TIMEOUT_ENV} must be a number of seconds from 0 to 86400, e.g. 10: {text!r}"
        )
    return seconds


# ------------------------------------------------------------------ failures
# SQLite's primary result codes that are about the file, not the statement.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 5, 6, 8
_SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 14, 26
_SQLITE_FILE = {3: "PERM", 10: "IOERR", 13: "FULL", 15: "PROTOCOL", 22: "NOLFS", 23: "AUTH"}


def failure(exc: BaseException, store: Store) -> StorageError | None:
    """The StorageError for a driver error that is about the store itself, or None.

    ``exc`` may be a sqlite3 or psycopg error or an eventsourcing one wrapping it (its
    cause). None means the error is about the statement or its data (a constraint, a
    value a column cannot hold, a bug): the caller keeps it."""
    for cause in _causes(exc):
        if isinstance(cause, StorageError):
            return cause
        if isinstance(cause, sqlite3.Error):
            return _sqlite_failure(cause, store)
        psycopg = sys.modules.get("psycopg")
        if psycopg is not None and isinstance(cause, psycopg.Error):
            return _postgres_failure(cause, store)
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlite_failure(exc: sqlite3.Error, store: Store) -> StorageError | None:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = _first_line(exc)
    if primary is None and "database is locked" in text:
        primary = _SQLITE_BUSY
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return locked(store)
    if primary == _SQLITE_READONLY:
        return ReadOnlyStore(
            f"database {store.named} is read-only (the file or its folder is not writable)"
        )
    if primary == _SQLITE_NOTADB:
        return StorageError(
            f"cannot read database {store.named}: file is not a database (not a SQLite file)"
        )
    if primary == _SQLITE_CORRUPT:
        return StorageError(
            f"cannot read database {store.named}: {text} (the file is damaged;"
            " restore it from a backup)"
        )
    if primary == _SQLITE_CANTOPEN:
        return StorageError(f"cannot open database {store.named}: {text}")
    if primary in _SQLITE_FILE:
        return StorageError(f"cannot use database {store.named}: {text}")
    return None


def locked(store: Store) -> StoreLocked:
    return StoreLocked(
        f"database {store.named} is locked by another process; waited {lock_timeout():.1f} s"
        f" (set {LOCK_TIMEOUT_ENV} to wait longer)"
    )


# PostgreSQL error classes about the server, the connection or the session, not the
# statement's data: connection exceptions, invalid authorisation, insufficient resources,
# operator intervention, system errors, and the "configuration file" class.
_PG_CLASSES = ("08", "28", "53", "57", "58", "F0", "XX")


def _postgres_failure(exc: Any, store: Store) -> StorageError | None:
    state = getattr(exc, "sqlstate", None) or ""
    text = _postgres_text(exc)
    if state == "3F000":
        return missing_schema(store)
    if state == "55P03":  # lock_not_available: lock_timeout ran out
        return locked(store)
    if state == "3D000" or state[:2] in _PG_CLASSES:
        return StorageError(f"cannot use database {store.named}: {text}")
    if state == "42501":  # insufficient_privilege
        return StorageError(f"cannot use database {store.named}: {text}")
    if state == "25006":  # read_only_sql_transaction (a hot standby)
        return ReadOnlyStore(f"database {store.named} is read-only: {text}")
    import psycopg

    if not state and isinstance(exc, psycopg.OperationalError):
        # No SQLSTATE: the connection itself failed (refused, no such role or
        # database, timed out, pool exhausted).
        return StorageError(f"cannot open database {store.named}: {text}")
    return None


def missing_schema(store: Store) -> StorageError:
    return StorageError(
        f'schema "{store.schema}" does not exist in {store.named};'
        f" create it (CREATE SCHEMA {store.schema}) or leave ?schema= out"
    )


def _postgres_text(exc: BaseException) -> str:
    """libpq's message without its "connection to server at ... failed:" preamble."""
    text = _first_line(exc)
    if " failed: " in text and text.startswith("connection failed"):
        text = text.rsplit(" failed: ", 1)[1]
    return re.sub(r"\s+", " ", text).strip()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


# ------------------------------------------------------------------ connections
class MappedCursor(sqlite3.Cursor):
    """A cursor whose storage failures come out as StorageError (see ``failure``)."""

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise _mapped(exc, self.connection) from exc

    def executemany(self, sql: str, parameters: Any, /) -> Self:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise _mapped(exc, self.connection) from exc

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            raise _mapped(exc, self.connection) from exc

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            raise _mapped(exc, self.connection) from exc


class MappedConnection(sqlite3.Connection):
    """A SQLite connection whose storage failures come out as StorageError."""

    store: Store

    def cursor(self, factory: Any = MappedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.DatabaseError as exc:
            raise _mapped(exc, self) from exc


def _mapped(exc: sqlite3.DatabaseError, connection: Any) -> BaseException:
    store = getattr(connection, "store", None)
    if store is None:
        return exc
    return failure(exc, store) or exc


def connect_sqlite(store: Store, *, timeout: float | None = None) -> MappedConnection:
    """A connection to a SQLite store (read-only if ``store.read_only``), in autocommit
    mode, waiting up to ``timeout`` seconds (default: the lock timeout) for a lock."""
    wait = lock_timeout() if timeout is None else timeout
    try:
        conn = sqlite3.connect(
            store.sqlite_uri(),
            uri=True,
            isolation_level=None,
            timeout=wait,
            factory=MappedConnection,
        )
    except sqlite3.Error as exc:
        raise failure(exc, store) or exc from exc
    conn.store = store
    return conn


_PG_CURSOR: list[type] = []


def _mapped_pg_cursor() -> type:
    """A psycopg cursor class whose storage failures come out as StorageError (the
    connection carries its Store as ``kf_store``). Made on first use: psycopg is
    imported only for PostgreSQL stores."""
    if _PG_CURSOR:
        return _PG_CURSOR[0]
    import psycopg

    class MappedPgCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> MappedPgCursor:
            try:
                return super().execute(query, params, **kwargs)
            except psycopg.Error as exc:
                raise failure(exc, self.connection.kf_store) or exc from exc  # type: ignore[attr-defined]

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
            try:
                super().executemany(query, params_seq, **kwargs)
            except psycopg.Error as exc:
                raise failure(exc, self.connection.kf_store) or exc from exc  # type: ignore[attr-defined]

    _PG_CURSOR.append(MappedPgCursor)
    return MappedPgCursor


def connect_postgres(
    store: Store, *, mapped: bool = False, lock_wait: float | None = None
) -> psycopg.Connection[Any]:
    """A psycopg connection to a PostgreSQL store, failures mapped to StorageError,
    after checking that its ``?schema=`` exists (then the search_path). ``mapped``: its
    cursors map storage failures too. ``lock_wait``: seconds any statement may wait
    for a lock (PostgreSQL's lock_timeout) before failing as StoreLocked."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise StorageError("PostgreSQL needs psycopg: pip install 'kamflow[postgres]'") from None
    options: dict[str, Any] = {"cursor_factory": _mapped_pg_cursor()} if mapped else {}
    try:
        conn = psycopg.connect(
            host=store.host,
            port=store.port,
            user=store.user,
            password=store.password or None,
            dbname=store.dbname,
            connect_timeout=store.connect_timeout,
            **options,
        )
    except psycopg.Error as exc:
        raise failure(exc, store) or exc from None
    conn.kf_store = store  # type: ignore[attr-defined]
    try:
        if lock_wait is not None:
            # At least 1 ms: 0 would mean "wait for ever" to PostgreSQL.
            wait = f"{max(1, round(lock_wait * 1000))}ms"
            conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(wait)))
        if store.schema:
            found = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (store.schema,)
            ).fetchone()
            if found is None:
                raise missing_schema(store)
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        conn.commit()
    except psycopg.Error as exc:
        conn.close()
        raise failure(exc, store) or exc from None
    except BaseException:
        conn.close()
        raise
    return conn


# ------------------------------------------------------------------ existence
# The table eventsourcing keeps kamflow's events in: SQLite names it after its purpose,
# PostgreSQL after the application (KamflowApplication.name).
EVENTS_TABLE = {False: "stored_events", True: "kamflow_events"}


def exists(store: Store) -> bool:
    """Whether the store holds kamflow's event table, asked without creating anything:
    a SQLite file is opened read-only, and only if it is there; on PostgreSQL the table
    is looked up in the ``?schema=`` (or on the search path). A file or schema without
    the table (an empty file, another program's database) is not a kamflow store.
    Raises StorageError when the store cannot be asked (unreachable, not a database,
    a ``?schema=`` that does not exist)."""
    table = EVENTS_TABLE[store.postgres]
    if store.postgres:
        conn = connect_postgres(store, mapped=True)
        try:
            row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        finally:
            conn.close()
        return row is not None and row[0] is not None
    if not Path(store.path).is_file():
        return False
    sqlite = connect_sqlite(replace(store, read_only=True))
    try:
        found = sqlite.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    finally:
        sqlite.close()
    return bool(found[0])


def require(locator: str) -> Store:
    """The store of a locator (``resolve``), for a read. Refuses (NoStore, exit 1) one
    that does not exist: a read never creates one, only a write (or `kamflow demo`,
    `kamflow apply`) does. A file path that is not there is refused as such, before
    ``parse`` would ask whether its folder could hold a new one. Raises InvalidInput
    for a malformed locator and StorageError for a store that cannot be asked."""
    if "://" not in locator and not Path(locator).exists():
        raise _no_store(_path(locator))
    store = parse(locator)
    if not exists(store):
        raise _no_store(
            f"{store.named} (it has no kamflow tables)" if store.postgres else _path(store.path)
        )
    return store


def _no_store(where: str) -> NoStore:
    return NoStore(
        f"no kamflow database at {where}; create one with"
        " `kamflow account open KEY --name ... --industry ... --owner ...` or `kamflow demo`,"
        " or point --db or KAMFLOW_DB at one"
    )


def _path(path: str) -> str:
    """A file path as a message names it: relative ones from ./, quoted if it has
    characters other than letters, digits and -_.@:/+~ (a space, a ;)."""
    if not os.path.isabs(path) and not path.startswith("."):
        path = f"./{path}"
    return path if all(ch.isalnum() or ch in "-_.@:/+~" for ch in path) else f'"{path}"'

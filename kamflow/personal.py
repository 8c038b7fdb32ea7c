"""Personal data of key people: encrypted per person, erased by destroying the key.

ADR 0026. A contact's name and personal fields (``values.PERSONAL_FIELDS``) are
encrypted with AES-GCM under a 256-bit data key of that person, made when the first of
their values is stored. The associated data is ``kamflow/pd1``, the account's id, the
person's id and the field's name, so a ciphertext moved to another person, account or
field does not decrypt. A stored value is the text ``pd1:`` + base64url(nonce +
ciphertext + tag).

Where this happens is the edge: the mapper of stored events (``kamflow.stored``)
encrypts the values of the events and snapshots listed in ``slots`` as they are
written, and decrypts them as they are read; the domain only ever sees plain values,
or ``values.ERASED`` once a person was forgotten (``NO_KEY`` when the key store was not
found, e.g. a log restored without it). Storing ``ContactForgotten`` destroys the key
first. The seal is over the stored bytes, the ciphertext, so it stays valid.

The keys live apart from the log (``KeyStore``): on SQLite in the file ``<db>.keys``
beside the database, on PostgreSQL in the schema ``<schema>_keys`` (``kamflow_keys``
for a store without ``?schema=``), so a copy of the log alone holds no personal data.

``cryptography`` is imported only when a value is encrypted or decrypted.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote
from uuid import UUID

from kamflow.domain.values import ERASED, PERSONAL_FIELDS
from kamflow.storage import Store

PREFIX = "pd1:"
NO_KEY = "[no key]"
KEYS_SUFFIX = ".keys"
_AAD = b"kamflow/pd1"
_NONCE = 12
# The key table on PostgreSQL (the SQLite key file's is the same, with BLOB).
_KEY_COLUMNS = (
    "(account TEXT NOT NULL, person TEXT NOT NULL, key BYTEA, forgotten_at TEXT,"
    " PRIMARY KEY (account, person))"
)
# The event classes (by qualified name) whose values belong to a person, and the
# aggregate snapshots that hold contacts. A new event carrying a personal value must be
# added to ``slots`` (CONTRIBUTING.md).
EVENTS = frozenset({"Account.ContactAdded", "Account.ContactChanged", "Account.ContactRenamed"})
FORGOTTEN = "Account.ContactForgotten"
_ACCOUNT_TOPIC = "kamflow.domain.account:Account"

Slot = tuple[dict[str, Any], str, str, str]  # (container, key in it, person, field)


def concerns(cls: type, state: dict[str, Any]) -> bool:
    """Whether a stored event or snapshot of this class (with this state) may hold a
    personal value or destroy a key."""
    name = cls.__qualname__
    if name in EVENTS or name == FORGOTTEN:
        return True
    return name == "Snapshot" and state.get("topic") == _ACCOUNT_TOPIC


def slots(cls: type, state: dict[str, Any]) -> Iterator[Slot]:
    """Every personal value in an event's (or snapshot's) state, where it sits."""
    name = cls.__qualname__
    if name == "Snapshot":
        for person, contact in (state.get("state", {}).get("contacts") or {}).items():
            yield from _contact_slots(contact, person)
        return
    person = state.get("contact_id", "")
    if name == "Account.ContactAdded":
        yield state, "name", person, "name"
        for field in (state.get("personal") or {}).copy():
            yield state["personal"], field, person, field
    elif name == "Account.ContactChanged":
        for part in ("changes", "previous"):
            values = state.get(part)
            if isinstance(values, dict):
                for field in values:
                    if field in PERSONAL_FIELDS:
                        yield values, field, person, field
    elif name == "Account.ContactRenamed":
        yield state, "name", person, "name"
        if isinstance(state.get("previous"), dict) and "name" in state["previous"]:
            yield state["previous"], "name", person, "name"


def _contact_slots(contact: dict[str, Any], person: str) -> Iterator[Slot]:
    yield contact, "name", person, "name"
    personal = contact.get("personal")
    if isinstance(personal, dict):
        for field in personal:
            yield personal, field, person, field


def copied(cls: type, state: dict[str, Any]) -> dict[str, Any]:
    """A copy of the state deep enough that encrypting its slots leaves the event (or
    the live aggregate a snapshot was taken of) untouched."""
    out = dict(state)
    for part in ("personal", "changes", "previous"):
        if isinstance(out.get(part), dict):
            out[part] = dict(out[part])
    if cls.__qualname__ == "Snapshot" and isinstance(out.get("state"), dict):
        inner = out["state"] = dict(out["state"])
        contacts = inner.get("contacts") or {}
        inner["contacts"] = {
            person: {
                **contact,
                **({"personal": dict(contact["personal"])} if "personal" in contact else {}),
            }
            for person, contact in contacts.items()
        }
    return out


def _aad(account: str, person: str, field: str) -> bytes:
    return b"\0".join((_AAD, account.encode(), person.encode(), field.encode()))


# One AESGCM object per key in use (making one costs more than encrypting a name).
_CIPHERS: dict[bytes, Any] = {}


def _cipher(key: bytes) -> Any:
    found = _CIPHERS.get(key)
    if found is None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(_CIPHERS) > 4096:
            _CIPHERS.clear()
        found = _CIPHERS[key] = AESGCM(key)
    return found


def encrypt(key: bytes, account: str, person: str, field: str, text: str) -> str:
    """``text`` as a stored value: ``pd1:`` + base64url(nonce + ciphertext + tag)."""
    nonce = os.urandom(_NONCE)
    sealed = _cipher(key).encrypt(nonce, text.encode(), _aad(account, person, field))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(key: bytes, account: str, person: str, field: str, value: str) -> str:
    """The text of a stored value. Raises ``cryptography.exceptions.InvalidTag`` when the
    value was not made for this account, person and field, or was altered."""
    raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
    aad = _aad(account, person, field)
    return str(_cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], aad).decode())


# ------------------------------------------------------------------ the key store
class KeyStore:
    """Data keys by (account id, person id); a destroyed key leaves a row whose key is
    NULL (the person was forgotten). Keys of an account are read once per process."""

    # How long an account's keys, once read, are trusted without reading them again:
    # another process may add a person or forget one meanwhile.
    MAX_AGE = 1.0  # seconds

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, bytes | None]] = {}
        self._read_at: dict[str, float] = {}

    # -- backend
    def _rows(self, account: str) -> list[tuple[str, bytes | None]]:
        raise NotImplementedError

    def _insert(self, account: str, keys: list[tuple[str, bytes]]) -> None:
        """Store new keys (person, key) in one transaction; a person who has a key
        already keeps it."""
        raise NotImplementedError

    def _destroy(self, account: str, person: str, when: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection, if one was opened."""

    def _all(self) -> list[tuple[str, str, bytes | None, str | None]]:
        raise NotImplementedError

    def _put(self, rows: list[tuple[str, str, bytes | None, str | None]]) -> None:
        raise NotImplementedError

    def dump(self, accounts: set[str] | None = None) -> list[dict[str, Any]]:
        """Every key (or only those of ``accounts``) as JSON objects: ``{"account",
        "person", "key": base64 or null (forgotten), "forgotten_at"}``."""
        return [
            {
                "account": account,
                "person": person,
                "key": base64.b64encode(key).decode() if key else None,
                "forgotten_at": when,
            }
            for account, person, key, when in self._all()
            if accounts is None or account in accounts
        ]

    def load(self, rows: list[dict[str, Any]]) -> int:
        """Take in keys written by ``dump`` (a person already known keeps theirs);
        how many rows were read."""
        self._put(
            [
                (
                    str(r["account"]),
                    str(r["person"]),
                    base64.b64decode(r["key"]) if r.get("key") else None,
                    r.get("forgotten_at"),
                )
                for r in rows
            ]
        )
        self._keys.clear()
        self._read_at.clear()
        return len(rows)

    # -- what the mapper asks
    def of(self, account: str, *, fresh: bool = False) -> dict[str, bytes | None]:
        """Person -> key (None: forgotten) for one account, read again when ``fresh`` or
        when read more than MAX_AGE ago."""
        found = self._keys.get(account)
        now = time.monotonic()
        if found is None or fresh or now - self._read_at[account] > self.MAX_AGE:
            rows = self._rows(account)
            found = self._keys[account] = {p: (bytes(k) if k else None) for p, k in rows}
            self._read_at[account] = now
        return found

    def key(self, account: str, person: str, *, create: bool) -> bytes | None:
        """The person's key; a new one when ``create`` and they have none (never for a
        forgotten person: None)."""
        keys = self.of(account)
        if person not in keys:
            keys = self.of(account, fresh=True)  # added by another process since
        if person in keys:
            return keys[person]
        if not create:
            return None
        # Keys for the next few people of the account too, in the same transaction:
        # each commit of the key store is an fsync, and a script adding an account's
        # people one after the other would pay one per person. A key made for someone
        # who is never added decrypts nothing.
        fresh = [(p, os.urandom(32)) for p in _next_people(person) if p not in keys]
        self._insert(account, fresh)
        # Another process may have made some of them first: theirs stand.
        return self.of(account, fresh=True)[person]

    def forgotten(self, account: str, person: str) -> bool:
        keys = self.of(account)
        return person in keys and keys[person] is None

    def destroy(self, account: str, person: str) -> None:
        """Destroy the person's key (a row without one stays, saying they were forgotten)."""
        when = datetime.now(UTC).isoformat(timespec="seconds")
        old = self.of(account).get(person)
        if old is not None:
            _CIPHERS.pop(old, None)  # no copy of it kept in this process either
        self._destroy(account, person, when)
        self.of(account)[person] = None


class SQLiteKeys(KeyStore):
    """The key file beside a SQLite database (``<db>.keys``), written with
    ``secure_delete`` (a destroyed key's bytes are overwritten, not left on a free page)
    in WAL mode, checkpointed and truncated whenever a key is destroyed."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        super().__init__()
        self.path = path
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None

    def _opened(self, *, write: bool) -> sqlite3.Connection | None:
        if self._conn is None:
            if not os.path.exists(self.path) and (not write or self.read_only):
                return None
            uri = f"file:{quote(self.path)}"
            if self.read_only:
                # As the store itself (storage.Store.sqlite_uri): in a folder no one can
                # write, SQLite cannot make the WAL's shared memory, so read the file as
                # it stands (closing the last writer checkpointed its WAL into it).
                folder = os.path.dirname(os.path.abspath(self.path))
                uri += "?mode=ro" + ("" if os.access(folder, os.W_OK) else "&immutable=1")
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
            if not self.read_only:
                conn.execute("PRAGMA secure_delete = ON")
                # WAL: a new key costs one fsync at commit, not a rollback journal's
                # three; a destroyed key's old page leaves the WAL at the checkpoint
                # that follows (_destroy).
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS person_keys (account TEXT NOT NULL,"
                    " person TEXT NOT NULL, key BLOB, forgotten_at TEXT,"
                    " PRIMARY KEY (account, person))"
                )
            self._conn = conn
        return self._conn

    def _rows(self, account: str) -> list[tuple[str, bytes | None]]:
        conn = self._opened(write=False)
        if conn is None:
            return []
        try:
            # As bytes whatever the type stored (SQLite keeps text where a blob was): an
            # edited key does not decrypt, and says so, rather than failing to be read.
            return conn.execute(
                "SELECT person, CAST(key AS BLOB) FROM person_keys WHERE account = ?",
                (account,),
            ).fetchall()
        except sqlite3.OperationalError:  # a read-only file without the table yet
            return []

    def _insert(self, account: str, keys: list[tuple[str, bytes]]) -> None:
        conn = self._opened(write=True)
        assert conn is not None
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO person_keys (account, person, key) VALUES (?, ?, ?)"
                " ON CONFLICT (account, person) DO NOTHING",
                [(account, person, key) for person, key in keys],
            )

    def _destroy(self, account: str, person: str, when: str) -> None:
        conn = self._opened(write=True)
        assert conn is not None
        conn.execute(
            "INSERT INTO person_keys (account, person, key, forgotten_at) VALUES (?, ?, NULL, ?)"
            " ON CONFLICT (account, person) DO UPDATE SET key = NULL, forgotten_at = ?",
            (account, person, when, when),
        )
        # The file is small: rewriting it leaves no page that held the key, and the
        # checkpoint empties the WAL of the pages that did.
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _all(self) -> list[tuple[str, str, bytes | None, str | None]]:
        conn = self._opened(write=False)
        if conn is None:
            return []
        try:
            return conn.execute(
                "SELECT account, person, CAST(key AS BLOB), forgotten_at FROM person_keys"
                " ORDER BY account, person"
            ).fetchall()
        except sqlite3.OperationalError:
            return []

    def _put(self, rows: list[tuple[str, str, bytes | None, str | None]]) -> None:
        conn = self._opened(write=True)
        assert conn is not None
        with conn:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO person_keys (account, person, key, forgotten_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (account, person) DO NOTHING",
                rows,
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresKeys(KeyStore):
    """The keys of a PostgreSQL store, in a schema of their own (``<schema>_keys``)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.schema = keys_schema(store.schema)
        self._conn: Any = None
        self._ready = False

    def _opened(self) -> Any:
        if self._conn is None:
            from kamflow.storage import connect_postgres

            self._conn = connect_postgres(self.store)
            self._conn.autocommit = True
        return self._conn

    def _table(self) -> Any:
        from psycopg import sql

        return sql.Identifier(self.schema, "person_keys")

    def _ensure(self) -> None:
        if self._ready:
            return
        from psycopg import sql

        conn = self._opened()
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
        columns = sql.SQL(_KEY_COLUMNS)
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} {}").format(self._table(), columns))
        self._ready = True

    def _rows(self, account: str) -> list[tuple[str, bytes | None]]:
        from psycopg import sql

        conn = self._opened()
        if not self._ready:
            if not self._rows_exist():
                return []
            self._ready = True  # the table exists: no need to create it or ask again
        rows: list[tuple[str, bytes | None]] = conn.execute(
            sql.SQL("SELECT person, key FROM {} WHERE account = %s").format(self._table()),
            (account,),
        ).fetchall()
        return rows

    def _insert(self, account: str, keys: list[tuple[str, bytes]]) -> None:
        from psycopg import sql

        self._ensure()
        conn = self._opened()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                sql.SQL(
                    "INSERT INTO {} (account, person, key) VALUES (%s, %s, %s)"
                    " ON CONFLICT (account, person) DO NOTHING"
                ).format(self._table()),
                [(account, person, key) for person, key in keys],
            )

    def _destroy(self, account: str, person: str, when: str) -> None:
        from psycopg import sql

        self._ensure()
        self._opened().execute(
            sql.SQL(
                "INSERT INTO {} (account, person, key, forgotten_at) VALUES (%s, %s, NULL, %s)"
                " ON CONFLICT (account, person) DO UPDATE SET key = NULL, forgotten_at = %s"
            ).format(self._table()),
            (account, person, when, when),
        )

    def _all(self) -> list[tuple[str, str, bytes | None, str | None]]:
        from psycopg import sql

        if not self._ready and not self._rows_exist():
            return []
        rows: list[tuple[str, str, bytes | None, str | None]] = (
            self._opened()
            .execute(
                sql.SQL(
                    "SELECT account, person, key, forgotten_at FROM {} ORDER BY account, person"
                ).format(self._table())
            )
            .fetchall()
        )
        return rows

    def _rows_exist(self) -> bool:
        found = (
            self._opened()
            .execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'person_keys'",
                (self.schema,),
            )
            .fetchone()
        )
        return found is not None

    def _put(self, rows: list[tuple[str, str, bytes | None, str | None]]) -> None:
        from psycopg import sql

        self._ensure()
        with self._opened().cursor() as cur:
            cur.executemany(
                sql.SQL(
                    "INSERT INTO {} (account, person, key, forgotten_at) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (account, person) DO NOTHING"
                ).format(self._table()),
                rows,
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# How many people's keys one write of the key store makes (KeyStore.key).
POOL = 8


def _next_people(person: str) -> list[str]:
    """``person`` and, for an id of the form P-n, the next POOL - 1 ids."""
    kind, _, number = person.rpartition("-")
    if not number.isdigit():
        return [person]
    return [f"{kind}-{int(number) + i}" for i in range(POOL)]


def keys_schema(schema: str | None) -> str:
    """The PostgreSQL schema of a store's keys."""
    return f"{schema}_keys" if schema else "kamflow_keys"


def key_file(path: str) -> str:
    """The key file of a SQLite database file."""
    return path + KEYS_SUFFIX


def key_store(get: Callable[[str], str | None]) -> KeyStore | None:
    """The key store of the store whose eventsourcing settings ``get`` reads
    (``Store.env()``), or None for a store that has no place for one (in memory)."""
    dbname = get("SQLITE_DBNAME")
    if dbname:
        if not dbname.startswith("file:"):
            return None if ":memory:" in dbname else SQLiteKeys(key_file(dbname))
        path, _, query = dbname[len("file:") :].partition("?")
        return SQLiteKeys(key_file(unquote(path)), read_only="mode=ro" in query)
    host = get("POSTGRES_HOST")
    if host:
        return PostgresKeys(
            Store(
                "",
                host=host,
                port=int(get("POSTGRES_PORT") or 5432),
                user=get("POSTGRES_USER") or "",
                password=get("POSTGRES_PASSWORD") or "",
                dbname=get("POSTGRES_DBNAME") or "",
                schema=get("POSTGRES_SCHEMA") or None,
                connect_timeout=int(get("POSTGRES_CONNECT_TIMEOUT") or 5),
            )
        )
    return None


# ------------------------------------------------------------------ the mapper's part
class Personal:
    """What the mapper of stored events does with personal values (ADR 0026)."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def conceal(self, cls: type, account: UUID, state: dict[str, Any]) -> dict[str, Any]:
        """The state to store: each personal value encrypted (a forgotten person's as
        ``ERASED``); storing ContactForgotten destroys the person's key first."""
        aid = str(account)
        if cls.__qualname__ == FORGOTTEN:
            self.keys.destroy(aid, state["contact_id"])
            return state
        state = copied(cls, state)
        keys: dict[str, bytes | None] = {}  # person -> key, None: forgotten
        for box, name, person, field in list(slots(cls, state)):
            value = box[name]
            if not isinstance(value, str) or value.startswith(PREFIX):
                continue
            if person not in keys:
                forgotten = self.keys.forgotten(aid, person)
                keys[person] = None if forgotten else self.keys.key(aid, person, create=True)
            key = keys[person]
            if key is None or value in (ERASED, NO_KEY):
                box[name] = ERASED
                continue
            box[name] = encrypt(key, aid, person, field, value)
        return state

    def reveal(self, cls: type, account: UUID, state: dict[str, Any]) -> None:
        """Decrypt the personal values of a decoded state in place: ``ERASED`` for a
        forgotten person (their plain values in events stored before encryption too),
        ``NO_KEY`` when their key is not in the key store. Raises ValueError for a value
        that does not decrypt under its person's key (moved or altered)."""
        aid = str(account)
        for box, name, person, field in list(slots(cls, state)):
            value = box[name]
            if not isinstance(value, str):
                continue
            if value.startswith(PREFIX):
                key = self.keys.key(aid, person, create=False)
                if key is None:
                    box[name] = ERASED if self.keys.forgotten(aid, person) else NO_KEY
                    continue
                try:
                    box[name] = decrypt(key, aid, person, field, value)
                except Exception as exc:
                    raise ValueError(
                        f"the {field} of {person} does not decrypt under its key"
                        " (altered, or moved from another person or field)"
                    ) from exc
            elif self.keys.forgotten(aid, person):
                box[name] = ERASED


def store_keys(locator: str) -> KeyStore | None:
    """The key store of the store at ``locator``."""
    from kamflow.storage import parse

    return key_store(parse(locator).env().get)


def keys_beside(export: str) -> str:
    """The key file `kamflow export --out FILE` writes beside an export (ADR 0026)."""
    return export + KEYS_SUFFIX

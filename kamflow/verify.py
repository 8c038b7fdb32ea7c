"""`kamflow audit verify`: proving that nothing stored was altered (ADR 0017).

Four checks, each independent of the others, all run:

- the log: the seal chain recomputed over every event (``kamflow.seal.walk`` over
  ``kamflow.sealed.iter_sealed``, streamed: memory grows with the accounts, not the
  log); the first bad position and what is wrong (edited, account changed, inserted,
  deleted, reordered);
- the snapshots: each one against a replay of its account's events up to its version
  (a snapshot is a cache, so it is not sealed: it must equal what the events give), and
  its stored bytes as kamflow's encoder writes them;
- the store: SQLite's ``PRAGMA integrity_check``; on PostgreSQL the B-tree indexes of the
  event and seal tables with the ``amcheck`` extension when it is installed (PostgreSQL
  has no whole-database check; without amcheck this check says so);
- with ``views=True``: every read-model table against a rebuild from the log into a
  scratch SQLite file (or a scratch PostgreSQL schema), row by row in key order.

``verify(kamflow, views=..., progress=...) -> Verification``; ``Verification.ok`` and
``as_json()``. Deleting the last events, or replacing the store by an older backup, is
only visible against a checkpoint kept elsewhere (``audit checkpoint``).
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamflow.domain.errors import KamflowError
from kamflow.seal import Break, Chain, Row, walk
from kamflow.sealed import head, is_sealed, iter_sealed, orphans, seal_meta

if TYPE_CHECKING:
    from kamflow.application import Kamflow
    from kamflow.projections.db import ViewDB
    from kamflow.projections.reports.base import Report

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Finding:
    """Something that is not as stored by kamflow: ``check`` (log, snapshot, store,
    view), ``where`` (a log position, ``<account> v<version>``, a table and key),
    ``kind`` (edited, deleted, inserted, reordered, account changed, unsealed, damaged,
    missing, unexpected) and ``detail`` (one line)."""

    check: str
    where: str
    kind: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "where": self.where, "kind": self.kind, "detail": self.detail}

    def line(self) -> str:
        return f"{self.check} {self.where}: {self.kind}: {self.detail}"


@dataclass
class Verification:
    """What ``verify`` found. ``events``: events whose seal was verified; ``head``: the
    seal of the last one (hex); ``sealed_after``: (first, last) positions sealed after
    the fact, on first use of a store written before the seal, or None."""

    events: int = 0
    size: int = 0
    head: str = ""
    sealed_after: tuple[int, int] | None = None
    snapshots: int = 0
    store: str = ""
    views: list[str] | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        after = self.sealed_after
        return {
            "ok": self.ok,
            "events": self.events,
            "size": self.size,
            "head": self.head,
            "sealed_after_the_fact": (
                {"from_position": after[0], "to_position": after[1]} if after else None
            ),
            "snapshots": self.snapshots,
            "store": self.store,
            "views": self.views,
            "findings": [f.as_json() for f in self.findings],
        }


def verify(
    kamflow: Kamflow,
    *,
    views: bool = False,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> Verification:
    """Run every check on the store ``kamflow`` has open. ``total`` is told how many
    events the log holds, ``progress`` how many more were read (the log, then the
    snapshots' replays)."""
    result = Verification()
    size, _ = head(kamflow)
    result.size = size
    if total is not None:
        total(size)
    check_log(kamflow, result, progress)
    check_snapshots(kamflow, result)
    check_store(kamflow, result)
    if views:
        check_views(kamflow, result)
    return result


# ------------------------------------------------------------------ the log
def check_log(kamflow: Kamflow, result: Verification, progress: Progress | None = None) -> None:
    """The seal chain over the whole log (see ``kamflow.seal.walk``)."""
    if not is_sealed(kamflow):
        result.findings.append(
            Finding(
                "log",
                "1",
                "unsealed",
                "stored before kamflow sealed its log, and read-only since: open it once"
                " writable to seal it",
            )
        )
        return
    meta = seal_meta(kamflow)
    if "sealed_after_from" in meta:
        result.sealed_after = (int(meta["sealed_after_from"]), int(meta["sealed_after_to"]))
    found = walk(_counted(iter_sealed(kamflow), progress), orphans(kamflow), ids=_named_ids)
    if isinstance(found, Break):
        detail = found.detail
        if found.sealed_under is not None:
            with contextlib.closing(iter_sealed(kamflow, found.position, batch=1)) as rows:
                row = next(rows)
            detail = (
                f"sealed as version {row.version} of {_name(kamflow, found.sealed_under)},"
                f" stored under {_name(kamflow, row.originator_id)}"
            )
        result.findings.append(Finding("log", str(found.position), found.kind, detail))
        return
    assert isinstance(found, Chain)
    result.events = found.count
    result.head = found.head.hex()


def _counted(rows: Iterable[Row], progress: Progress | None) -> Iterator[Row]:
    if progress is None:
        yield from rows
        return
    done = 0
    for row in rows:
        yield row
        done += 1
        if done == 1000:
            progress(done)
            done = 0
    if done:
        progress(done)


_KEY = re.compile(rb'"key":"((?:[^"\\]|\\.){1,400})"')


def _named_ids(row: Row) -> list[uuid.UUID]:
    """The account id an account's first event names by its key (what an id changed on
    an opening event was sealed under)."""
    if row.version != 1:
        return []
    from kamflow.domain.values import account_id, legacy_account_id

    found = _KEY.search(row.state)
    if found is None:
        return []
    try:
        key = json.loads(b'"' + found.group(1) + b'"')
    except ValueError:
        return []
    ids = [account_id(key)]
    legacy = legacy_account_id(key)
    if legacy is not None:
        ids.append(legacy)
    return ids


# ------------------------------------------------------------------ snapshots
def check_snapshots(kamflow: Kamflow, result: Verification) -> None:
    """Each snapshot against its account replayed from its events up to its version."""
    from kamflow.stored import UnreadableEvent, is_storage_error, one_line

    app = kamflow.app
    if app.snapshots is None:
        return
    recorder: Any = app.snapshots.recorder
    for aid in _snapshot_ids(kamflow):
        stored = list(recorder.select_events(aid))
        if not stored:
            continue
        result.snapshots += len(stored)
        wanted = {s.originator_version: s for s in stored}
        name = _name(kamflow, aid)
        aggregate: Any = None
        try:
            events: Iterable[Any] = app.events.get(aid, lte=max(wanted))
            for event in events:
                aggregate = event.mutate(aggregate)
                snapshot = wanted.pop(event.originator_version, None)
                if snapshot is not None:
                    problem = _snapshot_problem(kamflow, snapshot, aggregate)
                    if problem is not None:
                        result.findings.append(
                            Finding(
                                "snapshot",
                                f"{name} v{snapshot.originator_version}",
                                "edited",
                                problem,
                            )
                        )
        except Exception as exc:  # an event unreadable, missing or out of order
            if is_storage_error(exc) and not isinstance(exc, UnreadableEvent):
                raise
            why = exc.cause if isinstance(exc, UnreadableEvent) else one_line(exc)
            at = aggregate.version if aggregate is not None else 0
            result.findings.append(
                Finding(
                    "snapshot",
                    f"{name} after v{at}",
                    "unreplayable",
                    f"its account's events cannot be replayed: {why}",
                )
            )
            continue
        for version in sorted(wanted):  # snapshots beyond the account's last event
            result.findings.append(
                Finding(
                    "snapshot",
                    f"{name} v{version}",
                    "unexpected",
                    "a snapshot of a version the account's events never reached",
                )
            )


def _snapshot_ids(kamflow: Kamflow) -> list[uuid.UUID]:
    recorder: Any = kamflow.app.snapshots.recorder  # type: ignore[union-attr]
    table = recorder.events_table_name
    if kamflow.store.postgres:
        from psycopg import sql

        statement = sql.SQL("SELECT DISTINCT originator_id AS id FROM {}.{}").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(table)
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return sorted(uuid.UUID(str(r["id"])) for r in curs.fetchall())
    with recorder.datastore.transaction(commit=False) as c:
        # The table name is eventsourcing's constant ("stored_snapshots").
        c.execute(f"SELECT DISTINCT originator_id FROM {table}")
        return sorted(uuid.UUID(str(r[0])) for r in c.fetchall())


def _snapshot_problem(kamflow: Kamflow, stored: Any, replayed: Any) -> str | None:
    """Why a stored snapshot is not the replayed account's, or None."""
    from kamflow.stored import UnreadableEvent

    raw = bytes(stored.state)
    taken: Any = type(replayed).Snapshot.take(replayed)
    # The fast path: the replayed account's snapshot, encoded as kamflow stores it, is
    # byte for byte the stored one after its timestamp (when it was taken).
    mine = bytes(kamflow.app.mapper.to_stored_event(taken).state)
    cut, at = mine.find(_AFTER_TIMESTAMP), raw.find(_AFTER_TIMESTAMP)
    if cut > 0 and at > 0 and mine[cut:] == raw[at:] and _TIMESTAMP.fullmatch(raw[:at]):
        return None
    if not _canonical(raw):
        return "its bytes are not as kamflow's encoder writes them"
    try:
        decoded: Any = kamflow.app.mapper.to_domain_event(stored)
    except UnreadableEvent as exc:
        return f"cannot be read: {exc.cause}"
    if decoded.topic != taken.topic:
        return f"names class {decoded.topic}, not the account's"
    # Values that decode alike from other text (a datetime's "T" as a space) are found
    # by encoding what was decoded again: kamflow's encoder writes one text for each.
    again = _encoded_again(kamflow.app.mapper, stored)
    cut, at = again.find(_AFTER_TIMESTAMP), raw.find(_AFTER_TIMESTAMP)
    if cut > 0 and at > 0 and again[cut:] != raw[at:]:
        return "its bytes are not as kamflow's encoder writes them"
    try:
        # Through the aggregate, as a load uses it: a snapshot of an older class
        # version is upcast first (eventsourcing's Snapshot.mutate).
        restored: Any = type(replayed).Snapshot.take(decoded.mutate(None)).state
    except Exception as exc:
        return f"cannot be used: {type(exc).__name__}: {str(exc)[:80]}"
    expected = taken.state
    # A snapshot written by an older kamflow (an older class version) may lack fields
    # added since inside its values (an invoice's date): code reads them with defaults.
    older = int(decoded.state.get("class_version", 1)) < int(expected.get("class_version", 1))
    changed = sorted(
        name
        for name in set(restored) | set(expected)
        if not _same(restored.get(name), expected.get(name), older)
    )
    if not changed:
        return None
    return "differs from its account's events in " + ", ".join(changed[:5])


def _encoded_again(mapper: Any, stored: Any) -> bytes:
    """A stored snapshot decoded and encoded again, its personal values left as stored
    (encrypted: encrypting them again would draw new nonces; kamflow.personal)."""
    personal, mapper.personal = mapper.personal, None
    try:
        return bytes(mapper.to_stored_event(mapper.to_domain_event(stored)).state)
    finally:
        mapper.personal = personal


def _same(stored: Any, replayed: Any, older: bool) -> bool:
    """Whether a snapshot's value is the replay's; ``older``: dicts in it may lack keys
    the replay has (fields added after the snapshot was written)."""
    if older and isinstance(stored, dict) and isinstance(replayed, dict):
        return set(stored) <= set(replayed) and all(
            _same(value, replayed[key], older) for key, value in stored.items()
        )
    return bool(stored == replayed)


_AFTER_TIMESTAMP = b',"topic":'
_TIMESTAMP = re.compile(
    rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"'
    rb'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00"\}'
)


def _canonical(raw: bytes) -> bool:
    """Whether JSON bytes are exactly what eventsourcing's encoder writes for them
    (compact, UTF-8, escapes as Python writes them): an edit that decodes alike (an
    escape's letters' case) is found too. Bytes that are not JSON (a compressor or a
    cipher is set) are left to the decoder."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw[:1] not in (b"{", b"[")
    again = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return again == raw


def _name(kamflow: Kamflow, aid: uuid.UUID) -> str:
    from kamflow.domain.governance import GOVERNANCE_ID

    if aid == GOVERNANCE_ID:
        return "governance"
    key = kamflow._key_of(aid)
    return key if not key.startswith("(") else str(aid)


# ------------------------------------------------------------------ the store
def check_store(kamflow: Kamflow, result: Verification) -> None:
    """The database's own check of its files (SQLite) or indexes (PostgreSQL amcheck)."""
    recorder: Any = kamflow.app.recorder
    if not kamflow.store.postgres:
        with recorder.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA integrity_check")
            lines = [str(r[0]) for r in c.fetchall()]
        if lines == ["ok"]:
            result.store = "ok (PRAGMA integrity_check)"
            return
        result.store = "damaged"
        result.findings.append(
            Finding(
                "store",
                kamflow.store.named,
                "damaged",
                "integrity check: " + "; ".join(lines[:3]),
            )
        )
        return
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute("SELECT 1 AS x FROM pg_extension WHERE extname = 'amcheck'")
        if curs.fetchone() is None:
            # PostgreSQL has no whole-database check; amcheck checks B-tree indexes.
            result.store = "not checked: no amcheck (CREATE EXTENSION amcheck)"
            return
        curs.execute(
            "SELECT c.relname AS name, c.oid AS oid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = %s AND t.relname = ANY(%s)",
            (recorder.datastore.schema, [recorder.events_table_name, "kamflow_seals"]),
        )
        indexes = curs.fetchall()
        try:
            for index in indexes:
                curs.execute("SELECT bt_index_check(%s, true)", (index["oid"],))
        except Exception as exc:  # amcheck reports corruption as an error
            result.store = "damaged"
            result.findings.append(
                Finding("store", kamflow.store.named, "damaged", str(exc).splitlines()[0])
            )
            return
    result.store = f"ok (amcheck: {len(indexes)} indexes)"


# ------------------------------------------------------------------ the views
def check_views(kamflow: Kamflow, result: Verification) -> None:
    """Every view table, caught up, against the same views rebuilt from the log into a
    scratch file (SQLite) or schema (PostgreSQL), compared row by row in key order."""
    from kamflow.projections.engine import Projector, caught_up_views
    from kamflow.projections.log import StoreSource

    stored = caught_up_views(kamflow.locator)
    try:
        projector = Projector(stored)
        positions = projector.positions()
        upto = max(positions.values(), default=0)
        with _scratch(kamflow) as scratch:
            builder = Projector(scratch)
            builder.ensure_schema()
            with StoreSource(kamflow.locator) as source:
                builder.catch_up(_Upto(source, upto), batch=5000)
            result.views = []
            for view in projector.views:
                result.views.append(view.name)
                for table, columns in view.tables.items():
                    found = _compare(stored, scratch, table, _primary_key(columns))
                    if found is not None:
                        result.findings.append(found)
    finally:
        stored.close()


class _Upto:
    """The log as if it ended at ``upto`` (where the stored views stand)."""

    def __init__(self, source: Any, upto: int) -> None:
        self.source = source
        self.upto = upto

    def max_position(self) -> int:
        return min(int(self.source.max_position()), self.upto)

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        return [(p, e) for p, e in self.source.read(after, limit) if p <= self.upto]


@contextlib.contextmanager
def _scratch(kamflow: Kamflow) -> Iterator[ViewDB]:
    from kamflow.projections.db import ViewDB

    if not kamflow.store.postgres:
        with tempfile.TemporaryDirectory(prefix="kamflow-verify-") as folder:
            db = ViewDB(str(Path(folder) / "views.db"))
            try:
                yield db
            finally:
                db.close()
        return
    from psycopg import sql

    from kamflow.storage import connect_postgres

    schema = f"kamflow_verify_{uuid.uuid4().hex[:12]}"
    admin = connect_postgres(kamflow.store)
    admin.autocommit = True
    try:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        url = kamflow.locator.split("?")[0] + f"?schema={schema}"
        db = ViewDB(url)
        try:
            yield db
        finally:
            db.close()
    finally:
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


_PK = re.compile(r"PRIMARY KEY\s*\(([^)]*)\)", re.IGNORECASE)
_PK_COLUMN = re.compile(r"(\w+)\s+\w+\s+PRIMARY KEY", re.IGNORECASE)


def _primary_key(columns: str) -> list[str]:
    found = _PK.search(columns)
    if found is not None:
        return [c.strip() for c in found.group(1).split(",")]
    single = _PK_COLUMN.search(columns)
    return [single.group(1)] if single is not None else []


def _compare(stored: ViewDB, scratch: ViewDB, table: str, key: list[str]) -> Finding | None:
    """The first row in which a stored view table and its rebuild differ, or None."""
    names = [str(r[0]) for r in _columns(scratch, table)]
    index = [names.index(k) for k in key] if key else list(range(len(names)))
    statement = f"SELECT {', '.join(names)} FROM {table} ORDER BY {', '.join(key or names)}"
    mine, theirs = iter(stored.rows(statement)), iter(scratch.rows(statement))
    while True:
        a, b = next(mine, None), next(theirs, None)
        if a == b:
            if a is None:
                return None
            continue
        if a is not None and b is not None and _key(a, index) == _key(b, index):
            differ = [n for n, x, y in zip(names, a, b, strict=True) if x != y]
            return Finding("view", _where(table, names, index, a), "edited",
                           f"{', '.join(differ)} not as the events give")  # fmt: skip
        # Rows out of step: the stored row is one no event gives, or the rebuilt row is
        # one the stored table lacks; ask the rebuild which.
        if a is not None and not _has(scratch, table, names, index, a):
            return Finding("view", _where(table, names, index, a), "unexpected",
                           "a row no event gives")  # fmt: skip
        assert b is not None
        return Finding("view", _where(table, names, index, b), "missing",
                       "a row the events give is not there")  # fmt: skip


def _key(row: tuple[Any, ...], index: list[int]) -> tuple[Any, ...]:
    return tuple(row[i] for i in index)


def _has(db: ViewDB, table: str, names: list[str], index: list[int], row: tuple[Any, ...]) -> bool:
    where = " AND ".join(f"{names[i]} = ?" for i in index)
    return bool(db.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", _key(row, index)))


def _where(table: str, names: list[str], index: list[int], row: tuple[Any, ...]) -> str:
    return f"{table} " + " ".join(f"{names[i]}={row[i]}" for i in index)


def _columns(db: ViewDB, table: str) -> list[tuple[Any, ...]]:
    if db.postgres:
        return db.rows(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    return [(r[1],) for r in db.rows(f"PRAGMA table_info({table})")]


# ------------------------------------------------------------------ the answer
class Altered(KamflowError):
    """``audit verify`` found something not as kamflow stored it (exit 1)."""

    exit_code = 1


def report(result: Verification) -> Report:
    """``audit verify``'s answer: one row per check, the findings as a section, the
    JSON document ``Verification.as_json``; its error (exit 1) names the first finding."""
    from kamflow.projections.reports.base import Report

    if result.findings and result.findings[0].check == "log":
        log = f"{result.findings[0].kind} at position {result.findings[0].where}"
    else:
        log = f"{result.events:,} events verified, every seal as chained"
    rows = [{"check": "log", "result": log}]
    if result.head:
        rows.append({"check": "head", "result": result.head})
    if result.sealed_after is not None:
        first, last = result.sealed_after
        rows.append(
            {
                "check": "sealed later",
                "result": f"positions {first}-{last}, stored before kamflow sealed its log",
            }
        )
    bad = {f.check for f in result.findings}
    rows.append(
        {
            "check": "snapshots",
            "result": (
                "not as their accounts' events give"
                if "snapshot" in bad
                else f"{result.snapshots:,} match their accounts' events"
            ),
        }
    )
    rows.append({"check": "store", "result": result.store})
    views = (
        "not checked (give --views)"
        if result.views is None
        else "not as a rebuild from the log gives"
        if "view" in bad
        else f"{len(result.views)} match a rebuild from the log"
    )
    rows.append({"check": "views", "result": views})
    sections = {"findings": [f.as_json() for f in result.findings]} if result.findings else {}
    error = None
    if result.findings:
        more = len(result.findings) - 1
        error = Altered(
            f"verify failed at {result.findings[0].line()}"
            + (f" (and {more} more)" if more else "")
        )
    return Report(
        title="",
        columns=["check", "result"],
        rows=rows,
        sections=sections,
        document=result.as_json(),
        error=error,
    )

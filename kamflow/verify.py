"""`kamflow audit verify`: proving that nothing stored was altered (ADR 0017).

Four checks, each independent of the others, all run:

- the log: the seal chain recomputed over every event (``kamflow.seal.walk`` over
  ``kamflow.sealed.iter_sealed``, streamed: memory grows with the accounts, not the
  log); the first bad position and what is wrong (edited, account changed, inserted,
  deleted, reordered);
- the snapshots: each one against a replay of its account's events up to its version
  (a snapshot is a cache, so it is not sealed: it must equal what the events give), and
  its stored bytes as kamflow's encoder writes them (events and snapshots streamed in
  account order, ``kamflow.sealed.by_account``: one account in memory at a time);
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
import itertools
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kamflow.domain.errors import KamflowError
from kamflow.seal import Break, Chain, Row, walk
from kamflow.sealed import by_account, head, is_sealed, iter_sealed, orphans, seal_meta

if TYPE_CHECKING:
    from eventsourcing.persistence import StoredEvent

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
    # The signatures (kamflow.signature_check, ADR 0025): one line, "" when not checked.
    signatures: str = ""

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
            "signatures": self.signatures,
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
    if is_sealed(kamflow):
        from kamflow.signature_check import check

        signed = check(kamflow)
        result.signatures = signed.summary()
        result.findings += signed.findings
    check_snapshots(kamflow, result)
    check_personal(kamflow, result)
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
    rows = _each(iter_sealed(kamflow), row_checks(kamflow, result, progress))
    found = walk(rows, orphans(kamflow), ids=_named_ids)
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


class RowCheck(Protocol):
    """A check of each event, run in the log's one walk: called with every row in log
    order (``seal.Row``: position, account id, version, type, stored bytes, seal) as the
    chain reads it, then ``end()`` once the log is read through (not when the chain
    broke first). It records what it finds in the ``Verification`` it was made with."""

    def __call__(self, row: Row) -> None: ...

    def end(self) -> None: ...


def row_checks(kamflow: Kamflow, result: Verification, progress: Progress | None) -> list[RowCheck]:
    """The per-event checks of ``check_log``'s walk, in the order they run."""
    checks: list[RowCheck] = []
    if progress is not None:
        checks.append(_Counted(progress))
    return checks


def _each(rows: Iterable[Row], checks: list[RowCheck]) -> Iterator[Row]:
    """``rows``, each shown to every check first; the checks' ``end`` after the last."""
    if not checks:
        yield from rows
        return
    for row in rows:
        for check in checks:
            check(row)
        yield row
    for check in checks:
        check.end()


class _Counted:
    """Tells ``progress`` how many events were read, every 1000 and at the end."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done = 0

    def __call__(self, row: Row) -> None:
        self.done += 1
        if self.done == 1000:
            self.progress(self.done)
            self.done = 0

    def end(self) -> None:
        if self.done:
            self.progress(self.done)
            self.done = 0


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


# ------------------------------------------------------------------ personal data
def check_personal(kamflow: Kamflow, result: Verification) -> None:
    """Every person whose values the log holds encrypted has their key in the key store,
    or was forgotten (ADR 0026): a key row deleted, the key store replaced or lost, or a
    key swapped for another loses a person's data with no `contact forget` recorded, and
    the seal cannot see it (the keys live apart from the log). Names each such person
    once: ``personal <account> <person>: no key | does not decrypt``."""
    from kamflow import personal as pd
    from kamflow.stored import UnreadableEvent

    mapper: Any = kamflow.app.mapper
    recorder: Any = kamflow.app.recorder
    # The stored events that may hold a person's encrypted values.
    topics = sorted(f"kamflow.domain.account:{name}" for name in pd.EVENTS)
    marker = pd.PREFIX.encode()
    named: set[tuple[Any, str]] = set()
    start = 1
    while True:
        batch = recorder.select_notifications(start, 1000, topics=topics)
        for stored in batch:
            if marker not in bytes(stored.state):
                continue  # stored before names were encrypted (plain, ADR 0026)
            person = _person_of(stored.state)
            if (stored.originator_id, person) in named:
                continue
            try:
                event: Any = mapper.to_domain_event(stored)
            except UnreadableEvent as exc:
                kind, detail = "does not decrypt", exc.cause
            else:
                state = vars(event)
                values = [box[name] for box, name, _, _ in pd.slots(type(event), state)]
                if pd.NO_KEY not in values and not any(
                    isinstance(v, str) and v.startswith(pd.PREFIX) for v in values
                ):
                    continue
                kind = "no key"
                detail = (
                    "their values are stored encrypted, the key store has no key for them"
                    " and no `contact forget` was recorded (a key deleted, or the key store"
                    " lost or replaced)"
                )
            named.add((stored.originator_id, person))
            result.findings.append(
                Finding(
                    "personal", f"{_name(kamflow, stored.originator_id)} {person}", kind, detail
                )
            )
        if len(batch) < 1000:
            return
        start = batch[-1].id + 1


def _person_of(state: bytes) -> str:
    """The contact id a stored contact event names ('' when it names none)."""
    try:
        value = json.loads(state).get("contact_id", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------ snapshots
def check_snapshots(kamflow: Kamflow, result: Verification) -> None:
    """Each snapshot against its account replayed from its events up to its version.

    Snapshots and events are streamed side by side in account order, in one read
    transaction (``sealed.by_account``): each event is read and decoded once, only for
    accounts that have a snapshot and only up to their last one, and one account is in
    memory at a time (a walk in log order would hold every account until its last
    snapshot: memory growing with the accounts' states, ADR 0017)."""
    app = kamflow.app
    if app.snapshots is None:
        return
    recorder: Any = app.snapshots.recorder
    table = recorder.events_table_name
    with by_account(kamflow, table) as (snapshots, events):
        # Both in the same order, and only accounts with snapshots have events here.
        accounts = itertools.groupby(events, key=lambda e: e.originator_id)
        current = next(accounts, None)
        for aid, stored in itertools.groupby(snapshots, key=lambda s: s.originator_id):
            own: Iterable[StoredEvent] = ()
            if current is not None and current[0] == aid:
                own, current = current[1], None
            _check_account(kamflow, result, aid, stored, own)
            if current is None:
                current = next(accounts, None)


def _check_account(
    kamflow: Kamflow,
    result: Verification,
    aid: Any,
    stored: Iterator[StoredEvent],
    events: Iterable[StoredEvent],
) -> None:
    """One account's snapshots (``stored``, in version order, read as the replay needs
    them: an account's snapshots together can be large) against a replay of its
    ``events`` (in version order, up to its last snapshot's)."""
    from kamflow.stored import UnreadableEvent, is_storage_error, one_line

    decode = kamflow.app.mapper.to_domain_event
    aggregate: Any = None
    snapshot = next(stored, None)
    try:
        for stored_event in events:
            event: Any = decode(stored_event)
            aggregate = event.mutate(aggregate)
            version = event.originator_version
            while snapshot is not None and snapshot.originator_version <= version:
                result.snapshots += 1
                if snapshot.originator_version < version:  # below the first event
                    result.findings.append(_unexpected(kamflow, aid, snapshot))
                else:
                    problem = _snapshot_problem(kamflow, snapshot, aggregate)
                    if problem is not None:
                        result.findings.append(
                            Finding(
                                "snapshot",
                                f"{_name(kamflow, aid)} v{version}",
                                "edited",
                                problem,
                            )
                        )
                snapshot = next(stored, None)
    except Exception as exc:  # an event unreadable, missing or out of order
        if is_storage_error(exc) and not isinstance(exc, UnreadableEvent):
            raise
        why = exc.cause if isinstance(exc, UnreadableEvent) else one_line(exc)
        at = aggregate.version if aggregate is not None else 0
        result.findings.append(
            Finding(
                "snapshot",
                f"{_name(kamflow, aid)} after v{at}",
                "unreplayable",
                f"its account's events cannot be replayed: {why}",
            )
        )
        result.snapshots += (snapshot is not None) + sum(1 for _ in stored)
        return
    while snapshot is not None:  # snapshots beyond the account's last event
        result.snapshots += 1
        result.findings.append(_unexpected(kamflow, aid, snapshot))
        snapshot = next(stored, None)


def _unexpected(kamflow: Kamflow, aid: Any, snapshot: StoredEvent) -> Finding:
    return Finding(
        "snapshot",
        f"{_name(kamflow, aid)} v{snapshot.originator_version}",
        "unexpected",
        "a snapshot of a version the account's events never reached",
    )


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
    if result.signatures:
        failed = next((f for f in result.findings if f.check == "signature"), None)
        rows.append(
            {
                "check": "signatures",
                "result": f"{failed.kind} at position {failed.where}"
                if failed
                else result.signatures,
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

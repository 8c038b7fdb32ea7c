"""Catching views up with the event log, exactly once.

Each view has a tracking row (its position in the notification log). Batches of events
are applied to every view that has not seen them, and the tracking rows move, in ONE
transaction (a few batches, up to HOLD_SECONDS): a crash loses all of it or nothing, and
a second catch-up running at the same time waits for the write lock, then reads the
moved positions.

SQLite has no push subscription in eventsourcing 9.5, so catch-up pulls the log in
batches (design §5); `projections follow` repeats the pull until stopped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from kamflow.domain.errors import InvalidInput
from kamflow.projections.db import Statement, ViewDB
from kamflow.projections.views import VIEWS, Handler, View

if TYPE_CHECKING:
    from kamflow.application import Kamflow

# Bump when a handler changes what it writes: views whose fingerprint differs are
# rebuilt from zero on the next catch-up, so no one reads rows built by older code.
HANDLERS_VERSION = "1"
GOVERNANCE_KEY = "(governance)"
# How long one catch-up transaction may hold the views' write lock (see catch_up).
HOLD_SECONDS = 1.0


# A rebuild from zero with at least this many events to read fills its tables without
# their secondary indexes and builds those at the end: one sorted pass instead of an
# index entry placed at random for every event (on 1M events the audit index alone
# doubled the cost of writing the audit rows and of every commit).
BULK_REBUILD_EVENTS = 50_000


def fingerprint(view: View, db: ViewDB) -> str:
    """The view's definition as this database creates it (ViewDB.ddl), with the handlers'
    version: a table that changes on one database only is rebuilt there only."""
    tables = sorted(view.tables.items())
    text = HANDLERS_VERSION + "".join(f"{t}:{db.ddl(columns)}" for t, columns in tables)
    text += "".join(f"{n}:{on}" for n, on in sorted(view.indexes.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EventSource(Protocol):
    def max_position(self) -> int: ...

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]: ...


class EventDecoder:
    """The application mapper's ``to_domain_event``, made cheap enough for a rebuild.

    The mapper decodes JSON through an object hook that Python calls for every dict.
    Here the JSON is parsed by pydantic-core's parser (already a dependency, about 2.5x
    faster than ``json``) and only the top-level transcoded values are converted, with
    the transcoder's own decoders. Anything else -- a cipher or compressor, an upcast, a
    transcoded value nested deeper than the top level -- goes through the mapper itself,
    so the result is always what the mapper returns (tests/test_projections.py checks
    that, event by event).
    """

    def __init__(self, mapper: Any) -> None:
        from pydantic_core import from_json

        self.parse = from_json
        self.mapper = mapper
        self.plain = mapper.cipher is None and mapper.compressor is None
        self.decoders: dict[str, Callable[[Any], Any]] = {
            name: transcoding.decode for name, transcoding in mapper.transcoder.names.items()
        }
        self.classes: dict[str, type | None] = {}
        self.ids: dict[Any, UUID] = {}  # one UUID object per account, not one per event

    def _class(self, topic: str) -> type | None:
        """The event class of a topic, or None when only the mapper may decode it."""
        from eventsourcing.utils import resolve_topic

        cls: type = resolve_topic(topic)
        fast = self.plain and getattr(cls, "class_version", 1) == 1
        self.classes[topic] = cls if fast else None
        return self.classes[topic]

    def __call__(self, originator_id: Any, version: int, topic: str, raw: bytes) -> Any:
        try:
            uid = self.ids[originator_id]
        except KeyError:
            uid = self.ids[originator_id] = (
                originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            )
        cls = self.classes[topic] if topic in self.classes else self._class(topic)
        if cls is not None:
            state: dict[str, Any] = self.parse(raw)
            typed = 0
            for name, value in state.items():
                if value.__class__ is dict and len(value) == 2 and "_type_" in value:
                    state[name] = self.decoders[value["_type_"]](value["_data_"])
                    typed += 1
            if typed == raw.count(b'"_type_"') and "class_version" not in state:
                state["originator_id"] = uid
                state["originator_version"] = version
                event: Any = object.__new__(cls)
                object.__setattr__(event, "__dict__", state)
                return event
        from eventsourcing.persistence import StoredEvent

        return self.mapper.to_domain_event(StoredEvent(uid, version, topic, raw))


class StoreSource:
    """Decoded events from a kamflow store's notification log.

    The rows are read with plain SQL on a connection of our own (the recorder wraps each
    row in a Notification and converts its id, about as costly as decoding it), in
    notification order, exactly the rows ``recorder.select_notifications`` returns.
    """

    def __init__(self, kamflow: Kamflow, *, before: datetime | None = None) -> None:
        self.kamflow = kamflow
        self.before = before
        self.decode = EventDecoder(kamflow.app.mapper)
        self._log: ViewDB | None = None

    def max_position(self) -> int:
        return int(self.kamflow.app.recorder.max_notification_id() or 0)

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        if self._log is None:
            self._log = ViewDB(self.kamflow.locator)
        log = self._log
        rows = log.rows(
            f"SELECT {log.position_column}, originator_id, originator_version, topic, state"
            f" FROM {log.events_table} WHERE {log.position_column} > ?"
            f" ORDER BY {log.position_column} LIMIT ?",
            (after, limit),
        )
        decode = self.decode
        out: list[tuple[int, Any]] = [(row[0], decode(*row[1:])) for row in rows]
        if self.before is not None:
            # "As of": only what had been recorded by then. Positions still advance past
            # later events so the caller's loop ends.
            out = [(p, e) if e.timestamp < self.before else (p, None) for p, e in out]
        return out

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> StoreSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ViewStatus:
    name: str
    position: int
    behind: int
    description: str


class Projector:
    def __init__(
        self,
        db: ViewDB,
        views: Iterable[View] = VIEWS.values(),
        *,
        bulk_from: int = BULK_REBUILD_EVENTS,
    ) -> None:
        self.db = db
        self.views = list(views)
        self.bulk_from = bulk_from
        self.derived = frozenset(sql for view in self.views for sql in view.derived)
        self._keys: dict[str, str] | None = None

    # ------------------------------------------------------------ schema
    def ensure_schema(self) -> None:
        """Create missing tables and tracking rows; rebuild views whose definition changed."""
        wanted = {v.name: fingerprint(v, self.db) for v in self.views}
        if self.db.table_exists("kf_tracking"):
            rows = self.db.query("SELECT view, fingerprint FROM kf_tracking")
            have = {r["view"]: r["fingerprint"] for r in rows}
            if all(have.get(name) == fp for name, fp in wanted.items()) and not self.db.missing(
                [name for view in self.views for name in view.indexes]
            ):
                return
        with self.db.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS kf_tracking (view TEXT PRIMARY KEY,"
                " position BIGINT NOT NULL, fingerprint TEXT NOT NULL)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS kf_keys"
                " (account_id TEXT PRIMARY KEY, key TEXT NOT NULL)"
            )
            cur.execute("SELECT view, fingerprint FROM kf_tracking")
            have = {row[0]: row[1] for row in cur.fetchall()}
            for view in self.views:
                if view.name in have and have[view.name] != wanted[view.name]:
                    for table in view.tables:
                        cur.execute(f"DROP TABLE IF EXISTS {table}")
                    cur.execute(self.db.sql("DELETE FROM kf_tracking WHERE view=?"), (view.name,))
                    have.pop(view.name)
                for table, columns in view.tables.items():
                    cur.execute(f"CREATE TABLE IF NOT EXISTS {table} ({self.db.ddl(columns)})")
                if view.name not in have:
                    cur.execute(
                        self.db.sql(
                            "INSERT INTO kf_tracking (view, position, fingerprint) VALUES (?, 0, ?)"
                        ),
                        (view.name, wanted[view.name]),
                    )
            # Views whose indexes are missing: a bulk rebuild stopped part-way, or tables
            # (re)created just now.
            self._finish_bulk(cur, [v for v in self.views if self.db.missing(list(v.indexes), cur)])

    def _finish_bulk(self, cur: Any, views: Iterable[View]) -> None:
        """Complete views filled in bulk: their indexes, then their derived figures.

        A view is in bulk mode exactly while its indexes are missing, so a rebuild that
        stopped part-way is completed here by the next ensure_schema; the catch-up that
        follows keeps the derived figures up to date account by account."""
        for view in views:
            for name, on in view.indexes.items():
                with self.db.small_sorter():
                    cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
            for every_account in view.derived.values():
                for statement in every_account:
                    cur.execute(statement)

    def positions(self) -> dict[str, int]:
        rows = self.db.query("SELECT view, position FROM kf_tracking")
        found = {r["view"]: int(r["position"]) for r in rows}
        return {v.name: found.get(v.name, 0) for v in self.views}

    def status(self) -> list[ViewStatus]:
        newest = self.db.max_position()
        return [
            ViewStatus(v.name, pos, max(0, newest - pos), v.description)
            for v, pos in zip(self.views, self.positions().values(), strict=True)
        ]

    def behind(self) -> bool:
        positions = self.positions().values()
        return min(positions, default=0) < self.db.max_position()

    # ------------------------------------------------------------ catch-up
    def _key_map(self) -> dict[str, str]:
        if self._keys is None:
            rows = self.db.query("SELECT account_id, key FROM kf_keys")
            self._keys = {r["account_id"]: r["key"] for r in rows}
        return self._keys

    def catch_up(
        self,
        source: EventSource,
        *,
        batch: int = 1000,
        progress: Callable[[int], None] | None = None,
        hold: float = HOLD_SECONDS,
    ) -> int:
        """Apply every event not yet in each view; return how many events were read.

        Events are read ``batch`` at a time; one transaction takes batches until ``hold``
        seconds have passed, then commits rows and positions together. Committing is most
        of a large catch-up's cost when it happens often (each commit writes every page
        the batch touched, and on a big store a batch touches pages all over the views),
        while holding the write lock much longer would keep event writers waiting.
        """
        keys = self._key_map()
        # Per event type, the handlers of every view in view order: one lookup per event
        # instead of one per view, for the events that every view has still to see.
        dispatch: dict[str, list[Handler]] = {}
        for view in self.views:
            for event_type, handles in view.handlers.items():
                dispatch.setdefault(event_type, []).append(handles)
        read = 0
        bulk: list[View] = []
        while True:
            with self.db.transaction() as cur:
                until = time.monotonic() + hold
                cur.execute("SELECT view, position FROM kf_tracking")
                positions = {row[0]: int(row[1]) for row in cur.fetchall()}
                mine = {v.name: positions.get(v.name, 0) for v in self.views}
                fresh = [v for v in self.views if mine[v.name] == 0 and v.indexes]
                if not read and fresh and source.max_position() >= self.bulk_from:
                    # A rebuild from zero: views with indexes fill their tables without
                    # them and leave their derived figures to the end (_finish_bulk).
                    bulk = fresh
                    for view in bulk:
                        for name in view.indexes:
                            cur.execute(f"DROP INDEX IF EXISTS {name}")
                deferred = {sql for view in bulk for sql in view.derived}
                while True:
                    events = source.read(min(mine.values(), default=0), batch)
                    if not events:
                        self._finish_bulk(cur, bulk)
                        return read
                    self._apply(cur, events, mine, keys, dispatch, deferred)
                    read += len(events)
                    if progress is not None:
                        progress(len(events))
                    if time.monotonic() >= until:
                        break

    def _apply(
        self,
        cur: Any,
        events: list[tuple[int, Any]],
        mine: dict[str, int],
        keys: dict[str, str],
        dispatch: dict[str, list[Handler]],
        deferred: set[str],
    ) -> None:
        """Write one batch into every view that has not seen it and move the positions
        in ``mine`` (and in kf_tracking) past it. Statements in ``deferred`` (derived
        figures of views being filled in bulk) are left out."""
        statements: list[Statement] = []
        audit_rows: list[tuple[Any, ...]] = []
        audit_from = mine.get("audit")
        newest = max(mine.values(), default=0)
        reloaded = False
        for position, event in events:
            if event is None:
                continue
            kind = type(event).__name__
            aid = event.originator_id.hex
            key = keys.get(aid)
            if key is None:
                if kind == "AccountOpened":
                    key = keys[aid] = event.key
                    statements.append(
                        (
                            "INSERT INTO kf_keys (account_id, key) VALUES (?, ?)"
                            " ON CONFLICT (account_id) DO NOTHING",
                            (aid, key),
                        )
                    )
                elif not reloaded:
                    # Another catch-up may have recorded accounts since this one read them.
                    cur.execute("SELECT account_id, key FROM kf_keys")
                    keys.update({row[0]: row[1] for row in cur.fetchall()})
                    reloaded = True
                    key = keys.get(aid, GOVERNANCE_KEY)
                else:
                    key = GOVERNANCE_KEY
            if position > newest:
                # Past every view's position: all views apply it (same order).
                for apply in dispatch.get(kind, ()):
                    statements.extend(apply(event, key))
            else:
                for view in self.views:
                    if position > mine[view.name]:
                        handler = view.handlers.get(kind)
                        if handler is not None:
                            statements.extend(handler(event, key))
            if audit_from is not None and position > audit_from:
                audit_rows.append(
                    (
                        position,
                        key,
                        event.originator_version,
                        kind,
                        event.actor,
                        event.occurred_on.isoformat(),
                        event.timestamp.isoformat(),
                        event.command_id,
                        event.summary(),
                    )
                )
        if deferred:
            statements = [s for s in statements if s[0] not in deferred]
        self.db.run(cur, statements, self.derived)
        if audit_rows:
            cur.executemany(
                self.db.sql(
                    "INSERT INTO kf_audit (position, key, version, type, actor,"
                    " occurred_on, recorded_at, command_id, summary)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                audit_rows,
            )
        last = events[-1][0]
        cur.executemany(
            self.db.sql("UPDATE kf_tracking SET position=? WHERE view=? AND position<?"),
            [(last, name, last) for name in mine],
        )
        for name in mine:
            mine[name] = max(mine[name], last)

    def reset(self, names: Sequence[str]) -> None:
        """Empty the named views and put their positions back to zero."""
        unknown = [n for n in names if n not in {v.name for v in self.views}]
        if unknown:
            raise InvalidInput(
                f'unknown view "{unknown[0]}"; one of: {", ".join(v.name for v in self.views)}'
            )
        with self.db.transaction() as cur:
            for view in self.views:
                if view.name in names:
                    for table in view.tables:
                        cur.execute(f"DELETE FROM {table}")
                    cur.execute(
                        self.db.sql("UPDATE kf_tracking SET position=0 WHERE view=?"), (view.name,)
                    )


def caught_up_views(kamflow_locator: str, open_store: Callable[[], Kamflow]) -> ViewDB:
    """The views of a store, caught up with its log. The store itself (and with it
    eventsourcing) is opened only when there is something to catch up."""
    db = ViewDB(kamflow_locator)
    projector = Projector(db)
    projector.ensure_schema()
    if projector.behind():
        with StoreSource(open_store()) as source:
            projector.catch_up(source)
    return db


def views_as_of(kamflow: Kamflow, before: datetime) -> ViewDB:
    """Throw-away views, in memory, of only the events recorded before ``before``."""
    db = ViewDB(":memory:")
    projector = Projector(db)
    projector.ensure_schema()
    with StoreSource(kamflow, before=before) as source:
        projector.catch_up(source, batch=5000)
    return db

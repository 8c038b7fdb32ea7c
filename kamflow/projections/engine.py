"""Catching views up with the event log, exactly once.

Each view has a tracking row (its position in the notification log). A batch of events
is applied to every view that has not seen it, and the tracking rows move, in ONE
transaction: a crash loses the whole batch or nothing, and a second catch-up running at
the same time waits for the write lock, then reads the moved positions.

SQLite has no push subscription in eventsourcing 9.5, so catch-up pulls the log in
batches (design §5); `projections follow` repeats the pull until stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from kamflow.domain.errors import InvalidInput
from kamflow.projections.db import Statement, ViewDB
from kamflow.projections.views import VIEWS, Handler, View, iso

if TYPE_CHECKING:
    from kamflow.application import Kamflow

# Bump when a handler changes what it writes: views whose fingerprint differs are
# rebuilt from zero on the next catch-up, so no one reads rows built by older code.
HANDLERS_VERSION = "1"
GOVERNANCE_KEY = "(governance)"


def fingerprint(view: View) -> str:
    text = HANDLERS_VERSION + "".join(f"{t}:{ddl}" for t, ddl in sorted(view.tables.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EventSource(Protocol):
    def max_position(self) -> int: ...

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]: ...


class StoreSource:
    """Decoded events from a kamflow store's notification log."""

    def __init__(self, kamflow: Kamflow, *, before: datetime | None = None) -> None:
        self.app = kamflow.app
        self.before = before

    def max_position(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        notifications = self.app.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        decode = self.app.mapper.to_domain_event
        out: list[tuple[int, Any]] = [(n.id, decode(n)) for n in notifications]
        if self.before is not None:
            # "As of": only what had been recorded by then. Positions still advance past
            # later events so the caller's loop ends.
            out = [(p, e) if e.timestamp < self.before else (p, None) for p, e in out]
        return out


@dataclass(frozen=True)
class ViewStatus:
    name: str
    position: int
    behind: int
    description: str


class Projector:
    def __init__(self, db: ViewDB, views: Iterable[View] = VIEWS.values()) -> None:
        self.db = db
        self.views = list(views)
        self._keys: dict[str, str] | None = None

    # ------------------------------------------------------------ schema
    def ensure_schema(self) -> None:
        """Create missing tables and tracking rows; rebuild views whose definition changed."""
        wanted = {v.name: fingerprint(v) for v in self.views}
        if self.db.table_exists("kf_tracking"):
            rows = self.db.query("SELECT view, fingerprint FROM kf_tracking")
            have = {r["view"]: r["fingerprint"] for r in rows}
            if all(have.get(name) == fp for name, fp in wanted.items()):
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
                    cur.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
                if view.name not in have:
                    cur.execute(
                        self.db.sql(
                            "INSERT INTO kf_tracking (view, position, fingerprint) VALUES (?, 0, ?)"
                        ),
                        (view.name, wanted[view.name]),
                    )
            cur.execute("CREATE INDEX IF NOT EXISTS kf_audit_key ON kf_audit (key, version)")

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
    ) -> int:
        """Apply every event not yet in each view; return how many events were read."""
        keys = self._key_map()
        # Per event type, the handlers of every view in view order: one lookup per event
        # instead of one per view, for the events that every view has still to see.
        dispatch: dict[str, list[Handler]] = {}
        for view in self.views:
            for event_type, handles in view.handlers.items():
                dispatch.setdefault(event_type, []).append(handles)
        read = 0
        while True:
            with self.db.transaction() as cur:
                cur.execute("SELECT view, position FROM kf_tracking")
                positions = {row[0]: int(row[1]) for row in cur.fetchall()}
                mine = {v.name: positions.get(v.name, 0) for v in self.views}
                start = min(mine.values(), default=0)
                events = source.read(start, batch)
                if not events:
                    return read
                if any(e is not None and e.originator_id.hex not in keys for _, e in events):
                    # Another catch-up may have recorded accounts since this one read them.
                    cur.execute("SELECT account_id, key FROM kf_keys")
                    keys.update({row[0]: row[1] for row in cur.fetchall()})
                statements: list[Statement] = []
                audit_rows: list[tuple[Any, ...]] = []
                audit_from = mine.get("audit")
                newest = max(mine.values(), default=0)
                for position, event in events:
                    if event is None:
                        continue
                    kind = type(event).__name__
                    aid = event.originator_id.hex
                    if kind == "AccountOpened":
                        if aid not in keys:
                            keys[aid] = event.key
                        statements.append(
                            (
                                "INSERT INTO kf_keys (account_id, key) VALUES (?, ?)"
                                " ON CONFLICT (account_id) DO NOTHING",
                                (aid, event.key),
                            )
                        )
                    key = keys.get(aid, GOVERNANCE_KEY)
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
                                iso(event.occurred_on),
                                iso(event.timestamp),
                                event.command_id,
                                event.summary(),
                            )
                        )
                self.db.run(cur, statements)
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
            read += len(events)
            if progress is not None:
                progress(len(events))

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
        projector.catch_up(StoreSource(open_store()))
    return db


def views_as_of(kamflow: Kamflow, before: datetime) -> ViewDB:
    """Throw-away views, in memory, of only the events recorded before ``before``."""
    db = ViewDB(":memory:")
    projector = Projector(db)
    projector.ensure_schema()
    projector.catch_up(StoreSource(kamflow, before=before), batch=5000)
    return db

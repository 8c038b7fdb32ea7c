"""Catching views up with the event log, exactly once, whatever the log holds.

Each view has a tracking row (its position in the notification log). Batches of events
are applied to every view that has not seen them, and the tracking rows move, in ONE
transaction (a few batches, up to HOLD_SECONDS): a crash loses all of it or nothing, and
a second catch-up running at the same time waits for the write lock, then reads the
moved positions.

An event a view cannot project (it cannot be decoded, a handler raises on it, or the
database refuses what the handler wrote) is quarantined: recorded in ``kf_quarantine``
for that view, skipped by that view only, and named by reports and `projections status`
(docs/decisions/0011). `projections rebuild` fills new tables aside and swaps them in
at the end (``Projector.rebuild``), so a rebuild that fails leaves the old views.

SQLite has no push subscription in eventsourcing 9.5, so catch-up pulls the log in
batches (ADR 0009) from an ``EventSource``, a reader of the store itself
(``log.StoreSource``), never the application; `projections follow` repeats the pull
until stopped. Each event goes to the handlers registered for its class
(``handlers.py``), loaded once there is an event to apply.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from kamflow.domain.errors import Conflict, InvalidInput, KamflowError
from kamflow.projections.db import Statement, ViewDB, identifier, is_data_fault
from kamflow.projections.log import EventSource, StoreSource, Unreadable, one_line, why
from kamflow.projections.views import HANDLERS_VERSION, VIEWS, Handler, View

# kamflow.projections.reportcache's table (not imported: a catch-up needs none of it).
REPORT_CACHE_TABLE = (
    "CREATE TABLE IF NOT EXISTS kf_report_cache"
    " (report TEXT PRIMARY KEY, cache_key TEXT NOT NULL, body TEXT NOT NULL)"
)

GOVERNANCE_KEY = "(governance)"
GOVERNANCE_MODULE = "kamflow.domain.governance"
# How long one catch-up transaction may hold the views' write lock (see catch_up).
HOLD_SECONDS = 1.0


# A rebuild from zero with at least this many events to read fills its tables without
# their secondary indexes and builds those at the end: one sorted pass instead of an
# index entry placed at random for every event (on 1M events the audit index alone
# doubled the cost of writing the audit rows and of every commit).
BULK_REBUILD_EVENTS = 50_000

KEYS_INSERT = (
    "INSERT INTO kf_keys (account_id, key) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING"
)
AUDIT_INSERT = (
    "INSERT INTO kf_audit (position, key, version, type, actor, occurred_on, recorded_at,"
    " command_id, summary, changes, delegate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
QUARANTINE_TABLE = (
    "CREATE TABLE IF NOT EXISTS kf_quarantine (view TEXT NOT NULL, position BIGINT NOT NULL,"
    " key TEXT NOT NULL, version BIGINT NOT NULL, type TEXT NOT NULL, error TEXT NOT NULL,"
    " recorded_at TEXT, PRIMARY KEY (view, position))"
)
QUARANTINE_COLUMNS = "view, position, key, version, type, error, recorded_at"
TRACKING_INSERT = "INSERT INTO kf_tracking (view, position, fingerprint) VALUES (?, 0, ?)"
TRACKING_TABLE = (
    "CREATE TABLE IF NOT EXISTS kf_tracking (view TEXT PRIMARY KEY,"
    " position BIGINT NOT NULL, fingerprint TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Skipped:
    """An event one view cannot project (a row of kf_quarantine). ``key`` is the
    account key, or its id when the key is unknown; ``recorded_at`` the event's record
    time (None when it cannot be decoded)."""

    view: str
    position: int
    key: str
    version: int
    type: str
    error: str
    recorded_at: str | None = None

    @property
    def event(self) -> str:
        return f'event {self.version} of "{self.key}" (position {self.position}, {self.type})'

    def __str__(self) -> str:
        return f"{self.event}: {self.error}"

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "key": self.key,
            "version": self.version,
            "type": self.type,
            "error": self.error,
            "recorded_at": self.recorded_at,
        }


def audit_changes(event: Any) -> str | None:
    """The values an event replaced (its ``changed()``) as the audit view keeps them:
    JSON text of a list of ``Change.as_json()`` (``{"subject", "field", "old", "new",
    "old_source"}``); None for an event that replaced nothing."""
    changed = event.changed()
    if not changed:
        return None
    return json.dumps(
        [change.as_json() for change in changed],
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,  # Decimal (policies)
    )


class _Refused(Exception):
    """The database refused a statement of a batch applied without a savepoint."""


class Unprojectable(KamflowError):
    """Views skip events they cannot project: the output is still given, exit 1."""

    exit_code = 1


def skipped_line(skipped: Sequence[Skipped], *, hint: bool = True, most: int = 3) -> str:
    """One line naming the views that skip events and (up to ``most`` of) the events,
    e.g. ``view "accounts" skips 1 event it cannot project: event 1 of "a" (position 1,
    AccountOpened): missing field "name"; see kamflow projections status``."""
    order = {name: n for n, name in enumerate(VIEWS)}
    ordered = sorted(skipped, key=lambda s: (s.position, order.get(s.view, len(order))))
    views = sorted({s.view for s in ordered}, key=lambda v: order.get(v, len(order)))
    events: dict[int, Skipped] = {}
    for entry in ordered:
        events.setdefault(entry.position, entry)
    count = len(events)
    noun = "event" if count == 1 else "events"
    if len(views) == 1:
        head = f'view "{views[0]}" skips {count} {noun} it cannot project'
    else:
        names = ", ".join(f'"{v}"' for v in views[:-1]) + f' and "{views[-1]}"'
        head = f"views {names} skip {count} {noun} they cannot project"
    named = "; ".join(str(e) for e in list(events.values())[:most])
    more = f"; and {count - most} more" if count > most else ""
    tail = "; see kamflow projections status" if hint else ""
    return f"{head}: {named}{more}{tail}"


def quarantined(db: ViewDB, views: Iterable[str] | None = None) -> list[Skipped]:
    """The events the named views (all when None) skip, in log order."""
    sql = f"SELECT {QUARANTINE_COLUMNS} FROM kf_quarantine"
    names = None if views is None else list(views)
    if names is not None:
        if not names:
            return []
        sql += f" WHERE view IN ({', '.join('?' for _ in names)})"
    found = db.rows(sql + " ORDER BY position, view", tuple(names or ()))
    return [
        Skipped(str(v), int(p), str(k), int(n), str(t), str(e), r) for v, p, k, n, t, e, r in found
    ]


def fingerprint(view: View, db: ViewDB) -> str:
    """The view's definition as this database creates it (ViewDB.ddl), with the handlers'
    version: a table that changes on one database only is rebuilt there only."""
    tables = sorted(view.tables.items())
    text = HANDLERS_VERSION + "".join(
        f"{t}:{db.ddl(columns)}{db.options(columns)}" for t, columns in tables
    )
    text += "".join(f"{n}:{on}" for n, on in sorted(view.indexes.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ViewStatus:
    name: str
    position: int
    behind: int
    description: str
    quarantined: tuple[Skipped, ...] = field(default=())


# One event's work for one view (None: the key map), or why the handler raised.
Unit = tuple[str | None, list[Statement]]


class Projector:
    def __init__(
        self,
        db: ViewDB,
        views: Iterable[View] = VIEWS.values(),
        *,
        bulk_from: int = BULK_REBUILD_EVENTS,
        build_indexes: bool = True,
    ) -> None:
        self.db = db
        self.views = list(views)
        self.bulk_from = bulk_from
        # False while a rebuild fills tables aside: their indexes are made at the swap.
        self.build_indexes = build_indexes
        self.derived = frozenset(sql for view in self.views for sql in view.derived)
        self._keys: dict[str, str] | None = None

    # ------------------------------------------------------------ schema
    def ensure_schema(self) -> None:
        """Create missing tables and tracking rows; rebuild views whose definition changed."""
        wanted = {v.name: fingerprint(v, self.db) for v in self.views}
        # kf_quarantine is created last of the shared tables (and by newer code only).
        if self.db.table_exists("kf_quarantine"):
            rows = self.db.query("SELECT view, fingerprint FROM kf_tracking")
            have = {r["view"]: r["fingerprint"] for r in rows}
            if all(have.get(name) == fp for name, fp in wanted.items()) and not self.db.missing(
                [name for view in self.views for name in view.indexes]
            ):
                return
        sql = self.db.sql
        with self.db.transaction() as cur:
            cur.execute(sql(TRACKING_TABLE))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS kf_keys"
                " (account_id TEXT PRIMARY KEY, key TEXT NOT NULL)"
            )
            cur.execute(sql(QUARANTINE_TABLE))
            cur.execute(sql("SELECT view, fingerprint FROM kf_tracking"))
            have = {row[0]: row[1] for row in cur.fetchall()}
            for view in self.views:
                if view.name in have and have[view.name] != wanted[view.name]:
                    for table in view.tables:
                        cur.execute(f"DROP TABLE IF EXISTS {self.db.name(table)}")
                    cur.execute(sql("DELETE FROM kf_tracking WHERE view=?"), (view.name,))
                    cur.execute(sql("DELETE FROM kf_quarantine WHERE view=?"), (view.name,))
                    have.pop(view.name)
                for table, columns in view.tables.items():
                    cur.execute(
                        f"CREATE TABLE IF NOT EXISTS {self.db.name(table)}"
                        f" ({self.db.ddl(columns)}){self.db.options(columns)}"
                    )
                if view.name not in have:
                    cur.execute(sql(TRACKING_INSERT), (view.name, wanted[view.name]))
            # Views whose indexes are missing: a bulk rebuild stopped part-way, or tables
            # (re)created just now.
            self._finish_bulk(cur, [v for v in self.views if self.db.missing(list(v.indexes), cur)])

    def _finish_bulk(self, cur: Any, views: Iterable[View]) -> None:
        """Complete views filled in bulk: their indexes, then their derived figures.

        A view is in bulk mode exactly while its indexes are missing, so a rebuild that
        stopped part-way is completed here by the next ensure_schema; the catch-up that
        follows keeps the derived figures up to date account by account."""
        for view in views:
            if self.build_indexes:
                for name, on in view.indexes.items():
                    with self.db.small_sorter():
                        cur.execute(self.db.sql(f"CREATE INDEX IF NOT EXISTS {name} ON {on}"))
            for every_account in view.derived.values():
                for statement in every_account:
                    cur.execute(self.db.sql(statement))

    def positions(self) -> dict[str, int]:
        rows = self.db.query("SELECT view, position FROM kf_tracking")
        found = {r["view"]: int(r["position"]) for r in rows}
        return {v.name: found.get(v.name, 0) for v in self.views}

    def quarantined(self, names: Iterable[str] | None = None) -> list[Skipped]:
        """The events these views (all of this projector's when None) skip."""
        return quarantined(self.db, [v.name for v in self.views] if names is None else names)

    def status(self) -> list[ViewStatus]:
        newest = self.db.max_position()
        skipped = self.quarantined()
        return [
            ViewStatus(
                v.name,
                pos,
                max(0, newest - pos),
                v.description,
                tuple(s for s in skipped if s.view == v.name),
            )
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

        An event a view cannot project is quarantined for that view (kf_quarantine, in
        the same transaction) and the catch-up goes on. A database that cannot be used
        (locked, full, gone) stops it with the driver's error.
        """
        # Per event class, the handlers of every view in view order: one lookup per
        # event instead of one per view, for the events that every view has still to
        # see. Made (and the handlers imported) once there are events to apply.
        dispatch: dict[type, list[Handler]] | None = None
        read = 0
        bulk: list[View] = []
        sql = self.db.sql
        careful = False  # after a refused batch: savepoints, for one transaction
        owed = 0  # events already shown to ``progress`` by a transaction rolled back
        while True:
            done = read
            keys = self._key_map()
            try:
                with self.db.transaction() as cur:
                    until = time.monotonic() + hold
                    cur.execute(sql("SELECT view, position FROM kf_tracking"))
                    positions = {row[0]: int(row[1]) for row in cur.fetchall()}
                    mine = {v.name: positions.get(v.name, 0) for v in self.views}
                    fresh = [v for v in self.views if mine[v.name] == 0 and v.indexes]
                    if not read and fresh and source.max_position() >= self.bulk_from:
                        # A rebuild from zero: views with indexes fill their tables without
                        # them and leave their derived figures to the end (_finish_bulk).
                        bulk = fresh
                        for view in bulk:
                            for name in view.indexes:
                                cur.execute(f"DROP INDEX IF EXISTS {self.db.name(name)}")
                    deferred = {sql for view in bulk for sql in view.derived}
                    while True:
                        events = source.read(min(mine.values(), default=0), batch)
                        if not events:
                            self._finish_bulk(cur, bulk)
                            return read
                        if dispatch is None:
                            dispatch = self._dispatch()
                        self._apply(cur, events, mine, keys, dispatch, deferred, careful)
                        read += len(events)
                        shown = min(owed, len(events))
                        owed -= shown
                        if progress is not None and len(events) > shown:
                            progress(len(events) - shown)
                        if time.monotonic() >= until:
                            break
                careful = False
            except _Refused:
                # The database refused a statement of a batch (on PostgreSQL that aborts
                # the transaction): do this transaction again, each batch in a savepoint.
                owed += read - done
                read = done
                careful = True
                self._keys = None  # key map rows written since were rolled back too

    def _dispatch(self) -> dict[type, list[Handler]]:
        """Event class -> the handlers of this projector's views for it, in view order."""
        dispatch: dict[type, list[Handler]] = {}
        for view in self.views:
            for event_type, handles in view.handlers.items():
                dispatch.setdefault(event_type, []).append(handles)
        return dispatch

    def _apply(
        self,
        cur: Any,
        events: list[tuple[int, Any]],
        mine: dict[str, int],
        keys: dict[str, str],
        dispatch: dict[type, list[Handler]],
        deferred: set[str],
        careful: bool,
    ) -> None:
        """Write one batch into every view that has not seen it and move the positions
        in ``mine`` (and in kf_tracking) past it. Statements in ``deferred`` (derived
        figures of views being filled in bulk) are left out.

        The fast path is the batch as one: every handler's statements, grouped by table
        (ViewDB.run). An event a handler raises on is taken apart view by view at once
        (a try costs nothing until it raises). When the database refuses the batch,
        _Refused makes catch_up roll the transaction back and do it again ``careful``:
        each batch inside a savepoint, and one that fails applied again in halves, down
        to the events and views the database refuses (_settle). Not a savepoint on
        every batch: on SQLite each one copies every page it first touches to a
        sub-journal (on 100k events: 55 MB more written, 8% slower)."""
        statements: list[Statement] = []
        audit_rows: list[Sequence[Any]] = []
        skipped: list[Skipped] = []
        audit_from = mine.get("audit")
        newest = max(mine.values(), default=0)
        reloaded = False
        for position, event in events:
            if event is None:
                continue
            if event.__class__ is Unreadable:
                skipped += self._unreadable(position, event, mine, keys)
                continue
            mark, marked = len(statements), len(audit_rows)
            try:
                kind = type(event).__name__
                aid = event.originator_id.hex
                key = keys.get(aid)
                if key is None:
                    if kind == "AccountOpened":
                        key = event.key
                        if key.__class__ is not str or not key:
                            raise TypeError(f"account key {key!r} is not text")
                        keys[aid] = key
                        statements.append((KEYS_INSERT, (aid, key)))
                    elif not reloaded:
                        # Another catch-up may have recorded accounts since this one read them.
                        cur.execute("SELECT account_id, key FROM kf_keys")
                        keys.update({row[0]: row[1] for row in cur.fetchall()})
                        reloaded = True
                        key = keys.get(aid) or self._unknown(event, aid)
                    else:
                        key = self._unknown(event, aid)
                if position > newest:
                    # Past every view's position: all views apply it (same order).
                    for apply in dispatch.get(event.__class__, ()):
                        statements.extend(apply(event, key))
                else:
                    for view in self.views:
                        if position > mine[view.name]:
                            handler = view.handlers.get(event.__class__)
                            if handler is not None:
                                statements.extend(handler(event, key))
                if audit_from is not None and position > audit_from:
                    audit_rows.append(self._audit_row(position, key, kind, event))
            except Exception:
                del statements[mark:], audit_rows[marked:]
                skipped += self._taken_apart(position, event, mine, keys, statements, audit_rows)
        if deferred:
            statements = [s for s in statements if s[0] not in deferred]
        try:
            with self.db.savepoint(cur) if careful else contextlib.nullcontext():
                self.db.run(cur, statements, self.derived)
                if audit_rows:
                    cur.executemany(self.db.sql(AUDIT_INSERT), audit_rows)
        except Exception as exc:
            if not is_data_fault(exc):
                raise
            if not careful:
                raise _Refused from exc
            skipped += self._settle(cur, self._work(events, mine, keys, deferred))
        if skipped:
            cur.executemany(
                self.db.sql(
                    f"INSERT INTO kf_quarantine ({QUARANTINE_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (view, position) DO NOTHING"
                ),
                [
                    (s.view, s.position, s.key, s.version, s.type, s.error, s.recorded_at)
                    for s in skipped
                ],
            )
        last = events[-1][0]
        cur.executemany(
            self.db.sql("UPDATE kf_tracking SET position=? WHERE view=? AND position<?"),
            [(last, name, last) for name in mine],
        )
        for name in mine:
            mine[name] = max(mine[name], last)

    # ------------------------------------------------------------ the failure path
    @staticmethod
    def _audit_row(position: int, key: str, kind: str, event: Any) -> tuple[Any, ...]:
        return (
            position,
            key,
            event.originator_version,
            kind,
            event.actor,
            event.occurred_on.isoformat(),
            event.timestamp.isoformat(),
            event.command_id,
            event.summary(),
            audit_changes(event),
            # Who recorded it for its actor (`--on-behalf-of`, ADR 0025), else None.
            getattr(event, "delegate", None),
        )

    @staticmethod
    def _unknown(event: Any, aid: str) -> str:
        """The key of an event whose account the key map does not know: governance has
        none; an account whose opening could not be read is named by its id."""
        module = event.topic if event.__class__ is Unreadable else type(event).__module__
        return GOVERNANCE_KEY if module.startswith(GOVERNANCE_MODULE) else aid

    def _key_of(self, event: Any, keys: dict[str, str]) -> tuple[str, str | None]:
        """The event's account key, and the key it newly gives the key map (an
        account's opening), without raising."""
        aid = event.originator_id.hex
        opened = getattr(event, "key", None) if type(event).__name__ == "AccountOpened" else None
        new = opened if opened.__class__ is str and opened else None
        found = keys.get(aid)
        if found is None and new is not None:
            found = keys[aid] = new
        return (found or self._unknown(event, aid)), new

    def _skip(self, view: str, position: int, event: Any, key: str, reason: str) -> Skipped:
        when = getattr(event, "timestamp", None)
        return Skipped(
            view,
            position,
            one_line(key),
            int(event.originator_version),
            type(event).__name__,
            reason,
            when.isoformat() if isinstance(when, datetime) else None,
        )

    def _unreadable(
        self, position: int, event: Unreadable, mine: dict[str, int], keys: dict[str, str]
    ) -> list[Skipped]:
        try:
            aid = UUID(str(event.originator_id)).hex
        except ValueError:
            aid = one_line(str(event.originator_id))
        key = keys.get(aid) or self._unknown(event, aid)
        return [
            Skipped(
                view.name,
                position,
                one_line(key),
                int(event.originator_version),
                one_line(event.type_name),
                one_line(event.error),
            )
            for view in self.views
            if position > mine[view.name]
        ]

    def _units(
        self, position: int, event: Any, key: str, mine: dict[str, int]
    ) -> list[tuple[str, list[Statement] | Exception]]:
        """What each view that has not seen the event writes for it, or why it cannot."""
        kind = type(event).__name__
        out: list[tuple[str, list[Statement] | Exception]] = []
        for view in self.views:
            if position <= mine[view.name]:
                continue
            work: list[Statement]
            try:
                if view.name == "audit":
                    work = [(AUDIT_INSERT, self._audit_row(position, key, kind, event))]
                else:
                    handler = view.handlers.get(event.__class__)
                    work = handler(event, key) if handler is not None else []
            except Exception as exc:
                out.append((view.name, exc))
            else:
                out.append((view.name, work))
        return out

    def _taken_apart(
        self,
        position: int,
        event: Any,
        mine: dict[str, int],
        keys: dict[str, str],
        statements: list[Statement],
        audit_rows: list[Sequence[Any]],
    ) -> list[Skipped]:
        """An event some handler raised on: the views that can project it do (their
        statements join the batch), the others quarantine it."""
        key, new = self._key_of(event, keys)
        if new is not None:
            statements.append((KEYS_INSERT, (event.originator_id.hex, new)))
        skipped: list[Skipped] = []
        for view, work in self._units(position, event, key, mine):
            if isinstance(work, Exception):
                skipped.append(self._skip(view, position, event, key, why(work, event)))
            elif view == "audit":
                audit_rows.extend(params for _, params in work)
            else:
                statements.extend(work)
        return skipped

    def _work(
        self,
        events: list[tuple[int, Any]],
        mine: dict[str, int],
        keys: dict[str, str],
        deferred: set[str],
    ) -> list[tuple[int, Any, str, list[Unit]]]:
        """The batch again, event by event and view by view, for _settle. Handlers that
        raise are left out: _apply has quarantined them already."""
        work: list[tuple[int, Any, str, list[Unit]]] = []
        for position, event in events:
            if event is None or event.__class__ is Unreadable:
                continue
            key, new = self._key_of(event, keys)
            units: list[Unit] = []
            if new is not None:
                units.append((None, [(KEYS_INSERT, (event.originator_id.hex, new))]))
            for view, done in self._units(position, event, key, mine):
                if not isinstance(done, Exception):
                    units.append((view, [s for s in done if s[0] not in deferred]))
            work.append((position, event, key, units))
        return work

    def _settle(self, cur: Any, work: list[tuple[int, Any, str, list[Unit]]]) -> list[Skipped]:
        """Apply a batch the database refused: halves inside savepoints, each half that
        fails split again, down to one event, whose views are then tried one by one;
        what the database refuses is quarantined. One bad event in a batch of n costs
        about 2 log2(n) attempts, not n."""
        skipped: list[Skipped] = []

        def refusal(exc: Exception) -> str:
            # Named as the views are, also when a rebuild fills them aside.
            return re.sub(rf"\b{self.db.prefix}", "kf_", why(exc))

        def attempt(chunk: list[tuple[int, Any, str, list[Unit]]]) -> Exception | None:
            statements = [s for *_, units in chunk for _, done in units for s in done]
            try:
                with self.db.savepoint(cur):
                    self.db.run(cur, statements, self.derived)
            except Exception as exc:
                if not is_data_fault(exc):
                    raise
                return exc
            return None

        def settle(chunk: list[tuple[int, Any, str, list[Unit]]], tried: bool) -> None:
            if not tried and attempt(chunk) is None:
                return
            if len(chunk) > 1:
                half = len(chunk) // 2
                settle(chunk[:half], False)
                settle(chunk[half:], False)
                return
            position, event, key, units = chunk[0]
            for view, done in units:
                refused = attempt([(position, event, key, [(view, done)])])
                if refused is None:
                    continue
                if view is None:  # the key map refused the account's key
                    names = [name for name, _ in units if name is not None]
                    reason = refusal(refused)
                    skipped.extend(self._skip(n, position, event, key, reason) for n in names)
                    return
                skipped.append(self._skip(view, position, event, key, refusal(refused)))

        settle(work, True)
        return skipped

    # ------------------------------------------------------------ rebuild
    def check(self, names: Iterable[str]) -> list[View]:
        """The named views; InvalidInput naming the first unknown one."""
        known = {v.name: v for v in self.views}
        chosen = list(names)
        unknown = [n for n in chosen if n not in known]
        if unknown:
            raise InvalidInput(
                f'unknown view "{unknown[0]}"; one of: {", ".join(v.name for v in self.views)}'
            )
        return [v for v in self.views if v.name in chosen]

    def reset(self, names: Sequence[str]) -> None:
        """Empty the named views and put their positions back to zero, in place (a
        report meanwhile sees them partly filled; `rebuild` does not)."""
        chosen = self.check(names)
        sql = self.db.sql
        with self.db.transaction() as cur:
            for view in chosen:
                for table in view.tables:
                    cur.execute(sql(f"DELETE FROM {table}"))
                cur.execute(sql("UPDATE kf_tracking SET position=0 WHERE view=?"), (view.name,))
                cur.execute(sql("DELETE FROM kf_quarantine WHERE view=?"), (view.name,))

    def rebuild(
        self,
        names: Sequence[str],
        source: EventSource,
        *,
        batch: int = 5000,
        progress: Callable[[int], None] | None = None,
        hold: float = HOLD_SECONDS,
    ) -> int:
        """Rebuild the named views from zero without ever showing them half built;
        return how many events were read.

        Fresh tables are filled beside the views (``kfr_*``, ViewDB.aside: the handlers'
        SQL unchanged, bulk mode as in catch_up, no secondary indexes), then ONE
        transaction drops the old tables, renames the new ones into place, builds
        (SQLite) or renames (PostgreSQL) their indexes, and sets their tracking and
        quarantine rows. Until then reports and catch-ups use the old views; a rebuild
        that fails or is killed leaves them as they were, and its ``kfr_*`` tables are
        dropped by the next rebuild. Raises Conflict if another rebuild started
        meanwhile took the tables over (it swaps them itself)."""
        chosen = self.check(names)
        if not chosen:
            return 0
        self.ensure_schema()
        aside = self.db.aside()
        token = uuid.uuid4().hex
        with self.db.transaction() as cur:
            for table in self.db.tables_like(aside.prefix, cur):
                cur.execute(f"DROP TABLE {table}")
            cur.execute(aside.sql(TRACKING_TABLE))
            cur.execute(aside.sql(QUARANTINE_TABLE))
            for view in chosen:
                for table, columns in view.tables.items():
                    cur.execute(
                        f"CREATE TABLE {aside.name(table)}"
                        f" ({self.db.ddl(columns)}){self.db.options(columns)}"
                    )
                cur.execute(aside.sql(TRACKING_INSERT), (view.name, token))
        builder = Projector(aside, chosen, bulk_from=self.bulk_from, build_indexes=False)
        builder._keys = self._keys
        try:
            read = builder.catch_up(source, batch=batch, progress=progress, hold=hold)
            if self.db.postgres:
                # Built here, renamed at the swap: the swap stays short.
                with aside.transaction() as cur:
                    for view in chosen:
                        for name, on in view.indexes.items():
                            cur.execute(aside.sql(f"CREATE INDEX {name} ON {on}"))
        except Exception:
            try:
                rows = aside.rows("SELECT view, position, fingerprint FROM kf_tracking")
            except Exception:
                rows = None  # the database's own fault: say that, not a takeover
            if rows is not None:
                self._owned(rows, token, chosen)
            raise
        self._swap(aside, token, chosen)
        return read

    @staticmethod
    def _owned(rows: list[tuple[Any, ...]], token: str, chosen: list[View]) -> dict[str, int]:
        """The aside views' positions from their tracking rows, if they are still this
        rebuild's: a second rebuild drops and re-creates them with its own token."""
        if sorted(r[0] for r in rows) != sorted(v.name for v in chosen) or any(
            r[2] != token for r in rows
        ):
            raise Conflict(
                "another `kamflow projections rebuild` started meanwhile and took over;"
                " this one stopped and changed nothing"
            )
        return {str(r[0]): int(r[1]) for r in rows}

    def _swap(self, aside: ViewDB, token: str, chosen: list[View]) -> None:
        db, sql = self.db, self.db.sql
        with db.transaction() as cur:
            cur.execute(aside.sql("SELECT view, position, fingerprint FROM kf_tracking"))
            positions = self._owned(cur.fetchall(), token, chosen)
            for view in chosen:
                for table in view.tables:
                    cur.execute(f"DROP TABLE IF EXISTS {table}")
                    cur.execute(f"ALTER TABLE {aside.name(table)} RENAME TO {table}")
                if not db.postgres:
                    # SQLite cannot rename an index: build it under its own name.
                    for name, on in view.indexes.items():
                        with db.small_sorter():
                            cur.execute(f"CREATE INDEX {name} ON {on}")
                cur.execute(sql("DELETE FROM kf_quarantine WHERE view=?"), (view.name,))
                cur.execute(
                    sql(
                        f"INSERT INTO kf_quarantine ({QUARANTINE_COLUMNS}) SELECT"
                        f" {QUARANTINE_COLUMNS} FROM {aside.name('kf_quarantine')} WHERE view=?"
                    ),
                    (view.name,),
                )
                cur.execute(
                    sql("UPDATE kf_tracking SET position=?, fingerprint=? WHERE view=?"),
                    (positions[view.name], fingerprint(view, db), view.name),
                )
            cur.execute(f"DROP TABLE {aside.name('kf_tracking')}")
            cur.execute(f"DROP TABLE {aside.name('kf_quarantine')}")
            # Rebuilt views may differ at the same positions (a rebuild is how a fixed
            # store is read again): forget every report's kept JSON (reportcache).
            cur.execute(sql(REPORT_CACHE_TABLE))
            cur.execute(sql("DELETE FROM kf_report_cache"))
            if db.postgres:
                # Primary keys and indexes keep their names through a table's rename.
                cur.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND indexname LIKE %s ESCAPE '\\'",
                    (aside.prefix.replace("_", "\\_") + "%",),
                )
                for (index,) in cur.fetchall():
                    final = "kf_" + index[len(aside.prefix) :]
                    cur.execute(f"ALTER INDEX {identifier(index)} RENAME TO {identifier(final)}")


class Located(Protocol):
    """A store opened by its locator (``kamflow.application.Kamflow``)."""

    @property
    def locator(self) -> str: ...


def caught_up_views(
    locator: str,
    *,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> ViewDB:
    """The views of a store, caught up with its log. The log (and with it eventsourcing
    and the event handlers) is read only when there is something to catch up; then
    ``total`` (if given) is told how many events are to be read, and ``progress`` how
    many were, batch by batch (Projector.catch_up)."""
    db = ViewDB(locator)
    try:
        projector = Projector(db)
        projector.ensure_schema()
        if projector.behind():
            if total is not None:
                total(db.max_position() - min(projector.positions().values(), default=0))
            with StoreSource(locator) as source:
                projector.catch_up(source, progress=progress)
    except BaseException:
        db.close()
        raise
    return db


def views_as_of(store: str | Located, before: datetime) -> ViewDB:
    """Throw-away views, in memory, of only the events recorded before ``before``.
    ``store``: its locator, or the store opened (which checked that it can be read)."""
    db = ViewDB(":memory:")
    projector = Projector(db)
    projector.ensure_schema()
    locator = store if isinstance(store, str) else store.locator
    with StoreSource(locator, before=before) as source:
        projector.catch_up(source, batch=5000)
    return db

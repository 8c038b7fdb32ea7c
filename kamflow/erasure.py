"""What `contact forget` does after ContactForgotten is stored (ADR 0026).

Storing the event destroyed the person's key (kamflow.personal), so every value
encrypted under it is gone. What remains are copies of their values made while they
could still be read, and this module removes them:

- snapshots of the account that hold a value of theirs in plain text (snapshots taken
  before personal data was encrypted) are deleted, and a new one is taken;
- the views' rows: the audit trail's summaries and changed values of the person's own
  events are written again from the events as they read now ([erased]); the people view
  erases the name (its ContactForgotten handler, so a rebuild agrees); kept report
  answers are dropped;
- SQLite: those deletions and updates run with ``secure_delete`` (freed bytes are
  zeroed), then ``VACUUM`` rewrites the file (no free page keeps an older copy, e.g.
  from a view rebuilt earlier) and the WAL is checkpointed and truncated. PostgreSQL
  keeps dead row versions until ``VACUUM FULL`` (README, "Personal data and erasure").

Events stored before personal data was encrypted hold the person's values in plain
text: their bytes are sealed and cannot change (ADR 0017). They read as [erased]
everywhere, and ``complete`` says which they are.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from kamflow.personal import EVENTS, PREFIX

if TYPE_CHECKING:
    from kamflow.application import Kamflow
    from kamflow.domain.account import Account

VACUUM_HINT = (
    "VACUUM FULL kamflow_snapshots, kf_audit, kf_contacts, kf_report_cache, {keys}.person_keys"
)


def complete(kamflow: Kamflow, account: Account, person: str) -> list[str]:
    """Remove the copies of a just-forgotten person's values; return what to tell the
    user (events that keep plain values, the VACUUM PostgreSQL needs)."""
    from eventsourcing.utils import resolve_topic

    from kamflow.projections.engine import audit_changes

    app: Any = kamflow.app
    aid: UUID = account.id
    recorder: Any = app.events.recorder
    mapper: Any = app.mapper
    own: list[Any] = []  # the person's own events, as stored
    plain: list[int] = []
    for stored in recorder.select_events(aid):
        if stored.topic.rpartition(":")[2] not in EVENTS:
            continue
        state = _json(mapper, stored.state)
        if state.get("contact_id") != person:
            continue
        own.append(stored)
        if _holds_plain(resolve_topic(stored.topic), state, person):
            plain.append(stored.originator_version)
    if _drop_plain_snapshots(kamflow, aid, person):
        # A snapshot replayed from the events (and what snapshots remain), so that the
        # next load need not replay the whole account.
        fresh = kamflow._load_or_none(aid)
        if fresh is not None:
            kamflow._snapshot(fresh)
    rows = []
    for stored in own:
        event = mapper.to_domain_event(stored)
        rows.append((event.summary(), audit_changes(event), account.key, stored.originator_version))
    _purge_views(kamflow, rows, account.key, person)
    notes: list[str] = []
    if plain:
        versions = ", ".join(str(v) for v in plain)
        notes.append(
            f"{person}'s values stay in the stored bytes of version(s) {versions} of"
            f' "{account.key}", recorded before personal data was encrypted: sealed, they'
            " cannot change; every output shows them as [erased]"
        )
    if kamflow.store.postgres:
        from kamflow.personal import keys_schema

        hint = VACUUM_HINT.format(keys=keys_schema(kamflow.store.schema))
        notes.append(f"on PostgreSQL run {hint} to drop the old row versions")
    return notes


def _json(mapper: Any, state: bytes) -> Any:
    """The JSON of stored bytes, through the store's cipher and compressor if it has
    them (eventsourcing's CIPHER_TOPIC, COMPRESSOR_TOPIC)."""
    if mapper.cipher is not None:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor is not None:
        state = mapper.compressor.decompress(state)
    return json.loads(state)


def _holds_plain(cls: type, state: dict[str, Any], person: str) -> bool:
    """Whether a stored event's (or snapshot's) state holds a value of the person's
    that is not encrypted (stored before encryption)."""
    from kamflow.domain.values import ERASED
    from kamflow.personal import slots

    return any(
        isinstance(v := box[name], str) and v and not v.startswith(PREFIX) and v != ERASED
        for box, name, who, _ in slots(cls, state)
        if who == person
    )


def _drop_plain_snapshots(kamflow: Kamflow, aid: UUID, person: str) -> bool:
    """Delete the account's snapshots that hold the person's name or a personal value of
    theirs in plain text (taken before encryption); whether there were any."""
    snapshots: Any = kamflow.app.snapshots
    if snapshots is None:
        return False
    recorder: Any = snapshots.recorder
    from eventsourcing.domain import Snapshot

    doomed = [
        stored.originator_version
        for stored in recorder.select_events(aid)
        if _holds_plain(Snapshot, _json(kamflow.app.mapper, stored.state), person)
    ]
    if not doomed:
        return False
    if not kamflow.store.postgres:
        with recorder.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete = ON")
            c.executemany(
                f"DELETE FROM {recorder.events_table_name} WHERE originator_id = ?"
                " AND originator_version = ?",
                [(aid.hex, v) for v in doomed],
            )
        return True
    from psycopg import sql

    text = sql.SQL("DELETE FROM {}.{} WHERE originator_id = %s AND originator_version = %s")
    statement = text.format(
        sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
    )
    with recorder.datastore.transaction(commit=True) as curs:
        curs.executemany(statement, [(aid, v) for v in doomed])
    return True


def _purge_views(
    kamflow: Kamflow, rows: list[tuple[str, str | None, str, int]], key: str, person: str
) -> None:
    from kamflow.domain.values import ERASED
    from kamflow.projections.db import ViewDB

    db = ViewDB(kamflow.locator)
    try:
        if not db.table_exists("kf_tracking"):
            return
        tables = {t for t in ("kf_audit", "kf_contacts", "kf_report_cache") if db.table_exists(t)}
        with db.transaction() as cur:
            if not db.postgres:
                cur.execute("PRAGMA secure_delete = ON")
            if "kf_audit" in tables:
                cur.executemany(
                    db.sql(
                        "UPDATE kf_audit SET summary = ?, changes = ? WHERE key = ? AND version = ?"
                    ),
                    rows,
                )
            if "kf_contacts" in tables:
                cur.execute(
                    db.sql(
                        "UPDATE kf_contacts SET name = ?"
                        " WHERE (key = ? AND contact_id = ?) OR contact_id = ?"
                    ),
                    (ERASED, key, person, f"{key}/{person}"),
                )
            if "kf_report_cache" in tables:
                cur.execute(db.sql("DELETE FROM kf_report_cache"))
        if not db.postgres:
            # No free page, and no WAL frame, keeps an older copy of a row.
            db._conn.execute("PRAGMA secure_delete = ON")
            db._conn.execute("VACUUM")
            db._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()

"""Loading a kamflow export into an empty database: the SQLite <-> PostgreSQL migration.

Every event goes in at the position it had, with its stored bytes and seal unchanged,
so the imported log is the same chain: ``audit verify`` passes, the export's checkpoint
(and any the auditor filed before) still verifies against the new database, and every
view rebuilt from it is the same. Each line is checked as it is read (``export.Reader``)
and everything goes in one transaction, committed only after the checkpoint at the end
has verified: a file that does not verify, or a database that is not empty, leaves the
target as it was. ADR 0018.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamflow.domain.errors import InvalidInput, StorageError
from kamflow.export import Progress, Reader, Verified, named
from kamflow.sealed import META, SEALS
from kamflow.signing import INSERT as SIGNATURE_INSERT

if TYPE_CHECKING:
    from kamflow.projections.db import ViewDB
    from kamflow.seal import Row

BATCH = 2000


class NotEmpty(StorageError):
    """The target of an import already holds events (or seals): exit 1."""


@dataclass(frozen=True)
class Imported:
    """What an import loaded: the events, and the export's verified checkpoint."""

    events: int
    verified: Verified


def load(
    path: Path,
    locator: str,
    *,
    trusted: bytes | None = None,
    progress: Progress | None = None,
) -> Imported:
    """Load the export at ``path`` into the empty store at ``locator``.

    Raises InvalidInput for a file that is not a whole-log export (an ``--account``
    export holds one account's events, not a log), NotEmpty for a store that holds
    events, and VerifyFailed (naming the line) for a file that does not verify; in
    every case nothing is written (a SQLite file made for the import is removed).
    """
    from kamflow.application import Kamflow
    from kamflow.projections.db import ViewDB
    from kamflow.storage import is_postgres

    fresh_file = not is_postgres(locator) and not Path(locator).exists()
    try:
        # Opening the store makes kamflow's tables (the seals' too) as a first write does.
        Kamflow(locator).close()
        db = ViewDB(locator)
        try:
            with path.open("rb") as stream:
                reader = Reader(stream, f'"{path}"', trusted)
                return _load(db, reader, progress)
        finally:
            db.close()
    except BaseException:
        if fresh_file:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{locator}{suffix}").unlink(missing_ok=True)
        raise


def _load(db: ViewDB, reader: Reader, progress: Progress | None) -> Imported:
    postgres = db.postgres
    with db.transaction() as cur:
        if postgres:
            # What eventsourcing's own writers take: none of them can insert meanwhile.
            cur.execute(f"LOCK TABLE {db.events_table} IN EXCLUSIVE MODE")
        cur.execute(f"SELECT COUNT(*) FROM {db.events_table}")
        events_held = int(cur.fetchone()[0])
        cur.execute(f"SELECT COUNT(*) FROM {SEALS}")
        seals_held = int(cur.fetchone()[0])
        if events_held or seals_held:
            held = f"{events_held} events" if events_held else f"{seals_held} seals"
            raise NotEmpty(
                f"database {named(db.locator)} is not empty (it holds {held});"
                " kamflow import loads an export only into an empty database; nothing"
                " was written"
            )
        events = db.sql(
            f"INSERT INTO {db.events_table}"
            f" ({db.position_column}, originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        seals = db.sql(f"INSERT INTO {SEALS} (position, seal) VALUES (?, ?)")
        reader.header()
        if reader.account is not None:
            raise InvalidInput(
                f"{reader.name} is an export of one account ({reader.account}), not of the"
                " whole log; import a whole export (kamflow export without --account)"
            )
        batch: list[Row] = []
        count = 0
        for line in reader.lines():
            batch.append(line.row)
            if len(batch) >= BATCH:
                _insert(cur, events, seals, batch, postgres)
                count += len(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
        _insert(cur, events, seals, batch, postgres)
        count += len(batch)
        if progress is not None and batch:
            progress(len(batch))
        if reader.signatures:
            # The writes' signatures, as the source stored them (ADR 0025).
            cur.executemany(
                db.sql(SIGNATURE_INSERT.format("?")),
                [
                    (s.first, s.last, s.signer, s.behalf, s.key_id, s.anchor, s.signature)
                    for s in reader.signatures.values()
                ],
            )
        assert reader.result is not None  # the checkpoint verified, or lines() raised
        if reader.seal_meta:
            # The source's word on its seals (e.g. the positions sealed after the fact).
            names = sorted(reader.seal_meta)
            marks = ", ".join("?" for _ in names)
            cur.execute(db.sql(f"DELETE FROM {META} WHERE name IN ({marks})"), names)
            cur.executemany(
                db.sql(f"INSERT INTO {META} (name, value) VALUES (?, ?)"),
                [(name, reader.seal_meta[name]) for name in names],
            )
        if postgres and count:
            # Later writes continue after the imported positions.
            cur.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                (db.events_table, reader.result.checkpoint.last_position),
            )
        return Imported(count, reader.result)


def _insert(cur: Any, events: str, seals: str, batch: list[Row], postgres: bool) -> None:
    if not batch:
        return
    cur.executemany(
        events,
        [(r.position, _aid(r.originator_id, postgres), r.version, r.topic, r.state) for r in batch],
    )
    cur.executemany(seals, [(r.position, r.seal) for r in batch])


def _aid(aid: uuid.UUID, postgres: bool) -> Any:
    # As eventsourcing stores it: a uuid column on PostgreSQL, 32 hex digits on SQLite.
    return aid if postgres else aid.hex

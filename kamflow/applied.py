"""Which client-chosen command ids an account has applied: an indexed table (ADR 0024).

Recognising an applied command must cost the same on an account's 20,000th event as on
its 10th. The aggregate used to remember every given id in its state, so each load
(and each snapshot) grew with history. Instead, a trigger on the events table writes
each event's given id into ``kamflow_command_ids`` in the transaction that inserts the
event, and a lookup is one read of a primary key, made before the account is loaded.

The table also holds, per aggregate, a mark (the row whose ``command_id`` is empty, an
id ``Kamflow.execute`` refuses): every event up to its version has been indexed. The
trigger advances it only over events it could read in order, so whatever it could not
index (events written before the trigger existed, by an older kamflow, or stored
encrypted or compressed) lies after the mark, and a lookup reads those events with the
application's own mapper and indexes them. Nothing is ever lost to a missing row; at
worst a lookup reads the events after the mark once.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["AppliedCommands", "Lookup"]

TABLE = "kamflow_command_ids"
TRIGGER = "kamflow_command_ids_on_insert"
FUNCTION = "kamflow_index_command"
MARK = ""  # the command_id of an aggregate's mark row

# The trigger reads the stored JSON (eventsourcing's JSONTranscoder: compact separators,
# booleans as JSON true). An event whose state is not JSON (a cipher or compressor is
# set) is skipped, and the mark stays behind it.
_SQLITE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " originator_id TEXT NOT NULL,"
    " command_id TEXT NOT NULL,"
    " originator_version INTEGER NOT NULL,"
    " PRIMARY KEY (originator_id, command_id)) WITHOUT ROWID",
    f"CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER INSERT ON stored_events"
    " WHEN json_valid(CAST(NEW.state AS TEXT))"
    " BEGIN"
    f" INSERT OR IGNORE INTO {TABLE}"
    "  SELECT NEW.originator_id, json_extract(CAST(NEW.state AS TEXT), '$.command_id'),"
    "   NEW.originator_version"
    "  WHERE json_extract(CAST(NEW.state AS TEXT), '$.command_id_given') = 1"
    "   AND json_type(CAST(NEW.state AS TEXT), '$.command_id') = 'text';"
    f" UPDATE {TABLE} SET originator_version = NEW.originator_version"
    "  WHERE originator_id = NEW.originator_id AND command_id = ''"
    "   AND originator_version = NEW.originator_version - 1;"
    f" INSERT OR IGNORE INTO {TABLE}"
    "  SELECT NEW.originator_id, '', 1 WHERE NEW.originator_version = 1;"
    " END",
)


def _postgres_ddl(schema: str, events_table: str) -> list[Any]:
    from psycopg.sql import SQL, Identifier

    names = {
        "schema": Identifier(schema),
        "table": Identifier(TABLE),
        "events": Identifier(events_table),
        "function": Identifier(FUNCTION),
        "trigger": Identifier(TRIGGER),
    }
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
            " originator_id uuid NOT NULL,"
            " command_id text NOT NULL,"
            " originator_version bigint NOT NULL,"
            " PRIMARY KEY (originator_id, command_id))"
        ).format(**names),
        SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger"
            " LANGUAGE plpgsql AS $body$"
            " DECLARE doc jsonb;"
            " BEGIN"
            "  BEGIN"
            "   doc := convert_from(NEW.state, 'UTF8')::jsonb;"
            "  EXCEPTION WHEN others THEN"
            "   RETURN NULL;"
            "  END;"
            "  IF doc->'command_id_given' = 'true'::jsonb"
            "     AND jsonb_typeof(doc->'command_id') = 'string' THEN"
            "   INSERT INTO {schema}.{table}"
            "    VALUES (NEW.originator_id, doc->>'command_id', NEW.originator_version)"
            "    ON CONFLICT DO NOTHING;"
            "  END IF;"
            "  IF NEW.originator_version = 1 THEN"
            "   INSERT INTO {schema}.{table} VALUES (NEW.originator_id, '', 1)"
            "    ON CONFLICT DO NOTHING;"
            "  ELSE"
            "   UPDATE {schema}.{table} SET originator_version = NEW.originator_version"
            "    WHERE originator_id = NEW.originator_id AND command_id = ''"
            "     AND originator_version = NEW.originator_version - 1;"
            "  END IF;"
            "  RETURN NULL;"
            " END $body$"
        ).format(**names),
        SQL(
            "CREATE TRIGGER {trigger} AFTER INSERT ON {schema}.{events}"
            " FOR EACH ROW EXECUTE FUNCTION {schema}.{function}()"
        ).format(**names),
    ]


class Lookup:
    """What a lookup found: ``applied`` (the id is in the table), else ``through``, the
    version up to which the table is known to hold every given id of the aggregate."""

    __slots__ = ("applied", "through")

    def __init__(self, applied: bool, through: int) -> None:
        self.applied = applied
        self.through = through


class AppliedCommands:
    """The command-id index of one store (``app``: a KamflowApplication)."""

    def __init__(self, app: Any, *, postgres: bool) -> None:
        self.app = app
        self.postgres = postgres
        self.recorder: Any = app.recorder
        self._ready = False

    # ------------------------------------------------------------- schema
    def ensure(self) -> None:
        """Create the table and the trigger once per store (cheap when they exist)."""
        if self._ready:
            return
        if self.postgres:
            self._ensure_postgres()
        else:
            # Read first: a write transaction here would make every writer's first
            # lookup queue for the store's lock.
            with self.recorder.datastore.transaction(commit=False) as cur:
                cur.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = ?", (TRIGGER,))
                made = bool(cur.fetchone()[0])
            if not made:
                with self.recorder.datastore.transaction(commit=True) as cur:
                    for statement in _SQLITE_DDL:
                        cur.execute(statement)
        self._ready = True

    def _postgres_trigger_made(self, curs: Any) -> bool:
        curs.execute(
            "SELECT COUNT(*) AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace s ON s.oid = c.relnamespace"
            " WHERE t.tgname = %s AND s.nspname = %s AND c.relname = %s",
            (TRIGGER, self.recorder.datastore.schema, self.recorder.events_table_name),
        )
        return bool(curs.fetchone()["n"])

    def _ensure_postgres(self) -> None:
        datastore = self.recorder.datastore
        with datastore.get_connection() as conn, conn.cursor() as curs:
            if self._postgres_trigger_made(curs):
                return
        with datastore.transaction(commit=True) as curs:
            # One creator at a time; the others find the trigger made.
            curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (FUNCTION,))
            if self._postgres_trigger_made(curs):
                return
            for statement in _postgres_ddl(datastore.schema, self.recorder.events_table_name):
                curs.execute(statement)

    # ------------------------------------------------------------- reads
    def lookup(self, aid: uuid.UUID, command_id: str) -> Lookup:
        """One primary-key read: the id's row and the aggregate's mark."""
        self.ensure()
        if self.postgres:
            from psycopg.sql import SQL, Identifier

            statement = SQL(
                "SELECT command_id, originator_version FROM {}.{}"
                " WHERE originator_id = %s AND command_id IN (%s, '')"
            ).format(Identifier(self.recorder.datastore.schema), Identifier(TABLE))
            with self.recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, (aid, command_id))
                rows = [(r["command_id"], r["originator_version"]) for r in curs.fetchall()]
        else:
            with self.recorder.datastore.transaction(commit=False) as cur:
                cur.execute(
                    f"SELECT command_id, originator_version FROM {TABLE}"
                    " WHERE originator_id = ? AND command_id IN (?, '')",
                    (aid.hex, command_id),
                )
                rows = [(r[0], r[1]) for r in cur.fetchall()]
        found = dict(rows)
        if command_id in found:
            return Lookup(True, int(found[command_id]))
        return Lookup(False, int(found.get(MARK, 0)))

    def applied(self, aid: uuid.UUID, command_id: str, *, upto: int | None = None) -> bool:
        """Whether ``command_id`` was given to a command applied on the aggregate, up to
        version ``upto`` (None: every stored event). Events after the mark are read,
        checked and indexed (see the module's docstring)."""
        found = self.lookup(aid, command_id)
        if found.applied:
            return True
        if upto is not None and found.through >= upto:
            return False
        return self.catch_up(aid, found.through, command_id)

    def catch_up(self, aid: uuid.UUID, through: int, command_id: str | None = None) -> bool:
        """Index the aggregate's given ids after version ``through``; whether
        ``command_id`` is among them."""
        rows: list[tuple[str, int]] = []
        last = through
        for event in self.app.events.get(aid, gt=through):
            last = event.originator_version
            if getattr(event, "command_id_given", False):
                rows.append((event.command_id, last))
        if last > through:
            self._index(aid, rows, last)
        return any(cid == command_id for cid, _ in rows)

    def _index(self, aid: uuid.UUID, rows: list[tuple[str, int]], through: int) -> None:
        if self.postgres:
            from psycopg.sql import SQL, Identifier

            table = SQL("{}.{}").format(
                Identifier(self.recorder.datastore.schema), Identifier(TABLE)
            )
            insert = SQL("INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING").format(table)
            mark = SQL(
                "INSERT INTO {} VALUES (%s, '', %s) ON CONFLICT (originator_id, command_id)"
                " DO UPDATE SET originator_version ="
                " GREATEST(EXCLUDED.originator_version, {}.originator_version)"
            ).format(table, Identifier(TABLE))
            with self.recorder.datastore.transaction(commit=True) as curs:
                for cid, version in rows:
                    curs.execute(insert, (aid, cid, version))
                curs.execute(mark, (aid, through))
            return
        with self.recorder.datastore.transaction(commit=True) as cur:
            cur.executemany(
                f"INSERT OR IGNORE INTO {TABLE} VALUES (?, ?, ?)",
                [(aid.hex, cid, version) for cid, version in rows],
            )
            cur.execute(
                f"INSERT INTO {TABLE} VALUES (?, '', ?) ON CONFLICT (originator_id, command_id)"
                " DO UPDATE SET originator_version ="
                " max(excluded.originator_version, originator_version)",
                (aid.hex, through),
            )

    def given(self, aid: uuid.UUID) -> set[str]:
        """Every command id given to a command applied on the aggregate: one read of
        the index (after indexing what lies after the mark), for a bulk load that will
        ask about many of them (Kamflow.hold)."""
        self.applied(aid, MARK + "\n")  # index whatever lies after the mark
        if self.postgres:
            from psycopg.sql import SQL, Identifier

            statement = SQL(
                "SELECT command_id FROM {}.{} WHERE originator_id = %s AND command_id <> ''"
            ).format(Identifier(self.recorder.datastore.schema), Identifier(TABLE))
            with self.recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, (aid,))
                return {str(r["command_id"]) for r in curs.fetchall()}
        with self.recorder.datastore.transaction(commit=False) as cur:
            cur.execute(
                f"SELECT command_id FROM {TABLE} WHERE originator_id = ? AND command_id <> ''",
                (aid.hex,),
            )
            return {str(r[0]) for r in cur.fetchall()}

    def count(self, aid: uuid.UUID) -> int:
        """How many given ids the aggregate has applied (for benchmarks and tests): the
        ids are the index's key with the aggregate, so each is counted once."""
        return len(self.given(aid))

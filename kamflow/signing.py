"""Signed writes: every write is signed by its actor's key over the seals of its events,
in the transaction that stores them (ADR 0025).

The format (no I/O here but the reads of the signatures table; the recorders in
``kamflow/sealed.py`` and ``kamflow/sealed_postgres.py`` write the rows):

- ``kamflow_signatures(position PRIMARY KEY, last_position, signer, behalf, key_id,
  anchor, signature)``, one row per write, next to ``kamflow_seals``: the write's
  first and last log positions, the signer's roster name, the person they recorded for
  (``--on-behalf-of``; '' when none), the first 16 hex digits of the SHA-256 of the
  public key that signed, the seal of the event before the write as the writer saw it
  (``anchor``; ``seal.GENESIS`` for the first write), and the 64-byte Ed25519
  signature of ``message(...)``.
- ``message``: ``kamflow-signature-v1``, then the first and last positions, the
  signer, the person recorded for and the key id (each length-prefixed), the anchor
  and the seal of the write's last event (which chains over every event of the write:
  positions, account ids, versions, types and stored bytes).

So an edited, inserted or moved event of the write changes the head its signature
covers; a signature copied to other events names other positions and another head; a
row inserted by whoever can write the database has no signature, or one made without
the person's private key, which is not in the database. The anchor is kept, and
signed, so that ``audit verify`` tells a write whose own events changed (its signature
fails) from one whose earlier history was rewritten and resealed (its anchor no longer
is the seal before it): the signatures make the chain keyed, as a checkpoint does.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kamflow.identity import PersonalKey

SIGNATURES = "kamflow_signatures"
FORMAT = b"kamflow-signature-v1"


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def message(
    first: int, last: int, signer: str, behalf: str, key_id: str, anchor: bytes, head: bytes
) -> bytes:
    """The bytes a write's signature covers (see the module's docstring)."""
    return b"".join(
        (
            FORMAT,
            struct.pack(">QQ", first, last),
            _text(signer),
            _text(behalf),
            _text(key_id),
            anchor,
            head,
        )
    )


@dataclass(frozen=True)
class Signature:
    """One signed write as stored: positions ``first``..``last``."""

    first: int
    last: int
    signer: str
    behalf: str
    key_id: str
    anchor: bytes
    signature: bytes

    def message(self, head: bytes) -> bytes:
        return message(
            self.first, self.last, self.signer, self.behalf, self.key_id, self.anchor, head
        )


@dataclass
class WriteSigner:
    """Who signs the writes a recorder makes now: set on the recorder (``signer``) by
    ``Kamflow`` for the length of a write, read by the recorder as it seals."""

    signer: str
    key: PersonalKey
    behalf: str = ""

    def row(self, sealed: Sequence[tuple[int, bytes]], anchor: bytes) -> tuple[Any, ...]:
        """The signatures row of the events just sealed, ``(position, seal)`` each."""
        from kamflow.identity import sign

        first, last, head = sealed[0][0], sealed[-1][0], sealed[-1][1]
        kid = self.key.key_id
        signed = sign(self.key, message(first, last, self.signer, self.behalf, kid, anchor, head))
        return (first, last, self.signer, self.behalf, kid, anchor, signed)


SQLITE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {SIGNATURES} (position INTEGER PRIMARY KEY,"
    " last_position INTEGER NOT NULL, signer TEXT NOT NULL, behalf TEXT NOT NULL,"
    " key_id TEXT NOT NULL, anchor BLOB NOT NULL, signature BLOB NOT NULL)"
)
INSERT = (
    f"INSERT INTO {SIGNATURES} (position, last_position, signer, behalf, key_id, anchor,"
    " signature) VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0})"
)


# ------------------------------------------------------------------ reading and checking
def has_table(recorder: Any) -> bool:
    """Whether the store has the signatures table (one sealed before ADR 0025 and opened
    read-only since has none)."""
    from kamflow.sealed import _postgres

    if _postgres(recorder):
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                "SELECT to_regclass(%s) AS t", (f"{recorder.datastore.schema}.{SIGNATURES}",)
            )
            row = curs.fetchone()
            return row is not None and row["t"] is not None
    with recorder.datastore.transaction(commit=False) as c:
        c.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = ?", (SIGNATURES,))
        return bool(c.fetchone()[0])


def read_signatures(source: Any) -> dict[int, Signature]:
    """Every stored signature, by the first position of its write ({} without the table)."""
    from kamflow.sealed import _postgres, _recorder

    recorder = _recorder(source)
    if not has_table(recorder):
        return {}
    columns = "position, last_position, signer, behalf, key_id, anchor, signature"
    if _postgres(recorder):
        from psycopg import sql

        statement = sql.SQL("SELECT " + columns + " FROM {}.{} ORDER BY position").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(SIGNATURES)
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            rows = [tuple(r.values()) for r in curs.fetchall()]
    else:
        # SQLite keeps any type in any column: every column but the key is read as its
        # bytes, so an edited row (text that is not UTF-8, text for a blob) is a finding
        # of the check, not an error of the read.
        raw = ", ".join(f"CAST({c} AS BLOB)" for c in columns.split(", ")[1:])
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position, {raw} FROM {SIGNATURES} ORDER BY position")
            rows = [tuple(r) for r in c.fetchall()]
    return {int(r[0]): _signature(r) for r in rows}


def _signature(r: Sequence[Any]) -> Signature:
    """One row as a Signature: text read as bytes is decoded (U+FFFD for what is not
    UTF-8), a last position that is not a whole number is -1 (it covers nothing)."""

    def text(value: Any) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    try:
        last = int(text(r[1]))
    except ValueError:
        last = -1
    return Signature(int(r[0]), last, text(r[2]), text(r[3]), text(r[4]), bytes(r[5]), bytes(r[6]))

"""The seal: a hash chain over the event log, so that any change to it can be found.

Every stored event gets a seal when it is written, in the same transaction: the SHA-256
of the previous event's seal and of what identifies and holds this event (its position
in the log, its account's id, its version, its type and its stored bytes). An edit,
a deletion, an insertion or a reordering anywhere changes the seal of that event and of
every event after it; a deletion of the last events, or a whole database replaced by an
older backup, is found against a checkpoint (the log's size and head seal, signed and
kept elsewhere). Like git, where every commit hashes its parent. ADR 0017.

This module is the format and nothing else (no I/O): the recorders
(``kamflow/sealed.py``) compute seals with ``link`` as they insert, and ``audit verify``
and an offline check of an export recompute them with ``link`` too.
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

ALGORITHM = "sha256-chain-v1"
GENESIS = bytes(32)  # the "previous seal" of the first event
_HEAD = struct.Struct(">Q16sQ")  # position, account id, version


def link(previous: bytes, position: int, originator_id: UUID, version: int, topic: str,
         state: bytes) -> bytes:  # fmt: skip
    """The seal of one event, given the seal of the event before it in the log.

    ``previous``: 32 bytes (``GENESIS`` for the first event); ``position``: the event's
    notification id (SQLite rowid, PostgreSQL notification_id); ``state``: its stored
    bytes exactly as the table holds them (after any cipher or compressor). Every
    variable-length part is preceded by its length, so no two events hash alike by
    moving bytes from one field to the next. Returns 32 bytes.
    """
    if len(previous) != 32:
        raise ValueError(f"a seal is 32 bytes, not {len(previous)}")
    name = topic.encode("utf-8")
    digest = hashlib.sha256(previous)
    digest.update(_HEAD.pack(position, originator_id.bytes, version))
    digest.update(struct.pack(">I", len(name)))
    digest.update(name)
    digest.update(struct.pack(">I", len(state)))
    digest.update(state)
    return digest.digest()

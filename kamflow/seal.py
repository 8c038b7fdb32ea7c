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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

ALGORITHM = "sha256-chain-v1"
GENESIS = bytes(32)  # the "previous seal" of the first event
_HEAD = struct.Struct(">Q16sQI")  # position, account id, version, type name's length
_LENGTH = struct.Struct(">I")


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
    # One buffer, one hash call: the same bytes as hashing the parts one by one.
    head = _HEAD.pack(position, originator_id.bytes, version, len(name))
    data = b"".join((previous, head, name, _LENGTH.pack(len(state)), state))
    return hashlib.sha256(data).digest()


class Row(NamedTuple):
    """One stored event as the chain sees it, with the seal stored for it (None: the
    event has no seal). A named tuple: the log's walk makes one per event."""

    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes
    seal: bytes | None


@dataclass(frozen=True)
class Break:
    """The first place the log and its seals disagree.

    ``kind``: ``edited`` (the event's bytes, type, account or version are not the ones
    sealed), ``account changed`` (the event is the one sealed, but under another
    account's id), ``inserted`` (an event no seal was written for), ``deleted`` (a seal whose
    event is gone, or an event sealed after one that is gone), ``reordered`` (the event
    sealed at another position stands here).
    """

    position: int
    kind: str
    detail: str
    # For ``account changed``: the account id the event was sealed under.
    sealed_under: UUID | None = None


@dataclass(frozen=True)
class Chain:
    """A verified stretch of the log: how many events, the last position, the head."""

    count: int
    last_position: int
    head: bytes


def walk(
    rows: Iterable[Row],
    orphans: Iterable[int] = (),
    *,
    start: tuple[int, int, bytes] = (0, 0, GENESIS),
    versions: dict[UUID, int] | None = None,
    ids: Callable[[Row], Iterable[UUID]] = lambda row: (),
) -> Chain | Break:
    """Recompute the chain over ``rows`` (in position order) and compare every seal.

    ``orphans``: positions that have a seal but no event (a deleted event leaves its seal
    behind unless the seal is deleted too). ``start``: (count, last position, head) of
    the stretch already verified, and ``versions`` (each account's last version seen,
    updated here), to walk a log in pieces: memory grows with the accounts, not the log.
    An account's versions must follow each other (1, 2, 3...), which names a deletion
    even when its seal went too. ``ids``: the account ids an event that does not match
    its seal might have been sealed under besides the accounts seen so far (the id its
    stored bytes name, for an account's first event), to tell ``account changed``.
    Returns the verified ``Chain`` or the first ``Break``.
    """
    count, last, head = start
    seen: dict[UUID, int] = {} if versions is None else versions
    gone = sorted(p for p in orphans if p > last)
    ahead = iter(rows)
    row = next(ahead, None)
    while row is not None:
        following = next(ahead, None)
        if gone and gone[0] < row.position:
            return Break(gone[0], "deleted", f"the event sealed at position {gone[0]} is gone")
        prior = seen.get(row.originator_id, 0)
        expected = link(head, row.position, row.originator_id, row.version, row.topic, row.state)
        if row.seal is not None and (row.version != prior + 1 or row.seal != expected):
            moved = _other_account(head, row, seen, ids(row))
            if moved is not None:
                return Break(
                    row.position,
                    "account changed",
                    f"sealed as version {row.version} of account id {moved}, stored under"
                    f" {row.originator_id}",
                    moved,
                )
        if row.version > prior + 1:
            if (
                following is not None
                and following.originator_id == row.originator_id
                and following.version == prior + 1
            ):
                return Break(
                    row.position,
                    "reordered",
                    f"version {row.version} of its account stands before version {prior + 1}",
                )
            what = f"version {prior + 1} of its account" + (
                f" to {row.version - 1}" if row.version > prior + 2 else ""
            )
            return Break(row.position, "deleted", f"{what} is gone; this is version {row.version}")
        if row.seal is None:
            return Break(row.position, "inserted", "an event with no seal: written outside kamflow")
        if row.version <= prior:
            return Break(
                row.position,
                "reordered" if row.seal is not None else "inserted",
                f"version {row.version} of its account comes after version {prior}",
            )
        if row.seal != expected:
            return Break(row.position, *_why(head, row, following, last))
        count, last, head = count + 1, row.position, expected
        seen[row.originator_id] = row.version
        row = following
    if gone:
        return Break(gone[0], "deleted", f"the event sealed at position {gone[0]} is gone")
    return Chain(count, last, head)


def _other_account(
    head: bytes, row: Row, seen: dict[UUID, int], named: Iterable[UUID]
) -> UUID | None:
    """The account the event was sealed under, when its id was changed to another's: an
    account seen so far whose next version this is, or one of ``named``."""
    candidates = [other for other, last in seen.items() if last == row.version - 1]
    candidates += [other for other in named if other not in seen]
    for other in candidates:
        if other == row.originator_id:
            continue
        if link(head, row.position, other, row.version, row.topic, row.state) == row.seal:
            return other
    return None


def _why(head: bytes, row: Row, following: Row | None, last: int) -> tuple[str, str]:
    """Tell a reordering (two events that changed places, with or without their seals)
    from an edit, by the event after the first that does not match; and a deletion of
    events with their seals by the positions missing before it."""
    assert row.seal is not None
    if following is not None and following.seal is not None:
        there = following.position
        own = link(row.seal, there, row.originator_id, row.version, row.topic, row.state)
        if own == following.seal:
            return "reordered", f"the event sealed at position {there} stands here"
        swapped = link(
            head,
            row.position,
            following.originator_id,
            following.version,
            following.topic,
            following.state,
        )
        if swapped == following.seal:
            return "reordered", f"the event sealed here stands at position {there}"
    if last and row.position > last + 1:
        # Positions are handed out one after the other (a PostgreSQL sequence may skip
        # some when an insert is rolled back, hence "or").
        gone = f"{last + 1}" + (f"-{row.position - 1}" if row.position > last + 2 else "")
        return (
            "deleted",
            f"its seal does not follow the one before, and position {gone} is missing:"
            " an event was removed with its seal (or this one was edited)",
        )
    return "edited", "the stored event (bytes, type or version) is not the one sealed here"

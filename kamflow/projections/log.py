"""Reading a kamflow store's event log for the views: decoded events in log order.

The views read the log through this small reader of the store, not through the
application (``kamflow.application``): the rows with plain SQL on a connection of
their own (``StoreSource``), decoded by the mapper the application builds for the
same store (``kamflow.stored.log_mapper``, with the same transcodings), made cheap
enough for a rebuild (``EventDecoder``). A stored event that cannot be decoded is read
as an ``Unreadable``, never an exception, so that every view quarantines it and goes
on (docs/decisions/0011).

Cheap to import: eventsourcing (and with it the event classes) is imported when a
source is opened, that is when a catch-up has something to read.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from kamflow.projections.db import ViewDB

if TYPE_CHECKING:
    from eventsourcing.persistence import Mapper

# What the views store in place of a character no backend can hold in text: NUL
# (PostgreSQL refuses it) and a lone surrogate (not UTF-8, refused by both). The same
# on both backends, so their views stay identical.
REPLACEMENT = "\ufffd"
_UNHOLDABLE = re.compile("[\x00\ud800-\udfff]")
# Characters that must not reach a terminal raw in a message: C0 and C1 controls, DEL,
# and the bidirectional controls that reorder what follows them.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
WHY_CHARS = 240  # the longest reason a quarantine entry keeps
# Accounts a StoreSource keeps replayed (about 20 KB each), to recompute the old values
# of events stored before kamflow kept them (StoreSource._before): an account still
# kept goes on from where it was, one no longer kept is replayed from its first event.
# The events are the one source: snapshots, a cache that could be edited unnoticed, are
# not used for what the audit trail shows.
REPLAYED_ACCOUNTS = 1024


def readable(value: Any) -> Any:
    """``value`` with every character no backend can hold in text replaced by
    REPLACEMENT, in strings, dict keys and values, lists and tuples at any depth; other
    values unchanged. Decoded events pass through it (EventDecoder), so every text a
    handler writes can be stored."""
    if isinstance(value, str):
        return _UNHOLDABLE.sub(REPLACEMENT, value) if _UNHOLDABLE.search(value) else value
    if value.__class__ is dict:
        return {readable(k): readable(v) for k, v in value.items()}
    if value.__class__ is list:
        return [readable(v) for v in value]
    if value.__class__ is tuple:
        return tuple(readable(v) for v in value)
    return value


def one_line(text: str, limit: int = WHY_CHARS) -> str:
    """``text`` as one printable line: runs of whitespace become one space, controls
    are written as escapes (``\\x1b``), and it is cut at ``limit`` characters."""
    flat = " ".join(text.split())
    flat = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", readable(flat))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def why(exc: BaseException, event: Any = None) -> str:
    """One line saying why an event could not be projected."""
    if isinstance(exc, AttributeError) and exc.name and event is not None and exc.obj is event:
        return f'missing field "{exc.name}"'
    # The first line: a database's DETAIL lines repeat the row, which says no more.
    text = next((line for line in str(exc).splitlines() if line.strip()), "")
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


@dataclass(frozen=True)
class Unreadable:
    """A stored event that cannot be decoded: in the log where the event would be, so
    that every view quarantines it and goes on."""

    originator_id: Any
    originator_version: int
    topic: str
    error: str

    @property
    def type_name(self) -> str:
        return re.split(r"[.:]", self.topic)[-1] or "?"


class EventSource(Protocol):
    def max_position(self) -> int: ...

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]: ...


class EventDecoder:
    """The application mapper's ``to_domain_event``, made cheap enough for a rebuild.

    The mapper decodes JSON through an object hook that Python calls for every dict.
    Here the JSON is parsed by pydantic-core's parser (already a dependency, about 2.5x
    faster than ``json``) and only the top-level transcoded values are converted, with
    the transcoder's own decoders. An event stored at its class's current
    ``class_version`` needs no upcast and is decoded here too. Anything else -- a cipher
    or compressor, an upcast (an event stored at an older class version), a transcoded
    value nested deeper than the top level -- goes through the mapper itself,
    so the result is always what the mapper returns (tests/projections/test_projections.py checks
    that, event by event), except that text no backend can hold is replaced
    (``readable``): the views are the one place that must store it.

    Raises whatever the stored event makes the decoding raise; StoreSource turns that
    into an ``Unreadable`` that names the reason.
    """

    def __init__(self, mapper: Mapper[Any]) -> None:
        from pydantic_core import from_json

        self.parse = from_json
        self.mapper = mapper
        self.plain = mapper.cipher is None and mapper.compressor is None
        transcoder: Any = mapper.transcoder  # a JSONTranscoder: kamflow.stored.checked_mapper
        self.decoders: dict[str, Callable[[Any], Any]] = {
            name: transcoding.decode for name, transcoding in transcoder.names.items()
        }
        self.classes: dict[str, type | None] = {}
        # Topic -> its class's class_version, as stored (absent: version 1).
        self.versions: dict[str, int] = {}
        # Topics whose values kamflow.personal decrypts -> the mapper's key store (None:
        # the mapper has none, and values stay as stored, as the mapper leaves them).
        self.personal: dict[str, Any] = {}
        self.key_store: Any = getattr(mapper, "personal", None)
        # The events whose values kamflow.personal decrypts: imported by a decoder, not
        # by this module, which reports import.
        from kamflow.personal import EVENTS

        self.personal_events = EVENTS
        self.ids: dict[Any, UUID] = {}  # one UUID object per account, not one per event

    def _class(self, topic: str) -> type | None:
        """The event class of a topic, or None when only the mapper may decode it."""
        from eventsourcing.utils import resolve_topic

        cls: type = resolve_topic(topic)
        self.versions[topic] = getattr(cls, "class_version", 1)
        # Events holding personal values have them decrypted on the way (kamflow.personal)
        # by the mapper's key store, as the mapper itself would; the rest of their
        # decoding stays here, so a fault in one (a missing field) is met by the views
        # that read that field only, as for every other event.
        if cls.__qualname__ in self.personal_events:
            self.personal[topic] = self.key_store
        self.classes[topic] = cls if self.plain else None
        return self.classes[topic]

    def __call__(self, originator_id: Any, version: int, topic: str, raw: bytes) -> Any:
        try:
            uid = self.ids[originator_id]
        except KeyError:
            uid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            self.ids[originator_id] = uid
        cls = self.classes[topic] if topic in self.classes else self._class(topic)
        # JSON writes NUL and lone surrogates as escapes, so a state without a backslash
        # (92) holds neither: one memchr instead of a walk through every value.
        odd = 92 in raw if self.plain else True
        if cls is not None:
            state: dict[str, Any] = self.parse(raw)
            personal = self.personal.get(topic)
            if personal is not None:
                personal.reveal(cls, uid, state)
            if odd:
                state = readable(state)
            typed = 0
            for name, value in state.items():
                if value.__class__ is dict and len(value) == 2 and "_type_" in value:
                    state[name] = self.decoders[value["_type_"]](value["_data_"])
                    typed += 1
            # eventsourcing stores a class_version above 1 with the event's state; an
            # older one than the class's needs the mapper's upcasts.
            if typed == raw.count(b'"_type_"') and (
                state.pop("class_version", 1) == self.versions[topic]
            ):
                state["originator_id"] = uid
                state["originator_version"] = version
                event: Any = object.__new__(cls)
                object.__setattr__(event, "__dict__", state)
                return event
        from eventsourcing.persistence import StoredEvent

        event = self.mapper.to_domain_event(StoredEvent(uid, version, topic, raw))
        if odd:
            object.__setattr__(event, "__dict__", readable(vars(event)))
        return event

    def unreadable(self, originator_id: Any, version: int, topic: str, raw: bytes) -> Unreadable:
        """Why this stored event cannot be decoded, step by step (only called when
        decoding it raised)."""

        def named(reason: str) -> Unreadable:
            return Unreadable(originator_id, version, topic, one_line(reason))

        try:
            if not isinstance(originator_id, UUID):
                UUID(originator_id)
        except (TypeError, ValueError, AttributeError):
            return named("its aggregate id is not a UUID")
        try:
            from eventsourcing.utils import resolve_topic

            resolve_topic(topic)
        except Exception:
            return named(f"unknown event type {topic}")
        if self.plain:
            try:
                self.parse(raw)
            except ValueError as exc:
                return named(f"stored JSON is not valid: {exc}")
        try:
            self(originator_id, version, topic, raw)
        except Exception as exc:
            return named(f"a stored value cannot be decoded: {why(exc)}")
        return named("cannot be decoded")


class StoreSource:
    """Decoded events from a kamflow store's notification log, by its locator.

    The rows are read with plain SQL on a connection of our own (the recorder wraps each
    row in a Notification and converts its id, about as costly as decoding it), in
    notification order, exactly the rows ``recorder.select_notifications`` returns, and
    decoded by ``decoder`` (by default an ``EventDecoder`` of the mapper the application
    builds for this store: ``kamflow.stored.log_mapper``). A row that cannot be decoded
    is read as an ``Unreadable``, never an exception. ``before``: only the events
    recorded before then (the others are read as None, so positions still advance).
    A store without an event table yet reads as empty.

    An event stored before kamflow kept the values a change replaced (its upcast leaves
    ``previous`` None) is given them here, recomputed from its account's earlier events
    (``envelope.backfill``), so that every view and the audit trail see them however far
    back a catch-up starts; when those events cannot be replayed it keeps None.
    """

    def __init__(
        self, locator: str, decoder: EventDecoder | None = None, *, before: datetime | None = None
    ) -> None:
        self.locator = locator
        self.before = before
        if decoder is None:
            from kamflow.storage import parse
            from kamflow.stored import log_mapper

            decoder = EventDecoder(log_mapper(parse(locator).env()))
        self.decode = decoder
        self._log: ViewDB | None = None
        self._has_events = False
        # Event class -> whether it records what it replaced (has a ``prior``).
        self._replacing: dict[type, bool] = {}
        # Account id -> (the account as replayed, its version), least recently used first.
        self._replayed: OrderedDict[UUID, tuple[Any, int]] = OrderedDict()

    def _opened(self) -> ViewDB:
        if self._log is None:
            self._log = ViewDB(self.locator)
        return self._log

    def max_position(self) -> int:
        return self._opened().max_position()

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        log = self._opened()
        if not self._has_events:
            if not log.table_exists(log.events_table):
                return []
            self._has_events = True
        rows = log.rows(
            f"SELECT {log.position_column}, originator_id, originator_version, topic, state"
            f" FROM {log.events_table} WHERE {log.position_column} > ?"
            f" ORDER BY {log.position_column} LIMIT ?",
            (after, limit),
        )
        decode = self.decode
        try:
            out: list[tuple[int, Any]] = [(row[0], decode(*row[1:])) for row in rows]
        except Exception:
            out = [(row[0], self._decoded(*row[1:])) for row in rows]
        replacing = self._replacing
        for row, (_, event) in zip(rows, out, strict=True):
            cls = event.__class__
            replaces = replacing.get(cls)
            if replaces is None:
                replaces = replacing[cls] = hasattr(cls, "prior")
            if replaces and event.__dict__.get("previous", 0) is None:
                self._backfill(row[1], event)
        if self.before is not None:
            # "As of": only what had been recorded by then. Positions still advance past
            # later events so the caller's loop ends. An event without a readable record
            # time may belong to that day: it stays, to be named.
            out = [(p, e) if self._recorded_before(e) else (p, None) for p, e in out]
        return out

    def _backfill(self, raw_id: Any, event: Any) -> None:
        from kamflow.domain.envelope import backfill

        backfill(event, self._before(raw_id, event.originator_id, event.originator_version))

    def _before(self, raw_id: Any, uid: UUID, version: int) -> Any:
        """The account ``uid`` as its events before ``version`` leave it, replayed from
        the store (from where an earlier call left it), or None when they cannot be."""
        account, done = self._replayed.pop(uid, (None, 0))
        if done >= version:
            account, done = None, 0
        log = self._opened()
        rows = log.rows(
            f"SELECT originator_version, topic, state FROM {log.events_table}"
            " WHERE originator_id = ? AND originator_version > ? AND originator_version < ?"
            " ORDER BY originator_version",
            (raw_id, done, version),
        )
        try:
            for number, topic, raw in rows:
                account = self.decode(raw_id, number, topic, raw).mutate(account)
                done = number
        except Exception:
            return None  # an earlier event that cannot be read or replayed
        if done != version - 1:
            return None  # a version missing from the stream
        self._replayed[uid] = (account, done)
        if len(self._replayed) > REPLAYED_ACCOUNTS:
            self._replayed.popitem(last=False)
        return account

    def _decoded(self, originator_id: Any, version: int, topic: str, raw: bytes) -> Any:
        try:
            return self.decode(originator_id, version, topic, raw)
        except Exception:
            return self.decode.unreadable(originator_id, version, topic, raw)

    def _recorded_before(self, event: Any) -> bool:
        if event.__class__ is Unreadable:
            return True
        try:
            return bool(event.timestamp < self.before)
        except (AttributeError, TypeError):
            return True  # the handlers and the audit view name what is wrong with it

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> StoreSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

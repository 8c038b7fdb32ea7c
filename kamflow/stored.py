"""Reading what is stored without trusting it: events and snapshots that cannot be read.

A stored event whose JSON is broken, whose topic names no class, or whose fields are
missing or of the wrong type is refused where it is decoded (``CheckedMapper``), as
``UnreadableEvent``, which names it; the application turns that into the account key
and log position (``Kamflow``). A snapshot is only a cache: one that cannot be read,
or from which the account cannot be rebuilt, is ignored and the account replayed from
its events (``SafeRepository``), and the caller is told through a callback.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository, project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    BaseInfrastructureFactory,
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    PersistenceError,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.utils import Environment, TopicError, resolve_topic

from kamflow.domain.errors import StorageError


class UnreadableEvent(StorageError):
    """A stored event (or snapshot) that cannot be decoded, checked or replayed.

    ``version`` is the event's version in its aggregate; ``cause`` says why, in one
    line. The message names the aggregate by id; ``Kamflow`` names it by account key
    and log position instead."""

    def __init__(
        self, originator_id: UUID, version: int, cause: str, *, snapshot: bool = False
    ) -> None:
        self.originator_id = originator_id
        self.version = version
        self.cause = cause
        self.snapshot = snapshot
        what = "snapshot at version" if snapshot else "stored event"
        super().__init__(f"{what} {version} of aggregate {originator_id} {cause}")


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the database rather than from what it returned."""
    if isinstance(exc, PersistenceError | sqlite3.Error | StorageError):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def one_line(exc: BaseException) -> str:
    """An exception as one printable line: its type and the first line of its text,
    control characters escaped (stored text may hold anything)."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


# ------------------------------------------------------------------ field checks
# (field, the classes its value may have, the class of its items or values or None)
Check = tuple[str, tuple[type, ...], type | None]
_CHECKS: dict[type, list[Check]] = {}
_TEMPLATES: dict[type, dict[str, Any]] = {}
# Set by the mapper from the stored row, and checked by eventsourcing itself.
_ENVELOPE = {"originator_id", "originator_version"}


# Annotation names as kamflow's and eventsourcing's events write them (their modules use
# ``from __future__ import annotations``, so annotations are strings). Reading them from
# this table instead of typing.get_type_hints (which evaluates each one) keeps the first
# decode of each event class in a process at microseconds, not ~0.6 ms: a command is one
# process. A name not in the table leaves its field unchecked.
_NAMES: dict[str, type | None] = {
    "str": str, "int": int, "bool": bool, "float": float, "Decimal": Decimal,
    "decimal.Decimal": Decimal, "date": date, "datetime": datetime, "datetime.date": date,
    "datetime.datetime": datetime, "UUID": UUID, "uuid.UUID": UUID, "None": type(None),
    "Any": None, "typing.Any": None,
}  # fmt: skip
_CONTAINER = re.compile(r"(dict|list)\[(?:[^,\]]*,\s*)?([\w.]+)\]")


def _runtime(hint: Any) -> tuple[tuple[type, ...], type | None] | None:
    """The classes a value of this annotation may have at run time, and the class of a
    container's items (None: not checked); None when anything goes or it is unknown."""
    if not isinstance(hint, str):
        hint = getattr(hint, "__name__", None) if isinstance(hint, type) else None
        if hint is None:
            return None
    allowed: list[type] = []
    item: type | None = None
    for part in (p.strip() for p in hint.split("|")):
        container = _CONTAINER.fullmatch(part)
        if container is not None:
            allowed.append(dict if container.group(1) == "dict" else list)
            item = _NAMES.get(container.group(2))
            continue
        found = _NAMES.get(part, ...)
        if found is None or found is ...:  # Any, or a name we do not know
            return None
        allowed.append(found)
    return tuple(allowed), item


def _checks(cls: type) -> list[Check]:
    try:
        return _CHECKS[cls]
    except KeyError:
        pass
    annotations: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    found: list[Check] = []
    for name, hint in annotations.items():
        if name in _ENVELOPE or "ClassVar" in str(hint):
            continue
        runtime = _runtime(hint)
        if runtime is not None:
            found.append((name, *runtime))
    _CHECKS[cls] = found
    return found


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def field_problem(event: Any) -> str | None:
    """Why a decoded event's fields do not fit its class (missing, or of a wrong type),
    or None. A field missing from the stored JSON is fine when its class gives it a
    default (events written before the field existed)."""
    cls = type(event)
    state = event.__dict__
    for name, allowed, item in _checks(cls):
        if name not in state:
            if hasattr(cls, name):
                continue
            return f"field {name!r} is missing"
        value: Any = state[name]
        if not isinstance(value, allowed):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            return f"field {name!r} is {_type_name(value)}, not {wanted}"
        if item is not None and isinstance(value, dict | list):
            container: Any = state[name]
            items: Iterable[Any] = container.values() if isinstance(container, dict) else container
            for each in items:
                if not isinstance(each, item):
                    return f"field {name!r} holds {_type_name(each)}, not {item.__name__}"
    if isinstance(event, Snapshot):
        return _snapshot_problem(event)
    return None


def _template(cls: type) -> dict[str, Any]:
    """A freshly initialised aggregate's attributes (what every snapshot must hold)."""
    try:
        return _TEMPLATES[cls]
    except KeyError:
        blank: Any = object.__new__(cls)
        cls.__init__(blank)  # type: ignore[misc]
        _TEMPLATES[cls] = dict(vars(blank))
        return _TEMPLATES[cls]


def _snapshot_problem(snapshot: Snapshot) -> str | None:
    cls = resolve_topic(snapshot.topic)
    # The state as the aggregate will get it: upcast from the class version it was taken
    # at (eventsourcing upcasts in Snapshot.mutate, after this check), on a copy.
    state = dict(snapshot.state)
    version = state.pop("class_version", 1)
    while version < getattr(cls, "class_version", 1):
        upcast = getattr(cls, f"upcast_v{version}_v{version + 1}", None)
        if upcast is None:
            break
        try:
            upcast(state)
        except Exception:  # an upcast that refuses the snapshot: mutate says so, as ever
            return None
        version += 1
    for name in ("_created_on", "_modified_on"):
        if not isinstance(state.get(name), datetime):
            return f"state {name!r} is {_type_name(state.get(name))}, not datetime"
    # A key added in a later class version is missing from older snapshots until
    # their upcast (run when the snapshot is applied, after this check) adds it.
    version = state.get("class_version", 1)
    since: dict[str, int] = dict(getattr(cls, "state_since", ()))
    for name, blank in _template(cls).items():
        if name not in state:
            if version < since.get(name, 1):
                continue
            return f"state {name!r} is missing"
        if blank is not None and not isinstance(state[name], type(blank)):
            return f"state {name!r} is {_type_name(state[name])}, not {type(blank).__name__}"
    return None


class CheckedMapper(Mapper[UUID]):
    """eventsourcing's mapper, refusing what it cannot decode or what does not fit the
    event's class, as UnreadableEvent (never a half-built event that fails later).
    With ``personal`` (the store's key store), a contact's personal values are
    encrypted as they are stored and decrypted as they are read (kamflow.personal)."""

    personal: Any = None  # kamflow.personal.Personal, set by checked_mapper

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        personal = self.personal
        if personal is not None:
            from kamflow import personal as pd

            cls = type(domain_event)
            state = vars(domain_event)
            if pd.concerns(cls, state):
                concealed = object.__new__(cls)
                hidden = personal.conceal(cls, state["originator_id"], state)
                object.__setattr__(concealed, "__dict__", hidden)
                return super().to_stored_event(concealed)
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = self._decoded(stored_event)
        if self.personal is not None:
            from kamflow import personal as pd

            state = vars(event)
            if pd.concerns(type(event), state):
                try:
                    self.personal.reveal(type(event), stored_event.originator_id, state)
                except ValueError as exc:
                    raise UnreadableEvent(
                        stored_event.originator_id,  # type: ignore[arg-type]
                        stored_event.originator_version,
                        f"cannot be read: {exc}",
                        snapshot=stored_event.topic.endswith(":Snapshot"),
                    ) from exc
        return event

    def _decoded(self, stored_event: StoredEvent) -> Any:
        snapshot = stored_event.topic.endswith(":Snapshot")
        try:
            event = super().to_domain_event(stored_event)
        except Exception as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            if isinstance(exc, TopicError):
                cause = TopicError(f"no event class for topic {stored_event.topic!r}")
            raise UnreadableEvent(
                stored_event.originator_id,  # type: ignore[arg-type]
                stored_event.originator_version,
                f"cannot be read: {one_line(cause)}",
                snapshot=snapshot,
            ) from exc
        try:
            problem = field_problem(event)
        except Exception as exc:  # e.g. a snapshot naming a class that does not exist
            problem = one_line(exc)
        if problem is not None:
            raise UnreadableEvent(
                stored_event.originator_id,  # type: ignore[arg-type]
                stored_event.originator_version,
                f"cannot be read: {problem}",
                snapshot=snapshot,
            )
        return event


# ------------------------------------------------------------------ decoding
# The application's name, which eventsourcing also reads settings under
# (KAMFLOW_COMPRESSOR_TOPIC as well as COMPRESSOR_TOPIC).
APPLICATION_NAME = "kamflow"


class DateAsISO(Transcoding):
    """Business dates are stored as ISO-8601 strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """Every transcoding kamflow's stored events use: eventsourcing's own (UUID, Decimal,
    datetime, as ``Application.register_transcodings`` registers them) and business
    dates. The application and the views' log reader both register these, so what one
    writes the other reads."""
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    transcoder.register(DateAsISO())


def checked_mapper(factory: BaseInfrastructureFactory[Any]) -> CheckedMapper:
    """The mapper of stored events, with the transcoder, cipher and compressor that
    ``factory``'s settings name (an application's factory, or ``log_mapper``'s)."""
    transcoder = factory.transcoder()
    if isinstance(transcoder, JSONTranscoder):
        register_transcodings(transcoder)
    mapper = CheckedMapper(
        transcoder=transcoder, cipher=factory.cipher(), compressor=factory.compressor()
    )
    from kamflow.personal import Personal, key_store

    keys = key_store(factory.env.get)
    if keys is not None:
        mapper.personal = Personal(keys)
    return mapper


def log_mapper(settings: Mapping[str, str]) -> CheckedMapper:
    """The mapper ``KamflowApplication`` builds for a store with these eventsourcing
    ``settings`` (``Store.env()``), without building the application: the process's
    environment counts as it does for the application, under the same name."""
    env = Environment(APPLICATION_NAME, {**os.environ, **settings})
    return checked_mapper(BaseInfrastructureFactory(env))


# ------------------------------------------------------------------ repository
BadSnapshot = Callable[[UUID, int, str], None]


def project_events(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its per-event ``isinstance`` check
    against a runtime-checkable Protocol: typing's check cost about a third of replaying
    an event (Python 3.11), so an as-of load replaying 99 events from a checkpoint cost
    8x a small account's (ADR 0029). Every event read has a kamflow event class
    (CheckedMapper); one without ``mutate`` fails, and is named, all the same."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class SafeRepository(Repository[UUID]):
    """eventsourcing's Repository, but a snapshot that cannot be read, or from which the
    account cannot be rebuilt, is skipped (``on_bad_snapshot(id, version, cause)``) and
    the aggregate replayed from its events; an event that cannot be replayed is named
    (UnreadableEvent) instead of failing somewhere inside the domain."""

    on_bad_snapshot: BadSnapshot | None = None

    def _reconstruct_aggregate(
        self, aggregate_id: UUID, version: int | None, projector_func: Any
    ) -> Any:
        if projector_func is project_aggregate:  # the default of Repository.get
            projector_func = project_events
        snapshot = self._snapshot(aggregate_id, version)
        first: Iterable[Any] = [snapshot] if snapshot is not None else []
        gt = snapshot.originator_version if snapshot is not None else None
        events = self.event_store.get(originator_id=aggregate_id, gt=gt, lte=version)
        try:
            aggregate = projector_func(None, chain(first, events))
        except UnreadableEvent:
            raise
        except Exception as exc:
            if is_storage_error(exc):
                raise
            if snapshot is None:
                raise self._culprit(aggregate_id, version, projector_func) or exc from exc
            # Perhaps the snapshot: try without it.
            try:
                events = self.event_store.get(originator_id=aggregate_id, lte=version)
                aggregate = projector_func(None, events)
            except UnreadableEvent:
                raise
            except Exception as again:
                if is_storage_error(again):
                    raise
                raise self._culprit(aggregate_id, version, projector_func) or again from again
            self._bad_snapshot(
                aggregate_id, snapshot.originator_version, f"cannot be used: {one_line(exc)}"
            )
        if aggregate is None:
            from eventsourcing.application import AggregateNotFoundError

            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version {version!r}")
        return aggregate

    def _bad_snapshot(self, aggregate_id: UUID, version: int, cause: str) -> None:
        if self.on_bad_snapshot is not None:
            self.on_bad_snapshot(aggregate_id, version, cause)

    def _snapshot(self, aggregate_id: UUID, version: int | None) -> Any:
        """The newest snapshot at or before ``version`` that can be read, or None."""
        if self.snapshot_store is None:
            return None
        try:
            found = list(
                self.snapshot_store.get(originator_id=aggregate_id, desc=True, limit=1, lte=version)
            )
        except UnreadableEvent as exc:
            self._bad_snapshot(aggregate_id, exc.version, exc.cause)
            return None
        return found[0] if found else None

    def _culprit(
        self, aggregate_id: UUID, version: int | None, projector_func: Any
    ) -> UnreadableEvent | None:
        """Replay event by event to name the first one that cannot be replayed."""
        aggregate = None
        for event in self.event_store.get(originator_id=aggregate_id, lte=version):
            try:
                aggregate = projector_func(aggregate, [event])
            except Exception as exc:
                if is_storage_error(exc):
                    raise
                return UnreadableEvent(
                    aggregate_id,
                    event.originator_version,
                    f"cannot be replayed: {one_line(exc)}",
                )
        return None

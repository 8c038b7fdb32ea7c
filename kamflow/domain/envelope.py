"""What every kamflow event carries, and how both aggregates record one.

Every event, on an account or on governance, carries besides its own fields: the actor
who caused it, the business date it happened (``occurred_on``, which may be in the
past), the record time (``timestamp``, set by kamflow's clock, never by a user) and the
id of the command that produced it. ``apply`` never checks a rule: replaying history
must always succeed (docs/domain.md, "History is history").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, NamedTuple, Protocol

from eventsourcing.domain import Aggregate

from kamflow.domain.values import ERASED

if TYPE_CHECKING:
    from decimal import Decimal

# The fields of the envelope, which `payload()` leaves out.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "occurred_on",
        "command_id",
        "command_id_given",
        "delegate",
    }
)


class _Unknown:
    """The old value of a change no one can know any more (``UNKNOWN``)."""

    def __repr__(self) -> str:
        return "(unknown)"


# An old value the event does not carry and its account's history cannot give back.
UNKNOWN: Final = _Unknown()

# Where the old value of a change comes from: the event itself (recorded when it was
# made), the account's earlier events (an event recorded before kamflow kept old values,
# see Recomputed), or nowhere.
Source = Literal["recorded", "recomputed", "unknown"]


class Recomputed(dict[str, Any]):
    """An event's old values recomputed from its account's earlier events: the event
    was recorded before kamflow kept them (its upcast leaves ``previous`` None, and the
    reader of the history fills it in, ``backfill``). Equal to the dict recorded now."""


class Change(NamedTuple):
    """One value an event replaced: on ``subject`` (a contact id, a competitor, a team
    member, an opportunity; None for the account or governance itself), ``field``
    went from ``old`` to ``new``. ``old`` and ``new`` are None for a value not set, and
    ``old`` is UNKNOWN when it cannot be known."""

    subject: str | None
    field: str
    old: Any
    new: Any
    source: Source = "recorded"

    def as_json(self) -> dict[str, Any]:
        """``{"subject", "field", "old", "new", "old_source"}``; ``old`` null when it is
        unknown (``old_source`` "unknown") or was not set."""
        old = None if self.source == "unknown" else self.old
        return {
            "subject": self.subject,
            "field": self.field,
            "old": old,
            "new": self.new,
            "old_source": self.source,
        }


def shown(value: Any) -> str:
    """A changed value in a summary: ``(not set)``, ``(unknown)``, a list joined with
    ``/`` (``(none)`` when empty), anything else as text."""
    if value is None:
        return "(not set)"
    if value is UNKNOWN:
        return "(unknown)"
    if isinstance(value, list | tuple):
        return "/".join(str(v) for v in value) or "(none)"
    return str(value)


def described(changes: list[Change]) -> str:
    """Changes in a summary: ``owner li.wei -> zhang.min, size (not set) -> 12 mills``;
    a value stated again as it was, ``strengths price (unchanged)``; values of a
    forgotten person, ``mobile [erased]`` (ADR 0026: what it was is not known)."""
    return ", ".join(
        f"{c.field} {ERASED}"
        if c.new == ERASED
        else f"{c.field} {shown(c.new)} (unchanged)"
        if c.old == c.new and c.source != "unknown"
        else f"{c.field} {shown(c.old)} -> {shown(c.new)}"
        for c in changes
    )


def changes_of(
    previous: Mapping[str, Any] | None, new: Mapping[str, Any], subject: str | None = None
) -> list[Change]:
    """The changes of an event that carries its new values (``new``, by field) and the
    ones they replaced (``previous``: None when unknown), fields in name order."""
    if previous is None:
        source: Source = "unknown"
    else:
        source = "recomputed" if isinstance(previous, Recomputed) else "recorded"
    out = []
    for name in sorted(new):
        known = previous is not None and name in previous
        old = previous[name] if previous is not None and known else UNKNOWN
        out.append(Change(subject, name, old, new[name], source if known else "unknown"))
    return out


class Policies(Protocol):
    """What a decision may ask of governance (policies and the roster)."""

    def policy(self, name: str) -> Decimal: ...

    def holds(self, person: str, role: str) -> bool: ...

    @property
    def enforcing(self) -> bool: ...

    def staffed(self, role: str) -> bool: ...


@dataclass(frozen=True)
class Meta:
    """Who caused an event, when it happened in business terms, and which command."""

    actor: str
    command_id: str
    occurred_on: date
    recorded_at: datetime
    # True when the client chose the command id (`--command-id`, a line of `apply`):
    # only those are remembered, so re-running the same command is a no-op.
    command_id_given: bool = False
    # Loaded only for the commands whose rules read policies or the roster.
    governance: Policies | None = None
    # The business date of ``recorded_at`` in the business time zone (ADR 0015); None
    # reads it as the UTC date (callers that know no zone: tests of the domain alone).
    today: date | None = None
    # The account's stored events, in order: loaded only for the commands that correct
    # a recorded fact (``needs_history``; ADR 0020), whose state keeps no narrative.
    history: Sequence[Any] | None = None

    @property
    def business_today(self) -> date:
        """The day it is now in business terms: no business date may be later."""
        return self.today if self.today is not None else self.recorded_at.date()


class Event(Aggregate.Event):
    """The envelope of every kamflow event; each aggregate's ``Event`` subclasses it."""

    actor: str
    occurred_on: date
    command_id: str
    command_id_given: bool
    # Who recorded it for ``actor`` (`--on-behalf-of`, ADR 0025): the delegate, as the
    # roster knows them; None for an event its actor recorded. Not a dataclass field: a
    # class default, so events without it (every other one, and every event stored
    # before) decode unchanged and store no extra bytes; Kamflow sets it on a
    # delegate's events before they are saved (``delegated``).
    delegate: ClassVar[str | None] = None

    def apply(self, aggregate: Any) -> None:
        # Governance remembers given ids in its (small) state; an account's are in an
        # indexed table, written with the event (kamflow.applied, ADR 0024).
        if self.command_id_given and aggregate.remembers_commands:
            aggregate.command_log += f"{self.command_id}\n"
        self.evolve(aggregate)

    def evolve(self, aggregate: Any) -> None:
        """Change the aggregate's state; overridden by every event type."""

    # The summary of an event whose line is its fields in a sentence, as a template of
    # them: ``said = "follow-up {issue_id}: {result}"`` (``str.format_map`` over the
    # event's fields, which prints each as an f-string would).
    said: ClassVar[str] = ""
    # Whether the event corrects an earlier fact (ADR 0020): the audit trail's
    # ``--type corrections``, read from the classes' source (projections/event_types.py,
    # ADR 0031).
    corrects: ClassVar[bool] = False

    def summary(self) -> str:
        """One line for people: what happened (the audit trail and `account history`);
        ``said`` filled in, unless the event words it itself."""
        return self.said.format_map(vars(self)) if self.said else type(self).__name__

    def payload(self) -> dict[str, Any]:
        """The event's own fields, without the envelope every event carries."""
        return {k: v for k, v in vars(self).items() if k not in ENVELOPE}

    def changed(self) -> list[Change]:
        """The values this event replaced, each with its old value (``Change``): empty
        for an event that adds a fact rather than overwriting one, or that moves a
        workflow (the state it left is the one its subject's previous step recorded)."""
        return []

    def ids(self) -> dict[str, str | list[str]]:
        """The short ids this event gave out or acted on, by kind: ``{"visit": "V-3",
        "issues": ["I-4", "I-5"]}``. Every ``*_id`` field, by default."""
        return {
            name[:-3]: value
            for name, value in vars(self).items()
            if name.endswith("_id") and name not in ENVELOPE and isinstance(value, str)
        }


class Recorder:
    """What ``Account`` and ``Governance`` share: recording an event under a ``Meta``,
    and remembering the command ids that clients chose (ADR 0003)."""

    command_log: str
    modified_on: datetime
    # Whether ``command_log`` keeps the given command ids (Governance); an Account's
    # are looked up in kamflow.applied instead, so its state does not grow with them.
    remembers_commands: ClassVar[bool] = True

    if TYPE_CHECKING:

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def record(self, event_class: type[Event], meta: Meta, **payload: Any) -> None:
        # An event that overwrites values records the ones it replaces, taken from the
        # state it is about to change (its ``prior``), so no decision can forget them.
        prior = getattr(event_class, "prior", None)
        if prior is not None and "previous" not in payload:
            payload["previous"] = prior(self, payload)
        # Record time never goes backwards within an aggregate, even across machines
        # with skewed clocks: "as of" searches rely on it being monotonic.
        self.trigger_event(
            event_class,
            timestamp=max(meta.recorded_at, self.modified_on),
            actor=meta.actor,
            occurred_on=meta.occurred_on,
            command_id=meta.command_id,
            command_id_given=meta.command_id_given,
            **payload,
        )

    def has_command(self, command_id: str) -> bool:
        """Whether a client-chosen command id was already applied here (Governance;
        an account's are looked up with ``Kamflow.applied``)."""
        return f"\n{command_id}\n" in self.command_log


def backfill(event: Any, before: Any) -> bool:
    """Give an event recorded before kamflow kept old values (its ``previous`` is None)
    the values it replaced, recomputed from ``before``: its aggregate as its earlier
    events left it (None when they could not be replayed). True when it was filled; an
    event that cannot be filled keeps None, and its changes say UNKNOWN."""
    prior = getattr(type(event), "prior", None)
    if prior is None or event.__dict__.get("previous", 0) is not None or before is None:
        return False
    try:
        found = prior(before, event.__dict__)
    except (KeyError, TypeError, AttributeError):  # the item it changes is not there
        return False
    object.__setattr__(event, "previous", Recomputed(found))
    return True


def delegated(events: Sequence[Any], delegate: str) -> None:
    """Mark ``events`` (collected, not yet saved) as recorded by ``delegate`` for their
    actor: stored with them, so covered by their seals and their write's signature."""
    for event in events:
        object.__setattr__(event, "delegate", delegate)


def created(meta: Meta) -> dict[str, Any]:
    """The envelope of an aggregate's first event, as keyword arguments of ``_create``."""
    return {
        "timestamp": meta.recorded_at,
        "actor": meta.actor,
        "occurred_on": meta.occurred_on,
        "command_id": meta.command_id,
        "command_id_given": meta.command_id_given,
    }

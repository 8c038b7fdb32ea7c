"""What every kamflow event carries, and how both aggregates record one.

Every event, on an account or on governance, carries besides its own fields: the actor
who caused it, the business date it happened (``occurred_on``, which may be in the
past), the record time (``timestamp``, set by kamflow's clock, never by a user) and the
id of the command that produced it. ``apply`` never checks a rule: replaying history
must always succeed (docs/domain.md, "History is history").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.domain import Aggregate

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
    }
)


class Policies(Protocol):
    """What a decision may ask of governance (policies and the roster)."""

    def policy(self, name: str) -> Decimal: ...

    def holds(self, person: str, role: str) -> bool: ...


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

    def apply(self, aggregate: Any) -> None:
        if self.command_id_given:
            aggregate.command_log += f"{self.command_id}\n"
        self.evolve(aggregate)

    def evolve(self, aggregate: Any) -> None:
        """Change the aggregate's state; overridden by every event type."""

    def summary(self) -> str:
        """One line for people: what happened (the audit trail and `account history`)."""
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        """The event's own fields, without the envelope every event carries."""
        return {k: v for k, v in vars(self).items() if k not in ENVELOPE}

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

    if TYPE_CHECKING:

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def record(self, event_class: type[Event], meta: Meta, **payload: Any) -> None:
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
        """Whether a client-chosen command id was already applied here."""
        return f"\n{command_id}\n" in self.command_log


def created(meta: Meta) -> dict[str, Any]:
    """The envelope of an aggregate's first event, as keyword arguments of ``_create``."""
    return {
        "timestamp": meta.recorded_at,
        "actor": meta.actor,
        "occurred_on": meta.occurred_on,
        "command_id": meta.command_id,
        "command_id_given": meta.command_id_given,
    }

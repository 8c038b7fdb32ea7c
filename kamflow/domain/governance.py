"""Governance: the business policies and the roster of who holds which role.

One aggregate for the whole store, so that every change of a policy or a role is an
event with its actor and time, never a file edited silently (design §4, P1).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from kamflow.domain.account import Meta
from kamflow.domain.errors import Conflict
from kamflow.domain.policies import POLICIES, ROLES, parse_policy_value

__all__ = [
    "GOVERNANCE_ID",
    "POLICIES",
    "ROLES",
    "Governance",
    "empty_governance",
    "parse_policy_value",
]

GOVERNANCE_ID = uuid.UUID("0b6a2f0e-1c1d-5d8e-8f3a-6b5c4d3e2f10")


class Governance(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        occurred_on: date
        command_id: str
        command_id_given: bool

        def apply(self, aggregate: Governance) -> None:
            if self.command_id_given:
                aggregate.command_log += f"{self.command_id}\n"
            self.evolve(aggregate)

        def evolve(self, governance: Governance) -> None:
            """Change the state; overridden by every event type."""

        def summary(self) -> str:
            return type(self).__name__

    class Started(Event, Aggregate.Created):
        def summary(self) -> str:
            return "governance started"

    class PolicySet(Event):
        policy: str
        value: Decimal
        previous: Decimal
        reason: str

        def evolve(self, governance: Governance) -> None:
            governance.policies[self.policy] = self.value

        def summary(self) -> str:
            return f"policy {self.policy}: {self.previous} -> {self.value} ({self.reason})"

    class RoleGranted(Event):
        person: str
        role: str
        reason: str

        def evolve(self, governance: Governance) -> None:
            roles = governance.roster.setdefault(self.person, [])
            roles.append(self.role)

        def summary(self) -> str:
            return f"{self.person} holds {self.role}: {self.reason}"

    class RoleRevoked(Event):
        person: str
        role: str
        reason: str

        def evolve(self, governance: Governance) -> None:
            roles = governance.roster.get(self.person, [])
            if self.role in roles:
                roles.remove(self.role)
            if not roles:
                governance.roster.pop(self.person, None)

        def summary(self) -> str:
            return f"{self.person} no longer holds {self.role}: {self.reason}"

    def __init__(self) -> None:
        self.policies: dict[str, Decimal] = {}
        self.roster: dict[str, list[str]] = {}
        self.command_log: str = "\n"

    @classmethod
    def start(cls, meta: Meta) -> Governance:
        return cls._create(
            cls.Started,
            id=GOVERNANCE_ID,
            timestamp=meta.recorded_at,
            actor=meta.actor,
            occurred_on=meta.occurred_on,
            command_id=meta.command_id,
            command_id_given=meta.command_id_given,
        )

    def _trigger(self, event_class: type[Governance.Event], meta: Meta, **payload: Any) -> None:
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
        return f"\n{command_id}\n" in self.command_log

    def policy(self, name: str) -> Decimal:
        return self.policies.get(name, POLICIES[name].default)

    def set_policy(self, meta: Meta, name: str, value: Decimal, reason: str) -> None:
        previous = self.policy(name)
        if previous == value and name in self.policies:
            raise Conflict(f"policy {name} is already {value}")
        self._trigger(
            self.PolicySet, meta, policy=name, value=value, previous=previous, reason=reason
        )

    def holds(self, person: str, role: str) -> bool:
        return role in self.roster.get(person, [])

    def grant(self, meta: Meta, person: str, role: str, reason: str) -> None:
        if self.holds(person, role):
            raise Conflict(f"{person} already holds the {role} role")
        self._trigger(self.RoleGranted, meta, person=person, role=role, reason=reason)

    def revoke(self, meta: Meta, person: str, role: str, reason: str) -> None:
        if not self.holds(person, role):
            raise Conflict(f"{person} does not hold the {role} role")
        self._trigger(self.RoleRevoked, meta, person=person, role=role, reason=reason)


def empty_governance() -> Governance:
    """The defaults, for reading before anyone has set a policy or granted a role."""
    governance = object.__new__(Governance)
    Governance.__init__(governance)
    return governance

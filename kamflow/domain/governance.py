"""Governance: the business policies and the roster of who holds which role.

One aggregate for the whole store, so that every change of a policy or a role is an
event with its actor and time, never a file edited silently (design §4, P1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from eventsourcing.domain import Aggregate

from kamflow.domain.account import Meta
from kamflow.domain.errors import Conflict, InvalidInput, RuleViolation
from kamflow.domain.values import TIERS

GOVERNANCE_ID = uuid.UUID("0b6a2f0e-1c1d-5d8e-8f3a-6b5c4d3e2f10")

ROLES = ("approver", "director", "auditor")


@dataclass(frozen=True)
class PolicySpec:
    description: str
    kind: str  # "int" or "decimal"
    low: Decimal
    high: Decimal
    default: Decimal
    principle: str


def _per_tier(
    stem: str,
    description: str,
    kind: str,
    low: str,
    high: str,
    defaults: tuple[str, ...],
    principle: str,
) -> dict[str, PolicySpec]:
    return {
        f"{stem}.{tier}": PolicySpec(
            f"{description} ({tier} tier)", kind, Decimal(low), Decimal(high), Decimal(d), principle
        )
        for tier, d in zip(TIERS, defaults, strict=True)
    }


# Every policy kamflow knows, with its type, range and default. Defaults apply until a
# policy is set; `policy show` marks which values are defaults.
POLICIES: dict[str, PolicySpec] = {
    **_per_tier(
        "complaint-sla-days",
        "days a complaint may stay open before it is overdue",
        "int",
        "1",
        "90",
        ("10", "7", "5", "3"),
        "P7",
    ),
    **_per_tier(
        "credit-limit",
        "most a customer may owe (sales minus payments), in the invoice currency",
        "decimal",
        "0",
        "1000000000",
        ("50000", "200000", "1000000", "5000000"),
        "P1",
    ),
    **_per_tier(
        "contact-cadence-days",
        "days without contact before an active account counts as neglected",
        "int",
        "1",
        "365",
        ("90", "60", "30", "14"),
        "P5",
    ),
    "discount-ceiling-pct": PolicySpec(
        "largest discount off list price on a sale, for every tier",
        "decimal",
        Decimal(0),
        Decimal(100),
        Decimal(15),
        "P1",
    ),
}


def parse_policy_value(name: str, raw: str) -> Decimal:
    """Validate a policy value typed by a user: known name, right type, in range."""
    spec = POLICIES.get(name)
    if spec is None:
        raise InvalidInput(f'unknown policy "{name}"; see `kamflow policy show` for the names')
    if name.startswith("contact-cadence-days.") and raw.strip().lower() in ("0", "none", "off"):
        tier = name.split(".", 1)[1]
        raise RuleViolation(
            "P5",
            f"every active account has a contact cadence, however small; the {tier} tier"
            f" cannot be exempted (give 1-{spec.high} days)",
        )
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise InvalidInput(f'policy {name} needs a number, got "{raw}"') from None
    if not value.is_finite():
        raise InvalidInput(f'policy {name} needs a number, got "{raw}"')
    if spec.kind == "int" and value != value.to_integral_value():
        raise InvalidInput(f"policy {name} needs a whole number of days, got {raw}")
    if not spec.low <= value <= spec.high:
        raise InvalidInput(f"policy {name} must be between {spec.low} and {spec.high}, got {raw}")
    return value if spec.kind == "decimal" else Decimal(int(value))


class Governance(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        occurred_on: date
        command_id: str
        command_id_given: bool

        def apply(self, aggregate: Governance) -> None:
            if self.command_id_given:
                aggregate.commands[self.command_id] = self.originator_version
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
        self.commands: dict[str, int] = {}

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

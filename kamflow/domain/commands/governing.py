"""Governance: business policies (P1) and the roster of who holds which role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from kamflow.domain.commands import GovernanceCommand, option
from kamflow.domain.commands.fields import Name, PolicyName, PolicyValue, Text
from kamflow.domain.keys import canonical_public
from kamflow.domain.policies import ROLES, SETTINGS, parse_policy_value, parse_setting_value

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta
    from kamflow.domain.governance import Governance

Role = Literal[ROLES]  # type: ignore[valid-type]


class SetPolicy(GovernanceCommand):
    """Set a policy, e.g. complaint-sla-days.key, credit-limit.target, discount-ceiling-pct,
    or the team's time zone (timezone Asia/Shanghai).

    \b
    Example:
        kamflow policy set complaint-sla-days.key 3 --reason "board decision 2026-11"
        kamflow policy set timezone Asia/Shanghai --reason "the team works in Beijing"
    """

    name = "policy set"
    arguments = ("policy", "value")
    policy: PolicyName = option(metavar="NAME")
    value: PolicyValue = option(metavar="VALUE")
    reason: Text = option()

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        if self.policy in SETTINGS:
            setting = parse_setting_value(self.policy, self.value)
            governance.set_setting(meta, self.policy, setting, self.reason)
            return f"{self.policy} = {setting}"
        value = parse_policy_value(self.policy, self.value)
        governance.set_policy(meta, self.policy, value, self.reason)
        return f"{self.policy} = {value}"


class RosterChange(GovernanceCommand):
    """A change of one person's role on the roster."""

    arguments = ("person", "role")
    person: Name = option(metavar="PERSON")
    role: Role = option(metavar="ROLE")
    reason: Text = option()


class GrantRole(RosterChange):
    """Give a person a role, and with --key register their public key (the one
    `kamflow id init` printed for them; needed before they can write where signatures
    are required).

    \b
    Example:
        kamflow roster grant zhao.director approver --reason "sales director"
    """

    name = "roster grant"
    key: Name | None = option(
        "their public key, ed25519:... (from `kamflow id init`)", default=None, metavar="PUB"
    )

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        key = canonical_public(self.key) if self.key is not None else None
        governance.grant(meta, self.person, str(self.role), self.reason, key)
        return f"{self.person} {self.role}"


class RegisterKey(GovernanceCommand):
    """Register a person's public key, or rotate it: their writes are signed with it
    from their next write on (ADR 0025).

    \b
    Example:
        kamflow roster key zhao.director --key ed25519:... --reason "new laptop"
    """

    name = "roster key"
    arguments = ("person",)
    person: Name = option(metavar="PERSON")
    key: Name = option("their public key, ed25519:... (from `kamflow id init`)", metavar="PUB")
    reason: Text = option()

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        key = canonical_public(self.key)
        governance.register_key(meta, self.person, key, self.reason)
        return f"{self.person} {key}"


class RevokeKey(GovernanceCommand):
    """Revoke a person's key (lost, stolen, left): nothing signed with it later is
    accepted, by kamflow or by `audit verify`.

    \b
    Example:
        kamflow roster revoke-key zhao.director --reason "laptop stolen"
    """

    name = "roster revoke-key"
    arguments = ("person",)
    person: Name = option(metavar="PERSON")
    reason: Text = option()

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        governance.revoke_key(meta, self.person, self.reason)
        return self.person


class RevokeRole(RosterChange):
    """Take a role away from a person.

    \b
    Example:
        kamflow roster revoke zhao.director approver --reason "left the company"
    """

    name = "roster revoke"

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        governance.revoke(meta, self.person, str(self.role), self.reason)
        return f"{self.person} {self.role}"

"""Governance: the business policies and the roster of who holds which role.

One aggregate for the whole store, so that every change of a policy or a role is an
event with its actor and time, never a file edited silently (P1; docs/domain.md, Governance).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from eventsourcing.domain import Aggregate

from kamflow.domain import envelope
from kamflow.domain.envelope import Change, Meta, Recorder
from kamflow.domain.errors import Conflict, RuleViolation
from kamflow.domain.policies import POLICIES, ROLES, parse_policy_value
from kamflow.domain.roster import authorize
from kamflow.domain.values import GOVERNANCE_ID as GOVERNANCE_ID  # its users import it here
from kamflow.domain.values import identity

__all__ = [
    "GOVERNANCE_ID",
    "POLICIES",
    "ROLES",
    "Governance",
    "empty_governance",
    "parse_policy_value",
]


class Governance(Recorder, Aggregate):
    class Event(envelope.Event):
        def evolve(self, governance: Governance) -> None:
            """Change the state; overridden by every event type."""

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

        def changed(self) -> list[Change]:
            return [Change(None, self.policy, self.previous, self.value)]

        said = "policy {policy}: {previous} -> {value} ({reason})"

    class SettingSet(Event):
        """A setting whose value is text, not a number (the team's time zone)."""

        setting: str
        value: str
        previous: str | None
        reason: str

        def evolve(self, governance: Governance) -> None:
            governance.settings[self.setting] = self.value

        def changed(self) -> list[Change]:
            return [Change(None, self.setting, self.previous, self.value)]

        def summary(self) -> str:
            was = self.previous if self.previous is not None else "(not set)"
            return f"setting {self.setting}: {was} -> {self.value} ({self.reason})"

    class RateSet(Event):
        """An exchange rate in force from its business date (``occurred_on``) until the
        next one of the same pair: 1 ``currency`` = ``rate`` ``quote`` (ADR 0021)."""

        currency: str
        quote: str
        rate: Decimal
        source: str
        previous: Decimal | None

        def evolve(self, governance: Governance) -> None:
            governance.rate_book()[rate_key(self.currency, self.quote, self.occurred_on)] = (
                self.rate
            )

        def changed(self) -> list[Change]:
            pair = f"{self.currency}/{self.quote} {self.occurred_on}"
            return [Change(None, pair, self.previous, self.rate)]

        said = "rate {currency}/{quote} from {occurred_on}: {rate} ({source})"

    class RoleGranted(Event):
        person: str
        role: str
        reason: str
        # The person's public key registered with the grant (`--key`, ADR 0025); None:
        # no key given, or the one they have already.
        key: str | None = None

        def evolve(self, governance: Governance) -> None:
            roles = governance.roster.setdefault(self.person, [])
            roles.append(self.role)
            if self.key is not None:
                governance.key_book()[self.person] = self.key

        def summary(self) -> str:
            # The key itself is in `roster show`; a line of history stays readable.
            key = " (key registered)" if self.key else ""
            return f"{self.person} holds {self.role}{key}: {self.reason}"

    class AdminBootstrapped(Event):
        """The first person to write to a new database: its first admin, and a KAM so
        that a team of one can work at once (ADR 0023). Recorded before their first
        command, by kamflow, never typed."""

        person: str
        roles: list[str]
        # Since ADR 0025: the first admin's public key (made on the spot if they had
        # none) and the team's signatures policy of a new database ("required"). None
        # in a database bootstrapped before: no key, signatures off.
        key: str | None = None
        signatures: str | None = None

        def evolve(self, governance: Governance) -> None:
            held = governance.roster.setdefault(self.person, [])
            held.extend(r for r in self.roles if r not in held)
            if self.key is not None:
                governance.key_book()[self.person] = self.key
            if self.signatures is not None:
                governance.settings["signatures"] = self.signatures

        def summary(self) -> str:
            return (
                f"{self.person} holds {', '.join(self.roles)}: the first to write to this database"
            )

    class KeyRegistered(Event):
        """An admin binds a person to an Ed25519 public key (``ed25519:<base64>``): their
        writes are signed with it from the next write on; ``previous``: the key it
        replaces (a rotation), or None (ADR 0025)."""

        person: str
        key: str
        previous: str | None
        reason: str

        def evolve(self, governance: Governance) -> None:
            governance.key_book()[self.person] = self.key

        def changed(self) -> list[Change]:
            return [Change(self.person, "key", self.previous, self.key)]

        def summary(self) -> str:
            verb = "rotated to" if self.previous else "registered"
            return f"{self.person}'s key {verb} {self.key}: {self.reason}"

    class KeyRevoked(Event):
        """An admin withdraws a person's key: nothing signed with it later is accepted,
        by kamflow or by ``audit verify`` (ADR 0025)."""

        person: str
        key: str
        reason: str

        def evolve(self, governance: Governance) -> None:
            governance.key_book().pop(self.person, None)
            governance.__dict__.setdefault("revoked", {})[self.key] = self.person

        def changed(self) -> list[Change]:
            return [Change(self.person, "key", self.key, None)]

        def summary(self) -> str:
            return f"{self.person}'s key {self.key} revoked: {self.reason}"

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

        said = "{person} no longer holds {role}: {reason}"

    def __init__(self) -> None:
        self.policies: dict[str, Decimal] = {}
        self.settings: dict[str, str] = {}
        self.roster: dict[str, list[str]] = {}
        self.command_log: str = "\n"

    @classmethod
    def start(cls, meta: Meta) -> Governance:
        return cls._create(cls.Started, id=GOVERNANCE_ID, **envelope.created(meta))

    def policy(self, name: str) -> Decimal:
        return self.policies.get(name, POLICIES[name].default)

    def set_policy(self, meta: Meta, name: str, value: Decimal, reason: str) -> None:
        previous = self.policy(name)
        if previous == value and name in self.policies:
            raise Conflict(f"policy {name} is already {value}")
        self.record(
            self.PolicySet, meta, policy=name, value=value, previous=previous, reason=reason
        )

    def person(self, name: str) -> str:
        """``name`` as the roster knows that person (values.identity), else as given."""
        wanted = identity(name)
        return next((p for p in self.roster if identity(p) == wanted), name)

    def set_setting(self, meta: Meta, name: str, value: str, reason: str) -> None:
        previous = self.settings.get(name)
        if previous == value:
            raise Conflict(f"setting {name} is already {value}")
        if name == "signatures" and value == "required" and self.key_of(meta.actor) is None:
            # Else the admin who turns it on could not sign their next write.
            raise RuleViolation(
                "signatures",
                f"{meta.actor} has no key registered; run `kamflow id init` and register"
                f" it first: kamflow roster key {meta.actor} --key ed25519:... --reason ...",
            )
        self.record(
            self.SettingSet, meta, setting=name, value=value, previous=previous, reason=reason
        )

    def rate_book(self) -> dict[str, Decimal]:
        """Rates as set, by ``rate_key``. Created on first use: a snapshot taken before
        kamflow recorded rates has no such attribute, and needs none."""
        book: dict[str, Decimal] = self.__dict__.setdefault("rates", {})
        return book

    def set_rate(self, meta: Meta, currency: str, quote: str, rate: Decimal, source: str) -> None:
        """Record 1 ``currency`` = ``rate`` ``quote`` from the command's business date;
        Conflict when that very rate is already recorded for that day."""
        previous = self.rate_book().get(rate_key(currency, quote, meta.occurred_on))
        if previous == rate:
            raise Conflict(f"{currency}/{quote} is already {rate} from {meta.occurred_on}")
        self.record(
            self.RateSet,
            meta,
            currency=currency,
            quote=quote,
            rate=rate,
            source=source,
            previous=previous,
        )

    def key_book(self) -> dict[str, str]:
        """Each person's registered public key, by roster name. Created on first use: a
        snapshot taken before kamflow kept keys has no such attribute (ADR 0025)."""
        keys: dict[str, str] = self.__dict__.setdefault("keys", {})
        return keys

    def revoked_keys(self) -> dict[str, str]:
        """Every key ever revoked, to the person it was revoked from. Only a revocation
        creates the attribute (a read does not: a snapshot equals a replay's), so a
        snapshot taken before kamflow kept it, or of a roster without one, has none."""
        revoked: dict[str, str] = self.__dict__.get("revoked", {})
        return revoked

    def key_of(self, person: str) -> str | None:
        """The public key registered for ``person`` (by identity), or None."""
        return self.key_book().get(self.person(person))

    @property
    def signing(self) -> bool:
        """Whether every write must be signed (the team setting ``signatures``:
        ``required`` from the first write of a database made since ADR 0025; a
        database made before has none, and is ``off`` until an admin sets it)."""
        return self.settings.get("signatures") == "required"

    def register_key(self, meta: Meta, person: str, key: str, reason: str) -> None:
        """Bind ``person`` (who must be on the roster) to ``key``, replacing any key
        they had. Conflict when it is their key already."""
        person = self.person(person)
        if self.enforcing and person not in self.roster:
            raise Conflict(
                f"{person} is not on the roster; grant a role with their key instead:"
                f" kamflow roster grant {person} ROLE --key {key} --reason ..."
            )
        previous = self.key_of(person)
        if previous == key:
            raise Conflict(f"{person}'s key is {key} already")
        self._key_free(person, key)
        self.record(
            self.KeyRegistered, meta, person=person, key=key, previous=previous, reason=reason
        )

    def _key_free(self, person: str, key: str) -> None:
        revoked = self.revoked_keys().get(key)
        if revoked is not None:
            # Revoked because lost or stolen: bound again, whoever holds it signs as them.
            raise Conflict(
                f"that key was revoked ({revoked}'s); it is never bound again: {person}"
                " makes a new one (`kamflow id init`, the old key file moved away first)"
            )
        taken = next((p for p, k in self.key_book().items() if k == key and p != person), None)
        if taken is not None:
            # One key, one person: a signature must name its signer beyond doubt.
            raise Conflict(f"that key is {taken}'s; each person has a key of their own")

    def revoke_key(self, meta: Meta, person: str, reason: str) -> None:
        person = self.person(person)
        key = self.key_of(person)
        if key is None:
            raise Conflict(f"{person} has no key registered")
        self.record(self.KeyRevoked, meta, person=person, key=key, reason=reason)

    def holds(self, person: str, role: str) -> bool:
        return role in self.roster.get(self.person(person), [])

    @property
    def enforcing(self) -> bool:
        """Whether roles are enforced: from the moment the roster has an admin (a new
        database gets one with its first write; an older one when someone is granted
        admin). Before that, anyone may do anything, as kamflow always allowed
        (ADR 0023), and ``report principles`` shows what they did."""
        return any("admin" in roles for roles in self.roster.values())

    def staffed(self, role: str) -> bool:
        """Whether anyone holds ``role``."""
        return any(role in roles for roles in self.roster.values())

    def bootstrap(self, meta: Meta, key: str | None = None) -> str:
        """Make ``meta.actor`` this database's first admin (and a KAM), bound to ``key``
        with signatures required when a key is given (ADR 0025); the note to show."""
        self.record(
            self.AdminBootstrapped,
            meta,
            person=meta.actor,
            roles=["admin", "kam"],
            key=key,
            signatures="required" if key else None,
        )
        signed = f"; every write here is signed, {meta.actor}'s with key {key}" if key else ""
        return (
            f"{meta.actor} is the first to write to this database and is now its admin"
            f" (roles admin, kam); give others roles with `kamflow roster grant`{signed}"
        )

    def authorize(self, actor: str, role: str, command: str) -> None:
        """Refuse ``command`` unless ``actor`` holds ``role`` (only while enforcing).

        Raises RuleViolation naming the role needed and how an admin grants it
        (kamflow.domain.roster.authorize: one refusal for the aggregate and the light
        roster a single write reads)."""
        authorize(self, actor, role, command)

    def grant(
        self, meta: Meta, person: str, role: str, reason: str, key: str | None = None
    ) -> None:
        """Give ``person`` ``role``, registering ``key`` (``ed25519:...``) for them if
        given and not theirs already. Raises RuleViolation (four eyes) for a grant to
        oneself while enforcing; Conflict for a role held, or a key that differs from
        theirs (a rotation is ``roster key``) or is another person's."""
        person = self.person(person)
        if key is not None:
            registered = self.key_of(person)
            if registered == key:
                key = None
            elif registered is not None:
                raise Conflict(
                    f"{person} has another key registered ({registered}); to rotate it:"
                    f" kamflow roster key {person} --key {key} --reason ..."
                )
            else:
                self._key_free(person, key)
        if self.enforcing and identity(person) == identity(meta.actor):
            # Segregation of duties: a role comes from someone else, or a person could
            # make themselves an approver and approve their own request.
            raise RuleViolation(
                "four eyes",
                f"{meta.actor} cannot grant a role to themselves; another admin must",
            )
        if self.holds(person, role):
            raise Conflict(f"{person} already holds the {role} role")
        self.record(self.RoleGranted, meta, person=person, role=role, reason=reason, key=key)

    def revoke(self, meta: Meta, person: str, role: str, reason: str) -> None:
        person = self.person(person)
        if not self.holds(person, role):
            raise Conflict(f"{person} does not hold the {role} role")
        admins = [p for p, roles in self.roster.items() if "admin" in roles]
        if role == "admin" and admins == [person]:
            # Without an admin roles would stop being enforced (``enforcing``).
            raise Conflict(
                f"{person} is the only admin; grant admin to someone else before revoking it"
            )
        self.record(self.RoleRevoked, meta, person=person, role=role, reason=reason)


def rate_key(currency: str, quote: str, on: date) -> str:
    """How the governance state files a rate: ``USD/CNY@2026-11-01``."""
    return f"{currency}/{quote}@{on.isoformat()}"


def empty_governance() -> Governance:
    """The defaults, for reading before anyone has set a policy or granted a role."""
    governance = object.__new__(Governance)
    Governance.__init__(governance)
    return governance

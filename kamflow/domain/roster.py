"""Who holds which role, read from the governance log's stored JSON (ADR 0029).

Every write is checked against the roster (ADR 0023), but most commands need nothing
else of governance: building the ``Governance`` aggregate (its module, its event
classes, the policies) cost a CLI write more than the few rows this reads. ``Roster``
holds the same mapping as ``Governance.roster`` and answers ``person`` and
``authorize`` exactly as ``Governance`` does (tests/domain/test_roster.py compares
them); ``Kamflow`` falls back to the aggregate for any governance event it does not
know, and for commands that read policies.
"""

from __future__ import annotations

from typing import Protocol

from kamflow.domain.errors import RuleViolation, Suggest
from kamflow.domain.values import identity

_PREFIX = "kamflow.domain.governance:Governance."
# Governance events that change nothing in the roster (what a read may skip).
NOT_ROSTER = frozenset(_PREFIX + name for name in ("Started", "PolicySet", "RateSet"))
GRANTED = _PREFIX + "RoleGranted"
BOOTSTRAPPED = _PREFIX + "AdminBootstrapped"
REVOKED = _PREFIX + "RoleRevoked"
# Keys and the signatures setting (ADR 0025): a write is signed by its actor's key.
KEY_REGISTERED = _PREFIX + "KeyRegistered"
KEY_REVOKED = _PREFIX + "KeyRevoked"
SETTING = _PREFIX + "SettingSet"


class Roster:
    """Person -> roles held, as ``Governance.roster`` after the same events; with each
    person's registered key and whether writes are signed (``Governance.key_book`` and
    ``Governance.signing``)."""

    def __init__(self) -> None:
        self.roster: dict[str, list[str]] = {}
        self.keys: dict[str, str] = {}
        self.revoked: dict[str, str] = {}  # key -> the person it was revoked from
        self.signatures: str | None = None

    def apply(self, topic: str, state: dict[str, object]) -> bool:
        """Apply one stored governance event's state (its JSON object); False when the
        event is not one this knows (the caller then reads the aggregate instead)."""
        if topic in NOT_ROSTER:
            return True
        if topic == SETTING:
            if state.get("setting") == "signatures":
                value = state.get("value")
                if not isinstance(value, str):
                    return False
                self.signatures = value
            return True
        person, role, roles = state.get("person"), state.get("role"), state.get("roles")
        if not isinstance(person, str):
            return False
        key = state.get("key")
        if key is not None and not isinstance(key, str):
            return False
        if topic == GRANTED and isinstance(role, str):
            self.roster.setdefault(person, []).append(role)
            if key is not None:
                self.keys[person] = key
        elif topic == BOOTSTRAPPED and isinstance(roles, list):
            held = self.roster.setdefault(person, [])
            held.extend(r for r in roles if isinstance(r, str) and r not in held)
            if key is not None:
                self.keys[person] = key
            signatures = state.get("signatures")
            if isinstance(signatures, str):
                self.signatures = signatures
        elif topic == KEY_REGISTERED and key is not None:
            self.keys[person] = key
        elif topic == KEY_REVOKED:
            self.keys.pop(person, None)
            if key is not None:
                self.revoked[key] = person
        elif topic == REVOKED and isinstance(role, str):
            left = self.roster.get(person, [])
            if role in left:
                left.remove(role)
            if not left:
                self.roster.pop(person, None)
        else:
            return False
        return True

    def person(self, name: str) -> str:
        """``name`` as the roster knows that person (values.identity), else as given."""
        wanted = identity(name)
        return next((p for p in self.roster if identity(p) == wanted), name)

    def holds(self, person: str, role: str) -> bool:
        return role in self.roster.get(self.person(person), [])

    def key_of(self, person: str) -> str | None:
        """The public key registered for ``person`` (by identity), or None."""
        return self.keys.get(self.person(person))

    def revoked_keys(self) -> dict[str, str]:
        """Every key revoked, to its person (``Governance.revoked_keys``)."""
        return self.revoked

    @property
    def signing(self) -> bool:
        """Whether every write must be signed (the setting ``signatures``, ADR 0025)."""
        return self.signatures == "required"

    @property
    def enforcing(self) -> bool:
        """Whether roles are enforced: once the roster has an admin (ADR 0023)."""
        return any("admin" in roles for roles in self.roster.values())

    def authorize(self, actor: str, role: str, command: str) -> None:
        """Refuse ``command`` unless ``actor`` holds ``role`` (only while enforcing):
        the RuleViolation ``Governance.authorize`` raises, word for word (``authorize``)."""
        authorize(self, actor, role, command)


class Entitled(Protocol):
    """What a role check reads: ``Roster`` (a single write's) or ``Governance``."""

    roster: dict[str, list[str]]

    @property
    def enforcing(self) -> bool: ...

    @property
    def signing(self) -> bool: ...

    def person(self, name: str) -> str: ...

    def holds(self, person: str, role: str) -> bool: ...

    def key_of(self, person: str) -> str | None: ...


def authorize(who: Entitled, actor: str, role: str, command: str) -> None:
    """Refuse ``command`` unless ``actor`` holds ``role`` on ``who``'s roster (only once
    it has an admin, ADR 0023). Raises RuleViolation naming the role needed and the grant
    an admin runs, with ``--key`` where writes are signed and the actor has no key."""
    if not who.enforcing or who.holds(actor, role):
        return
    held = who.roster.get(who.person(actor))
    holds = f"holds {', '.join(held)}" if held else "is not on the roster"
    # Where writes are signed, the grant registers the key `kamflow id init` prints.
    keyless = who.signing and who.key_of(actor) is None
    options: dict[str, str | None] = {"key": None, "reason": None} if keyless else {"reason": None}
    raise RuleViolation(
        f"role {role}",
        f'"{command}" needs the {role} role and {actor} {holds}; an admin can grant it with ',
        Suggest(
            "roster grant",
            (who.person(actor), role),
            options,
            argument_names=("person", "role"),
        ),
        *((f" (the key is what `kamflow id init` prints for {actor})",) if keyless else ()),
    )

"""Conduct in stored history: what the roles and four eyes would have refused.

Roles and four eyes are enforced from the moment a store has an admin (ADR 0023);
history recorded before then, or written around the commands, is never rewritten but
is flagged: by ``report principles`` (from the views) and by ``workflow check`` (from
the event store), both through ``findings`` here, so that the two never disagree.

Flags (each a violation):
- ``roles``: a role granted by its holder to themselves (the first admin of a store
  without one excepted: that is how roles begin), and a change of a policy, setting or
  role by someone who did not hold admin when they made it;
- ``P1``/``P4``: an exception approved by the person who requested it, or granted with
  no request by anyone else (one person did both); a raise to key or strategic with no
  approver, or approved by its requester (P4: the biggest tiers get the same rules);
- ``actor``: an event whose actor is blank or more than one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kamflow.domain.values import BIG_TIERS, identity

Kind = Literal["bootstrap", "grant", "revoke", "policy", "exception", "tier"]

# The key of governance's acts in findings, as the audit trail names governance.
GOVERNANCE = "(governance)"


@dataclass(frozen=True)
class Act:
    """One recorded act that conduct is about, as the views or the events give it.

    ``key``: the account key, or ``GOVERNANCE``; ``version``: the event's version in
    its stream (orders the governance acts); ``person``/``role``: who got or lost which
    role (``bootstrap``, ``grant``, ``revoke``); ``subject``: the policy or setting, the
    exception id, or the tier raised to; ``requester``/``approver``: of an exception or
    a tier raise (None when there was none)."""

    kind: Kind
    key: str
    version: int
    actor: str
    person: str | None = None
    role: str | None = None
    subject: str | None = None
    requester: str | None = None
    approver: str | None = None
    tier: str | None = None


@dataclass(frozen=True)
class Finding:
    principle: str
    key: str
    finding: str


def actor_problem(actor: str) -> str | None:
    """Why ``actor`` names no one person (blank, more than one line), else None."""
    if not actor.strip():
        return "its actor is blank"
    if "\n" in actor or "\r" in actor:
        return "its actor is more than one line"
    return None


def shown_actor(actor: str) -> str:
    """An actor as one line of a finding (its line breaks written out)."""
    return repr(actor) if actor_problem(actor) else actor


def findings(acts: Iterable[Act]) -> list[Finding]:
    """The conduct findings in ``acts`` (governance acts in version order; account
    acts in any order), in the order found."""
    out: list[Finding] = []
    roster: dict[str, set[str]] = {}
    ordered = sorted(acts, key=lambda a: (a.key != GOVERNANCE, a.key, a.version))
    for act in ordered:
        who = shown_actor(act.actor)
        if act.kind == "bootstrap":
            roster.setdefault(identity(act.person or act.actor), set()).update(
                (act.role or "").split(",")
            )
            continue
        if act.kind in ("grant", "revoke", "policy"):
            any_admin = any("admin" in roles for roles in roster.values())
            is_admin = "admin" in roster.get(identity(act.actor), set())
            what = (
                f"policy {act.subject} set"
                if act.kind == "policy"
                else f"role {act.role} {'granted to' if act.kind == 'grant' else 'revoked from'}"
                f" {act.person}"
            )
            first_admin = act.kind == "grant" and act.role == "admin" and not any_admin
            if act.kind == "grant" and identity(act.person or "") == identity(act.actor):
                if not first_admin:
                    out.append(
                        Finding(
                            "roles",
                            act.key,
                            f"{who} granted themselves the {act.role} role"
                            f" (governance version {act.version})",
                        )
                    )
            elif not is_admin and not first_admin:
                out.append(
                    Finding(
                        "roles",
                        act.key,
                        f"{what} by {who}, who was not an admin (governance version {act.version})",
                    )
                )
            if act.kind == "grant" and act.person and act.role:
                roster.setdefault(identity(act.person), set()).add(act.role)
            elif act.kind == "revoke" and act.person and act.role:
                roster.get(identity(act.person), set()).discard(act.role)
            continue
        principle = "P4" if act.tier in BIG_TIERS else "P1"
        if act.kind == "exception":
            if act.requester is None:
                out.append(
                    Finding(
                        principle,
                        act.key,
                        f"exception {act.subject} granted by {who} with no request by anyone"
                        " else (self-approved: one person asked and approved)",
                    )
                )
            elif identity(act.requester) == identity(act.approver or ""):
                out.append(
                    Finding(
                        principle,
                        act.key,
                        f"exception {act.subject} approved by its own requester {who}"
                        " (self-approved)",
                    )
                )
        elif act.kind == "tier" and act.subject in BIG_TIERS:
            if not act.approver:
                out.append(
                    Finding(
                        "P4",
                        act.key,
                        f"tier raised to {act.subject} by {who} without an approver"
                        f" (version {act.version})",
                    )
                )
            elif identity(act.approver) == identity(act.requester or act.actor):
                out.append(
                    Finding(
                        "P4",
                        act.key,
                        f"tier raised to {act.subject} by {who}, approved by themselves"
                        f" (version {act.version})",
                    )
                )
    return out

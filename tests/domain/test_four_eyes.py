"""Four eyes as a property (ADR 0023): whatever people, roles, requests and approvals
are tried in whatever order, no request is ever approved by its requester or by a
person who does not hold the approver role, and an approval the rules allow is never
refused.

A hypothesis state machine drives the commands through the domain on a real SQLite
store and keeps a model of the roster and of the pending requests, by identity
(``Li.Wei`` and ``ＬＩ.ＷＥＩ`` are the one li.wei).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from conftest import FakeClock, run
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kamflow.application import Kamflow
from kamflow.domain.account import Account
from kamflow.domain.errors import KamflowError
from kamflow.domain.values import identity

FIRST = "li.wei"
PEOPLE = st.sampled_from(["li.wei", "ＬＩ.ＷＥＩ", "zhao", "Zhao", "wang.fang", "chen.jie"])
ROLES = st.sampled_from(["admin", "approver", "kam", "auditor"])


class FourEyes(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="kamflow-four-eyes-")
        self.kf = Kamflow(str(Path(self.folder) / "k.db"), clock=FakeClock(date(2026, 11, 2)))
        run(
            self.kf,
            "account open",
            {"account": "acme", "name": "Acme", "industry": "feed", "owner": FIRST},
            actor=FIRST,
        )
        # A team to start from, so that short runs reach approvals: zhao may both ask
        # and approve (and must never approve what zhao asked for).
        for person, role in (("zhao", "approver"), ("zhao", "kam"), ("wang.fang", "approver")):
            run(
                self.kf,
                "roster grant",
                {"person": person, "role": role, "reason": "team"},
                actor=FIRST,
            )
        # The model: roles by identity, and who asked for each pending request.
        self.roles: dict[str, set[str]] = {
            identity(FIRST): {"admin", "kam"},
            "zhao": {"approver", "kam"},
            "wang.fang": {"approver"},
        }
        self.pending: dict[str, str] = {}
        self.next_exception = 1
        self.approvals = 0

    def teardown(self) -> None:
        self.kf.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def holds(self, person: str, role: str) -> bool:
        return role in self.roles.get(identity(person), set())

    def accepted(self, command: str, fields: dict[str, Any], actor: str, allowed: bool) -> bool:
        """Run ``command`` as ``actor``: accepted exactly when the model ``allowed`` it."""
        try:
            run(self.kf, command, fields, actor=actor)
        except KamflowError:
            assert not allowed, (command, fields, actor, self.roles)
            return False
        assert allowed, (command, fields, actor, self.pending, self.roles)
        return True

    @rule(actor=PEOPLE, person=PEOPLE, role=ROLES)
    def grant(self, actor: str, person: str, role: str) -> None:
        allowed = (
            self.holds(actor, "admin")
            and identity(actor) != identity(person)
            and not self.holds(person, role)
        )
        fields = {"person": person, "role": role, "reason": "r"}
        if self.accepted("roster grant", fields, actor, allowed):
            self.roles.setdefault(identity(person), set()).add(role)

    @rule(actor=PEOPLE, person=PEOPLE, role=ROLES)
    def revoke(self, actor: str, person: str, role: str) -> None:
        admins = [p for p, roles in self.roles.items() if "admin" in roles]
        last_admin = role == "admin" and admins == [identity(person)]
        allowed = self.holds(actor, "admin") and self.holds(person, role) and not last_admin
        fields = {"person": person, "role": role, "reason": "r"}
        if self.accepted("roster revoke", fields, actor, allowed):
            self.roles[identity(person)].discard(role)

    @rule(actor=PEOPLE)
    def request_exception(self, actor: str) -> None:
        allowed = self.holds(actor, "kam")
        fields = {"account": "acme", "rule": "credit-limit", "reason": "r"}
        if self.accepted("exception request", fields, actor, allowed):
            self.pending[f"E-{self.next_exception}"] = actor
            self.next_exception += 1

    @rule(actor=PEOPLE, number=st.integers(1, 4))
    def approve_exception(self, actor: str, number: int) -> None:
        exception = f"E-{number}"
        requester = self.pending.get(exception)
        allowed = (
            requester is not None
            and self.holds(actor, "approver")
            and identity(actor) != identity(requester)
        )
        fields = {"account": "acme", "exception": exception}
        if self.accepted("exception approve", fields, actor, allowed):
            del self.pending[exception]
            self.approvals += 1

    @rule(actor=PEOPLE)
    def request_tier(self, actor: str) -> None:
        allowed = self.holds(actor, "kam") and "tier" not in self.pending
        try:
            run(
                self.kf,
                "tier request",
                {"account": "acme", "tier": "strategic", "reason": "r"},
                actor=actor,
            )
        except KamflowError:
            # Also refused once acme is strategic already.
            return
        assert allowed
        self.pending["tier"] = actor

    @rule(actor=PEOPLE)
    def approve_tier(self, actor: str) -> None:
        requester = self.pending.get("tier")
        allowed = (
            requester is not None
            and self.holds(actor, "approver")
            and identity(actor) != identity(requester)
        )
        if self.accepted("tier approve", {"account": "acme"}, actor, allowed):
            del self.pending["tier"]
            self.approvals += 1

    @invariant()
    def no_stored_approval_is_by_its_requester(self) -> None:
        aid = self.kf.locate("acme")[1]
        for event in self.kf.app.events.get(aid):
            if isinstance(event, Account.PolicyExceptionApproved | Account.TierRaiseApproved):
                assert identity(event.actor) != identity(event.requested_by)


FourEyes.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFourEyes = FourEyes.TestCase

"""The relationship (docs/domain.md, Workflows), the key-account team (团队), and the ten-step
management program (docs/domain.md, Workflows)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import Name, OptText, Text
from kamflow.domain.errors import Conflict, NotFound
from kamflow.workflows.program import PROGRAM, STEPS
from kamflow.workflows.stage import LADDER, STAGE

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta

StageName = Literal[LADDER]  # type: ignore[valid-type]
StepName = Literal[STEPS]  # type: ignore[valid-type]


def _relationship(account: Account) -> str:
    return f'account "{account.key}"\'s relationship'


def _change_stage(account: Account, meta: Meta, trigger: str, reason: str) -> str:
    dest = account.step(STAGE, account.stage, trigger, _relationship(account))
    account.record(
        Account.RelationshipStageChanged,
        meta,
        from_stage=account.stage,
        to_stage=dest,
        reason=reason,
    )
    return dest


class AdvanceStage(Command):
    """Move the relationship one stage up: early, mid, partnership, synergistic.

    \b
    Example:
        kamflow stage advance acme mid --reason "R&D and production now meet monthly"
    """

    name = "stage advance"
    arguments = ("account", "stage")
    stage: StageName = option(metavar="STAGE")
    reason: OptText = option(default="")

    def execute(self, account: Account, meta: Meta) -> str:
        subject = _relationship(account)
        if self.stage == account.stage:
            raise Conflict(f"{subject} is already {self.stage}")
        # A skipped stage is refused as such, before the next stage's guards are asked.
        following = STAGE.dest(account.stage, "advance")
        if following is not None and self.stage != following:
            raise Conflict(
                f"{subject} is {account.stage}; stages go one at a time, so the next is"
                f" {following}, not {self.stage}"
            )
        _change_stage(account, meta, "advance", self.reason)
        return str(self.stage)


class Uncouple(Command):
    """Record that the relationship broke down (from any stage).

    \b
    Example:
        kamflow stage uncouple acme --reason "new owner moved purchasing to HQ"
    """

    name = "stage uncouple"
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        return _change_stage(account, meta, "uncouple", self.reason)


class ReEngage(Command):
    """Start again at early KAM after uncoupling.

    \b
    Example:
        kamflow stage re-engage acme --reason "HQ purchasing agreed to a trial"
    """

    name = "stage re-engage"
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        return _change_stage(account, meta, "re-engage", self.reason)


class AssignTeamMember(Command):
    """Assign someone to an account's team.

    \b
    Example:
        kamflow team assign acme zhang.min --role "technical service"
    """

    name = "team assign"
    arguments = ("account", "member")
    member: Name = option(metavar="MEMBER")
    role: Name = option(
        "Role on the team (default: key-account manager).", default="key-account manager"
    )

    def execute(self, account: Account, meta: Meta) -> str:
        # A member already on the team keeps the name the team knows them by.
        member = account.team_member(self.member) or self.member
        if account.team.get(member) == self.role:
            raise Conflict(f'{member} is already on the "{account.key}" team as {self.role}')
        account.record(Account.TeamMemberAssigned, meta, member=member, role=self.role)
        return member


class ReleaseTeamMember(Command):
    """Release someone from an account's team.

    \b
    Example:
        kamflow team release acme zhang.min --reason "moved to the south region"
    """

    name = "team release"
    arguments = ("account", "member")
    member: Name = option(metavar="MEMBER")
    reason: OptText = option(default="")

    def execute(self, account: Account, meta: Meta) -> str:
        member = account.team_member(self.member)
        if member is None:
            raise NotFound(f'{self.member} is not on the "{account.key}" team')
        account.record(Account.TeamMemberReleased, meta, member=member, reason=self.reason)
        return member


class CompleteProgramStep(Command):
    """Complete the next program step (steps go in order; then a new cycle).

    \b
    Example:
        kamflow program complete acme confirm --evidence "top-20% by profit"
    """

    name = "program complete"
    arguments = ("account", "step")
    step: StepName = option(metavar="STEP")
    evidence: Text = option("What shows the step was done.")

    def execute(self, account: Account, meta: Meta) -> str:
        step = str(self.step)
        subject = f'the program of "{account.key}"'
        state = account.program["step"]
        if PROGRAM.dest(state, step) is None:
            last = "not started" if state == "not-started" else f'at "{state}"'
            raise Conflict(
                f'{subject} is {last}; steps go in order, so the next is "{account.next_step()}",'
                f' not "{step}"'
            )
        account.step(PROGRAM, state, step, subject)
        cycle = account.program_cycle() + (1 if step == "confirm" else 0)
        account.record(
            Account.ProgramStepCompleted, meta, step=step, cycle=cycle, evidence=self.evidence
        )
        return f"{step} (cycle {cycle})"

"""The market: competitors (竞争对手) and opportunities (项目资料) through the funnel."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.corrections import VoidFact
from kamflow.domain.commands.fields import (
    Amount,
    Currency,
    Name,
    OptLine,
    OptText,
    ShortRef,
    Text,
)
from kamflow.domain.errors import Conflict
from kamflow.workflows.opportunity import OPPORTUNITY

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta

OppStage = Literal["qualified", "proposal", "negotiation"]


class NoteCompetitor(Command):
    """Note what we know about a competitor at an account.

    \b
    Example:
        kamflow competitor note acme DSM --products "phytase" --strengths "price"
    """

    name = "competitor note"
    arguments = ("account", "competitor")
    competitor: Name = option(metavar="NAME")
    products: Text | None = option("Which of their products the customer uses.", default=None)
    satisfaction: Text | None = option("The customer's satisfaction with them.", default=None)
    rep: Name | None = option("Their rep's name.", default=None)
    style: Text | None = option("Their rep's style.", default=None)
    relationship: Text | None = option("Their rep's relationship with the customer.", default=None)
    strengths: Text | None = option(default=None)
    weaknesses: Text | None = option(default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        details = self.model_dump(exclude={"account", "on", "competitor"}, exclude_none=True)
        account.record(Account.CompetitorNoted, meta, competitor=self.competitor, details=details)
        return self.competitor


class VoidCompetitorNote(VoidFact):
    """Void a competitor note recorded by mistake (REF: its #N in the history); what
    the notes before it said counts again.

    \b
    Example:
        kamflow competitor void acme 12 --reason "noted on the wrong account"
    """

    name = "competitor void"
    kind = "competitor"


class OpenOpportunity(Command):
    """Open an opportunity (stage: lead).

    \b
    Example:
        kamflow opp open acme --title "enzyme line 3" --budget 500000 \\
            --decision-maker "GM Zhao" --timeline 2027-Q1 --procurement tender
    """

    name = "opp open"
    title: Name = option()
    problem: OptText = option("The problem the customer must solve.", default="")
    budget: Amount | None = option(default=None)
    currency: Currency | None = option(default=None)
    decision_maker: OptLine = option(default="")
    timeline: OptLine = option("When they will buy.", default="")
    procurement: OptLine = option("How they buy (tender, direct...).", default="")

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id = account.next_id("O")
        account.record(
            Account.OpportunityOpened,
            meta,
            opportunity_id=opportunity_id,
            title=self.title,
            problem=self.problem,
            budget=self.budget,
            currency=self.currency or account.currency,
            decision_maker=self.decision_maker,
            timeline=self.timeline,
            procurement=self.procurement,
        )
        return opportunity_id


class OpportunityStep(Command):
    """A step of the funnel on one opportunity."""

    arguments: ClassVar[tuple[str, ...]] = ("account", "opportunity")
    opportunity: ShortRef = option(metavar="OPP")

    def step(self, account: Account, trigger: str, **context: str) -> tuple[str, str, str]:
        """The opportunity's id, its stage now, and the stage ``trigger`` leads to."""
        opportunity_id, opportunity = account.opportunity(self.opportunity)
        subject = f'opportunity {opportunity_id} on "{account.key}"'
        stage = opportunity["stage"]
        return opportunity_id, stage, account.step(OPPORTUNITY, stage, trigger, subject, **context)


class AdvanceOpportunity(OpportunityStep):
    """Move an opportunity one stage down the funnel (qualified, proposal, negotiation).

    \b
    Example:
        kamflow opp advance acme O-1 qualified
    """

    name = "opp advance"
    arguments = ("account", "opportunity", "to")
    to: OppStage | None = option(default=None, metavar="[STAGE]")

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id, stage, dest = self.step(account, "advance")
        if self.to is not None and self.to != dest:
            raise Conflict(
                f'opportunity {opportunity_id} on "{account.key}" is {stage}; the funnel moves'
                f" one stage at a time, so the next is {dest}, not {self.to}"
            )
        account.record(
            Account.OpportunityAdvanced,
            meta,
            opportunity_id=opportunity_id,
            from_stage=stage,
            to_stage=dest,
        )
        return f"{opportunity_id} {dest}"


class WinOpportunity(OpportunityStep):
    """Mark an opportunity in negotiation as won.

    \b
    Example:
        kamflow opp win acme O-1 --note "3-year supply contract"
    """

    name = "opp win"
    note: OptText = option(default="")

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id, _, _ = self.step(account, "win")
        account.record(Account.OpportunityWon, meta, opportunity_id=opportunity_id, note=self.note)
        return opportunity_id


class LoseOpportunity(OpportunityStep):
    """Mark an open opportunity as lost, with the reason.

    \b
    Example:
        kamflow opp lose acme O-1 --reason "budget frozen"
    """

    name = "opp lose"
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id, _, _ = self.step(account, "lose", reason=self.reason)
        account.record(
            Account.OpportunityLost, meta, opportunity_id=opportunity_id, reason=self.reason
        )
        return opportunity_id

"""The market: competitors (竞争对手) and opportunities (项目资料) through the funnel."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar, Literal

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.corrections import VoidFact
from kamflow.domain.commands.fields import (
    Amount,
    BusinessDate,
    Currency,
    Name,
    OptLine,
    OptText,
    Percent,
    ShortRef,
    Text,
)
from kamflow.domain.errors import Conflict, Field, InvalidInput
from kamflow.workflows.opportunity import OPPORTUNITY

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta
    from kamflow.domain.state import OpportunityState

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
    """Open an opportunity (stage: lead), with its expected close date (--close-by; the
    forecast counts it in that month) and, as a note, how the customer says it will buy.

    \b
    Example:
        kamflow opp open acme --title "enzyme line 3" --budget 500000 \\
            --decision-maker "GM Zhao" --timeline 2027-Q1 --procurement tender \\
            --close-by 2027-03-31
    """

    name = "opp open"
    title: Name = option()
    problem: OptText = option("The problem the customer must solve.", default="")
    budget: Amount | None = option(default=None)
    currency: Currency | None = option(default=None)
    decision_maker: OptLine = option(default="")
    timeline: OptLine = option("When they will buy, as they say it (a note).", default="")
    procurement: OptLine = option("How they buy (tender, direct...).", default="")
    close_by: BusinessDate | None = option(
        "Expected close date, YYYY-MM-DD (the forecast's month).", default=None, metavar="DATE"
    )

    def execute(self, account: Account, meta: Meta) -> str:
        check_close_by(self.close_by, meta.occurred_on)
        opportunity_id = account.next_id("O")
        account.record(
            Account.OpportunityOpened,
            meta,
            opportunity_id=opportunity_id,
            currency=self.currency or account.currency,
            **self.given(
                "title",
                "problem",
                "budget",
                "decision_maker",
                "timeline",
                "procurement",
                "close_by",
            ),
        )
        return opportunity_id


def check_close_by(close_by: date | None, opened_on: date) -> None:
    """A close date before the opportunity was opened is a typing mistake."""
    if close_by is not None and close_by < opened_on:
        raise InvalidInput(
            Field("close_by"), f" {close_by} is before the opportunity's opening ({opened_on})"
        )


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
    """Move an opportunity one stage down the funnel (qualified, proposal, negotiation),
    with a new expected close date if it moved (--close-by).

    \b
    Example:
        kamflow opp advance acme O-1 qualified --close-by 2027-02-28
    """

    name = "opp advance"
    arguments = ("account", "opportunity", "to")
    to: OppStage | None = option(default=None, metavar="[STAGE]")
    close_by: BusinessDate | None = option("New expected close date, YYYY-MM-DD.", default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id, stage, dest = self.step(account, "advance")
        check_close_by(self.close_by, account.opportunities[opportunity_id]["opened_on"])
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
            close_by=self.close_by,
        )
        return f"{opportunity_id} {dest}"


class SetCloseDate(OpportunityStep):
    """Change an open opportunity's expected close date, with the reason.

    \b
    Example:
        kamflow opp close-by acme O-1 2027-04-30 --reason "tender moved to April"
    """

    name = "opp close-by"
    arguments = ("account", "opportunity", "close_by")
    close_by: BusinessDate = option(metavar="DATE")
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id, opportunity = open_opportunity(account, self.opportunity)
        check_close_by(self.close_by, opportunity["opened_on"])
        previous = opportunity.get("close_by")
        if previous == self.close_by:
            raise Conflict(f"opportunity {opportunity_id} is already expected by {previous}")
        account.record(
            Account.OpportunityCloseDateSet,
            meta,
            opportunity_id=opportunity_id,
            previous=previous,
            **self.given("close_by", "reason"),
        )
        return f"{opportunity_id} by {self.close_by}"


class SetProbability(OpportunityStep):
    """Set an open opportunity's win probability (percent) over its stage's policy
    (stage-probability.STAGE), with the reason; the forecast weighs its budget by it.

    \b
    Example:
        kamflow opp probability acme O-1 80 --reason "verbal award from GM Zhao"
    """

    name = "opp probability"
    arguments = ("account", "opportunity", "probability")
    probability: Percent = option(metavar="PERCENT")
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        opportunity_id, opportunity = open_opportunity(account, self.opportunity)
        previous = opportunity.get("probability")
        if previous == self.probability:
            raise Conflict(f"opportunity {opportunity_id} is already at {previous}%")
        account.record(
            Account.OpportunityProbabilitySet,
            meta,
            opportunity_id=opportunity_id,
            previous=previous,
            **self.given("probability", "reason"),
        )
        return f"{opportunity_id} {self.probability}%"


def open_opportunity(account: Account, ref: str) -> tuple[str, OpportunityState]:
    """The opportunity ``ref`` names, refused (Conflict) once it is won or lost."""
    opportunity_id, opportunity = account.opportunity(ref)
    if opportunity["stage"] in OPPORTUNITY.finals:
        raise Conflict(
            f'opportunity {opportunity_id} on "{account.key}" is {opportunity["stage"]};'
            " its forecast is closed"
        )
    return opportunity_id, opportunity


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

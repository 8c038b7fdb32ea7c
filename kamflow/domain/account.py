"""The Account aggregate: one event stream per key account.

The aggregate holds the *decision state*: what a command needs to know to be accepted
or refused (current contacts, open issues, complaints, invoices and their receivables,
totals). The full narrative (every visit, every follow-up) stays in the events, so the
state and its snapshots stay small however long the history grows; read models build
the rest (ADR 0001). Its shapes are in ``state.py``.

Every event class of the stream is nested here because eventsourcing names stored
events by module and qualified name (``kamflow.domain.account:Account.VisitLogged``):
moving one would orphan the events already stored (ADR 0011). The decisions (which
command records which event, and what it refuses) are in ``kamflow/domain/commands/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from eventsourcing.domain import Aggregate

from kamflow.domain import corrections, envelope
from kamflow.domain.envelope import Change, Meta, Recorder, changes_of, described, shown
from kamflow.domain.errors import (
    Conflict,
    Field,
    InvalidInput,
    NotFound,
    RuleViolation,
    Suggest,
    render,
)
from kamflow.domain.guards import refusals
from kamflow.domain.state import (
    ComplaintState,
    ContactState,
    ExceptionState,
    InvoiceState,
    IssueState,
    Lost,
    OpportunityState,
    PostMortem,
    ProgramState,
    RequestState,
    Satisfaction,
    TaskState,
    VisitRef,
)
from kamflow.domain.values import (
    ERASED,
    MAX_TOTAL,
    PERSONAL_FIELDS,
    account_id,
    format_money,
    identity,
)
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM, STEPS

__all__ = ["Account", "Meta"]


def _add(totals: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    totals[currency] = totals.get(currency, Decimal(0)) + amount


def _copied(value: Any) -> Any:
    """A state value to keep as an old value: lists copied, so later changes to the
    state cannot reach it."""
    return list(value) if isinstance(value, list) else value


@cache
def _after(workflow: Workflow, event: str) -> str:
    """The state an event leaves its subject in, read from the workflow's table."""
    return workflow.state_after(event)


# What several events of one shape share, named once (each event class keeps its own
# name and place: stored events are named by it, ADR 0014).
def _previous_unknown(state: dict[str, Any]) -> None:
    """Upcast of an event stored before it kept the values it replaced: ``previous``
    is unknown (whoever reads the events in order fills it, envelope.backfill)."""
    state["previous"] = None


def _complaint_step(event: Any, account: Account) -> None:
    """``evolve`` of a complaint step that changes nothing but the complaint's status."""
    account.complaint_stepped(event)


def _lifecycle_step(event: Any, account: Account) -> None:
    """``evolve`` of a lifecycle step that changes nothing but the account's state."""
    account.lifecycle = _after(LIFECYCLE, type(event).__name__)


def _team_role(account: Account, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``prior`` of a team event: the member's role before it (None: not on the team)."""
    return {"role": account.team.get(payload["member"])}


class Account(Recorder, Aggregate):
    """A key account (大客户) and its file."""

    # 2: the invoice refs ever used are kept in their identity form (values.identity),
    # so that INV-7 and inv-7 are one invoice. 3: the last visit and the satisfaction are
    # the latest by business date, no longer the last recorded. 4: tasks (issue 15),
    # requests awaiting a second person's approval (four eyes, ADR 0023), and the
    # client-chosen command ids no longer in the state (kamflow.applied, ADR 0024).
    class_version = 4
    remembers_commands = False

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        refs = [r for r in state.get("invoice_refs", "").split("\n") if r]
        state["invoice_refs"] = "\n" + "".join(f"{identity(r)}\n" for r in refs)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """Refuse a snapshot whose last visit is not its latest one (the repository then
        replays the account from its events, kamflow.stored). Its last contact is the
        latest visit's date, so this is exact; a satisfaction entered late leaves no
        such trace and is kept as it was."""
        last, latest = state.get("last_visit"), state.get("last_contact_on")
        if last is not None and latest is not None and last["on"] < latest:
            raise ValueError(
                f"its last visit {last['id']} of {last['on']} is not the latest one"
                f" ({latest}); taken before last meant latest"
            )

    # The class version that added each state key (kamflow.stored checks snapshots
    # for every key, except one their upcast will add).
    state_since = (("tasks", 4), ("requests", 4))

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        # Accounts snapshotted before tasks existed had none.
        state["tasks"] = {}
        # Before four eyes nothing was ever requested: no request is pending.
        state["requests"] = {}
        # Command ids given by clients are in kamflow.applied's index (ADR 0024).
        state.pop("command_log", None)

    # ------------------------------------------------------------------ events
    class Event(envelope.Event):
        def evolve(self, account: Account) -> None:
            """Change the account's state; overridden by every event type."""

    class AccountOpened(Event, Aggregate.Created):
        key: str
        name: str
        industry: str
        owner: str
        currency: str
        tier: str

        def evolve(self, account: Account) -> None:
            account.key = self.key
            account.profile = {"name": self.name, "industry": self.industry, "owner": self.owner}
            account.currency = self.currency
            account.tier = self.tier
            account.lifecycle = (
                LIFECYCLE.initial
                if self.tier == "prospect"
                else LIFECYCLE.fire(LIFECYCLE.initial, "activate")
            )
            account.opened_on = self.occurred_on
            account.last_contact_on = None

        said = 'opened "{name}" ({industry}), owner {owner}, tier {tier}'

    # An event that overwrites values carries the ones it replaced (``previous``, by
    # field; None for a field not set before), computed by its ``prior`` when it is
    # recorded (envelope.Recorder.record). Events stored before kamflow kept them are
    # version 1: their upcast leaves ``previous`` None, and whoever reads them in order
    # fills it from the account's earlier events (envelope.backfill).
    class ProfileUpdated(Event):
        changes: dict[str, str]
        previous: dict[str, Any] | None

        class_version = 2

        upcast_v1_v2 = staticmethod(_previous_unknown)

        @staticmethod
        def prior(account: Account, payload: Mapping[str, Any]) -> dict[str, Any]:
            return {k: account.profile.get(k) for k in payload["changes"]}

        def evolve(self, account: Account) -> None:
            account.profile.update(self.changes)

        def changed(self) -> list[Change]:
            return changes_of(self.previous, self.changes)

        def summary(self) -> str:
            return "profile: " + described(self.changed())

    class ContactAdded(Event):
        """A key person added. ``name`` and the values of ``personal`` (the fields of
        values.PERSONAL_FIELDS that were given) are stored encrypted under the person's
        key and read back decrypted, or as values.ERASED once forgotten (ADR 0026)."""

        contact_id: str
        name: str
        title: str
        department: str
        roles: list[str]
        influence: str | None
        attitude: str | None
        personality: str | None
        reports_to: str | None
        influenced_by: list[str]
        personal: dict[str, str]

        # 2: personal fields (ADR 0026); events stored before had none.
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["personal"] = {}

        def evolve(self, account: Account) -> None:
            account.count("P")
            account.contacts[self.contact_id] = {
                "name": self.name,
                "title": self.title,
                "department": self.department,
                "roles": list(self.roles),
                "influence": self.influence,
                "attitude": self.attitude,
                "personality": self.personality,
                "reports_to": self.reports_to,
                "influenced_by": list(self.influenced_by),
                "current": True,
                "since": self.occurred_on,
            }
            if self.personal:
                account.contacts[self.contact_id]["personal"] = dict(self.personal)

        def summary(self) -> str:
            roles = "/".join(self.roles) or "no role"
            return (
                f"contact {self.contact_id} {self.name}, {self.title} ({self.department}), {roles}"
            )

    class ContactChanged(Event):
        contact_id: str
        changes: dict[str, Any]
        previous: dict[str, Any] | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["previous"] = None

        @staticmethod
        def prior(account: Account, payload: Mapping[str, Any]) -> dict[str, Any]:
            contact: Mapping[str, Any] = account.contacts[payload["contact_id"]]
            personal: Mapping[str, Any] = contact.get("personal", {})
            return {
                k: _copied(personal.get(k) if k in PERSONAL_FIELDS else contact.get(k))
                for k in payload["changes"]
            }

        def evolve(self, account: Account) -> None:
            contact = account.contacts[self.contact_id]
            # Personal fields live in the contact's "personal" (ADR 0026).
            mine = {k: v for k, v in self.changes.items() if k not in PERSONAL_FIELDS}
            contact.update(mine)  # type: ignore[typeddict-item]
            personal = {k: v for k, v in self.changes.items() if k in PERSONAL_FIELDS}
            if personal:
                contact["personal"] = {**contact.get("personal", {}), **personal}

        def changed(self) -> list[Change]:
            return changes_of(self.previous, self.changes, self.contact_id)

        def summary(self) -> str:
            return f"contact {self.contact_id} changed: {described(self.changed())}"

    class ContactLeft(Event):
        contact_id: str
        reason: str
        analysis: str

        def evolve(self, account: Account) -> None:
            contact = account.contacts[self.contact_id]
            contact["current"] = False
            contact["left_on"] = self.occurred_on

        def summary(self) -> str:
            return f"contact {self.contact_id} left: {self.reason}; analysis: {self.analysis}"

    class VisitLogged(Event):
        visit_id: str
        contacts: list[str]
        purpose: str
        objective: str
        result: str
        issues: dict[str, str]

        def evolve(self, account: Account) -> None:
            account.count("V")
            account.count("I", len(self.issues))
            account.visits += 1
            # The last visit is the latest by business date (of two on one day, the one
            # recorded last): a visit entered late with its real date does not replace
            # a later one.
            last = account.last_visit
            if last is None or self.occurred_on >= last["on"]:
                account.last_visit = {
                    "id": self.visit_id,
                    "on": self.occurred_on,
                    "purpose": self.purpose,
                }
            account.last_contact_on = max(filter(None, (account.last_contact_on, self.occurred_on)))
            for issue_id, text in self.issues.items():
                account.open_issues[issue_id] = {
                    "text": text,
                    "visit": self.visit_id,
                    "raised_on": self.occurred_on,
                }

        def summary(self) -> str:
            issues = f"; issues {', '.join(self.issues)}" if self.issues else ""
            return f"visit {self.visit_id}: {self.purpose} -> {self.result}{issues}"

        def ids(self) -> dict[str, str | list[str]]:
            return {"visit": self.visit_id, "issues": list(self.issues)}

    class FollowUpRecorded(Event):
        issue_id: str
        result: str

        def evolve(self, account: Account) -> None:
            account.open_issues.pop(self.issue_id, None)
            account.followed_up += 1

        said = "follow-up {issue_id}: {result}"

    # complaints (P7); each step's status is the complaint workflow's row ------------
    class ComplaintRaised(Event):
        complaint_id: str
        summary_text: str
        severity: str

        def evolve(self, account: Account) -> None:
            account.count("C")
            account.complaints[self.complaint_id] = {
                "summary": self.summary_text,
                "severity": self.severity,
                "raised_on": self.occurred_on,
                "status": COMPLAINT.initial,
                "outcome": None,
            }

        said = "complaint {complaint_id} ({severity}): {summary_text}"

    class ComplaintResolved(Event):
        complaint_id: str
        outcome: str

        def evolve(self, account: Account) -> None:
            complaint = account.complaint_stepped(self)
            complaint.update({"outcome": self.outcome, "ended_on": self.occurred_on})

        said = "complaint {complaint_id} resolved: {outcome}"

    class ComplaintRejected(Event):
        complaint_id: str
        justification: str

        def evolve(self, account: Account) -> None:
            complaint = account.complaint_stepped(self)
            complaint.update({"outcome": self.justification, "ended_on": self.occurred_on})

        said = "complaint {complaint_id} rejected: {justification}"

    class ComplaintAcknowledged(Event):
        complaint_id: str

        evolve = _complaint_step

        said = "complaint {complaint_id} acknowledged"

    class ComplaintInvestigationStarted(Event):
        complaint_id: str
        note: str

        evolve = _complaint_step

        def summary(self) -> str:
            note = f": {self.note}" if self.note else ""
            return f"complaint {self.complaint_id} under investigation{note}"

    class ComplaintEscalated(Event):
        complaint_id: str
        reason: str
        to: str

        evolve = _complaint_step

        def summary(self) -> str:
            to = f" to {self.to}" if self.to else ""
            return f"complaint {self.complaint_id} escalated{to}: {self.reason}"

    class ComplaintClosed(Event):
        complaint_id: str
        confirmation: str

        evolve = _complaint_step

        said = "complaint {complaint_id} closed: {confirmation}"

    # value ------------------------------------------------------------------
    class TierChanged(Event):
        from_tier: str
        to_tier: str
        reason: str
        approved_by: str | None

        def evolve(self, account: Account) -> None:
            account.tier = self.to_tier
            if self.to_tier != "prospect":
                account.lifecycle = LIFECYCLE.fire(account.lifecycle, "activate")

        def changed(self) -> list[Change]:
            return [Change(None, "tier", self.from_tier, self.to_tier)]

        def summary(self) -> str:
            by = f", approved by {self.approved_by}" if self.approved_by else ""
            return f"tier {self.from_tier} -> {self.to_tier}: {self.reason}{by}"

    class TierRaiseRequested(Event):
        """A raise to key or strategic, asked for by one person and waiting for an
        approver who is someone else (four eyes; ADR 0023)."""

        from_tier: str
        to_tier: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.requests["tier"] = {
                "kind": "tier",
                "requester": self.actor,
                "rule": None,
                "to_tier": self.to_tier,
                "reason": self.reason,
                "invoice": None,
            }

        def summary(self) -> str:
            return (
                f"tier {self.from_tier} -> {self.to_tier} requested: {self.reason}"
                " (awaits an approver)"
            )

    class TierRaiseApproved(TierChanged):
        """The raise a TierRaiseRequested asked for, approved by ``approved_by`` (the
        actor, an approver, never the requester): the signature's meaning, "approved",
        with its name and time, as 21 CFR Part 11 §11.50 asks."""

        requested_by: str

        def evolve(self, account: Account) -> None:
            account.requests.pop("tier", None)
            super().evolve(account)

        def summary(self) -> str:
            return (
                f"tier {self.from_tier} -> {self.to_tier}: {self.reason}; requested by"
                f" {self.requested_by}, approved by {self.approved_by}"
            )

    class SaleRecorded(Event):
        invoice: str
        product: str
        amount: Decimal
        cost: Decimal
        currency: str
        discount_pct: Decimal | None = None
        # Exceptions (E-n) this sale used to pass a policy (P1/P4).
        exceptions: list[str] | None = None

        def evolve(self, account: Account) -> None:
            account.invoices[self.invoice] = {
                "currency": self.currency,
                "amount": self.amount,
                "paid": Decimal(0),
                "on": self.occurred_on,
            }
            account.invoice_refs += f"{identity(self.invoice)}\n"
            _add(account.revenue, self.currency, self.amount)
            _add(account.cost_of_sales, self.currency, self.cost)
            account.lifecycle = LIFECYCLE.fire(account.lifecycle, "activate")
            account.program["evidence"] = True
            for exception_id in self.exceptions or ():
                account.exceptions[exception_id]["used_by"] = self.invoice

        def summary(self) -> str:
            return (
                f"sale {self.invoice} {self.product}: {format_money(self.amount)} {self.currency}"
                f" (cost {format_money(self.cost)})"
            )

    class PaymentReceived(Event):
        invoice: str
        amount: Decimal
        currency: str

        def evolve(self, account: Account) -> None:
            invoice = account.invoices[self.invoice]
            invoice["paid"] = Decimal(invoice["paid"]) + self.amount
            if invoice["paid"] >= Decimal(invoice["amount"]):
                # Settled: nothing more can happen to it but a refusal (ADR 0001).
                del account.invoices[self.invoice]
            _add(account.received, self.currency, self.amount)

        def summary(self) -> str:
            return f"payment for {self.invoice}: {format_money(self.amount)} {self.currency}"

    class ServiceCostRecorded(Event):
        amount: Decimal
        currency: str
        category: str
        description: str

        def evolve(self, account: Account) -> None:
            _add(account.service_cost, self.currency, self.amount)

        def summary(self) -> str:
            return f"service cost {self.category}: {format_money(self.amount)} {self.currency}"

    class SatisfactionMeasured(Event):
        score: Decimal
        target: Decimal
        note: str

        def evolve(self, account: Account) -> None:
            # The latest measurement by business date, as the satisfaction report
            # has it: a survey entered late does not hide a newer one.
            now = account.satisfaction
            if now is None or self.occurred_on >= now["on"]:
                account.satisfaction = {
                    "score": self.score,
                    "target": self.target,
                    "on": self.occurred_on,
                }
            account.program["evidence"] = True

        said = "satisfaction {score} against target {target}"

    # market -----------------------------------------------------------------
    class CompetitorNoted(Event):
        """What we know of a competitor: each detail given overwrites the one noted
        before (``previous``: None for a detail not noted before)."""

        competitor: str
        details: dict[str, str]
        previous: dict[str, Any] | None

        class_version = 2

        upcast_v1_v2 = staticmethod(_previous_unknown)

        @staticmethod
        def prior(account: Account, payload: Mapping[str, Any]) -> dict[str, Any]:
            name = account.competitor_named(payload["competitor"]) or payload["competitor"]
            known = account.competitors.get(name, {})
            return {k: known.get(k) for k in payload["details"]}

        def evolve(self, account: Account) -> None:
            name = account.competitor_named(self.competitor) or self.competitor
            known = account.competitors.setdefault(name, {})
            known.update(self.details)

        def changed(self) -> list[Change]:
            return changes_of(self.previous, self.details, self.competitor)

        def summary(self) -> str:
            detail = described(self.changed())
            return (
                f"competitor {self.competitor}: {detail}"
                if detail
                else f"competitor {self.competitor}"
            )

    class OpportunityOpened(Event):
        opportunity_id: str
        title: str
        problem: str
        budget: Decimal | None
        currency: str
        decision_maker: str
        timeline: str
        procurement: str
        # The expected close date (ADR 0021); stored events before it have none.
        close_by: date | None = None

        def evolve(self, account: Account) -> None:
            account.count("O")
            account.opportunities[self.opportunity_id] = {
                "title": self.title,
                "budget": self.budget,
                "currency": self.currency,
                "stage": OPPORTUNITY.initial,
                "opened_on": self.occurred_on,
            }
            if self.close_by is not None:
                account.opportunities[self.opportunity_id]["close_by"] = self.close_by

        def summary(self) -> str:
            budget = f", budget {format_money(self.budget)} {self.currency}" if self.budget else ""
            return f"opportunity {self.opportunity_id}: {self.title}{budget}"

    class OpportunityAdvanced(Event):
        opportunity_id: str
        from_stage: str
        to_stage: str
        # A new expected close date given with the step (ADR 0021), else None.
        close_by: date | None = None

        def evolve(self, account: Account) -> None:
            opportunity = account.opportunities[self.opportunity_id]
            opportunity["stage"] = self.to_stage
            if self.close_by is not None:
                opportunity["close_by"] = self.close_by

        def changed(self) -> list[Change]:
            return [Change(self.opportunity_id, "stage", self.from_stage, self.to_stage)]

        said = "opportunity {opportunity_id}: {from_stage} -> {to_stage}"

    class OpportunityCloseDateSet(Event):
        """The expected close date of an open opportunity, changed (ADR 0021)."""

        opportunity_id: str
        close_by: date
        previous: date | None
        reason: str

        def evolve(self, account: Account) -> None:
            account.opportunities[self.opportunity_id]["close_by"] = self.close_by

        def changed(self) -> list[Change]:
            return [Change(self.opportunity_id, "close_by", self.previous, self.close_by)]

        said = "opportunity {opportunity_id} expected to close by {close_by}: {reason}"

    class OpportunityProbabilitySet(Event):
        """An open opportunity's win probability in percent, set over its stage's
        policy (``stage-probability.<stage>``), with the reason (ADR 0021)."""

        opportunity_id: str
        probability: Decimal
        previous: Decimal | None
        reason: str

        def evolve(self, account: Account) -> None:
            account.opportunities[self.opportunity_id]["probability"] = self.probability

        def changed(self) -> list[Change]:
            return [Change(self.opportunity_id, "probability", self.previous, self.probability)]

        said = "opportunity {opportunity_id} probability {probability}%: {reason}"

    class OpportunityWon(Event):
        opportunity_id: str
        note: str

        def evolve(self, account: Account) -> None:
            opportunity = account.opportunities[self.opportunity_id]
            opportunity.update(
                {"stage": _after(OPPORTUNITY, "OpportunityWon"), "closed_on": self.occurred_on}
            )

        def summary(self) -> str:
            return f"opportunity {self.opportunity_id} won" + (
                f": {self.note}" if self.note else ""
            )

    class OpportunityLost(Event):
        opportunity_id: str
        reason: str

        def evolve(self, account: Account) -> None:
            opportunity = account.opportunities[self.opportunity_id]
            opportunity.update(
                {
                    "stage": _after(OPPORTUNITY, "OpportunityLost"),
                    "reason": self.reason,
                    "closed_on": self.occurred_on,
                }
            )

        said = "opportunity {opportunity_id} lost: {reason}"

    # lifecycle (P8); each step's state is the lifecycle workflow's row ------------
    class AccountLost(Event):
        cause: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = _after(LIFECYCLE, "AccountLost")
            account.lost = {"cause": self.cause, "on": self.occurred_on}
            account.post_mortem = None

        said = "account lost: {cause}"

    class PostMortemRecorded(Event):
        cause: str
        lessons: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = _after(LIFECYCLE, "PostMortemRecorded")
            account.post_mortem = {
                "cause": self.cause,
                "lessons": self.lessons,
                "on": self.occurred_on,
            }

        said = "post-mortem: cause {cause}; lessons {lessons}"

    class AccountArchived(Event):
        note: str

        evolve = _lifecycle_step

        def summary(self) -> str:
            return "account archived" + (f": {self.note}" if self.note else "")

    class AccountReactivated(Event):
        reason: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = _after(LIFECYCLE, "AccountReactivated")
            account.lost = None
            account.post_mortem = None

        said = "account reactivated: {reason}"

    # relationship and program ------------------------------------------------
    class RelationshipStageChanged(Event):
        from_stage: str
        to_stage: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.stage = self.to_stage

        def changed(self) -> list[Change]:
            return [Change(None, "stage", self.from_stage, self.to_stage)]

        def summary(self) -> str:
            return f"stage {self.from_stage} -> {self.to_stage}" + (
                f": {self.reason}" if self.reason else ""
            )

    class TeamMemberAssigned(Event):
        """A member joins the team, or a member's role changes (``previous``: their
        role before, None when they were not on the team)."""

        member: str
        role: str
        previous: dict[str, Any] | None

        class_version = 2

        upcast_v1_v2 = staticmethod(_previous_unknown)

        prior = staticmethod(_team_role)

        def evolve(self, account: Account) -> None:
            account.team[self.member] = self.role

        def changed(self) -> list[Change]:
            return changes_of(self.previous, {"role": self.role}, self.member)

        def summary(self) -> str:
            (change,) = self.changed()
            if change.old is None:
                return f"team: {self.member} assigned as {self.role}"
            return f"team: {self.member} {described([change])}"

    class TeamMemberReleased(Event):
        """A member leaves the team (``previous``: the role they held)."""

        member: str
        reason: str
        previous: dict[str, Any] | None

        class_version = 2

        upcast_v1_v2 = staticmethod(_previous_unknown)

        prior = staticmethod(_team_role)

        def evolve(self, account: Account) -> None:
            account.team.pop(self.member, None)

        def changed(self) -> list[Change]:
            return changes_of(self.previous, {"role": None}, self.member)

        def summary(self) -> str:
            (change,) = self.changed()
            reason = f" ({self.reason})" if self.reason else ""
            return f"team: {self.member} released from {shown(change.old)}{reason}"

    class ProgramStepCompleted(Event):
        step: str
        cycle: int
        evidence: str

        def evolve(self, account: Account) -> None:
            program = account.program
            program["step"] = self.step
            program["cycle"] = self.cycle
            if self.step == "confirm":
                # A new cycle: results must be measured afresh within it.
                program["evidence"] = False
                program["cycle_started_on"] = self.occurred_on
            if self.step == "publish-plan":
                account.plan_published = True

        said = "program cycle {cycle}: {step} done ({evidence})"

    # policy exceptions (P1, P4) -------------------------------------------
    class PolicyExceptionGranted(Event):
        exception_id: str
        rule: str
        approver: str
        reason: str
        invoice: str | None

        def evolve(self, account: Account) -> None:
            account.count("E")
            account.exceptions[self.exception_id] = self.granted()

        def granted(self) -> ExceptionState:
            """The exception as the state keeps it, not yet used by a sale."""
            return {
                "rule": self.rule,
                "approver": self.approver,
                "reason": self.reason,
                "invoice": self.invoice,
                "used_by": None,
            }

        def summary(self) -> str:
            scope = f" for invoice {self.invoice}" if self.invoice else " for the next sale"
            return (
                f"exception {self.exception_id} to {self.rule}{scope},"
                f" approved by {self.approver}: {self.reason}"
            )

    # tasks: what someone must do for the account by a business date (ADR 0022) ----
    class TaskAdded(Event):
        task_id: str
        title: str
        due: date
        owner: str
        # What the task is about: an opportunity, complaint, issue or contact id
        # (O-1, C-2, I-3, P-4), or None for the account itself.
        about: str | None

        def evolve(self, account: Account) -> None:
            account.count("T")
            account.tasks[self.task_id] = {
                "status": "open",
                "due": self.due,
                "added_on": self.occurred_on,
            }

        def summary(self) -> str:
            about = f" about {self.about}" if self.about else ""
            return f"task {self.task_id} for {self.owner}, due {self.due}{about}: {self.title}"

    class TaskDone(Event):
        task_id: str
        note: str

        def evolve(self, account: Account) -> None:
            account.tasks[self.task_id] = {"status": "done"}

        def summary(self) -> str:
            note = f": {self.note}" if self.note else ""
            return f"task {self.task_id} done{note}"

    class TaskMoved(Event):
        """A new due date; the old one stays in this event (``from_due``)."""

        task_id: str
        from_due: date
        to_due: date
        reason: str

        def evolve(self, account: Account) -> None:
            account.tasks[self.task_id]["due"] = self.to_due

        def changed(self) -> list[Change]:
            # As text, as the audit trail's other values are (its JSON, CSV and XLSX agree).
            return [Change(self.task_id, "due", self.from_due.isoformat(), self.to_due.isoformat())]

        def summary(self) -> str:
            reason = f": {self.reason}" if self.reason else ""
            return f"task {self.task_id} moved {self.from_due} -> {self.to_due}{reason}"

    class TaskCancelled(Event):
        task_id: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.tasks[self.task_id] = {"status": "cancelled"}

        said = "task {task_id} cancelled: {reason}"

    # corrections (ADR 0020): compensating events; what they share is in corrections.py
    class FactVoided(Event):
        """A fact taken back (``kind``: a key of ``corrections.VOIDABLE``): ``version``
        is its position in this stream, ``fact`` its fields and business date (what
        the views subtract), ``restores`` the state folded from the facts that remain."""

        corrects = True
        kind: str
        ref: str
        version: int
        reason: str
        fact: dict[str, Any]
        restores: dict[str, Any]

        def evolve(self, account: Account) -> None:
            corrections.evolve_void(account, self.kind, self.fact, self.restores)

        def summary(self) -> str:
            return corrections.void_summary(
                self.kind, self.ref, self.version, self.fact, self.reason
            )

        def ids(self) -> dict[str, str | list[str]]:
            return {"voided": self.ref}

    class SaleCredited(Event):
        """A credit note (红字发票) against a sale: it lowers what the invoice is worth
        (and the revenue) by ``amount``, never below what was paid (P2)."""

        corrects = True
        credit_note: str
        invoice: str
        amount: Decimal
        currency: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.count("CN")
            _add(account.revenue, self.currency, -self.amount)
            invoice = account.invoices.get(self.invoice)
            if invoice is not None:
                invoice["amount"] = Decimal(invoice["amount"]) - self.amount
                if Decimal(invoice["paid"]) >= invoice["amount"]:
                    del account.invoices[self.invoice]

        def summary(self) -> str:
            money = f"{format_money(self.amount)} {self.currency}"
            return f"credit note {self.credit_note} on {self.invoice}: {money}; {self.reason}"

        def ids(self) -> dict[str, str | list[str]]:
            return {"credit_note": self.credit_note}

    class VisitAmended(Event):
        """A visit's text corrected; ``previous`` keeps what it said."""

        corrects = True
        visit_id: str
        changes: dict[str, str]
        previous: dict[str, Any] | None
        reason: str

        def evolve(self, account: Account) -> None:
            last = account.last_visit
            if last is not None and last["id"] == self.visit_id and "purpose" in self.changes:
                last["purpose"] = self.changes["purpose"]

        def changed(self) -> list[Change]:
            return changes_of(self.previous, self.changes, self.visit_id)

        def summary(self) -> str:
            return f"visit {self.visit_id} amended: {described(self.changed())}; {self.reason}"

    class ContactRenamed(Event):
        """A contact's name corrected (or changed); ``previous`` keeps the old one."""

        corrects = True
        contact_id: str
        name: str
        previous: dict[str, Any] | None

        @staticmethod
        def prior(account: Account, payload: Mapping[str, Any]) -> dict[str, Any]:
            return {"name": account.contacts[payload["contact_id"]]["name"]}

        def evolve(self, account: Account) -> None:
            account.contacts[self.contact_id]["name"] = self.name

        def changed(self) -> list[Change]:
            return changes_of(self.previous, {"name": self.name}, self.contact_id)

        def summary(self) -> str:
            return f"contact {self.contact_id} renamed: {described(self.changed())}"

    class ContactForgotten(Event):
        """A person's personal data erased at their request (PIPL art. 47, GDPR art. 17):
        their key is destroyed as this event is stored, so their name and personal
        fields in every earlier event read as values.ERASED (ADR 0026). Holds who asked
        and why, never a personal value."""

        contact_id: str
        reason: str

        def evolve(self, account: Account) -> None:
            contact = account.contacts[self.contact_id]
            contact["name"] = ERASED
            if "personal" in contact:
                contact["personal"] = dict.fromkeys(contact["personal"], ERASED)
            contact["forgotten"] = True

        def summary(self) -> str:
            return f"contact {self.contact_id} forgotten (personal data erased): {self.reason}"

    class AccountClosed(Event):
        """An account closed without being a lost customer (opened in error): out of
        every report and of P8; its history stays readable."""

        corrects = True
        reason: str
        note: str

        evolve = _lifecycle_step

        def summary(self) -> str:
            note = f": {self.note}" if self.note else ""
            return f"account closed ({self.reason}){note}"

    class AccountAbsorbed(Event):
        """The target of a merge takes in a duplicate's ledger (``source``: its key;
        ``ledger``: its open invoices, the invoice refs it used and its totals, as
        ``corrections.ledger_of`` gives them). Recorded before the duplicate's
        ``AccountMergedInto`` (ADR 0020)."""

        corrects = True
        source: str
        ledger: dict[str, Any]
        reason: str

        def evolve(self, account: Account) -> None:
            corrections.absorb(account, self.source, self.ledger)

        said = 'merged "{source}" into this account: {reason}'

    class AccountMergedInto(Event):
        """A duplicate closed as merged into ``target``: its facts count under the
        target in every report from here on; its history stays readable."""

        corrects = True
        target: str
        reason: str

        evolve = _lifecycle_step

        said = 'merged into "{target}": {reason}'

    class PolicyExceptionRequested(Event):
        """An exception asked for by one person; it covers nothing until an approver
        who is someone else approves it (four eyes; ADR 0023)."""

        exception_id: str
        rule: str
        reason: str
        invoice: str | None

        def evolve(self, account: Account) -> None:
            account.count("E")
            account.requests[self.exception_id] = {
                "kind": "exception",
                "requester": self.actor,
                "rule": self.rule,
                "to_tier": None,
                "reason": self.reason,
                "invoice": self.invoice,
            }

        def summary(self) -> str:
            scope = f" for invoice {self.invoice}" if self.invoice else " for the next sale"
            return (
                f"exception {self.exception_id} to {self.rule}{scope} requested:"
                f" {self.reason} (awaits an approver)"
            )

    class PolicyExceptionApproved(PolicyExceptionGranted):
        """A requested exception approved by ``approver`` (the actor, never the
        requester): name, time and meaning ("approved") of the approval, Part 11 §11.50."""

        requested_by: str

        def evolve(self, account: Account) -> None:
            account.requests.pop(self.exception_id, None)
            account.exceptions[self.exception_id] = self.granted()

        def summary(self) -> str:
            scope = f" for invoice {self.invoice}" if self.invoice else " for the next sale"
            return (
                f"exception {self.exception_id} to {self.rule}{scope}: {self.reason};"
                f" requested by {self.requested_by}, approved by {self.approver}"
            )

    # ------------------------------------------------------------------ state
    def __init__(self) -> None:
        # Annotated here, not on the class: class annotations would make
        # eventsourcing turn the aggregate into a dataclass with these as init args.
        self.key: str = ""
        self.profile: dict[str, str] = {}
        self.currency: str = "CNY"
        self.tier: str = "prospect"
        self.lifecycle: str = LIFECYCLE.initial
        self.opened_on: date | None = None
        self.last_contact_on: date | None = None
        # The last short id given out per kind: P(eople), V(isits), I(ssues),
        # C(omplaints), O(pportunities), E(xceptions), T(asks).
        self.counters: dict[str, int] = {}
        self.contacts: dict[str, ContactState] = {}
        self.visits: int = 0
        self.followed_up: int = 0
        self.last_visit: VisitRef | None = None
        self.open_issues: dict[str, IssueState] = {}
        self.complaints: dict[str, ComplaintState] = {}
        # Invoices with something still owed; every invoice ref ever used, one per line
        # (one string decodes far faster than a structure per invoice, and P2 only
        # needs to know a ref was used).
        self.invoices: dict[str, InvoiceState] = {}
        self.invoice_refs: str = "\n"
        self.revenue: dict[str, Decimal] = {}
        self.cost_of_sales: dict[str, Decimal] = {}
        self.service_cost: dict[str, Decimal] = {}
        self.received: dict[str, Decimal] = {}
        self.satisfaction: Satisfaction | None = None
        self.competitors: dict[str, dict[str, str]] = {}
        self.opportunities: dict[str, OpportunityState] = {}
        self.stage: str = "pre-kam"
        self.program: ProgramState = {
            "cycle": 0,
            "step": "not-started",
            "evidence": False,
            "cycle_started_on": None,
        }
        self.plan_published: bool = False
        self.team: dict[str, str] = {}
        self.exceptions: dict[str, ExceptionState] = {}
        # Tasks by id (T-n): open ones with their due date, the others their status.
        self.tasks: dict[str, TaskState] = {}
        # Exception requests by id (E-n) and the tier raise ("tier") awaiting approval.
        self.requests: dict[str, RequestState] = {}
        self.lost: Lost | None = None
        self.post_mortem: PostMortem | None = None

    # The keys of the duplicates merged into this account, one per line (a class
    # default: snapshots taken before merges existed load without it).
    merged_from = "\n"

    def complaint_stepped(self, event: Any) -> ComplaintState:
        """The complaint an event of the complaint workflow moved, in its new status
        (the destination of the event's row in the workflow table)."""
        complaint = self.complaints[event.complaint_id]
        complaint["status"] = _after(COMPLAINT, type(event).__name__)
        return complaint

    def count(self, kind: str, by: int = 1) -> None:
        self.counters[kind] = self.counters.get(kind, 0) + by

    def next_id(self, kind: str) -> str:
        """The short id the next item of a kind gets: ``P-3``, ``C-12``..."""
        return f"{kind}-{self.counters.get(kind, 0) + 1}"

    @classmethod
    def open(cls, meta: Meta, **fields: Any) -> Account:
        """A new account: its first event, AccountOpened (``fields`` are its own)."""
        check_not_future(meta)
        return cls._create(
            cls.AccountOpened, id=account_id(fields["key"]), **envelope.created(meta), **fields
        )

    # ------------------------------------------------------------- shared rules
    def record(self, event_class: type[envelope.Event], meta: Meta, **payload: Any) -> None:
        """Record an event, unless it is dated before what it is about began."""
        began = self.began(event_class.__name__, payload)
        if began is not None and meta.occurred_on < began[1]:
            what, start = began
            raise InvalidInput(
                f'{what} on {start}; "{self.key}" cannot record that on ',
                Field("on"),
                f" {meta.occurred_on}, before it",
            )
        super().record(event_class, meta, **payload)

    def began(self, event: str, fields: Mapping[str, Any]) -> tuple[str, date] | None:
        """What an event is about (the item its id names, else the account) and the
        business date that began: nothing about it may be dated earlier."""
        complaint = self.complaints.get(fields.get("complaint_id") or "")
        if complaint is not None:
            return f"complaint {fields['complaint_id']} was raised", complaint["raised_on"]
        opportunity = self.opportunities.get(fields.get("opportunity_id") or "")
        if opportunity is not None:
            return f"opportunity {fields['opportunity_id']} was opened", opportunity["opened_on"]
        issue = self.open_issues.get(fields.get("issue_id") or "")
        if issue is not None:
            return f"issue {fields['issue_id']} was raised", issue["raised_on"]
        task = self.tasks.get(fields.get("task_id") or "")
        if task is not None and "added_on" in task:
            return f"task {fields['task_id']} was added", task["added_on"]
        contact = self.contacts.get(fields.get("contact_id") or "")
        if contact is not None:
            return f"contact {fields['contact_id']} was added", contact["since"]
        sale = (
            self.invoices.get(fields.get("invoice") or "") if event == "PaymentReceived" else None
        )
        if sale is not None and "on" in sale:
            return f"sale {fields['invoice']} was made", sale["on"]
        if self.lost is not None and event in ("PostMortemRecorded", "AccountArchived"):
            return "the account was lost", self.lost["on"]
        if self.opened_on is not None:
            return "the account was opened", self.opened_on
        return None

    def check_open(self, meta: Meta) -> None:
        """What every command on an opened account must pass first."""
        # The past is checked against what each event is about (record, began).
        check_not_future(meta)
        if self.lifecycle in LIFECYCLE.finals:
            raise Conflict(
                f'account "{self.key}" is {self.lifecycle}; its file is closed to new facts'
            )

    def step(
        self, workflow: Workflow, state: str, trigger: str, subject: str, **context: Any
    ) -> str:
        """Ask the workflow's machine whether ``trigger`` may fire from ``state``, then
        evaluate the transition's guards; return the state it leads to."""
        dest = workflow.dest(state, trigger)
        if dest is None:
            allowed = workflow.triggers(state)
            then = f"allowed now: {', '.join(allowed)}" if allowed else "nothing follows it"
            raise Conflict(f'{subject} is {state}; "{trigger}" is not allowed from there ({then})')
        for principle, problem in refusals(workflow.guards(state, trigger), self, context):
            if principle:
                raise RuleViolation(principle, *problem)
            raise Conflict(*problem)
        return dest

    def find_contact(self, ref: str, *, current: bool = True) -> str:
        """The id of a contact given its id (``P-3``) or its name (the same name by
        ``values.identity``: case, width, accents' encoding and spacing do not matter)."""
        if ref.strip().upper() in self.contacts:
            cid = ref.strip().upper()
        else:
            wanted = identity(ref)
            matches = [
                cid
                for cid, c in self.contacts.items()
                if identity(c["name"]) == wanted and (c["current"] or not current)
            ]
            if not matches:
                raise NotFound(
                    f'no current contact "{ref}" on "{self.key}"; add one with ',
                    Suggest("contact add", (self.key, ref), {}, ("account", "contact"), etc=True),
                )
            if len(matches) > 1:
                who = " or ".join(f"{c} ({self.contacts[c]['department']})" for c in matches)
                raise InvalidInput(f'"{ref}" is {who} on "{self.key}"; use the id')
            cid = matches[0]
        if current and not self.contacts[cid]["current"]:
            raise Conflict(f'contact {cid} "{self.contacts[cid]["name"]}" has left "{self.key}"')
        return cid

    def complaint(self, ref: str) -> tuple[str, ComplaintState]:
        complaint_id = ref.upper()
        found = self.complaints.get(complaint_id)
        if found is None:
            raise NotFound(f'no complaint {complaint_id} on "{self.key}"')
        return complaint_id, found

    def opportunity(self, ref: str) -> tuple[str, OpportunityState]:
        opportunity_id = ref.upper()
        found = self.opportunities.get(opportunity_id)
        if found is None:
            raise NotFound(f'no opportunity {opportunity_id} on "{self.key}"')
        return opportunity_id, found

    def within_total(
        self, totals: dict[str, Decimal], measure: str, currency: str, amount: Decimal, what: str
    ) -> None:
        """Refuse an amount that would take one of the account's totals past MAX_TOTAL.

        The amount is valid on its own (exit 2 is for that); it is this account's
        history that makes it too much, as with a credit limit, hence a refusal (exit 1).
        """
        total = totals.get(currency, Decimal(0)) + amount
        if total > MAX_TOTAL:
            raise Conflict(
                f'{what} would take the {measure} of "{self.key}" to {format_money(total)}'
                f" {currency}; kamflow keeps at most {format_money(MAX_TOTAL)} per account"
                " and currency (its views hold totals as 64-bit cents)"
            )

    def used_invoice(self, invoice: str) -> bool:
        """Whether an invoice ref (in any of its forms, ``values.identity``) was ever used."""
        return f"\n{identity(invoice)}\n" in self.invoice_refs

    def open_invoice(self, invoice: str) -> str | None:
        """The ref, as its sale recorded it, of the open invoice ``invoice`` names."""
        wanted = identity(invoice)
        return next((ref for ref in self.invoices if identity(ref) == wanted), None)

    def team_member(self, name: str) -> str | None:
        """The team member ``name`` names, as the team recorded them."""
        wanted = identity(name)
        return next((m for m in self.team if identity(m) == wanted), None)

    def competitor_named(self, name: str) -> str | None:
        """The competitor ``name`` names, as first noted."""
        wanted = identity(name)
        return next((c for c in self.competitors if identity(c) == wanted), None)

    def receivable(self) -> dict[str, Decimal]:
        """Sales minus payments, per currency (P2: the ledger reconciles)."""
        owed: dict[str, Decimal] = {}
        for sale in self.invoices.values():
            _add(owed, sale["currency"], Decimal(sale["amount"]) - Decimal(sale["paid"]))
        return owed

    def next_step(self) -> str:
        """The program step to complete next."""
        step = self.program["step"]
        return "confirm" if step in ("not-started", STEPS[-1]) else STEPS[STEPS.index(step) + 1]

    def step_problems(self, step: str) -> list[str]:
        """What stops program ``step`` from being completed now (empty: it may be)."""
        state = self.program["step"]
        if PROGRAM.dest(state, step) is None:
            return [f'the next step is "{self.next_step()}"']
        return [render(problem) for _, problem in refusals(PROGRAM.guards(state, step), self)]

    # ------------------------------------------ facts the guards read (guards.py)
    def current_contacts(self) -> int:
        return sum(1 for c in self.contacts.values() if c["current"])

    def departments(self) -> set[str]:
        return {c["department"].casefold() for c in self.contacts.values() if c["current"]}

    def has_current_decider(self) -> bool:
        return any(c["current"] and "decider" in c["roles"] for c in self.contacts.values())

    def team_size(self) -> int:
        return len(self.team)

    def has_published_plan(self) -> bool:
        return self.plan_published

    def cycle_has_results(self) -> bool:
        return self.program["evidence"]

    def program_cycle(self) -> int:
        return int(self.program["cycle"])

    def complaints_without_outcome(self) -> list[str]:
        return [cid for cid, c in self.complaints.items() if not c["outcome"]]

    def has_post_mortem(self) -> bool:
        return self.post_mortem is not None


def check_not_future(meta: Meta) -> None:
    """Refuse a business date later than the business date of the record time."""
    if meta.occurred_on > meta.business_today:
        raise InvalidInput(
            f"date {meta.occurred_on} is in the future; today is {meta.business_today}"
        )

"""The Account aggregate: one event stream per key account.

The aggregate holds the *decision state*: what a command needs to know to be accepted
or refused (current contacts, open issues, complaints, invoices and their receivables,
totals). The full narrative (every visit, every follow-up) stays in the events, so the
state and its snapshots stay small however long the history grows; read models build
the rest (design §5).

Every event carries the actor, the business date (``occurred_on``), the record time
(``timestamp``, set by kamflow's clock and never by a user) and the command id.
``apply`` never checks rules: replaying history must always succeed (design §3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from eventsourcing.domain import Aggregate

from kamflow.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from kamflow.domain.values import MAX_TOTAL, PROFILE_FIELDS, account_id, money
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM, STEPS
from kamflow.workflows.stage import STAGE

BIG_TIERS = ("key", "strategic")


class Policies(Protocol):
    """What a decision may ask of governance (policies and the roster)."""

    def policy(self, name: str) -> Decimal: ...

    def holds(self, person: str, role: str) -> bool: ...


@dataclass(frozen=True)
class Meta:
    """Who caused an event, when it happened in business terms, and which command."""

    actor: str
    command_id: str
    occurred_on: date
    recorded_at: datetime
    # True when the client chose the command id (`--command-id`, a line of `apply`):
    # only those are remembered, so re-running the same command is a no-op.
    command_id_given: bool = False
    # Loaded only for the commands whose rules read policies or the roster.
    governance: Policies | None = None


def _dec(value: Decimal | int | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def _add(totals: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    totals[currency] = totals.get(currency, Decimal(0)) + amount


class Account(Aggregate):
    """A key account (大客户) and its file."""

    # ------------------------------------------------------------------ events
    class Event(Aggregate.Event):
        actor: str
        occurred_on: date
        command_id: str
        command_id_given: bool

        def apply(self, aggregate: Account) -> None:
            if self.command_id_given:
                aggregate.command_log += f"{self.command_id}\n"
            self.evolve(aggregate)

        def evolve(self, account: Account) -> None:
            """Change the account's state; overridden by every event type."""

        def summary(self) -> str:
            return type(self).__name__

        def payload(self) -> dict[str, Any]:
            """The event's own fields, without the envelope every event carries."""
            skip = {
                "originator_id",
                "originator_version",
                "timestamp",
                "originator_topic",
                "actor",
                "occurred_on",
                "command_id",
                "command_id_given",
            }
            return {k: v for k, v in vars(self).items() if k not in skip}

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
            account.lifecycle = "prospect" if self.tier == "prospect" else "active"
            account.opened_on = self.occurred_on
            account.last_contact_on = None

        def summary(self) -> str:
            return f'opened "{self.name}" ({self.industry}), owner {self.owner}, tier {self.tier}'

    class ProfileUpdated(Event):
        changes: dict[str, str]

        def evolve(self, account: Account) -> None:
            account.profile.update(self.changes)

        def summary(self) -> str:
            return "profile: " + ", ".join(f"{k}={v}" for k, v in sorted(self.changes.items()))

    class ContactAdded(Event):
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

        def evolve(self, account: Account) -> None:
            account.counters["P"] = account.counters.get("P", 0) + 1
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

        def summary(self) -> str:
            roles = "/".join(self.roles) or "no role"
            return (
                f"contact {self.contact_id} {self.name}, {self.title} ({self.department}), {roles}"
            )

    class ContactChanged(Event):
        contact_id: str
        changes: dict[str, Any]

        def evolve(self, account: Account) -> None:
            account.contacts[self.contact_id].update(self.changes)

        def summary(self) -> str:
            parts = ", ".join(f"{k}={v}" for k, v in sorted(self.changes.items()))
            return f"contact {self.contact_id} changed: {parts}"

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
            account.counters["V"] = account.counters.get("V", 0) + 1
            account.counters["I"] = account.counters.get("I", 0) + len(self.issues)
            account.visits += 1
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

    class FollowUpRecorded(Event):
        issue_id: str
        result: str

        def evolve(self, account: Account) -> None:
            account.open_issues.pop(self.issue_id, None)
            account.followed_up += 1

        def summary(self) -> str:
            return f"follow-up {self.issue_id}: {self.result}"

    class ComplaintRaised(Event):
        complaint_id: str
        summary_text: str
        severity: str

        def evolve(self, account: Account) -> None:
            account.counters["C"] = account.counters.get("C", 0) + 1
            account.complaints[self.complaint_id] = {
                "summary": self.summary_text,
                "severity": self.severity,
                "raised_on": self.occurred_on,
                "status": "raised",
                "outcome": None,
            }

        def summary(self) -> str:
            return f"complaint {self.complaint_id} ({self.severity}): {self.summary_text}"

    class ComplaintResolved(Event):
        complaint_id: str
        outcome: str

        def evolve(self, account: Account) -> None:
            complaint = account.complaints[self.complaint_id]
            complaint.update(status="resolved", outcome=self.outcome, ended_on=self.occurred_on)

        def summary(self) -> str:
            return f"complaint {self.complaint_id} resolved: {self.outcome}"

    class ComplaintRejected(Event):
        complaint_id: str
        justification: str

        def evolve(self, account: Account) -> None:
            complaint = account.complaints[self.complaint_id]
            complaint.update(
                status="rejected", outcome=self.justification, ended_on=self.occurred_on
            )

        def summary(self) -> str:
            return f"complaint {self.complaint_id} rejected: {self.justification}"

    class TierChanged(Event):
        from_tier: str
        to_tier: str
        reason: str
        approved_by: str | None

        def evolve(self, account: Account) -> None:
            account.tier = self.to_tier
            if account.lifecycle == "prospect" and self.to_tier != "prospect":
                account.lifecycle = "active"

        def summary(self) -> str:
            by = f", approved by {self.approved_by}" if self.approved_by else ""
            return f"tier {self.from_tier} -> {self.to_tier}: {self.reason}{by}"

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
            }
            account.invoice_refs += f"{self.invoice}\n"
            _add(account.revenue, self.currency, self.amount)
            _add(account.cost_of_sales, self.currency, self.cost)
            if account.lifecycle == "prospect":
                account.lifecycle = "active"
            account.program["evidence"] = True
            for exception_id in self.exceptions or ():
                account.exceptions[exception_id]["used_by"] = self.invoice

        def summary(self) -> str:
            return (
                f"sale {self.invoice} {self.product}: {money(self.amount)} {self.currency}"
                f" (cost {money(self.cost)})"
            )

    class PaymentReceived(Event):
        invoice: str
        amount: Decimal
        currency: str

        def evolve(self, account: Account) -> None:
            invoice = account.invoices[self.invoice]
            invoice["paid"] = _dec(invoice["paid"]) + self.amount
            if invoice["paid"] >= _dec(invoice["amount"]):
                # Settled: nothing more can happen to it but a refusal (decision 1).
                del account.invoices[self.invoice]
            _add(account.received, self.currency, self.amount)

        def summary(self) -> str:
            return f"payment for {self.invoice}: {money(self.amount)} {self.currency}"

    class ServiceCostRecorded(Event):
        amount: Decimal
        currency: str
        category: str
        description: str

        def evolve(self, account: Account) -> None:
            _add(account.service_cost, self.currency, self.amount)

        def summary(self) -> str:
            return f"service cost {self.category}: {money(self.amount)} {self.currency}"

    class SatisfactionMeasured(Event):
        score: Decimal
        target: Decimal
        note: str

        def evolve(self, account: Account) -> None:
            account.satisfaction = {
                "score": self.score,
                "target": self.target,
                "on": self.occurred_on,
            }
            account.program["evidence"] = True

        def summary(self) -> str:
            return f"satisfaction {self.score} against target {self.target}"

    class CompetitorNoted(Event):
        competitor: str
        details: dict[str, str]

        def evolve(self, account: Account) -> None:
            known = account.competitors.setdefault(self.competitor, {})
            known.update(self.details)

        def summary(self) -> str:
            detail = ", ".join(f"{k}={v}" for k, v in sorted(self.details.items()))
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

        def evolve(self, account: Account) -> None:
            account.counters["O"] = account.counters.get("O", 0) + 1
            account.opportunities[self.opportunity_id] = {
                "title": self.title,
                "budget": self.budget,
                "currency": self.currency,
                "stage": "lead",
                "opened_on": self.occurred_on,
            }

        def summary(self) -> str:
            budget = f", budget {money(self.budget)} {self.currency}" if self.budget else ""
            return f"opportunity {self.opportunity_id}: {self.title}{budget}"

    # complaint workflow ------------------------------------------------------
    class ComplaintAcknowledged(Event):
        complaint_id: str

        def evolve(self, account: Account) -> None:
            account.complaints[self.complaint_id]["status"] = "acknowledged"

        def summary(self) -> str:
            return f"complaint {self.complaint_id} acknowledged"

    class ComplaintInvestigationStarted(Event):
        complaint_id: str
        note: str

        def evolve(self, account: Account) -> None:
            account.complaints[self.complaint_id]["status"] = "investigating"

        def summary(self) -> str:
            note = f": {self.note}" if self.note else ""
            return f"complaint {self.complaint_id} under investigation{note}"

    class ComplaintEscalated(Event):
        complaint_id: str
        reason: str
        to: str

        def evolve(self, account: Account) -> None:
            account.complaints[self.complaint_id]["status"] = "escalated"

        def summary(self) -> str:
            to = f" to {self.to}" if self.to else ""
            return f"complaint {self.complaint_id} escalated{to}: {self.reason}"

    class ComplaintClosed(Event):
        complaint_id: str
        confirmation: str

        def evolve(self, account: Account) -> None:
            account.complaints[self.complaint_id]["status"] = "closed"

        def summary(self) -> str:
            return f"complaint {self.complaint_id} closed: {self.confirmation}"

    # lifecycle (P8) ----------------------------------------------------------
    class AccountLost(Event):
        cause: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = "lost"
            account.lost = {"cause": self.cause, "on": self.occurred_on}
            account.post_mortem = None

        def summary(self) -> str:
            return f"account lost: {self.cause}"

    class PostMortemRecorded(Event):
        cause: str
        lessons: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = "reviewed"
            account.post_mortem = {
                "cause": self.cause,
                "lessons": self.lessons,
                "on": self.occurred_on,
            }

        def summary(self) -> str:
            return f"post-mortem: cause {self.cause}; lessons {self.lessons}"

    class AccountArchived(Event):
        note: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = "archived"

        def summary(self) -> str:
            return "account archived" + (f": {self.note}" if self.note else "")

    class AccountReactivated(Event):
        reason: str

        def evolve(self, account: Account) -> None:
            account.lifecycle = "active"
            account.lost = None
            account.post_mortem = None

        def summary(self) -> str:
            return f"account reactivated: {self.reason}"

    # relationship and program ------------------------------------------------
    class RelationshipStageChanged(Event):
        from_stage: str
        to_stage: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.stage = self.to_stage

        def summary(self) -> str:
            return f"stage {self.from_stage} -> {self.to_stage}" + (
                f": {self.reason}" if self.reason else ""
            )

    class TeamMemberAssigned(Event):
        member: str
        role: str

        def evolve(self, account: Account) -> None:
            account.team[self.member] = self.role

        def summary(self) -> str:
            return f"team: {self.member} assigned as {self.role}"

    class TeamMemberReleased(Event):
        member: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.team.pop(self.member, None)

        def summary(self) -> str:
            return f"team: {self.member} released" + (f" ({self.reason})" if self.reason else "")

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

        def summary(self) -> str:
            return f"program cycle {self.cycle}: {self.step} done ({self.evidence})"

    # funnel -------------------------------------------------------------------
    class OpportunityAdvanced(Event):
        opportunity_id: str
        from_stage: str
        to_stage: str

        def evolve(self, account: Account) -> None:
            account.opportunities[self.opportunity_id]["stage"] = self.to_stage

        def summary(self) -> str:
            return f"opportunity {self.opportunity_id}: {self.from_stage} -> {self.to_stage}"

    class OpportunityWon(Event):
        opportunity_id: str
        note: str

        def evolve(self, account: Account) -> None:
            account.opportunities[self.opportunity_id].update(
                stage="won", closed_on=self.occurred_on
            )

        def summary(self) -> str:
            return f"opportunity {self.opportunity_id} won" + (
                f": {self.note}" if self.note else ""
            )

    class OpportunityLost(Event):
        opportunity_id: str
        reason: str

        def evolve(self, account: Account) -> None:
            account.opportunities[self.opportunity_id].update(
                stage="lost", reason=self.reason, closed_on=self.occurred_on
            )

        def summary(self) -> str:
            return f"opportunity {self.opportunity_id} lost: {self.reason}"

    # policy exceptions (P1, P4) -------------------------------------------
    class PolicyExceptionGranted(Event):
        exception_id: str
        rule: str
        approver: str
        reason: str
        invoice: str | None

        def evolve(self, account: Account) -> None:
            account.counters["E"] = account.counters.get("E", 0) + 1
            account.exceptions[self.exception_id] = {
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

    # ------------------------------------------------------------------ state
    def __init__(self) -> None:
        # Annotated here, not on the class: class annotations would make
        # eventsourcing turn the aggregate into a dataclass with these as init args.
        self.key: str = ""
        self.profile: dict[str, str] = {}
        self.currency: str = "CNY"
        self.tier: str = "prospect"
        self.lifecycle: str = "prospect"
        self.opened_on: date | None = None
        self.last_contact_on: date | None = None
        self.counters: dict[str, int] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.visits: int = 0
        self.followed_up: int = 0
        self.last_visit: dict[str, Any] | None = None
        self.open_issues: dict[str, dict[str, Any]] = {}
        self.complaints: dict[str, dict[str, Any]] = {}
        # Invoices with something still owed; every invoice ref ever used, one per line
        # (one string decodes far faster than a structure per invoice, and P2 only
        # needs to know a ref was used).
        self.invoices: dict[str, dict[str, Any]] = {}
        self.invoice_refs: str = "\n"
        self.revenue: dict[str, Decimal] = {}
        self.cost_of_sales: dict[str, Decimal] = {}
        self.service_cost: dict[str, Decimal] = {}
        self.received: dict[str, Decimal] = {}
        self.satisfaction: dict[str, Any] | None = None
        self.competitors: dict[str, dict[str, str]] = {}
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.stage: str = "pre-kam"
        self.program: dict[str, Any] = {
            "cycle": 0,
            "step": "not-started",
            "evidence": False,
            "cycle_started_on": None,
        }
        self.plan_published: bool = False
        self.team: dict[str, str] = {}
        self.exceptions: dict[str, dict[str, Any]] = {}
        self.lost: dict[str, Any] | None = None
        self.post_mortem: dict[str, Any] | None = None
        # Command ids chosen by clients, one per line: a single string keeps snapshots
        # cheap to decode however many commands a script has sent.
        self.command_log: str = "\n"

    # --------------------------------------------------------------- commands
    def _trigger(self, event_class: type[Account.Event], meta: Meta, **payload: Any) -> None:
        # Record time never goes backwards within an account, even across machines
        # with skewed clocks: "as of" searches rely on it being monotonic.
        recorded_at = max(meta.recorded_at, self.modified_on)
        self.trigger_event(
            event_class,
            timestamp=recorded_at,
            actor=meta.actor,
            occurred_on=meta.occurred_on,
            command_id=meta.command_id,
            command_id_given=meta.command_id_given,
            **payload,
        )

    @classmethod
    def open(
        cls,
        meta: Meta,
        *,
        key: str,
        name: str,
        industry: str,
        owner: str,
        currency: str,
        tier: str,
    ) -> Account:
        _check_not_future(meta)
        return cls._create(
            cls.AccountOpened,
            id=account_id(key),
            timestamp=meta.recorded_at,
            actor=meta.actor,
            occurred_on=meta.occurred_on,
            command_id=meta.command_id,
            command_id_given=meta.command_id_given,
            key=key,
            name=name,
            industry=industry,
            owner=owner,
            currency=currency,
            tier=tier,
        )

    def _check(self, meta: Meta) -> None:
        # Business dates may precede the account's opening in kamflow: a file is often
        # started after the relationship. Only the future is refused.
        _check_not_future(meta)
        if self.lifecycle == "archived":
            raise Conflict(f'account "{self.key}" is archived; its file is closed to new facts')

    def _step(
        self, workflow: Workflow, state: str, trigger: str, subject: str, **context: Any
    ) -> str:
        """Ask the workflow's machine whether ``trigger`` may fire from ``state``, then
        evaluate the transition's guards; return the state it leads to."""
        dest = workflow.dest(state, trigger)
        if dest is None:
            allowed = workflow.triggers(state)
            then = f"allowed now: {', '.join(allowed)}" if allowed else "nothing follows it"
            raise Conflict(f'{subject} is {state}; "{trigger}" is not allowed from there ({then})')
        for guard in workflow.guards(state, trigger):
            principle, check = GUARDS[guard]
            problem = check(self, context)
            if problem:
                if principle:
                    raise RuleViolation(principle, problem)
                raise Conflict(problem)
        return dest

    def update_profile(self, meta: Meta, changes: dict[str, str]) -> None:
        self._check(meta)
        unknown = set(changes) - set(PROFILE_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown profile field: {', '.join(sorted(unknown))}")
        real = {k: v for k, v in changes.items() if self.profile.get(k) != v}
        if not real:
            raise Conflict(f'account "{self.key}": nothing to update; the values are unchanged')
        self._trigger(self.ProfileUpdated, meta, changes=real)

    # people -----------------------------------------------------------------
    def find_contact(self, ref: str, *, current: bool = True) -> str:
        """The id of a contact given its id (``P-3``) or its name (case-insensitive)."""
        if ref.upper() in self.contacts:
            cid = ref.upper()
        else:
            wanted = ref.strip().casefold()
            matches = [
                cid
                for cid, c in self.contacts.items()
                if c["name"].casefold() == wanted and (c["current"] or not current)
            ]
            if not matches:
                raise NotFound(
                    f'no current contact "{ref}" on "{self.key}"; add one with'
                    f' `kamflow contact add {self.key} "{ref}" ...`'
                )
            if len(matches) > 1:
                raise InvalidInput(
                    f'"{ref}" names {len(matches)} contacts on "{self.key}"'
                    f" ({', '.join(matches)}); use the id"
                )
            cid = matches[0]
        if current and not self.contacts[cid]["current"]:
            raise Conflict(f'contact {cid} "{self.contacts[cid]["name"]}" has left "{self.key}"')
        return cid

    def add_contact(
        self,
        meta: Meta,
        *,
        name: str,
        title: str,
        department: str,
        roles: list[str],
        influence: str | None,
        attitude: str | None,
        personality: str | None,
        reports_to: str | None,
        influenced_by: list[str],
    ) -> str:
        self._check(meta)
        wanted = name.casefold()
        for cid, c in self.contacts.items():
            if c["current"] and c["name"].casefold() == wanted:
                raise Conflict(f'contact "{name}" already exists on "{self.key}" as {cid}')
        boss = self.find_contact(reports_to) if reports_to else None
        influencers = [self.find_contact(n) for n in influenced_by]
        contact_id = f"P-{self.counters.get('P', 0) + 1}"
        self._trigger(
            self.ContactAdded,
            meta,
            contact_id=contact_id,
            name=name,
            title=title,
            department=department,
            roles=sorted(set(roles)),
            influence=influence,
            attitude=attitude,
            personality=personality,
            reports_to=boss,
            influenced_by=influencers,
        )
        return contact_id

    def change_contact(self, meta: Meta, ref: str, changes: dict[str, Any]) -> str:
        self._check(meta)
        cid = self.find_contact(ref)
        if "reports_to" in changes and changes["reports_to"] is not None:
            changes["reports_to"] = self.find_contact(changes["reports_to"])
            if changes["reports_to"] == cid:
                raise InvalidInput(f"contact {cid} cannot report to themself")
        if "influenced_by" in changes:
            changes["influenced_by"] = [self.find_contact(n) for n in changes["influenced_by"]]
        if "roles" in changes:
            changes["roles"] = sorted(set(changes["roles"]))
        current = self.contacts[cid]
        real = {k: v for k, v in changes.items() if current.get(k) != v}
        if not real:
            raise Conflict(f"contact {cid}: nothing to change; the values are unchanged")
        self._trigger(self.ContactChanged, meta, contact_id=cid, changes=real)
        return cid

    def contact_leaves(self, meta: Meta, ref: str, *, reason: str, analysis: str) -> str:
        self._check(meta)
        cid = self.find_contact(ref)
        self._trigger(self.ContactLeft, meta, contact_id=cid, reason=reason, analysis=analysis)
        return cid

    # visits -----------------------------------------------------------------
    def log_visit(
        self,
        meta: Meta,
        *,
        with_: list[str],
        purpose: str,
        objective: str,
        result: str | None,
        issues: list[str],
    ) -> str:
        self._check(meta)
        if not result:
            raise RuleViolation(
                "P6",
                f'a visit to "{self.key}" needs a result as well as a purpose and an'
                " objective; add --result",
            )
        contacts = sorted({self.find_contact(ref) for ref in with_})
        first = self.counters.get("I", 0) + 1
        numbered = {f"I-{first + i}": text for i, text in enumerate(issues)}
        visit_id = f"V-{self.counters.get('V', 0) + 1}"
        self._trigger(
            self.VisitLogged,
            meta,
            visit_id=visit_id,
            contacts=contacts,
            purpose=purpose,
            objective=objective,
            result=result,
            issues=numbered,
        )
        return visit_id

    def record_follow_up(self, meta: Meta, issue_ref: str, *, result: str) -> str:
        self._check(meta)
        issue_id = issue_ref.upper()
        if issue_id not in self.open_issues:
            raised = self.counters.get("I", 0)
            if _short_number(issue_id, "I") in range(1, raised + 1):
                raise Conflict(f'issue {issue_id} on "{self.key}" already has a follow-up result')
            raise NotFound(f'no issue {issue_id} on "{self.key}"')
        self._trigger(self.FollowUpRecorded, meta, issue_id=issue_id, result=result)
        return issue_id

    # complaints -------------------------------------------------------------
    def raise_complaint(self, meta: Meta, *, summary: str, severity: str) -> str:
        self._check(meta)
        complaint_id = f"C-{self.counters.get('C', 0) + 1}"
        self._trigger(
            self.ComplaintRaised,
            meta,
            complaint_id=complaint_id,
            summary_text=summary,
            severity=severity,
        )
        return complaint_id

    def _complaint_step(self, meta: Meta, ref: str, trigger: str, **context: Any) -> str:
        self._check(meta)
        complaint_id = ref.upper()
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise NotFound(f'no complaint {complaint_id} on "{self.key}"')
        subject = f'complaint {complaint_id} on "{self.key}"'
        self._step(COMPLAINT, complaint["status"], trigger, subject, **context)
        return complaint_id

    def acknowledge_complaint(self, meta: Meta, ref: str) -> str:
        complaint_id = self._complaint_step(meta, ref, "ack")
        self._trigger(self.ComplaintAcknowledged, meta, complaint_id=complaint_id)
        return complaint_id

    def investigate_complaint(self, meta: Meta, ref: str, *, note: str) -> str:
        complaint_id = self._complaint_step(meta, ref, "investigate")
        self._trigger(
            self.ComplaintInvestigationStarted, meta, complaint_id=complaint_id, note=note
        )
        return complaint_id

    def escalate_complaint(self, meta: Meta, ref: str, *, reason: str, to: str) -> str:
        complaint_id = self._complaint_step(meta, ref, "escalate")
        self._trigger(
            self.ComplaintEscalated, meta, complaint_id=complaint_id, reason=reason, to=to
        )
        return complaint_id

    def resolve_complaint(self, meta: Meta, ref: str, *, outcome: str) -> str:
        complaint_id = self._complaint_step(meta, ref, "resolve", outcome=outcome)
        self._trigger(self.ComplaintResolved, meta, complaint_id=complaint_id, outcome=outcome)
        return complaint_id

    def reject_complaint(self, meta: Meta, ref: str, *, justification: str) -> str:
        complaint_id = self._complaint_step(meta, ref, "reject", justification=justification)
        self._trigger(
            self.ComplaintRejected, meta, complaint_id=complaint_id, justification=justification
        )
        return complaint_id

    def close_complaint(self, meta: Meta, ref: str, *, confirmation: str) -> str:
        self._check(meta)
        open_one = self.complaints.get(ref.upper())
        if open_one is not None and not open_one["outcome"]:
            # Name the principle, not only the workflow: nothing closes without an outcome.
            raise RuleViolation(
                "P7",
                f'complaint {ref.upper()} on "{self.key}" has no outcome;'
                " resolve or reject it first",
            )
        complaint_id = self._complaint_step(meta, ref, "close", complaint_id=ref.upper())
        self._trigger(
            self.ComplaintClosed, meta, complaint_id=complaint_id, confirmation=confirmation
        )
        return complaint_id

    # value ------------------------------------------------------------------
    def set_tier(self, meta: Meta, tier: str, *, reason: str, approved_by: str | None) -> None:
        self._check(meta)
        if tier == self.tier:
            raise Conflict(f'account "{self.key}" is already tier {tier}')
        self._trigger(
            self.TierChanged,
            meta,
            from_tier=self.tier,
            to_tier=tier,
            reason=reason,
            approved_by=approved_by,
        )

    def record_sale(
        self,
        meta: Meta,
        *,
        invoice: str,
        product: str,
        amount: Decimal,
        cost: Decimal,
        currency: str | None,
        discount_pct: Decimal | None = None,
    ) -> None:
        self._check(meta)
        if self.lifecycle in ("lost", "reviewed"):
            raise Conflict(
                f'account "{self.key}" is {self.lifecycle}; reactivate it before recording a sale'
            )
        if self.used_invoice(invoice):
            raise RuleViolation(
                "P2",
                f'invoice {invoice} is already recorded on "{self.key}";'
                " each sale needs its own invoice ref",
            )
        currency = currency or self.currency
        self._within_total(self.revenue, "revenue", currency, amount, f"sale {invoice}")
        self._within_total(self.cost_of_sales, "cost of sales", currency, cost, f"sale {invoice}")
        used: list[str] = []
        if meta.governance is not None:
            owed = self.receivable().get(currency, Decimal(0)) + amount
            limit = meta.governance.policy(f"credit-limit.{self.tier}")
            if owed > limit:
                used.append(
                    self._exception_or_refuse(
                        "credit-limit",
                        invoice,
                        f'sale {invoice} would take what "{self.key}" owes to {money(owed)}'
                        f" {currency}, over the {self.tier}-tier credit limit of {money(limit)}",
                    )
                )
            ceiling = meta.governance.policy("discount-ceiling-pct")
            if discount_pct is not None and discount_pct > ceiling:
                used.append(
                    self._exception_or_refuse(
                        "discount-ceiling",
                        invoice,
                        f"a discount of {discount_pct}% on sale {invoice} is over the"
                        f" {ceiling}% ceiling",
                    )
                )
        self._trigger(
            self.SaleRecorded,
            meta,
            invoice=invoice,
            product=product,
            amount=amount,
            cost=cost,
            currency=currency,
            discount_pct=discount_pct,
            exceptions=used or None,
        )

    def _within_total(
        self, totals: dict[str, Decimal], measure: str, currency: str, amount: Decimal, what: str
    ) -> None:
        """Refuse an amount that would take one of the account's totals past MAX_TOTAL.

        The amount is valid on its own (exit 2 is for that); it is this account's
        history that makes it too much, as with a credit limit, hence a refusal (exit 1).
        """
        total = totals.get(currency, Decimal(0)) + amount
        if total > MAX_TOTAL:
            raise Conflict(
                f'{what} would take the {measure} of "{self.key}" to {money(total)} {currency};'
                f" kamflow keeps at most {money(MAX_TOTAL)} per account and currency"
                " (its views hold totals as 64-bit cents)"
            )

    def _exception_or_refuse(self, rule: str, invoice: str, problem: str) -> str:
        """An unused exception granted for this rule (and invoice), or a P1/P4 refusal.

        The rule is the same for every tier (P1); for the biggest tiers the refusal names
        P4, because a big customer does not buy an exception by being big.
        """
        for exception_id, exc in self.exceptions.items():
            if exc["rule"] == rule and exc["used_by"] is None and exc["invoice"] in (None, invoice):
                return exception_id
        fix = (
            f"an approver can grant one with `kamflow exception grant {self.key} --rule {rule}"
            f" --invoice {invoice} --reason ...`"
        )
        if self.tier in BIG_TIERS:
            raise RuleViolation(
                "P4", f"{problem}; {self.tier} accounts get no automatic exception; {fix}"
            )
        raise RuleViolation("P1", f"{problem}; {fix}")

    def record_payment(
        self, meta: Meta, *, invoice: str, amount: Decimal, currency: str | None
    ) -> None:
        self._check(meta)
        sale = self.invoices.get(invoice)
        if sale is None and self.used_invoice(invoice):
            raise RuleViolation(
                "P2",
                f"payment of {money(amount)} {currency or self.currency} exceeds the"
                f" {money(Decimal(0))} still owed on invoice {invoice}",
            )
        if sale is None:
            raise RuleViolation(
                "P2",
                f'payment references invoice {invoice}, which is not a sale on "{self.key}";'
                " record the sale first",
            )
        currency = currency or sale["currency"]
        if currency != sale["currency"]:
            raise RuleViolation("P2", f"invoice {invoice} is in {sale['currency']}, not {currency}")
        outstanding = _dec(sale["amount"]) - _dec(sale["paid"])
        if amount > outstanding:
            raise RuleViolation(
                "P2",
                f"payment of {money(amount)} {currency} exceeds the {money(outstanding)}"
                f" still owed on invoice {invoice}",
            )
        self._trigger(self.PaymentReceived, meta, invoice=invoice, amount=amount, currency=currency)

    def record_service_cost(
        self, meta: Meta, *, amount: Decimal, currency: str | None, category: str, description: str
    ) -> None:
        self._check(meta)
        currency = currency or self.currency
        what = f"a service cost of {money(amount)}"
        self._within_total(self.service_cost, "service cost", currency, amount, what)
        self._trigger(
            self.ServiceCostRecorded,
            meta,
            amount=amount,
            currency=currency,
            category=category,
            description=description,
        )

    def measure_satisfaction(
        self, meta: Meta, *, score: Decimal, target: Decimal, note: str
    ) -> None:
        self._check(meta)
        self._trigger(self.SatisfactionMeasured, meta, score=score, target=target, note=note)

    # market -----------------------------------------------------------------
    def note_competitor(self, meta: Meta, competitor: str, details: dict[str, str]) -> None:
        self._check(meta)
        self._trigger(self.CompetitorNoted, meta, competitor=competitor, details=details)

    def open_opportunity(
        self,
        meta: Meta,
        *,
        title: str,
        problem: str,
        budget: Decimal | None,
        currency: str | None,
        decision_maker: str,
        timeline: str,
        procurement: str,
    ) -> str:
        self._check(meta)
        opportunity_id = f"O-{self.counters.get('O', 0) + 1}"
        self._trigger(
            self.OpportunityOpened,
            meta,
            opportunity_id=opportunity_id,
            title=title,
            problem=problem,
            budget=budget,
            currency=currency or self.currency,
            decision_maker=decision_maker,
            timeline=timeline,
            procurement=procurement,
        )
        return opportunity_id

    # funnel -----------------------------------------------------------------
    def _opportunity(self, ref: str) -> tuple[str, dict[str, Any]]:
        opportunity_id = ref.upper()
        opportunity = self.opportunities.get(opportunity_id)
        if opportunity is None:
            raise NotFound(f'no opportunity {opportunity_id} on "{self.key}"')
        return opportunity_id, opportunity

    def advance_opportunity(self, meta: Meta, ref: str, *, to: str | None) -> str:
        self._check(meta)
        opportunity_id, opportunity = self._opportunity(ref)
        subject = f'opportunity {opportunity_id} on "{self.key}"'
        dest = self._step(OPPORTUNITY, opportunity["stage"], "advance", subject)
        if to is not None and to != dest:
            raise Conflict(
                f"{subject} is {opportunity['stage']}; the funnel moves one stage at a time,"
                f" so the next is {dest}, not {to}"
            )
        self._trigger(
            self.OpportunityAdvanced,
            meta,
            opportunity_id=opportunity_id,
            from_stage=opportunity["stage"],
            to_stage=dest,
        )
        return dest

    def win_opportunity(self, meta: Meta, ref: str, *, note: str) -> str:
        self._check(meta)
        opportunity_id, opportunity = self._opportunity(ref)
        self._step(
            OPPORTUNITY,
            opportunity["stage"],
            "win",
            f'opportunity {opportunity_id} on "{self.key}"',
        )
        self._trigger(self.OpportunityWon, meta, opportunity_id=opportunity_id, note=note)
        return opportunity_id

    def lose_opportunity(self, meta: Meta, ref: str, *, reason: str) -> str:
        self._check(meta)
        opportunity_id, opportunity = self._opportunity(ref)
        self._step(
            OPPORTUNITY,
            opportunity["stage"],
            "lose",
            f'opportunity {opportunity_id} on "{self.key}"',
            reason=reason,
        )
        self._trigger(self.OpportunityLost, meta, opportunity_id=opportunity_id, reason=reason)
        return opportunity_id

    # lifecycle (P7, P8) -------------------------------------------------------
    def lose(self, meta: Meta, *, cause: str) -> None:
        self._check(meta)
        self._step(LIFECYCLE, self.lifecycle, "lose", f'account "{self.key}"')
        self._trigger(self.AccountLost, meta, cause=cause)

    def review(self, meta: Meta, *, cause: str, lessons: str) -> None:
        self._check(meta)
        self._step(LIFECYCLE, self.lifecycle, "review", f'account "{self.key}"')
        self._trigger(self.PostMortemRecorded, meta, cause=cause, lessons=lessons)

    def archive(self, meta: Meta, *, note: str) -> None:
        self._check(meta)
        self._step(LIFECYCLE, self.lifecycle, "archive", f'account "{self.key}"')
        self._trigger(self.AccountArchived, meta, note=note)

    def reactivate(self, meta: Meta, *, reason: str) -> None:
        self._check(meta)
        self._step(LIFECYCLE, self.lifecycle, "reactivate", f'account "{self.key}"')
        self._trigger(self.AccountReactivated, meta, reason=reason)

    # relationship stage -------------------------------------------------------
    def advance_stage(self, meta: Meta, to: str, *, reason: str) -> None:
        self._check(meta)
        subject = f'account "{self.key}"\'s relationship'
        if to == self.stage:
            raise Conflict(f"{subject} is already {to}")
        # A skipped stage is refused as such, before the next stage's guards are asked.
        following = STAGE.dest(self.stage, "advance")
        if following is not None and to != following:
            raise Conflict(
                f"{subject} is {self.stage}; stages go one at a time, so the next is"
                f" {following}, not {to}"
            )
        dest = self._step(STAGE, self.stage, "advance", subject)
        self._trigger(
            self.RelationshipStageChanged, meta, from_stage=self.stage, to_stage=dest, reason=reason
        )

    def uncouple(self, meta: Meta, *, reason: str) -> None:
        self._check(meta)
        dest = self._step(STAGE, self.stage, "uncouple", f'account "{self.key}"\'s relationship')
        self._trigger(
            self.RelationshipStageChanged, meta, from_stage=self.stage, to_stage=dest, reason=reason
        )

    def re_engage(self, meta: Meta, *, reason: str) -> None:
        self._check(meta)
        dest = self._step(STAGE, self.stage, "re-engage", f'account "{self.key}"\'s relationship')
        self._trigger(
            self.RelationshipStageChanged, meta, from_stage=self.stage, to_stage=dest, reason=reason
        )

    # team and program ---------------------------------------------------------
    def assign(self, meta: Meta, member: str, *, role: str) -> None:
        self._check(meta)
        if self.team.get(member) == role:
            raise Conflict(f'{member} is already on the "{self.key}" team as {role}')
        self._trigger(self.TeamMemberAssigned, meta, member=member, role=role)

    def release(self, meta: Meta, member: str, *, reason: str) -> None:
        self._check(meta)
        if member not in self.team:
            raise NotFound(f'{member} is not on the "{self.key}" team')
        self._trigger(self.TeamMemberReleased, meta, member=member, reason=reason)

    def next_step(self) -> str:
        """The program step to complete next."""
        step = self.program["step"]
        return "confirm" if step in ("not-started", STEPS[-1]) else STEPS[STEPS.index(step) + 1]

    def step_problems(self, step: str) -> list[str]:
        """What stops ``step`` from being completed now (empty: it may be)."""
        state = self.program["step"]
        if PROGRAM.dest(state, step) is None:
            return [f'the next step is "{self.next_step()}"']
        return [
            problem
            for guard in PROGRAM.guards(state, step)
            if (problem := GUARDS[guard][1](self, {}))
        ]

    def complete_step(self, meta: Meta, step: str, *, evidence: str) -> int:
        self._check(meta)
        subject = f'the program of "{self.key}"'
        state = self.program["step"]
        if PROGRAM.dest(state, step) is None:
            last = "not started" if state == "not-started" else f'at "{state}"'
            raise Conflict(
                f'{subject} is {last}; steps go in order, so the next is "{self.next_step()}",'
                f' not "{step}"'
            )
        self._step(PROGRAM, state, step, subject)
        cycle = int(self.program["cycle"]) + (1 if step == "confirm" else 0)
        self._trigger(self.ProgramStepCompleted, meta, step=step, cycle=cycle, evidence=evidence)
        return cycle

    # exceptions (P1, P4) ------------------------------------------------------
    def grant_exception(self, meta: Meta, *, rule: str, reason: str, invoice: str | None) -> str:
        self._check(meta)
        governance = meta.governance
        if governance is None or not governance.holds(meta.actor, "approver"):
            principle = "P4" if self.tier in BIG_TIERS else "P1"
            raise RuleViolation(
                principle,
                f"{meta.actor} does not hold the approver role; only an approver can grant an"
                f" exception (see `kamflow roster show`)",
            )
        exception_id = f"E-{self.counters.get('E', 0) + 1}"
        self._trigger(
            self.PolicyExceptionGranted,
            meta,
            exception_id=exception_id,
            rule=rule,
            approver=meta.actor,
            reason=reason,
            invoice=invoice,
        )
        return exception_id

    # ---------------------------------------------------------------- queries
    def departments(self) -> set[str]:
        return {c["department"].casefold() for c in self.contacts.values() if c["current"]}

    def has_current_decider(self) -> bool:
        return any(c["current"] and "decider" in c["roles"] for c in self.contacts.values())

    def used_invoice(self, invoice: str) -> bool:
        return f"\n{invoice}\n" in self.invoice_refs

    def has_command(self, command_id: str) -> bool:
        """Whether a client-chosen command id was already applied to this account."""
        return f"\n{command_id}\n" in self.command_log

    def receivable(self) -> dict[str, Decimal]:
        """Sales minus payments, per currency (P2: the ledger reconciles)."""
        owed: dict[str, Decimal] = {}
        for sale in self.invoices.values():
            _add(owed, sale["currency"], _dec(sale["amount"]) - _dec(sale["paid"]))
        return owed


def _short_number(short_id: str, prefix: str) -> int:
    head, _, tail = short_id.partition("-")
    return int(tail) if head == prefix and tail.isdigit() else 0


def _check_not_future(meta: Meta) -> None:
    if meta.occurred_on > meta.recorded_at.date():
        raise InvalidInput(
            f"date {meta.occurred_on} is in the future; today is {meta.recorded_at.date()}"
        )


Guard = Callable[[Account, dict[str, Any]], str | None]


def _needs(count: int, what: str) -> Guard:
    def check(account: Account, _: dict[str, Any]) -> str | None:
        have = len(account.departments())
        if have >= count:
            return None
        return (
            f'"{account.key}" has current contacts in {have} department(s); {what} needs'
            f" {count}: add contacts in other departments (`kamflow contact add`)"
        )

    return check


def _decider(account: Account, _: dict[str, Any]) -> str | None:
    if account.has_current_decider():
        return None
    return (
        f'no current contact on "{account.key}" has the decider role; add or change one'
        " with --role decider"
    )


def _outcome(what: str) -> Guard:
    def check(_: Account, context: dict[str, Any]) -> str | None:
        article = "an" if what[0] in "aeiou" else "a"
        return None if str(context.get(what) or "").strip() else f"{article} {what} is required"

    return check


def _complaints_have_outcomes(account: Account, _: dict[str, Any]) -> str | None:
    for complaint_id, complaint in account.complaints.items():
        if not complaint["outcome"]:
            return (
                f'complaint {complaint_id} on "{account.key}" has no outcome;'
                " resolve or reject it first"
            )
    return None


def _post_mortem(account: Account, _: dict[str, Any]) -> str | None:
    if account.post_mortem is not None:
        return None
    return (
        f'account "{account.key}" was lost without a post-mortem; record one with'
        f" `kamflow account review {account.key} --cause ... --lessons ...`"
    )


# Guard name (as the workflow tables list it) -> (principle it enforces, check).
GUARDS: dict[str, tuple[str | None, Guard]] = {
    "outcome_given": ("P7", _outcome("outcome")),
    "justification_given": ("P7", _outcome("justification")),
    "has_outcome": (
        "P7",
        lambda a, c: (
            None
            if a.complaints[c["complaint_id"]]["outcome"]
            else f"complaint {c['complaint_id']} has no outcome"
        ),
    ),
    "reason_given": (None, _outcome("reason")),
    "team_assigned": (
        None,
        lambda a, _: (
            None
            if a.team
            else f'no team member is assigned to "{a.key}"; assign one with `kamflow team assign`'
        ),
    ),
    "decider_known": (None, _decider),
    "results_in_cycle": (
        None,
        lambda a, _: (
            None
            if a.program["evidence"]
            else f'no satisfaction measurement or sale on "{a.key}" in program cycle'
            f" {a.program['cycle']}; record one first"
        ),
    ),
    "one_current_contact": (
        None,
        lambda a, _: (
            None
            if any(c["current"] for c in a.contacts.values())
            else f'"{a.key}" has no current contact; early KAM needs one'
        ),
    ),
    "two_departments": (None, _needs(2, "mid KAM (more than one thread)")),
    "three_departments": (None, _needs(3, "partnership KAM")),
    "four_departments": (None, _needs(4, "synergistic KAM")),
    "plan_published": (
        None,
        lambda a, _: (
            None
            if a.plan_published
            else f'"{a.key}" has no published account plan; complete the program step publish-plan'
        ),
    ),
    "two_team_members": (
        None,
        lambda a, _: (
            None
            if len(a.team) >= 2
            else f'"{a.key}" has {len(a.team)} team member(s); synergistic KAM needs 2'
        ),
    ),
    "post_mortem": ("P8", _post_mortem),
    "complaints_have_outcomes": ("P7", _complaints_have_outcomes),
}

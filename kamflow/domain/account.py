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

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from kamflow.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from kamflow.domain.values import PROFILE_FIELDS, account_id, money


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
                aggregate.commands[self.command_id] = self.originator_version
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

        def evolve(self, account: Account) -> None:
            account.invoices[self.invoice] = {
                "currency": self.currency,
                "amount": self.amount,
                "paid": Decimal(0),
            }
            _add(account.revenue, self.currency, self.amount)
            _add(account.cost_of_sales, self.currency, self.cost)
            if account.lifecycle == "prospect":
                account.lifecycle = "active"

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
        self.invoices: dict[str, dict[str, Any]] = {}
        self.revenue: dict[str, Decimal] = {}
        self.cost_of_sales: dict[str, Decimal] = {}
        self.service_cost: dict[str, Decimal] = {}
        self.received: dict[str, Decimal] = {}
        self.satisfaction: dict[str, Any] | None = None
        self.competitors: dict[str, dict[str, str]] = {}
        self.opportunities: dict[str, dict[str, Any]] = {}
        # Command ids chosen by clients, and the version their command produced.
        self.commands: dict[str, int] = {}

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

    def _open_complaint(self, ref: str) -> str:
        complaint_id = ref.upper()
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise NotFound(f'no complaint {complaint_id} on "{self.key}"')
        if complaint["outcome"] is not None:
            raise Conflict(
                f'complaint {complaint_id} on "{self.key}" is already {complaint["status"]}'
            )
        return complaint_id

    def resolve_complaint(self, meta: Meta, ref: str, *, outcome: str) -> str:
        self._check(meta)
        complaint_id = self._open_complaint(ref)
        self._trigger(self.ComplaintResolved, meta, complaint_id=complaint_id, outcome=outcome)
        return complaint_id

    def reject_complaint(self, meta: Meta, ref: str, *, justification: str) -> str:
        self._check(meta)
        complaint_id = self._open_complaint(ref)
        self._trigger(
            self.ComplaintRejected, meta, complaint_id=complaint_id, justification=justification
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
    ) -> None:
        self._check(meta)
        if invoice in self.invoices:
            raise RuleViolation(
                "P2",
                f'invoice {invoice} is already recorded on "{self.key}";'
                " each sale needs its own invoice ref",
            )
        self._trigger(
            self.SaleRecorded,
            meta,
            invoice=invoice,
            product=product,
            amount=amount,
            cost=cost,
            currency=currency or self.currency,
        )

    def record_payment(
        self, meta: Meta, *, invoice: str, amount: Decimal, currency: str | None
    ) -> None:
        self._check(meta)
        sale = self.invoices.get(invoice)
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
        self._trigger(
            self.ServiceCostRecorded,
            meta,
            amount=amount,
            currency=currency or self.currency,
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

    # ---------------------------------------------------------------- queries
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

"""What fills the views: one handler per event class, turning an event into SQL.

A handler is registered on its view for the event classes it projects
(``@ACCOUNTS.on(Account.SaleRecorded)``); mypy checks its first parameter against them.
The catch-up dispatches on the decoded event's class. Statuses and lifecycle states
are read from the workflow tables (each row names the events recording it), as the
aggregate's ``evolve`` reads them (kamflow/domain/account.py), so a state is spelled
in one place.

This module imports the domain's event classes, and with them eventsourcing: the
views' definitions (``views.py``) load it only when a catch-up has events to apply.
Changing what a handler writes means bumping ``views.HANDLERS_VERSION``;
tests/projections/test_projection_structure.py tells when the source changed.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from kamflow.domain.account import Account
from kamflow.domain.governance import Governance
from kamflow.projections.db import Statement
from kamflow.projections.views import (
    ACCOUNTS,
    COMPLAINTS,
    FIRST_PROFIT,
    GOVERNANCE,
    LEDGER,
    MARKET,
    PEOPLE,
    TEAM_SIZE,
    VISITS,
)
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM
from kamflow.workflows.stage import STAGE

# Events no view but the audit trail projects, each with the reason.
# tests/projections/test_projection_structure.py checks that every other event class has a handler.
UNPROJECTED: dict[type, str] = {
    Account.TierRaiseRequested: "changes nothing a view shows until an approver approves it"
    " (account history shows it)",
    Account.PolicyExceptionRequested: "covers nothing until an approver approves it"
    " (account history shows it)",
    Governance.Started: "opens the governance stream; no policy or role is set by it",
    # eventsourcing gives every aggregate a creation event class of this name; kamflow
    # creates with its own (Account.AccountOpened, Governance.Started).
    Account.Created: "never recorded: an account is created by AccountOpened",
    Governance.Created: "never recorded: governance is created by Started",
}


def to_cents(amount: Decimal | None) -> int | None:
    """An amount as integer cents, as the views store money (None stays None)."""
    return None if amount is None else int((amount * 100).to_integral_value())


def iso(value: date | None) -> str | None:
    """A date or datetime as ISO-8601 text (None stays None)."""
    return None if value is None else str(value.isoformat())


_AFTER: dict[tuple[str, type], str] = {}


def after(workflow: Workflow, event: type) -> str:
    """The state an event of this class leaves its subject in: its workflow row's
    destination (kept by workflow name: hashing a whole table costs microseconds)."""
    try:
        return _AFTER[workflow.name, event]
    except KeyError:
        state = _AFTER[workflow.name, event] = workflow.state_after(event.__name__)
        return state


# ---------------------------------------------------------------------- accounts
def _set(key: str, **columns: Any) -> list[Statement]:
    names = ", ".join(f"{c}=?" for c in columns)
    return [(f"UPDATE kf_accounts SET {names} WHERE key=?", (*columns.values(), key))]


# The lifecycle's `activate` row, fired by kamflow itself (a first sale, a promotion out
# of the prospect tier): its destination, from any of its sources, else nothing.
_ACTIVATE = next(t for t in LIFECYCLE.transitions if t.trigger == "activate")
_ACTIVATED = (
    "UPDATE kf_accounts SET lifecycle=? WHERE key=? AND lifecycle IN ("
    + ", ".join("?" for _ in _ACTIVATE.source)
    + ")"
)


def _activate(key: str) -> Statement:
    return (_ACTIVATED, (_ACTIVATE.dest, key, *_ACTIVATE.source))


_MONEY_UPSERT = (
    "INSERT INTO kf_account_money (key, currency, revenue_cents, cost_of_sales_cents,"
    " service_cost_cents, received_cents) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (key, currency) DO UPDATE SET"
    " revenue_cents = kf_account_money.revenue_cents + excluded.revenue_cents,"
    " cost_of_sales_cents = kf_account_money.cost_of_sales_cents + excluded.cost_of_sales_cents,"
    " service_cost_cents = kf_account_money.service_cost_cents + excluded.service_cost_cents,"
    " received_cents = kf_account_money.received_cents + excluded.received_cents"
)
_MONTH_UPSERT = (
    "INSERT INTO kf_account_months (key, month, currency, revenue_cents, cost_of_sales_cents,"
    " service_cost_cents) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (key, month, currency) DO UPDATE SET"
    " revenue_cents = kf_account_months.revenue_cents + excluded.revenue_cents,"
    " cost_of_sales_cents = kf_account_months.cost_of_sales_cents"
    " + excluded.cost_of_sales_cents,"
    " service_cost_cents = kf_account_months.service_cost_cents + excluded.service_cost_cents"
)


class _Money(Protocol):
    @property
    def occurred_on(self) -> date: ...

    @property
    def currency(self) -> str: ...


def _money(
    e: _Money, key: str, revenue: int = 0, cost: int = 0, service: int = 0, received: int = 0
) -> list[Statement]:
    month = e.occurred_on.isoformat()[:7]
    out: list[Statement] = [(_MONEY_UPSERT, (key, e.currency, revenue, cost, service, received))]
    if revenue or cost or service:
        out.append((_MONTH_UPSERT, (key, month, e.currency, revenue, cost, service)))
        out.append((FIRST_PROFIT, (key, e.currency, key, e.currency)))
    return out


@ACCOUNTS.on(Account.AccountOpened)
def _opened(e: Account.AccountOpened, key: str) -> list[Statement]:
    # As the aggregate decides it (AccountOpened.evolve): above the prospect tier, an
    # account starts activated.
    lifecycle = (
        LIFECYCLE.initial if e.tier == "prospect" else LIFECYCLE.fire(LIFECYCLE.initial, "activate")
    )
    return [
        (
            "INSERT INTO kf_accounts (key, account_id, name, industry, owner, currency, tier,"
            " lifecycle, stage, program_cycle, program_step, plan_published, team_size,"
            " opened_on, opened_at, last_contact_on, visits)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0, ?, ?, NULL, 0)",
            (
                key,
                e.originator_id.hex,
                e.name,
                e.industry,
                e.owner,
                e.currency,
                e.tier,
                lifecycle,
                STAGE.initial,
                PROGRAM.initial,
                iso(e.occurred_on),
                iso(e.timestamp),
            ),
        )
    ]


@ACCOUNTS.on(Account.ProfileUpdated)
def _profile(e: Account.ProfileUpdated, key: str) -> list[Statement]:
    changes = dict(e.changes)
    core = {k: changes.pop(k) for k in ("name", "industry", "owner") if k in changes}
    out = _set(key, **core) if core else []
    for name, value in changes.items():
        out.append(
            (
                "INSERT INTO kf_account_profile (key, field, value) VALUES (?, ?, ?)"
                " ON CONFLICT (key, field) DO UPDATE SET value = excluded.value",
                (key, name, value),
            )
        )
    return out


@ACCOUNTS.on(Account.TierChanged, Account.TierRaiseApproved)
def _tier(e: Account.TierChanged, key: str) -> list[Statement]:
    out = _set(key, tier=e.to_tier)
    if e.to_tier != "prospect":
        out.append(_activate(key))
    # Before four eyes, the one who set the tier asked for it.
    requested_by = e.requested_by if isinstance(e, Account.TierRaiseApproved) else e.actor
    out.append(
        (
            "INSERT INTO kf_tier_changes (key, version, to_tier, actor, requested_by,"
            " approved_by, occurred_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                e.originator_version,
                e.to_tier,
                e.actor,
                requested_by,
                e.approved_by,
                iso(e.occurred_on),
            ),
        )
    )
    return out


@ACCOUNTS.on(Account.VisitLogged)
def _visit_account(e: Account.VisitLogged, key: str) -> list[Statement]:
    on = iso(e.occurred_on)
    return [
        (
            "UPDATE kf_accounts SET visits = visits + 1, last_contact_on = CASE"
            " WHEN last_contact_on IS NULL OR last_contact_on < ? THEN ? ELSE last_contact_on END"
            " WHERE key=?",
            (on, on, key),
        )
    ]


@ACCOUNTS.on(Account.SaleRecorded)
def _sale_account(e: Account.SaleRecorded, key: str) -> list[Statement]:
    out = _money(e, key, revenue=to_cents(e.amount) or 0, cost=to_cents(e.cost) or 0)
    out.append(_activate(key))
    for exception_id in e.exceptions or ():
        out.append(
            (
                "UPDATE kf_exceptions SET used_by=? WHERE key=? AND exception_id=?",
                (e.invoice, key, exception_id),
            )
        )
    return out


@ACCOUNTS.on(Account.PaymentReceived)
def _payment_account(e: Account.PaymentReceived, key: str) -> list[Statement]:
    return _money(e, key, received=to_cents(e.amount) or 0)


@ACCOUNTS.on(Account.ServiceCostRecorded)
def _cost_account(e: Account.ServiceCostRecorded, key: str) -> list[Statement]:
    return _money(e, key, service=to_cents(e.amount) or 0)


@ACCOUNTS.on(Account.AccountLost)
def _lost(e: Account.AccountLost, key: str) -> list[Statement]:
    return _set(
        key,
        lifecycle=after(LIFECYCLE, Account.AccountLost),
        lost_on=iso(e.occurred_on),
        lost_cause=e.cause,
        post_mortem_on=None,
        lessons=None,
    )


@ACCOUNTS.on(Account.PostMortemRecorded)
def _post_mortem(e: Account.PostMortemRecorded, key: str) -> list[Statement]:
    return _set(
        key,
        lifecycle=after(LIFECYCLE, Account.PostMortemRecorded),
        post_mortem_on=iso(e.occurred_on),
        lessons=e.lessons,
    )


@ACCOUNTS.on(Account.AccountArchived)
def _archived(e: Account.AccountArchived, key: str) -> list[Statement]:
    return _set(key, lifecycle=after(LIFECYCLE, Account.AccountArchived))


@ACCOUNTS.on(Account.AccountReactivated)
def _reactivated(e: Account.AccountReactivated, key: str) -> list[Statement]:
    return _set(
        key,
        lifecycle=after(LIFECYCLE, Account.AccountReactivated),
        lost_on=None,
        lost_cause=None,
        post_mortem_on=None,
        lessons=None,
    )


@ACCOUNTS.on(Account.RelationshipStageChanged)
def _stage(e: Account.RelationshipStageChanged, key: str) -> list[Statement]:
    return _set(key, stage=e.to_stage)


@ACCOUNTS.on(Account.ProgramStepCompleted)
def _program(e: Account.ProgramStepCompleted, key: str) -> list[Statement]:
    out = _set(key, program_step=e.step, program_cycle=e.cycle)
    if e.step == "publish-plan":
        out += _set(key, plan_published=1)
    return out


@ACCOUNTS.on(Account.TeamMemberAssigned)
def _assigned(e: Account.TeamMemberAssigned, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_team (key, member, role, since) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key, member) DO UPDATE SET role = excluded.role",
            (key, e.member, e.role, iso(e.occurred_on)),
        ),
        (TEAM_SIZE, (key, key)),
    ]


@ACCOUNTS.on(Account.TeamMemberReleased)
def _released(e: Account.TeamMemberReleased, key: str) -> list[Statement]:
    return [
        ("DELETE FROM kf_team WHERE key=? AND member=?", (key, e.member)),
        (TEAM_SIZE, (key, key)),
    ]


@ACCOUNTS.on(Account.PolicyExceptionGranted, Account.PolicyExceptionApproved)
def _exception(e: Account.PolicyExceptionGranted, key: str) -> list[Statement]:
    # requested_by NULL: granted at once by one person, before four eyes.
    requested_by = e.requested_by if isinstance(e, Account.PolicyExceptionApproved) else None
    return [
        (
            "INSERT INTO kf_exceptions (key, exception_id, rule, approver, reason, invoice,"
            " used_by, granted_on, requested_by) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (
                key,
                e.exception_id,
                e.rule,
                e.approver,
                e.reason,
                e.invoice,
                iso(e.occurred_on),
                requested_by,
            ),
        )
    ]


# ---------------------------------------------------------------------- people
# The columns a contact change may set (its other keys, such as the name, are not kept).
_CONTACT_COLUMNS = (
    "title",
    "department",
    "roles",
    "influence",
    "attitude",
    "personality",
    "reports_to",
    "influenced_by",
)


@PEOPLE.on(Account.ContactAdded)
def _contact_added(e: Account.ContactAdded, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_contacts (key, contact_id, name, title, department, roles, influence,"
            " attitude, personality, reports_to, influenced_by, current, since)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            (
                key,
                e.contact_id,
                e.name,
                e.title,
                e.department,
                ",".join(e.roles),
                e.influence,
                e.attitude,
                e.personality,
                e.reports_to,
                ",".join(e.influenced_by),
                iso(e.occurred_on),
            ),
        )
    ]


@PEOPLE.on(Account.ContactChanged)
def _contact_changed(e: Account.ContactChanged, key: str) -> list[Statement]:
    changes = {
        k: ",".join(v) if isinstance(v, list) else v
        for k, v in e.changes.items()
        if k in _CONTACT_COLUMNS
    }
    if not changes:
        return []
    names = ", ".join(f"{c}=?" for c in changes)
    return [
        (
            f"UPDATE kf_contacts SET {names} WHERE key=? AND contact_id=?",
            (*changes.values(), key, e.contact_id),
        )
    ]


@PEOPLE.on(Account.ContactLeft)
def _contact_left(e: Account.ContactLeft, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_contacts SET current=0, left_on=?, left_reason=?, left_analysis=?"
            " WHERE key=? AND contact_id=?",
            (iso(e.occurred_on), e.reason, e.analysis, key, e.contact_id),
        )
    ]


# ---------------------------------------------------------------------- visits
@VISITS.on(Account.VisitLogged)
def _visit(e: Account.VisitLogged, key: str) -> list[Statement]:
    on = iso(e.occurred_on)
    out: list[Statement] = [
        (
            "INSERT INTO kf_visits (key, visit_id, occurred_on, contacts, purpose, objective,"
            " result, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, e.visit_id, on, ",".join(e.contacts), e.purpose, e.objective, e.result, e.actor),
        )
    ]
    for issue_id, text in e.issues.items():
        out.append(
            (
                "INSERT INTO kf_issues (key, issue_id, visit_id, text, raised_on)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, issue_id, e.visit_id, text, on),
            )
        )
    return out


@VISITS.on(Account.FollowUpRecorded)
def _follow_up(e: Account.FollowUpRecorded, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_issues SET followed_up_on=?, result=? WHERE key=? AND issue_id=?",
            (iso(e.occurred_on), e.result, key, e.issue_id),
        )
    ]


# ---------------------------------------------------------------------- complaints
@COMPLAINTS.on(Account.ComplaintRaised)
def _complaint(e: Account.ComplaintRaised, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_complaints (key, complaint_id, summary, severity, status, raised_on,"
            " escalated) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (
                key,
                e.complaint_id,
                e.summary_text,
                e.severity,
                COMPLAINT.initial,
                iso(e.occurred_on),
            ),
        )
    ]


class _ComplaintStep(Protocol):
    """An event of a complaint workflow row (all of them carry these)."""

    @property
    def complaint_id(self) -> str: ...

    @property
    def occurred_on(self) -> date: ...


# Every event a row of the complaint workflow names: its status is that row's
# destination. (Read from the table, so mypy cannot check the classes; the structure
# tests check each is an Account event class.)
_COMPLAINT_STEPS: tuple[type[_ComplaintStep], ...] = tuple(
    getattr(Account, name) for name in sorted(COMPLAINT.events())
)


@COMPLAINTS.on(*_COMPLAINT_STEPS)
def _complaint_stepped(e: _ComplaintStep, key: str) -> list[Statement]:
    columns: dict[str, Any] = {"status": after(COMPLAINT, type(e))}
    if isinstance(e, Account.ComplaintResolved):
        columns.update(outcome=e.outcome or None, ended_on=iso(e.occurred_on))
    elif isinstance(e, Account.ComplaintRejected):
        columns.update(outcome=e.justification, ended_on=iso(e.occurred_on))
    elif isinstance(e, Account.ComplaintEscalated):
        columns.update(escalated=1)
    elif isinstance(e, Account.ComplaintClosed):
        columns.update(closed_on=iso(e.occurred_on))
    return [(_complaint_update(tuple(columns)), (*columns.values(), key, e.complaint_id))]


@cache
def _complaint_update(columns: tuple[str, ...]) -> str:
    names = ", ".join(f"{c}=?" for c in columns)
    return f"UPDATE kf_complaints SET {names} WHERE key=? AND complaint_id=?"


# ---------------------------------------------------------------------- ledger
@LEDGER.on(Account.SaleRecorded)
def _sale(e: Account.SaleRecorded, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_sales (key, invoice, product, occurred_on, currency, amount_cents,"
            " cost_cents, paid_cents, discount_pct) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (
                key,
                e.invoice,
                e.product,
                iso(e.occurred_on),
                e.currency,
                to_cents(e.amount),
                to_cents(e.cost),
                None if e.discount_pct is None else str(e.discount_pct),
            ),
        )
    ]


@LEDGER.on(Account.PaymentReceived)
def _payment(e: Account.PaymentReceived, key: str) -> list[Statement]:
    amount = to_cents(e.amount)
    return [
        (
            "UPDATE kf_sales SET paid_cents = paid_cents + ? WHERE key=? AND invoice=?",
            (amount, key, e.invoice),
        ),
        (
            "INSERT INTO kf_payments (key, invoice, occurred_on, currency, amount_cents, version)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, e.invoice, iso(e.occurred_on), e.currency, amount, e.originator_version),
        ),
    ]


@LEDGER.on(Account.ServiceCostRecorded)
def _service_cost(e: Account.ServiceCostRecorded, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_service_costs (key, version, occurred_on, currency, amount_cents,"
            " category, description) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                e.originator_version,
                iso(e.occurred_on),
                e.currency,
                to_cents(e.amount),
                e.category,
                e.description,
            ),
        )
    ]


# ---------------------------------------------------------------------- market
@MARKET.on(Account.OpportunityOpened)
def _opp(e: Account.OpportunityOpened, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_opportunities (key, opportunity_id, title, problem, stage,"
            " budget_cents, currency, decision_maker, timeline, procurement, opened_on)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                e.opportunity_id,
                e.title,
                e.problem,
                OPPORTUNITY.initial,
                to_cents(e.budget),
                e.currency,
                e.decision_maker,
                e.timeline,
                e.procurement,
                iso(e.occurred_on),
            ),
        )
    ]


@MARKET.on(Account.OpportunityAdvanced)
def _opp_advanced(e: Account.OpportunityAdvanced, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_opportunities SET stage=? WHERE key=? AND opportunity_id=?",
            (e.to_stage, key, e.opportunity_id),
        )
    ]


def _opp_closed(
    e: Account.OpportunityWon | Account.OpportunityLost, key: str, reason: str
) -> Statement:
    return (
        "UPDATE kf_opportunities SET stage=?, closed_on=?, reason=?"
        " WHERE key=? AND opportunity_id=?",
        (after(OPPORTUNITY, type(e)), iso(e.occurred_on), reason, key, e.opportunity_id),
    )


@MARKET.on(Account.OpportunityWon)
def _opp_won(e: Account.OpportunityWon, key: str) -> list[Statement]:
    return [_opp_closed(e, key, e.note)]


@MARKET.on(Account.OpportunityLost)
def _opp_lost(e: Account.OpportunityLost, key: str) -> list[Statement]:
    return [_opp_closed(e, key, e.reason)]


@MARKET.on(Account.CompetitorNoted)
def _competitor(e: Account.CompetitorNoted, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_competitor_notes (key, version, competitor, occurred_on, details)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                key,
                e.originator_version,
                e.competitor,
                iso(e.occurred_on),
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
            ),
        )
    ]


@MARKET.on(Account.SatisfactionMeasured)
def _satisfaction(e: Account.SatisfactionMeasured, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_satisfaction (key, version, occurred_on, score, target, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, e.originator_version, iso(e.occurred_on), str(e.score), str(e.target), e.note),
        )
    ]


# ---------------------------------------------------------------------- governance
def _logged(
    e: Governance.Event, kind: str, person: str | None, role: str | None, subject: str | None
) -> Statement:
    return (
        "INSERT INTO kf_governance_log (version, kind, actor, person, role, subject)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (e.originator_version, kind, e.actor, person, role, subject),
    )


@GOVERNANCE.on(Governance.PolicySet)
def _policy(e: Governance.PolicySet, key: str) -> list[Statement]:
    return [
        _logged(e, "policy", None, None, e.policy),
        (
            "INSERT INTO kf_policies (policy, value, set_by, set_at, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (policy) DO UPDATE SET value = excluded.value,"
            " set_by = excluded.set_by, set_at = excluded.set_at, reason = excluded.reason",
            (e.policy, str(e.value), e.actor, iso(e.timestamp), e.reason),
        ),
    ]


@GOVERNANCE.on(Governance.SettingSet)
def _setting(e: Governance.SettingSet, key: str) -> list[Statement]:
    # Text settings (the team's time zone) share the policies' table, so that a report
    # reads them without the event store (kamflow.projections.reports.base.setting).
    return [
        _logged(e, "policy", None, None, e.setting),
        (
            "INSERT INTO kf_policies (policy, value, set_by, set_at, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (policy) DO UPDATE SET value = excluded.value,"
            " set_by = excluded.set_by, set_at = excluded.set_at, reason = excluded.reason",
            (e.setting, e.value, e.actor, iso(e.timestamp), e.reason),
        ),
    ]


@GOVERNANCE.on(Governance.RoleGranted)
def _granted(e: Governance.RoleGranted, key: str) -> list[Statement]:
    return [
        _logged(e, "grant", e.person, e.role, None),
        (
            "INSERT INTO kf_roster (person, role, since) VALUES (?, ?, ?)",
            (e.person, e.role, iso(e.occurred_on)),
        ),
    ]


@GOVERNANCE.on(Governance.RoleRevoked)
def _revoked(e: Governance.RoleRevoked, key: str) -> list[Statement]:
    return [
        _logged(e, "revoke", e.person, e.role, None),
        ("DELETE FROM kf_roster WHERE person=? AND role=?", (e.person, e.role)),
    ]


@GOVERNANCE.on(Governance.AdminBootstrapped)
def _bootstrapped(e: Governance.AdminBootstrapped, key: str) -> list[Statement]:
    return [
        _logged(e, "bootstrap", e.person, ",".join(e.roles), None),
        *(
            (
                "INSERT INTO kf_roster (person, role, since) VALUES (?, ?, ?)",
                (e.person, role, iso(e.occurred_on)),
            )
            for role in e.roles
        ),
    ]

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
from typing import Any, NamedTuple, Protocol

from kamflow.domain.account import Account
from kamflow.domain.governance import Governance
from kamflow.domain.values import ERASED
from kamflow.projections.db import Statement
from kamflow.projections.views import (
    ACCOUNTS,
    COMPLAINTS,
    FIRST_PROFIT,
    FIRST_PROFIT_OF_KEY,
    GOVERNANCE,
    LEDGER,
    MARKET,
    PEOPLE,
    TASKS,
    TEAM_SIZE,
    VISITS,
    View,
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
    Account.AccountAbsorbed: "the views move the duplicate's rows on its AccountMergedInto,"
    " recorded after it (ADR 0020)",
    Account.TierRaiseRequested: "changes nothing a view shows until an approver approves it"
    " (account history shows it)",
    Account.PolicyExceptionRequested: "covers nothing until an approver approves it"
    " (account history shows it)",
    Governance.Started: "opens the governance stream; no policy or role is set by it",
    Governance.KeyRegistered: "a person's public key: `roster show` reads it from the"
    " governance aggregate and `audit verify` from the log (ADR 0025)",
    Governance.KeyRevoked: "a person's key withdrawn: read as KeyRegistered is (ADR 0025)",
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
            " budget_cents, currency, decision_maker, timeline, procurement, opened_on,"
            " stage_since, close_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                iso(e.occurred_on),
                iso(e.close_by) if e.close_by is not None else None,
            ),
        )
    ]


@MARKET.on(Account.OpportunityAdvanced)
def _opp_advanced(e: Account.OpportunityAdvanced, key: str) -> list[Statement]:
    close_by = iso(e.close_by) if e.close_by is not None else None
    return [
        (
            "UPDATE kf_opportunities SET stage=?, stage_since=?,"
            " close_by=COALESCE(?, close_by) WHERE key=? AND opportunity_id=?",
            (e.to_stage, iso(e.occurred_on), close_by, key, e.opportunity_id),
        )
    ]


@MARKET.on(Account.OpportunityCloseDateSet)
def _opp_close_by(e: Account.OpportunityCloseDateSet, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_opportunities SET close_by=? WHERE key=? AND opportunity_id=?",
            (iso(e.close_by), key, e.opportunity_id),
        )
    ]


@MARKET.on(Account.OpportunityProbabilitySet)
def _opp_probability(e: Account.OpportunityProbabilitySet, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_opportunities SET probability_pct=?, probability_reason=?"
            " WHERE key=? AND opportunity_id=?",
            (str(e.probability), e.reason, key, e.opportunity_id),
        )
    ]


def _opp_closed(
    e: Account.OpportunityWon | Account.OpportunityLost, key: str, reason: str
) -> Statement:
    return (
        "UPDATE kf_opportunities SET stage=?, stage_since=?, closed_on=?, reason=?"
        " WHERE key=? AND opportunity_id=?",
        (
            after(OPPORTUNITY, type(e)),
            iso(e.occurred_on),
            iso(e.occurred_on),
            reason,
            key,
            e.opportunity_id,
        ),
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


# ---------------------------------------------------------------------- corrections
# A compensating event takes back exactly what its fact wrote (ADR 0020): the views
# after a void equal the views of a history that never had the fact.
class _Fact(NamedTuple):
    """A voided fact's date and currency, as ``_money`` reads an event's."""

    occurred_on: date
    currency: str


def _void_money(e: Account.FactVoided, key: str) -> list[Statement]:
    f = e.fact
    if e.kind not in ("sale", "payment", "cost"):
        return []
    money = _Fact(f["occurred_on"], f["currency"])
    amount = -(to_cents(Decimal(f["amount"])) or 0)
    if e.kind == "sale":
        out = _money(money, key, revenue=amount, cost=-(to_cents(Decimal(f["cost"])) or 0))
    elif e.kind == "payment":
        out = _money(money, key, received=amount)
    else:
        out = _money(money, key, service=amount)
    # A month or currency left with nothing is one the fact alone had made: gone with it.
    return [
        *out,
        (
            "DELETE FROM kf_account_months WHERE key=? AND currency=? AND revenue_cents=0"
            " AND cost_of_sales_cents=0 AND service_cost_cents=0",
            (key, money.currency),
        ),
        (
            "DELETE FROM kf_account_money WHERE key=? AND currency=? AND revenue_cents=0"
            " AND cost_of_sales_cents=0 AND service_cost_cents=0 AND received_cents=0",
            (key, money.currency),
        ),
    ]


@ACCOUNTS.on(Account.FactVoided)
def _voided_account(e: Account.FactVoided, key: str) -> list[Statement]:
    if e.kind == "visit":
        return [
            (
                "UPDATE kf_accounts SET visits = visits - 1, last_contact_on=? WHERE key=?",
                (iso(e.restores["last_contact_on"]), key),
            )
        ]
    return _void_money(e, key)


@VISITS.on(Account.FactVoided)
def _voided_visit(e: Account.FactVoided, key: str) -> list[Statement]:
    if e.kind != "visit":
        return []
    return [
        (f"DELETE FROM {table} WHERE key=? AND visit_id=?", (key, e.ref))
        for table in ("kf_visits", "kf_issues")
    ]


@LEDGER.on(Account.FactVoided)
def _voided_ledger(e: Account.FactVoided, key: str) -> list[Statement]:
    if e.kind == "sale":
        return [("DELETE FROM kf_sales WHERE key=? AND invoice=?", (key, e.fact["invoice"]))]
    if e.kind == "payment":
        return [
            (
                "UPDATE kf_sales SET paid_cents = paid_cents - ? WHERE key=? AND invoice=?",
                (to_cents(Decimal(e.fact["amount"])), key, e.fact["invoice"]),
            ),
            (
                "DELETE FROM kf_payments WHERE key=? AND merged_from='' AND version=?",
                (key, e.version),
            ),
        ]
    if e.kind == "cost":
        return [
            (
                "DELETE FROM kf_service_costs WHERE key=? AND merged_from='' AND version=?",
                (key, e.version),
            )
        ]
    return []


@MARKET.on(Account.FactVoided)
def _voided_market(e: Account.FactVoided, key: str) -> list[Statement]:
    table = {"satisfaction": "kf_satisfaction", "competitor": "kf_competitor_notes"}.get(e.kind)
    if table is None:
        return []
    return [(f"DELETE FROM {table} WHERE key=? AND merged_from='' AND version=?", (key, e.version))]


@ACCOUNTS.on(Account.SaleCredited)
def _credited_account(e: Account.SaleCredited, key: str) -> list[Statement]:
    return _money(e, key, revenue=-(to_cents(e.amount) or 0))


@LEDGER.on(Account.SaleCredited)
def _credited(e: Account.SaleCredited, key: str) -> list[Statement]:
    # The sale's amount is what it is worth net of its credit notes: every report of
    # what is owed (P2) reads it so, and the credit is kept beside it.
    cents = to_cents(e.amount)
    return [
        (
            "UPDATE kf_sales SET amount_cents = amount_cents - ?,"
            " credited_cents = credited_cents + ? WHERE key=? AND invoice=?",
            (cents, cents, key, e.invoice),
        )
    ]


@VISITS.on(Account.VisitAmended)
def _visit_amended(e: Account.VisitAmended, key: str) -> list[Statement]:
    changes = {k: v for k, v in e.changes.items() if k in ("purpose", "objective", "result")}
    if not changes:
        return []
    names = ", ".join(f"{c}=?" for c in changes)
    return [
        (
            f"UPDATE kf_visits SET {names} WHERE key=? AND visit_id=?",
            (*changes.values(), key, e.visit_id),
        )
    ]


@PEOPLE.on(Account.ContactForgotten)
def _contact_forgotten(e: Account.ContactForgotten, key: str) -> list[Statement]:
    # The name is gone with the person's key (ADR 0026): a rebuild reads it as [erased].
    # A person of a merged duplicate is under the target, as dup/P-1 (_merged_people).
    return [
        (
            "UPDATE kf_contacts SET name=? WHERE (key=? AND contact_id=?) OR contact_id=?",
            (ERASED, key, e.contact_id, f"{key}/{e.contact_id}"),
        )
    ]


@PEOPLE.on(Account.ContactRenamed)
def _contact_renamed(e: Account.ContactRenamed, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_contacts SET name=? WHERE key=? AND contact_id=?",
            (e.name, key, e.contact_id),
        )
    ]


# A merge moves the duplicate's rows under the target (ADR 0020). Ids a history hands
# out (V-3, P-1, I-2, C-1, O-1, E-1) would clash with the target's, so the duplicate's
# are prefixed with its key (``dup/V-3``), in the lists that name them too; rows keyed by
# version keep theirs and say where they came from (``merged_from``); money and months
# are added to the target's.
_MONEY_MOVE = (
    "INSERT INTO kf_account_money (key, currency, revenue_cents, cost_of_sales_cents,"
    " service_cost_cents, received_cents) SELECT ?, currency, revenue_cents,"
    " cost_of_sales_cents, service_cost_cents, received_cents FROM kf_account_money"
    " WHERE key=? ON CONFLICT (key, currency) DO UPDATE SET"
    " revenue_cents = kf_account_money.revenue_cents + excluded.revenue_cents,"
    " cost_of_sales_cents = kf_account_money.cost_of_sales_cents + excluded.cost_of_sales_cents,"
    " service_cost_cents = kf_account_money.service_cost_cents + excluded.service_cost_cents,"
    " received_cents = kf_account_money.received_cents + excluded.received_cents"
)
_MONTHS_MOVE = (
    "INSERT INTO kf_account_months (key, month, currency, revenue_cents, cost_of_sales_cents,"
    " service_cost_cents) SELECT ?, month, currency, revenue_cents, cost_of_sales_cents,"
    " service_cost_cents FROM kf_account_months WHERE key=?"
    " ON CONFLICT (key, month, currency) DO UPDATE SET"
    " revenue_cents = kf_account_months.revenue_cents + excluded.revenue_cents,"
    " cost_of_sales_cents = kf_account_months.cost_of_sales_cents"
    " + excluded.cost_of_sales_cents,"
    " service_cost_cents = kf_account_months.service_cost_cents + excluded.service_cost_cents"
)
# A comma-separated list of ids, each prefixed: ",P-1,P-2" -> ",dup/P-1,dup/P-2".
_PREFIXED_LIST = "CASE WHEN {0} = '' THEN '' ELSE SUBSTR(REPLACE(',' || {0}, ',', ?), 2) END"


@ACCOUNTS.on(Account.AccountMergedInto)
def _merged_account(e: Account.AccountMergedInto, key: str) -> list[Statement]:
    into, prefix = e.target, f"{key}/"
    return [
        (
            "UPDATE kf_accounts SET visits = visits"
            " + COALESCE((SELECT d.visits FROM kf_accounts d WHERE d.key=?), 0),"
            " last_contact_on = (SELECT MAX(b.last_contact_on) FROM kf_accounts b"
            " WHERE b.key IN (?, ?)) WHERE key=?",
            (key, key, into, into),
        ),
        ("DELETE FROM kf_accounts WHERE key=?", (key,)),
        (_MONEY_MOVE, (into, key)),
        ("DELETE FROM kf_account_money WHERE key=?", (key,)),
        (_MONTHS_MOVE, (into, key)),
        ("DELETE FROM kf_account_months WHERE key=?", (key,)),
        (FIRST_PROFIT_OF_KEY, (into,)),
        (
            "INSERT INTO kf_team (key, member, role, since) SELECT ?, member, role, since"
            " FROM kf_team WHERE key=? ON CONFLICT (key, member) DO NOTHING",
            (into, key),
        ),
        ("DELETE FROM kf_team WHERE key=?", (key,)),
        (TEAM_SIZE, (into, into)),
        (
            "UPDATE kf_exceptions SET key=?, exception_id = ? || exception_id WHERE key=?",
            (into, prefix, key),
        ),
        ("DELETE FROM kf_account_profile WHERE key=?", (key,)),
    ]


@PEOPLE.on(Account.AccountMergedInto)
def _merged_people(e: Account.AccountMergedInto, key: str) -> list[Statement]:
    prefix = f"{key}/"
    return [
        (
            "UPDATE kf_contacts SET key=?, contact_id = ? || contact_id,"
            " reports_to = CASE WHEN reports_to IS NULL THEN NULL ELSE ? || reports_to END,"
            f" influenced_by = {_PREFIXED_LIST.format('influenced_by')} WHERE key=?",
            (e.target, prefix, prefix, f",{prefix}", key),
        )
    ]


@VISITS.on(Account.AccountMergedInto)
def _merged_visits(e: Account.AccountMergedInto, key: str) -> list[Statement]:
    prefix = f"{key}/"
    return [
        (
            "UPDATE kf_visits SET key=?, visit_id = ? || visit_id,"
            f" contacts = {_PREFIXED_LIST.format('contacts')} WHERE key=?",
            (e.target, prefix, f",{prefix}", key),
        ),
        (
            "UPDATE kf_issues SET key=?, issue_id = ? || issue_id, visit_id = ? || visit_id"
            " WHERE key=?",
            (e.target, prefix, prefix, key),
        ),
    ]


@COMPLAINTS.on(Account.AccountMergedInto)
def _merged_complaints(e: Account.AccountMergedInto, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_complaints SET key=?, complaint_id = ? || complaint_id WHERE key=?",
            (e.target, f"{key}/", key),
        )
    ]


@LEDGER.on(Account.AccountMergedInto)
def _merged_ledger(e: Account.AccountMergedInto, key: str) -> list[Statement]:
    # Invoice refs never clash: a merge of two accounts that used one is refused (P2).
    return [
        ("UPDATE kf_sales SET key=? WHERE key=?", (e.target, key)),
        ("UPDATE kf_payments SET key=?, merged_from=? WHERE key=?", (e.target, key, key)),
        ("UPDATE kf_service_costs SET key=?, merged_from=? WHERE key=?", (e.target, key, key)),
    ]


@MARKET.on(Account.AccountMergedInto)
def _merged_market(e: Account.AccountMergedInto, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_opportunities SET key=?, opportunity_id = ? || opportunity_id WHERE key=?",
            (e.target, f"{key}/", key),
        ),
        ("UPDATE kf_competitor_notes SET key=?, merged_from=? WHERE key=?", (e.target, key, key)),
        ("UPDATE kf_satisfaction SET key=?, merged_from=? WHERE key=?", (e.target, key, key)),
    ]


def _leaves_reports(view: View) -> None:
    """A closed account leaves every report: its rows in ``view`` are deleted (the
    audit trail and the log keep its history)."""
    tables = tuple(view.tables)

    @view.on(Account.AccountClosed)
    def _closed(e: Account.AccountClosed, key: str) -> list[Statement]:
        return [(f"DELETE FROM {table} WHERE key=?", (key,)) for table in tables]


for _view in (ACCOUNTS, PEOPLE, VISITS, COMPLAINTS, LEDGER, MARKET):
    _leaves_reports(_view)


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


@GOVERNANCE.on(Governance.RateSet)
def _rate(e: Governance.RateSet, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_rates (currency, quote, on_day, rate, source, set_by, set_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (currency, quote, on_day) DO UPDATE SET"
            " rate = excluded.rate, source = excluded.source, set_by = excluded.set_by,"
            " set_at = excluded.set_at",
            (
                e.currency,
                e.quote,
                iso(e.occurred_on),
                str(e.rate),
                e.source,
                e.actor,
                iso(e.timestamp),
            ),
        )
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


# ---------------------------------------------------------------------- tasks
@TASKS.on(Account.TaskAdded)
def _task(e: Account.TaskAdded, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_tasks (key, task_id, title, owner, about, due_on, first_due_on,"
            " moves, status, added_on) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'open', ?)",
            (key, e.task_id, e.title, e.owner, e.about, iso(e.due), iso(e.due), iso(e.occurred_on)),
        )
    ]


@TASKS.on(Account.TaskMoved)
def _task_moved(e: Account.TaskMoved, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_tasks SET due_on=?, moves = moves + 1 WHERE key=? AND task_id=?",
            (iso(e.to_due), key, e.task_id),
        )
    ]


@TASKS.on(Account.TaskDone)
def _task_done(e: Account.TaskDone, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_tasks SET status='done', ended_on=?, note=? WHERE key=? AND task_id=?",
            (iso(e.occurred_on), e.note, key, e.task_id),
        )
    ]


@TASKS.on(Account.TaskCancelled)
def _task_cancelled(e: Account.TaskCancelled, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_tasks SET status='cancelled', ended_on=?, note=? WHERE key=? AND task_id=?",
            (iso(e.occurred_on), e.reason, key, e.task_id),
        )
    ]

"""The read models: plain SQL tables and the events that fill them.

Each view owns some tables and a handler per event type; a handler turns one event into
SQL statements. The same statements fill the stored views (incrementally or from zero)
and the throw-away in-memory views behind `--as-of`, so every path gives the same rows.

Money is stored as integer cents (`*_cents`) so that SQLite sums it exactly; dates are
ISO-8601 text (`YYYY-MM-DD`), record times ISO-8601 with offset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kamflow.projections.db import Statement

Handler = Callable[[Any, str], list[Statement]]


def cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


@dataclass
class View:
    name: str
    description: str
    tables: dict[str, str]  # table name -> CREATE TABLE body (columns)
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Secondary indexes, name -> "table (columns)". Only what no handler needs to find
    # a row: a rebuild from zero drops them and builds them once at the end.
    indexes: dict[str, str] = field(default_factory=dict)
    # Figures computed from several rows rather than from one event: the statement a
    # handler emits for one account -> statements doing it for every account. A handler's
    # statement runs once per batch and account, after the batch's other writes
    # (ViewDB.run); a rebuild from zero skips it and runs the every-account form once
    # at the end, with the indexes.
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                self.handlers[event_type] = handler
            return handler

        return register


# ---------------------------------------------------------------------- accounts
ACCOUNTS = View(
    "accounts",
    "one row per account (profile, tier, lifecycle, stage, program), money per currency"
    " and per business month",
    {
        "kf_accounts": """
            key TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL,
            industry TEXT NOT NULL, owner TEXT NOT NULL, currency TEXT NOT NULL,
            tier TEXT NOT NULL, lifecycle TEXT NOT NULL, stage TEXT NOT NULL,
            program_cycle INTEGER NOT NULL, program_step TEXT NOT NULL,
            plan_published INTEGER NOT NULL, team_size INTEGER NOT NULL,
            opened_on TEXT NOT NULL, opened_at TEXT NOT NULL, last_contact_on TEXT,
            visits INTEGER NOT NULL, lost_on TEXT, lost_cause TEXT,
            post_mortem_on TEXT, lessons TEXT""",
        "kf_account_money": """
            key TEXT NOT NULL, currency TEXT NOT NULL, revenue_cents BIGINT NOT NULL,
            cost_of_sales_cents BIGINT NOT NULL, service_cost_cents BIGINT NOT NULL,
            received_cents BIGINT NOT NULL, first_profit_month TEXT,
            PRIMARY KEY (key, currency)""",
        "kf_account_months": """
            key TEXT NOT NULL, month TEXT NOT NULL, currency TEXT NOT NULL,
            revenue_cents BIGINT NOT NULL, cost_of_sales_cents BIGINT NOT NULL,
            service_cost_cents BIGINT NOT NULL, PRIMARY KEY (key, month, currency)""",
        "kf_team": """
            key TEXT NOT NULL, member TEXT NOT NULL, role TEXT NOT NULL, since TEXT NOT NULL,
            PRIMARY KEY (key, member)""",
        "kf_exceptions": """
            key TEXT NOT NULL, exception_id TEXT NOT NULL, rule TEXT NOT NULL,
            approver TEXT NOT NULL, reason TEXT NOT NULL, invoice TEXT, used_by TEXT,
            granted_on TEXT NOT NULL, PRIMARY KEY (key, exception_id)""",
    },
)


def _set(key: str, **columns: Any) -> list[Statement]:
    names = ", ".join(f"{c}=?" for c in columns)
    return [(f"UPDATE kf_accounts SET {names} WHERE key=?", (*columns.values(), key))]


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


def _money(
    e: Any, key: str, revenue: int = 0, cost: int = 0, service: int = 0, received: int = 0
) -> list[Statement]:
    month = e.occurred_on.isoformat()[:7]
    out: list[Statement] = [(_MONEY_UPSERT, (key, e.currency, revenue, cost, service, received))]
    if revenue or cost or service:
        out.append((_MONTH_UPSERT, (key, month, e.currency, revenue, cost, service)))
        out.append((_FIRST_PROFIT, (key, e.currency, key, e.currency)))
    return out


# The first business month by whose end the account's cumulative real profit (revenue -
# cost of sales - service cost) was above zero: the portfolio's "months to profit".
# Kept here because a payment or cost entered late can move it, and computing it for
# every account at report time took most of the portfolio report's time.
_FIRST_PROFIT = (
    "UPDATE kf_account_money SET first_profit_month = ("
    "SELECT MIN(month) FROM (SELECT month, SUM(revenue_cents - cost_of_sales_cents"
    " - service_cost_cents) OVER (ORDER BY month) AS cumulative"
    " FROM kf_account_months WHERE key = ? AND currency = ?) t"
    " WHERE cumulative > 0) WHERE key = ? AND currency = ?"
)
ACCOUNTS.derived[_FIRST_PROFIT] = (
    "UPDATE kf_account_money SET first_profit_month = NULL",
    # One pass over all months (a correlated sub-select would scan them per account).
    "UPDATE kf_account_money SET first_profit_month = f.first FROM ("
    " SELECT key, currency, MIN(month) AS first FROM ("
    "  SELECT key, currency, month, SUM(revenue_cents - cost_of_sales_cents"
    "  - service_cost_cents) OVER (PARTITION BY key, currency ORDER BY month) AS cumulative"
    "  FROM kf_account_months) t"
    " WHERE cumulative > 0 GROUP BY key, currency) f"
    " WHERE f.key = kf_account_money.key AND f.currency = kf_account_money.currency",
)
# The portfolio sums each account's revenue over the last twelve months.
ACCOUNTS.indexes["kf_account_months_recent"] = (
    "kf_account_months (currency, key, month, revenue_cents)"
)


@ACCOUNTS.on("AccountOpened")
def _opened(e: Any, key: str) -> list[Statement]:
    lifecycle = "prospect" if e.tier == "prospect" else "active"
    return [
        (
            "INSERT INTO kf_accounts (key, account_id, name, industry, owner, currency, tier,"
            " lifecycle, stage, program_cycle, program_step, plan_published, team_size,"
            " opened_on, opened_at, last_contact_on, visits)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pre-kam', 0, 'not-started', 0, 0, ?, ?, NULL, 0)",
            (
                key,
                e.originator_id.hex,
                e.name,
                e.industry,
                e.owner,
                e.currency,
                e.tier,
                lifecycle,
                iso(e.occurred_on),
                iso(e.timestamp),
            ),
        )
    ]


@ACCOUNTS.on("ProfileUpdated")
def _profile(e: Any, key: str) -> list[Statement]:
    changes = dict(e.changes)
    core = {k: changes.pop(k) for k in ("name", "industry", "owner") if k in changes}
    out = _set(key, **core) if core else []
    for name, value in changes.items():
        # One row per field: portable (no dialect-specific JSON functions) and readable.
        out.append(
            (
                "INSERT INTO kf_account_profile (key, field, value) VALUES (?, ?, ?)"
                " ON CONFLICT (key, field) DO UPDATE SET value = excluded.value",
                (key, name, value),
            )
        )
    return out


ACCOUNTS.tables["kf_account_profile"] = """
    key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, field)"""


@ACCOUNTS.on("TierChanged")
def _tier(e: Any, key: str) -> list[Statement]:
    out = _set(key, tier=e.to_tier)
    if e.to_tier != "prospect":
        out.append(
            (
                "UPDATE kf_accounts SET lifecycle='active' WHERE key=? AND lifecycle='prospect'",
                (key,),
            )
        )
    return out


@ACCOUNTS.on("VisitLogged")
def _visit_account(e: Any, key: str) -> list[Statement]:
    on = iso(e.occurred_on)
    return [
        (
            "UPDATE kf_accounts SET visits = visits + 1, last_contact_on = CASE"
            " WHEN last_contact_on IS NULL OR last_contact_on < ? THEN ? ELSE last_contact_on END"
            " WHERE key=?",
            (on, on, key),
        )
    ]


@ACCOUNTS.on("SaleRecorded")
def _sale_account(e: Any, key: str) -> list[Statement]:
    out = _money(e, key, revenue=cents(e.amount) or 0, cost=cents(e.cost) or 0)
    out.append(
        ("UPDATE kf_accounts SET lifecycle='active' WHERE key=? AND lifecycle='prospect'", (key,))
    )
    for exception_id in e.exceptions or ():
        out.append(
            (
                "UPDATE kf_exceptions SET used_by=? WHERE key=? AND exception_id=?",
                (e.invoice, key, exception_id),
            )
        )
    return out


@ACCOUNTS.on("PaymentReceived")
def _payment_account(e: Any, key: str) -> list[Statement]:
    return _money(e, key, received=cents(e.amount) or 0)


@ACCOUNTS.on("ServiceCostRecorded")
def _cost_account(e: Any, key: str) -> list[Statement]:
    return _money(e, key, service=cents(e.amount) or 0)


@ACCOUNTS.on("AccountLost")
def _lost(e: Any, key: str) -> list[Statement]:
    return _set(
        key,
        lifecycle="lost",
        lost_on=iso(e.occurred_on),
        lost_cause=e.cause,
        post_mortem_on=None,
        lessons=None,
    )


@ACCOUNTS.on("PostMortemRecorded")
def _post_mortem(e: Any, key: str) -> list[Statement]:
    return _set(key, lifecycle="reviewed", post_mortem_on=iso(e.occurred_on), lessons=e.lessons)


@ACCOUNTS.on("AccountArchived")
def _archived(e: Any, key: str) -> list[Statement]:
    return _set(key, lifecycle="archived")


@ACCOUNTS.on("AccountReactivated")
def _reactivated(e: Any, key: str) -> list[Statement]:
    return _set(
        key, lifecycle="active", lost_on=None, lost_cause=None, post_mortem_on=None, lessons=None
    )


@ACCOUNTS.on("RelationshipStageChanged")
def _stage(e: Any, key: str) -> list[Statement]:
    return _set(key, stage=e.to_stage)


@ACCOUNTS.on("ProgramStepCompleted")
def _program(e: Any, key: str) -> list[Statement]:
    out = _set(key, program_step=e.step, program_cycle=e.cycle)
    if e.step == "publish-plan":
        out += _set(key, plan_published=1)
    return out


_TEAM_SIZE = (
    "UPDATE kf_accounts SET team_size = (SELECT COUNT(*) FROM kf_team WHERE key=?) WHERE key=?"
)
ACCOUNTS.derived[_TEAM_SIZE] = (
    "UPDATE kf_accounts SET team_size ="
    " (SELECT COUNT(*) FROM kf_team t WHERE t.key = kf_accounts.key)",
)


@ACCOUNTS.on("TeamMemberAssigned")
def _assigned(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_team (key, member, role, since) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key, member) DO UPDATE SET role = excluded.role",
            (key, e.member, e.role, iso(e.occurred_on)),
        ),
        (
            _TEAM_SIZE,
            (key, key),
        ),
    ]


@ACCOUNTS.on("TeamMemberReleased")
def _released(e: Any, key: str) -> list[Statement]:
    return [
        ("DELETE FROM kf_team WHERE key=? AND member=?", (key, e.member)),
        (
            _TEAM_SIZE,
            (key, key),
        ),
    ]


@ACCOUNTS.on("PolicyExceptionGranted")
def _exception(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_exceptions (key, exception_id, rule, approver, reason, invoice,"
            " used_by, granted_on) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            (key, e.exception_id, e.rule, e.approver, e.reason, e.invoice, iso(e.occurred_on)),
        )
    ]


# ---------------------------------------------------------------------- people
PEOPLE = View(
    "people",
    "contacts with buying-centre roles, personality, reporting lines and departures",
    {
        "kf_contacts": """
            key TEXT NOT NULL, contact_id TEXT NOT NULL, name TEXT NOT NULL,
            title TEXT NOT NULL, department TEXT NOT NULL, roles TEXT NOT NULL,
            influence TEXT, attitude TEXT, personality TEXT, reports_to TEXT,
            influenced_by TEXT NOT NULL, current INTEGER NOT NULL, since TEXT NOT NULL,
            left_on TEXT, left_reason TEXT, left_analysis TEXT,
            PRIMARY KEY (key, contact_id)""",
    },
)


@PEOPLE.on("ContactAdded")
def _contact_added(e: Any, key: str) -> list[Statement]:
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


@PEOPLE.on("ContactChanged")
def _contact_changed(e: Any, key: str) -> list[Statement]:
    changes = {
        k: ",".join(v) if isinstance(v, list) else v
        for k, v in e.changes.items()
        if k
        in (
            "title",
            "department",
            "roles",
            "influence",
            "attitude",
            "personality",
            "reports_to",
            "influenced_by",
        )
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


@PEOPLE.on("ContactLeft")
def _contact_left(e: Any, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_contacts SET current=0, left_on=?, left_reason=?, left_analysis=?"
            " WHERE key=? AND contact_id=?",
            (iso(e.occurred_on), e.reason, e.analysis, key, e.contact_id),
        )
    ]


# ---------------------------------------------------------------------- visits
VISITS = View(
    "visits",
    "every visit, and every issue found with its follow-up result (P6)",
    {
        "kf_visits": """
            key TEXT NOT NULL, visit_id TEXT NOT NULL, occurred_on TEXT NOT NULL,
            contacts TEXT NOT NULL, purpose TEXT NOT NULL, objective TEXT NOT NULL,
            result TEXT NOT NULL, actor TEXT NOT NULL, PRIMARY KEY (key, visit_id)""",
        "kf_issues": """
            key TEXT NOT NULL, issue_id TEXT NOT NULL, visit_id TEXT NOT NULL,
            text TEXT NOT NULL, raised_on TEXT NOT NULL, followed_up_on TEXT, result TEXT,
            PRIMARY KEY (key, issue_id)""",
    },
)


@VISITS.on("VisitLogged")
def _visit(e: Any, key: str) -> list[Statement]:
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


@VISITS.on("FollowUpRecorded")
def _follow_up(e: Any, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_issues SET followed_up_on=?, result=? WHERE key=? AND issue_id=?",
            (iso(e.occurred_on), e.result, key, e.issue_id),
        )
    ]


# ---------------------------------------------------------------------- complaints
COMPLAINTS = View(
    "complaints",
    "every complaint, its status and outcome (P7)",
    {
        "kf_complaints": """
            key TEXT NOT NULL, complaint_id TEXT NOT NULL, summary TEXT NOT NULL,
            severity TEXT NOT NULL, status TEXT NOT NULL, raised_on TEXT NOT NULL,
            escalated INTEGER NOT NULL, outcome TEXT, ended_on TEXT, closed_on TEXT,
            PRIMARY KEY (key, complaint_id)""",
    },
)


@COMPLAINTS.on("ComplaintRaised")
def _complaint(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_complaints (key, complaint_id, summary, severity, status, raised_on,"
            " escalated) VALUES (?, ?, ?, ?, 'raised', ?, 0)",
            (key, e.complaint_id, e.summary_text, e.severity, iso(e.occurred_on)),
        )
    ]


def _complaint_status(status: str, extra: str = "") -> Handler:
    def handler(e: Any, key: str) -> list[Statement]:
        params: tuple[Any, ...] = (status,)
        sql = "UPDATE kf_complaints SET status=?"
        if extra == "outcome":
            sql += ", outcome=?, ended_on=?"
            params += (
                getattr(e, "outcome", None) or getattr(e, "justification", None),
                iso(e.occurred_on),
            )
        elif extra == "escalated":
            sql += ", escalated=1"
        elif extra == "closed":
            sql += ", closed_on=?"
            params += (iso(e.occurred_on),)
        return [(sql + " WHERE key=? AND complaint_id=?", (*params, key, e.complaint_id))]

    return handler


COMPLAINTS.handlers.update(
    {
        "ComplaintAcknowledged": _complaint_status("acknowledged"),
        "ComplaintInvestigationStarted": _complaint_status("investigating"),
        "ComplaintEscalated": _complaint_status("escalated", "escalated"),
        "ComplaintResolved": _complaint_status("resolved", "outcome"),
        "ComplaintRejected": _complaint_status("rejected", "outcome"),
        "ComplaintClosed": _complaint_status("closed", "closed"),
    }
)


# ---------------------------------------------------------------------- ledger
LEDGER = View(
    "ledger",
    "sales with what is paid, payments, service costs (P2)",
    {
        "kf_sales": """
            key TEXT NOT NULL, invoice TEXT NOT NULL, product TEXT NOT NULL,
            occurred_on TEXT NOT NULL, currency TEXT NOT NULL, amount_cents BIGINT NOT NULL,
            cost_cents BIGINT NOT NULL, paid_cents BIGINT NOT NULL, discount_pct TEXT,
            PRIMARY KEY (key, invoice)""",
        "kf_payments": """
            key TEXT NOT NULL, invoice TEXT NOT NULL, occurred_on TEXT NOT NULL,
            currency TEXT NOT NULL, amount_cents BIGINT NOT NULL, version INTEGER NOT NULL,
            PRIMARY KEY (key, version)""",
        "kf_service_costs": """
            key TEXT NOT NULL, version INTEGER NOT NULL, occurred_on TEXT NOT NULL,
            currency TEXT NOT NULL, amount_cents BIGINT NOT NULL, category TEXT NOT NULL,
            description TEXT NOT NULL, PRIMARY KEY (key, version)""",
    },
)


@LEDGER.on("SaleRecorded")
def _sale(e: Any, key: str) -> list[Statement]:
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
                cents(e.amount),
                cents(e.cost),
                None if e.discount_pct is None else str(e.discount_pct),
            ),
        )
    ]


@LEDGER.on("PaymentReceived")
def _payment(e: Any, key: str) -> list[Statement]:
    amount = cents(e.amount)
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


@LEDGER.on("ServiceCostRecorded")
def _service_cost(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_service_costs (key, version, occurred_on, currency, amount_cents,"
            " category, description) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                e.originator_version,
                iso(e.occurred_on),
                e.currency,
                cents(e.amount),
                e.category,
                e.description,
            ),
        )
    ]


# ---------------------------------------------------------------------- market
MARKET = View(
    "market",
    "opportunities through the funnel, competitor notes, satisfaction measurements",
    {
        "kf_opportunities": """
            key TEXT NOT NULL, opportunity_id TEXT NOT NULL, title TEXT NOT NULL,
            problem TEXT NOT NULL, stage TEXT NOT NULL, budget_cents BIGINT, currency TEXT NOT NULL,
            decision_maker TEXT NOT NULL, timeline TEXT NOT NULL, procurement TEXT NOT NULL,
            opened_on TEXT NOT NULL, closed_on TEXT, reason TEXT,
            PRIMARY KEY (key, opportunity_id)""",
        "kf_competitor_notes": """
            key TEXT NOT NULL, version INTEGER NOT NULL, competitor TEXT NOT NULL,
            occurred_on TEXT NOT NULL, details TEXT NOT NULL, PRIMARY KEY (key, version)""",
        "kf_satisfaction": """
            key TEXT NOT NULL, version INTEGER NOT NULL, occurred_on TEXT NOT NULL,
            score TEXT NOT NULL, target TEXT NOT NULL, note TEXT NOT NULL,
            PRIMARY KEY (key, version)""",
    },
)


@MARKET.on("OpportunityOpened")
def _opp(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_opportunities (key, opportunity_id, title, problem, stage,"
            " budget_cents, currency, decision_maker, timeline, procurement, opened_on)"
            " VALUES (?, ?, ?, ?, 'lead', ?, ?, ?, ?, ?, ?)",
            (
                key,
                e.opportunity_id,
                e.title,
                e.problem,
                cents(e.budget),
                e.currency,
                e.decision_maker,
                e.timeline,
                e.procurement,
                iso(e.occurred_on),
            ),
        )
    ]


@MARKET.on("OpportunityAdvanced")
def _opp_advanced(e: Any, key: str) -> list[Statement]:
    return [
        (
            "UPDATE kf_opportunities SET stage=? WHERE key=? AND opportunity_id=?",
            (e.to_stage, key, e.opportunity_id),
        )
    ]


@MARKET.on("OpportunityWon", "OpportunityLost")
def _opp_closed(e: Any, key: str) -> list[Statement]:
    won = type(e).__name__ == "OpportunityWon"
    return [
        (
            "UPDATE kf_opportunities SET stage=?, closed_on=?, reason=?"
            " WHERE key=? AND opportunity_id=?",
            (
                "won" if won else "lost",
                iso(e.occurred_on),
                e.note if won else e.reason,
                key,
                e.opportunity_id,
            ),
        )
    ]


@MARKET.on("CompetitorNoted")
def _competitor(e: Any, key: str) -> list[Statement]:
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


@MARKET.on("SatisfactionMeasured")
def _satisfaction(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_satisfaction (key, version, occurred_on, score, target, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, e.originator_version, iso(e.occurred_on), str(e.score), str(e.target), e.note),
        )
    ]


# ---------------------------------------------------------------------- audit
AUDIT = View(
    "audit",
    "every event: position, account, version, type, actor, dates, command id, summary",
    {
        "kf_audit": """
            position BIGINT PRIMARY KEY, key TEXT NOT NULL, version INTEGER NOT NULL,
            type TEXT NOT NULL, actor TEXT NOT NULL, occurred_on TEXT NOT NULL,
            recorded_at TEXT NOT NULL, command_id TEXT NOT NULL, summary TEXT NOT NULL""",
    },
    indexes={"kf_audit_key": "kf_audit (key, version)"},
)


# ---------------------------------------------------------------------- governance
GOVERNANCE = View(
    "governance",
    "policies as set (with who and when) and the roster of roles",
    {
        "kf_policies": """
            policy TEXT PRIMARY KEY, value TEXT NOT NULL, set_by TEXT NOT NULL,
            set_at TEXT NOT NULL, reason TEXT NOT NULL""",
        "kf_roster": """
            person TEXT NOT NULL, role TEXT NOT NULL, since TEXT NOT NULL,
            PRIMARY KEY (person, role)""",
    },
)


@GOVERNANCE.on("PolicySet")
def _policy(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_policies (policy, value, set_by, set_at, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (policy) DO UPDATE SET value = excluded.value,"
            " set_by = excluded.set_by, set_at = excluded.set_at, reason = excluded.reason",
            (e.policy, str(e.value), e.actor, iso(e.timestamp), e.reason),
        )
    ]


@GOVERNANCE.on("SettingSet")
def _setting(e: Any, key: str) -> list[Statement]:
    # Text settings (the team's time zone) share the policies' table, so that a report
    # reads them without the event store (kamflow.projections.reports.base.setting).
    return [
        (
            "INSERT INTO kf_policies (policy, value, set_by, set_at, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (policy) DO UPDATE SET value = excluded.value,"
            " set_by = excluded.set_by, set_at = excluded.set_at, reason = excluded.reason",
            (e.setting, e.value, e.actor, iso(e.timestamp), e.reason),
        )
    ]


@GOVERNANCE.on("RoleGranted")
def _granted(e: Any, key: str) -> list[Statement]:
    return [
        (
            "INSERT INTO kf_roster (person, role, since) VALUES (?, ?, ?)",
            (e.person, e.role, iso(e.occurred_on)),
        )
    ]


@GOVERNANCE.on("RoleRevoked")
def _revoked(e: Any, key: str) -> list[Statement]:
    return [("DELETE FROM kf_roster WHERE person=? AND role=?", (e.person, e.role))]


VIEWS: dict[str, View] = {
    v.name: v for v in (ACCOUNTS, PEOPLE, VISITS, COMPLAINTS, LEDGER, MARKET, AUDIT, GOVERNANCE)
}

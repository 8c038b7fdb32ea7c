"""The read models' definitions: plain SQL tables, and what each view holds.

A view is a name, a description, its tables (and their secondary indexes) and the
figures derived from several of its rows. That is all that creating the tables,
``projections status``, the fingerprint of stored views and the reports need, and it
imports nothing of the domain: a report over caught-up views stays cheap (ADR 0009).

What fills the tables is in ``kamflow.projections.handlers``: one handler per event
class, imported (with the event classes, and eventsourcing) the first time a view is
asked for its ``handlers``, that is when a catch-up has events to apply. The same
statements fill the stored views (incrementally or from zero) and the throw-away
in-memory views behind ``--as-of``, so every path gives the same rows.

Money is stored as integer cents (``*_cents``) so that SQLite sums it exactly; dates
are ISO-8601 text (``YYYY-MM-DD``), record times ISO-8601 with offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, TypeVar

from kamflow.projections.db import Statement

# A handler turns one event (an instance of the class it is registered for) and the
# account key into the statements that write it.
Handler = Callable[[Any, str], list[Statement]]
E = TypeVar("E")

# Bump when a handler changes what it writes: views whose fingerprint differs are
# rebuilt from zero on the next catch-up, so no one reads rows built by older code.
# 2: text a database cannot hold is stored with REPLACEMENT (SQLite views kept NUL).
# 3: change events show what they replaced (old -> new) in the audit trail's summaries,
# recomputed from history for events stored before they carried it (issue 11).
# 4: opportunities keep the date of their last stage step, their expected close date and
# a probability set over the stage's; exchange rates (issue 15, ADR 0021); tier changes,
# exception requesters and governance changes kept for the conduct findings (ADR 0023).
HANDLERS_VERSION = "4"
# The handlers as of that version: a digest of their normalised source (no comments,
# docstrings or layout), of the derived figures, of the workflow rows they read and of
# the code that writes the audit trail's text (each event's summary and changes).
# tests/projections/test_projection_structure.py fails when it differs, so that a changed handler
# cannot ship without a thought for HANDLERS_VERSION. Rows the same on a rebuild
# before and after (a pure refactoring): update this only. Also when only the audit
# row gains a column (its delegate, ADR 0025): the new column changes the audit view's
# fingerprint, which rebuilds that view alone; every other view's rows are the same.
HANDLERS_DIGEST = "862f569e4d061dfc"

HANDLERS_MODULE = "kamflow.projections.handlers"
_handlers_loaded = False


def load_handlers() -> None:
    """Register every view's handlers (idempotent): imports the event classes."""
    global _handlers_loaded
    if not _handlers_loaded:
        import_module(HANDLERS_MODULE)
        _handlers_loaded = True


@dataclass
class View:
    name: str
    description: str
    tables: dict[str, str]  # table name -> CREATE TABLE body (columns)
    # Secondary indexes, name -> "table (columns)". Only what no handler needs to find
    # a row: a rebuild from zero drops them and builds them once at the end.
    indexes: dict[str, str] = field(default_factory=dict)
    # Figures computed from several rows rather than from one event: the statement a
    # handler emits for one account -> statements doing it for every account. A handler's
    # statement runs once per batch and account, after the batch's other writes
    # (ViewDB.run); a rebuild from zero skips it and runs the every-account form once
    # at the end, with the indexes.
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _handlers: dict[type, Handler] = field(default_factory=dict, repr=False)

    @property
    def handlers(self) -> dict[type, Handler]:
        """Event class -> its handler (loaded on first use: ``load_handlers``). The
        event classes without one leave this view as it is."""
        load_handlers()
        return self._handlers

    def on(
        self, *event_types: type[E]
    ) -> Callable[[Callable[[E, str], list[Statement]]], Callable[[E, str], list[Statement]]]:
        """Register a handler for events of these classes. mypy checks the handler's
        first parameter against them: ``@ACCOUNTS.on(Account.SaleRecorded)`` takes a
        handler of ``(e: Account.SaleRecorded, key: str)``. Raises ValueError for a class
        this view handles already."""

        def register(
            handler: Callable[[E, str], list[Statement]],
        ) -> Callable[[E, str], list[Statement]]:
            for event_type in event_types:
                if event_type in self._handlers:
                    raise ValueError(f"view {self.name} handles {event_type.__qualname__} twice")
                self._handlers[event_type] = handler
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
            granted_on TEXT NOT NULL, requested_by TEXT, PRIMARY KEY (key, exception_id)""",
        # Every tier change, with who asked and who approved (NULL: no one), for the
        # conduct findings (kamflow.domain.conduct).
        "kf_tier_changes": """
            key TEXT NOT NULL, version INTEGER NOT NULL, to_tier TEXT NOT NULL,
            actor TEXT NOT NULL, requested_by TEXT NOT NULL, approved_by TEXT,
            occurred_on TEXT NOT NULL, PRIMARY KEY (key, version)""",
        # Profile fields beyond name, industry and owner: one row per field, portable
        # (no dialect-specific JSON functions) and readable.
        "kf_account_profile": """
    key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, field)""",
    },
    # The portfolio sums each account's revenue over the last twelve months.
    indexes={"kf_account_months_recent": "kf_account_months (currency, key, month, revenue_cents)"},
)

# The first business month by whose end the account's cumulative real profit (revenue -
# cost of sales - service cost) was above zero: the portfolio's "months to profit".
# Kept here because a payment or cost entered late can move it, and computing it for
# every account at report time took most of the portfolio report's time.
FIRST_PROFIT = (
    "UPDATE kf_account_money SET first_profit_month = ("
    "SELECT MIN(month) FROM (SELECT month, SUM(revenue_cents - cost_of_sales_cents"
    " - service_cost_cents) OVER (ORDER BY month) AS cumulative"
    " FROM kf_account_months WHERE key = ? AND currency = ?) t"
    " WHERE cumulative > 0) WHERE key = ? AND currency = ?"
)
ACCOUNTS.derived[FIRST_PROFIT] = (
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
# The same for every currency of one account, for a merge, which moves another account's
# months into it: a derived statement, so it runs after every table of its batch is
# written (ViewDB.run), since statements are otherwise ordered by table and
# kf_account_money sorts before kf_account_months (found by the fold property test).
FIRST_PROFIT_OF_KEY = (
    "UPDATE kf_account_money SET first_profit_month = (SELECT MIN(month) FROM ("
    " SELECT month, SUM(revenue_cents - cost_of_sales_cents - service_cost_cents)"
    " OVER (ORDER BY month) AS cumulative FROM kf_account_months m"
    " WHERE m.key = kf_account_money.key AND m.currency = kf_account_money.currency) t"
    " WHERE cumulative > 0) WHERE key=?"
)
ACCOUNTS.derived[FIRST_PROFIT_OF_KEY] = ACCOUNTS.derived[FIRST_PROFIT]
TEAM_SIZE = (
    "UPDATE kf_accounts SET team_size = (SELECT COUNT(*) FROM kf_team WHERE key=?) WHERE key=?"
)
ACCOUNTS.derived[TEAM_SIZE] = (
    "UPDATE kf_accounts SET team_size ="
    " (SELECT COUNT(*) FROM kf_team t WHERE t.key = kf_accounts.key)",
)

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

# ---------------------------------------------------------------------- ledger
# ``merged_from``: the key of the duplicate a row came from when it was merged into this
# account ('' for the account's own rows): versions are positions in each account's
# own stream, so the duplicate's would clash with the target's (ADR 0020).
LEDGER = View(
    "ledger",
    "sales (net of credit notes) with what is paid, payments, service costs (P2)",
    {
        "kf_sales": """
            key TEXT NOT NULL, invoice TEXT NOT NULL, product TEXT NOT NULL,
            occurred_on TEXT NOT NULL, currency TEXT NOT NULL, amount_cents BIGINT NOT NULL,
            cost_cents BIGINT NOT NULL, paid_cents BIGINT NOT NULL, discount_pct TEXT,
            credited_cents BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (key, invoice)""",
        "kf_payments": """
            key TEXT NOT NULL, invoice TEXT NOT NULL, occurred_on TEXT NOT NULL,
            currency TEXT NOT NULL, amount_cents BIGINT NOT NULL, version INTEGER NOT NULL,
            merged_from TEXT NOT NULL DEFAULT '', PRIMARY KEY (key, merged_from, version)""",
        "kf_service_costs": """
            key TEXT NOT NULL, version INTEGER NOT NULL, occurred_on TEXT NOT NULL,
            currency TEXT NOT NULL, amount_cents BIGINT NOT NULL, category TEXT NOT NULL,
            description TEXT NOT NULL, merged_from TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (key, merged_from, version)""",
    },
    # Money over a period, by business date (reports.money): a range of dates in one
    # currency, read from the index alone.
    indexes={
        "kf_sales_days": "kf_sales (currency, occurred_on, key, amount_cents, cost_cents)",
        "kf_service_costs_days": "kf_service_costs (currency, occurred_on, key, amount_cents)",
    },
)

# ---------------------------------------------------------------------- market
MARKET = View(
    "market",
    "opportunities through the funnel (expected close date, probability set, date of the"
    " last stage step), competitor notes, satisfaction measurements",
    {
        "kf_opportunities": """
            key TEXT NOT NULL, opportunity_id TEXT NOT NULL, title TEXT NOT NULL,
            problem TEXT NOT NULL, stage TEXT NOT NULL, budget_cents BIGINT, currency TEXT NOT NULL,
            decision_maker TEXT NOT NULL, timeline TEXT NOT NULL, procurement TEXT NOT NULL,
            opened_on TEXT NOT NULL, closed_on TEXT, reason TEXT,
            stage_since TEXT NOT NULL, close_by TEXT, probability_pct TEXT,
            probability_reason TEXT, PRIMARY KEY (key, opportunity_id)""",
        "kf_competitor_notes": """
            key TEXT NOT NULL, version INTEGER NOT NULL, competitor TEXT NOT NULL,
            occurred_on TEXT NOT NULL, details TEXT NOT NULL,
            merged_from TEXT NOT NULL DEFAULT '', PRIMARY KEY (key, merged_from, version)""",
        "kf_satisfaction": """
            key TEXT NOT NULL, version INTEGER NOT NULL, occurred_on TEXT NOT NULL,
            score TEXT NOT NULL, target TEXT NOT NULL, note TEXT NOT NULL,
            merged_from TEXT NOT NULL DEFAULT '', PRIMARY KEY (key, merged_from, version)""",
    },
)

# ---------------------------------------------------------------------- tasks
# One row per task: its due date now, the first one it had (``first_due_on``; the
# moves between are in the audit trail), its status and when that was reached.
TASKS = View(
    "tasks",
    "tasks with their owner, due date (and the first one), what they are about, status",
    {
        "kf_tasks": """
            key TEXT NOT NULL, task_id TEXT NOT NULL, title TEXT NOT NULL,
            owner TEXT NOT NULL, about TEXT, due_on TEXT NOT NULL,
            first_due_on TEXT NOT NULL, moves INTEGER NOT NULL, status TEXT NOT NULL,
            added_on TEXT NOT NULL, ended_on TEXT, note TEXT,
            PRIMARY KEY (key, task_id)""",
    },
    # The agenda and task list read the open tasks by owner and date.
    indexes={"kf_tasks_due": "kf_tasks (status, due_on)"},
)

# ---------------------------------------------------------------------- audit
# Every event, written by the engine itself (Projector: AUDIT_INSERT), not by handlers.
# ``changes``: what the event replaced, old and new value by field, as JSON text
# (engine.audit_changes); NULL for an event that replaced nothing. ``delegate``: who
# recorded the event for its actor (`--on-behalf-of`, ADR 0025); NULL for the others. A
# column added changes this view's fingerprint, so stored audit views are rebuilt.
AUDIT = View(
    "audit",
    "every event: position, account, version, type, actor, dates, command id, summary,"
    " the values it replaced",
    {
        "kf_audit": """
            position BIGINT PRIMARY KEY, key TEXT NOT NULL, version INTEGER NOT NULL,
            type TEXT NOT NULL, actor TEXT NOT NULL, occurred_on TEXT NOT NULL,
            recorded_at TEXT NOT NULL, command_id TEXT NOT NULL, summary TEXT NOT NULL,
            delegate TEXT, changes TEXT""",
    },
    indexes={"kf_audit_key": "kf_audit (key, version)"},
)

# ---------------------------------------------------------------------- governance
GOVERNANCE = View(
    "governance",
    "policies as set (with who and when), the roster of roles, exchange rates",
    {
        "kf_policies": """
            policy TEXT PRIMARY KEY, value TEXT NOT NULL, set_by TEXT NOT NULL,
            set_at TEXT NOT NULL, reason TEXT NOT NULL""",
        "kf_roster": """
            person TEXT NOT NULL, role TEXT NOT NULL, since TEXT NOT NULL,
            PRIMARY KEY (person, role)""",
        # Exchange rates (ADR 0021): 1 currency = rate quote from the business date
        # on; the latest recorded for a pair and day is the one in force.
        "kf_rates": """
            currency TEXT NOT NULL, quote TEXT NOT NULL, on_day TEXT NOT NULL,
            rate TEXT NOT NULL, source TEXT NOT NULL, set_by TEXT NOT NULL,
            set_at TEXT NOT NULL, PRIMARY KEY (currency, quote, on_day)""",
        # Every change of a policy, a setting or a role, with who made it, in order
        # (version), for the conduct findings (kamflow.domain.conduct).
        "kf_governance_log": """
            version INTEGER PRIMARY KEY, kind TEXT NOT NULL, actor TEXT NOT NULL,
            person TEXT, role TEXT, subject TEXT""",
    },
)

VIEWS: dict[str, View] = {
    v.name: v
    for v in (ACCOUNTS, PEOPLE, VISITS, COMPLAINTS, LEDGER, MARKET, TASKS, AUDIT, GOVERNANCE)
}

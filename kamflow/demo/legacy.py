"""History the commands now refuse, as the demo's year holds it (ADR 0023).

Before roles and four eyes, anyone could grant themselves a role, approve their own
exception, raise a tier with no approver, change a policy, or act under a blank or
two-line name; a store made then (or an import from the old CRM) holds such acts, and
``report principles`` and ``workflow check`` flag them. The demo holds one of each so
that those reports have something to show. The commands refuse all of them now, so
these steps are written below the commands (``Kamflow.record_below_commands``, which
records through the aggregates' own ``record`` and checks nothing): a step whose
command starts with ``legacy`` is one of these, its ``fields`` giving what to record.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kamflow.application import Kamflow
from kamflow.demo.timeline import Step
from kamflow.domain.account import Account
from kamflow.domain.envelope import Meta
from kamflow.domain.governance import Governance

PREFIX = "legacy "


def write(kamflow: Kamflow, step: Step) -> int:
    """Record ``step`` below the commands; the number of events saved."""
    fields = step.resolved()
    kind = step.command.removeprefix(PREFIX)

    def change(aggregate: Any, meta: Meta) -> None:
        if kind == "role grant":
            assert isinstance(aggregate, Governance)
            aggregate.record(
                Governance.RoleGranted,
                meta,
                person=fields["person"],
                role=fields["role"],
                reason=fields["reason"],
            )
        elif kind == "policy set":
            assert isinstance(aggregate, Governance)
            value = aggregate.policy(fields["policy"])  # stated again: no report moves
            aggregate.record(
                Governance.PolicySet,
                meta,
                policy=fields["policy"],
                value=Decimal(value),
                previous=Decimal(value),
                reason=fields["reason"],
            )
        elif kind == "tier set":
            assert isinstance(aggregate, Account)
            aggregate.record(
                Account.TierChanged,
                meta,
                from_tier=aggregate.tier,
                to_tier=fields["tier"],
                reason=fields["reason"],
                approved_by=None,
            )
        elif kind == "exception grant":
            assert isinstance(aggregate, Account)
            aggregate.record(
                Account.PolicyExceptionGranted,
                meta,
                exception_id=aggregate.next_id("E"),
                rule=fields["rule"],
                approver=meta.actor,
                reason=fields["reason"],
                invoice=fields.get("invoice"),
            )
        else:  # pragma: no cover - a planner bug
            raise ValueError(f"no legacy step {step.command!r}")

    key = fields.get("account")
    return kamflow.record_below_commands(
        None if key is None else str(key), step.actor, fields["on"], change
    )

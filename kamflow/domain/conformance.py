"""Checking stored history against the workflows.

Loading an account replays its events without consulting any guard: history is
history. This module replays the same events through the same decision code
(`Account._step`), so an event stream that a machine would not allow, an import or
the trace of an old bug, is reported instead of silently accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kamflow.domain.account import Account
from kamflow.domain.errors import KamflowError
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM
from kamflow.workflows.stage import STAGE

Step = tuple[Workflow, str, str, str, dict[str, Any]]

COMPLAINT_TRIGGERS = {
    "ComplaintAcknowledged": "ack",
    "ComplaintInvestigationStarted": "investigate",
    "ComplaintEscalated": "escalate",
    "ComplaintResolved": "resolve",
    "ComplaintRejected": "reject",
    "ComplaintClosed": "close",
}
LIFECYCLE_TRIGGERS = {
    "AccountLost": "lose",
    "PostMortemRecorded": "review",
    "AccountArchived": "archive",
    "AccountReactivated": "reactivate",
}
OPPORTUNITY_TRIGGERS = {
    "OpportunityAdvanced": "advance",
    "OpportunityWon": "win",
    "OpportunityLost": "lose",
}


def step_of(account: Account, event: Account.Event) -> Step | None:
    """The workflow step an event records, given the account just before it."""
    kind = type(event).__name__
    data = vars(event)
    if kind in COMPLAINT_TRIGGERS:
        cid = data["complaint_id"]
        state = account.complaints.get(cid, {}).get("status", "missing")
        context = {
            "outcome": data.get("outcome"),
            "justification": data.get("justification"),
            "complaint_id": cid,
        }
        return COMPLAINT, state, COMPLAINT_TRIGGERS[kind], f"complaint {cid}", context
    if kind in LIFECYCLE_TRIGGERS:
        return LIFECYCLE, account.lifecycle, LIFECYCLE_TRIGGERS[kind], "account", {}
    if kind in OPPORTUNITY_TRIGGERS:
        oid = data["opportunity_id"]
        state = account.opportunities.get(oid, {}).get("stage", "missing")
        context = {"reason": data.get("reason")}
        return OPPORTUNITY, state, OPPORTUNITY_TRIGGERS[kind], f"opportunity {oid}", context
    if kind == "RelationshipStageChanged":
        to = data["to_stage"]
        trigger = (
            "uncouple"
            if to == "uncoupling"
            else "re-engage"
            if account.stage == "uncoupling"
            else "advance"
        )
        return STAGE, account.stage, trigger, "relationship", {"to": to}
    if kind == "ProgramStepCompleted":
        return PROGRAM, account.program["step"], data["step"], "program", {}
    return None


def check_history(key: str, events: Iterable[Account.Event]) -> list[str]:
    """Every stored step the workflows would refuse, as one line each."""
    problems: list[str] = []
    account: Account | None = None
    for event in events:
        where = f"{key} v{event.originator_version} {type(event).__name__}"
        if account is not None:
            if account.lifecycle == "archived":
                problems.append(f"{where}: recorded after the account was archived")
            step = step_of(account, event)
            if step is not None:
                workflow, state, trigger, subject, context = step
                try:
                    dest = account._step(workflow, state, trigger, subject, **context)
                except KamflowError as exc:
                    problems.append(f"{where}: {exc}")
                else:
                    expected = context.get("to") or vars(event).get("to_stage")
                    if expected and expected != dest:
                        problems.append(
                            f"{where}: {subject} went {state} -> {expected};"
                            f" the workflow leads to {dest}"
                        )
        account = event.mutate(account)
    return problems

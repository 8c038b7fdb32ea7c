"""Checking stored history against the workflows.

Loading an account replays its events without consulting any guard: history is
history. This module replays the same events through the same decision code
(`Account.step`), so an event stream that a machine would not allow, an import or
the trace of an old bug, is reported instead of silently accepted, and so is a fact dated
before what it is about began (Account.began). Which event records which step is read
from the workflow tables (each row names its events).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kamflow.domain.account import Account
from kamflow.domain.errors import KamflowError
from kamflow.workflows.base import Workflow
from kamflow.workflows.complaint import COMPLAINT
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.opportunity import OPPORTUNITY
from kamflow.workflows.program import PROGRAM
from kamflow.workflows.stage import STAGE


@dataclass(frozen=True)
class Subject:
    """Where a workflow's state lives on the account, for one event."""

    state: str
    name: str
    context: dict[str, Any]
    # The state the event says it led to, for events that carry it (to_stage).
    target: str | None = None


def _complaint(account: Account, data: dict[str, Any]) -> Subject:
    cid = data["complaint_id"]
    found = account.complaints.get(cid)
    context = {
        "outcome": data.get("outcome"),
        "justification": data.get("justification"),
        "complaint_id": cid,
        "outcome_recorded": bool(found and found["outcome"]),
    }
    return Subject(found["status"] if found else "missing", f"complaint {cid}", context)


def _opportunity(account: Account, data: dict[str, Any]) -> Subject:
    oid = data["opportunity_id"]
    found = account.opportunities.get(oid)
    state = found["stage"] if found else "missing"
    return Subject(
        state, f"opportunity {oid}", {"reason": data.get("reason")}, data.get("to_stage")
    )


# Each workflow, and where its subject's state is kept on the account.
SUBJECTS: dict[Workflow, Callable[[Account, dict[str, Any]], Subject]] = {
    COMPLAINT: _complaint,
    OPPORTUNITY: _opportunity,
    LIFECYCLE: lambda a, _: Subject(a.lifecycle, "account", {}),
    STAGE: lambda a, d: Subject(a.stage, "relationship", {}, d["to_stage"]),
    PROGRAM: lambda a, d: Subject(a.program["step"], "program", {}, d["step"]),
}


def step_of(account: Account, event: Account.Event) -> tuple[Workflow, Subject, str] | None:
    """The workflow step an event records (workflow, subject, trigger), given the
    account just before it; None for events that record no user step."""
    kind = type(event).__name__
    for workflow, subject_of in SUBJECTS.items():
        rows = [t for t in workflow.recorded_by(kind) if not t.internal]
        if not rows:
            continue
        subject = subject_of(account, vars(event))
        # Several rows record the same event (a stage change, a program step): the
        # one that leads where the event says it went, from where the subject is.
        fits = [t for t in rows if subject.target in (None, t.dest)]
        here = [t for t in fits if subject.state in t.source] or fits or rows
        return workflow, subject, here[0].trigger
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
            began = account.began(type(event).__name__, vars(event))
            if began is not None and event.occurred_on < began[1]:
                problems.append(
                    f"{where}: dated {event.occurred_on}, before {began[0]} on {began[1]}"
                )
            found = step_of(account, event)
            if found is not None:
                workflow, subject, trigger = found
                try:
                    dest = account.step(
                        workflow, subject.state, trigger, subject.name, **subject.context
                    )
                except KamflowError as exc:
                    problems.append(f"{where}: {exc}")
                else:
                    if subject.target and subject.target != dest:
                        problems.append(
                            f"{where}: {subject.name} went {subject.state} -> {subject.target};"
                            f" the workflow leads to {dest}"
                        )
        account = event.mutate(account)
    return problems

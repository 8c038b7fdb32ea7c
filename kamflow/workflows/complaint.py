"""Complaint lifecycle (P7; docs/domain.md, Workflows): every complaint must reach an outcome."""

from kamflow.workflows.base import Transition, Workflow

OPEN = ("raised", "acknowledged", "investigating", "escalated")

COMPLAINT = Workflow(
    name="complaint",
    description="raised -> acknowledged -> investigating -> resolved / rejected -> closed;"
    " escalated from any open state",
    states=(*OPEN, "resolved", "rejected", "closed"),
    initial="raised",
    finals=("closed",),
    transitions=(
        Transition("ack", ("raised",), "acknowledged", events=("ComplaintAcknowledged",)),
        Transition(
            "investigate",
            ("acknowledged", "escalated"),
            "investigating",
            events=("ComplaintInvestigationStarted",),
        ),
        Transition(
            "escalate",
            ("raised", "acknowledged", "investigating"),
            "escalated",
            events=("ComplaintEscalated",),
        ),
        # An outcome may come at any open state: a complaint settled on first contact
        # needs no investigation, and P7 asks for an outcome, not for ceremony.
        Transition("resolve", OPEN, "resolved", ("outcome_given",), events=("ComplaintResolved",)),
        Transition(
            "reject", OPEN, "rejected", ("justification_given",), events=("ComplaintRejected",)
        ),
        Transition(
            "close",
            ("resolved", "rejected"),
            "closed",
            ("has_outcome",),
            events=("ComplaintClosed",),
        ),
    ),
)

"""Complaint lifecycle (design §3, P7): every complaint must reach an outcome."""

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
        Transition("ack", ("raised",), "acknowledged"),
        Transition("investigate", ("acknowledged", "escalated"), "investigating"),
        Transition("escalate", ("raised", "acknowledged", "investigating"), "escalated"),
        # An outcome may come at any open state: a complaint settled on first contact
        # needs no investigation, and P7 asks for an outcome, not for ceremony.
        Transition("resolve", OPEN, "resolved", ("outcome_given",)),
        Transition("reject", OPEN, "rejected", ("justification_given",)),
        Transition("close", ("resolved", "rejected"), "closed", ("has_outcome",)),
    ),
)

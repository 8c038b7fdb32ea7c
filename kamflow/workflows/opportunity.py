"""The sales funnel (销售漏斗, playbook §10)."""

from kamflow.workflows.base import Transition, Workflow

OPEN = ("lead", "qualified", "proposal", "negotiation")

OPPORTUNITY = Workflow(
    name="opportunity",
    description="lead -> qualified -> proposal -> negotiation -> won / lost; lost needs a reason",
    states=(*OPEN, "won", "lost"),
    initial="lead",
    finals=("won", "lost"),
    transitions=(
        Transition("advance", ("lead",), "qualified"),
        Transition("advance", ("qualified",), "proposal"),
        Transition("advance", ("proposal",), "negotiation"),
        Transition("win", ("negotiation",), "won"),
        Transition("lose", OPEN, "lost", ("reason_given",)),
    ),
)

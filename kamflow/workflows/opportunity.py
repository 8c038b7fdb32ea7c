"""The sales funnel (销售漏斗, docs/domain.md, Workflows)."""

from kamflow.workflows.base import Transition, Workflow

OPEN = ("lead", "qualified", "proposal", "negotiation")
ADVANCED = ("OpportunityAdvanced",)  # carries its destination (to_stage)

OPPORTUNITY = Workflow(
    name="opportunity",
    description="lead -> qualified -> proposal -> negotiation -> won / lost; lost needs a reason",
    states=(*OPEN, "won", "lost"),
    initial="lead",
    finals=("won", "lost"),
    transitions=(
        Transition("advance", ("lead",), "qualified", events=ADVANCED),
        Transition("advance", ("qualified",), "proposal", events=ADVANCED),
        Transition("advance", ("proposal",), "negotiation", events=ADVANCED),
        Transition("win", ("negotiation",), "won", events=("OpportunityWon",)),
        Transition("lose", OPEN, "lost", ("reason_given",), events=("OpportunityLost",)),
    ),
)

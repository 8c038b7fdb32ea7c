"""The key-account management program (docs/domain.md): ten steps in order, then a new cycle."""

import itertools

from kamflow.workflows.base import Transition, Workflow

STEPS = (
    "confirm",
    "deploy-team",
    "map-decision-process",
    "research-opportunities",
    "draft-objectives",
    "secure-resources",
    "publish-plan",
    "implement",
    "monitor",
    "measure-results",
)

COMPLETED = ("ProgramStepCompleted",)  # carries the step, which is the trigger

# A step's guard, by step: what the account must show before the step can be completed.
GUARDS = {
    "deploy-team": ("team_assigned",),
    "map-decision-process": ("decider_known",),
    "measure-results": ("results_in_cycle",),
}

PROGRAM = Workflow(
    name="program",
    description="the ten steps of the key-account management program, in order, as a cycle",
    # The state is the last step completed; "not-started" before the first cycle.
    states=("not-started", *STEPS),
    initial="not-started",
    finals=(),
    transitions=(
        Transition("confirm", ("not-started", "measure-results"), "confirm", events=COMPLETED),
        *(
            Transition(step, (previous,), step, GUARDS.get(step, ()), events=COMPLETED)
            for previous, step in itertools.pairwise(STEPS)
        ),
    ),
)

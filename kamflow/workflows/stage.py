"""Relationship development stages (docs/domain.md, Workflows), guarded by breadth of contact."""

from kamflow.workflows.base import Transition, Workflow

LADDER = ("pre-kam", "early", "mid", "partnership", "synergistic")
CHANGED = ("RelationshipStageChanged",)  # carries its destination (to_stage)

STAGE = Workflow(
    name="stage",
    description="pre-kam -> early -> mid -> partnership -> synergistic, one step at a time;"
    " uncoupling from any stage; re-engage from uncoupling to early",
    states=(*LADDER, "uncoupling"),
    initial="pre-kam",
    finals=(),
    transitions=(
        Transition("advance", ("pre-kam",), "early", ("one_current_contact",), events=CHANGED),
        Transition("advance", ("early",), "mid", ("two_departments",), events=CHANGED),
        Transition(
            "advance",
            ("mid",),
            "partnership",
            ("three_departments", "decider_known", "plan_published"),
            events=CHANGED,
        ),
        Transition(
            "advance",
            ("partnership",),
            "synergistic",
            ("four_departments", "two_team_members"),
            events=CHANGED,
        ),
        Transition("uncouple", LADDER, "uncoupling", events=CHANGED),
        Transition("re-engage", ("uncoupling",), "early", events=CHANGED),
    ),
)

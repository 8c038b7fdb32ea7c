"""Relationship development stages (playbook §8), guarded by breadth of contact."""

from kamflow.workflows.base import Transition, Workflow

LADDER = ("pre-kam", "early", "mid", "partnership", "synergistic")

STAGE = Workflow(
    name="stage",
    description="pre-kam -> early -> mid -> partnership -> synergistic, one step at a time;"
    " uncoupling from any stage; re-engage from uncoupling to early",
    states=(*LADDER, "uncoupling"),
    initial="pre-kam",
    finals=(),
    transitions=(
        Transition("advance", ("pre-kam",), "early", ("one_current_contact",)),
        Transition("advance", ("early",), "mid", ("two_departments",)),
        Transition(
            "advance",
            ("mid",),
            "partnership",
            ("three_departments", "decider_known", "plan_published"),
        ),
        Transition(
            "advance", ("partnership",), "synergistic", ("four_departments", "two_team_members")
        ),
        Transition("uncouple", LADDER, "uncoupling"),
        Transition("re-engage", ("uncoupling",), "early"),
    ),
)

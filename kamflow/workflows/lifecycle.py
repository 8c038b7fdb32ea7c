"""Account lifecycle (P8): every lost customer is reviewed before it is archived."""

from kamflow.workflows.base import Transition, Workflow

LIFECYCLE = Workflow(
    name="lifecycle",
    description="prospect -> active -> lost -> reviewed -> archived;"
    " lost/reviewed -> active on reactivation",
    states=("prospect", "active", "lost", "reviewed", "archived"),
    initial="prospect",
    finals=("archived",),
    transitions=(
        # Fired by the account's first sale or its promotion out of the prospect tier.
        Transition("activate", ("prospect",), "active", internal=True),
        Transition("lose", ("prospect", "active"), "lost"),
        Transition("review", ("lost",), "reviewed"),
        Transition(
            "archive", ("lost", "reviewed"), "archived", ("post_mortem", "complaints_have_outcomes")
        ),
        Transition("reactivate", ("lost", "reviewed"), "active"),
    ),
)

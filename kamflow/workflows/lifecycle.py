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
        # Fired by the account's first sale or its promotion out of the prospect tier
        # (an account opened above the prospect tier starts active).
        Transition(
            "activate",
            ("prospect",),
            "active",
            internal=True,
            events=("AccountOpened", "SaleRecorded", "TierChanged"),
        ),
        Transition("lose", ("prospect", "active"), "lost", events=("AccountLost",)),
        Transition("review", ("lost",), "reviewed", events=("PostMortemRecorded",)),
        Transition(
            "archive",
            ("lost", "reviewed"),
            "archived",
            ("post_mortem", "complaints_have_outcomes"),
            events=("AccountArchived",),
        ),
        Transition("reactivate", ("lost", "reviewed"), "active", events=("AccountReactivated",)),
    ),
)

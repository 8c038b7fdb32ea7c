"""Account lifecycle (P8): every lost customer is reviewed before it is archived."""

from kamflow.workflows.base import Transition, Workflow

LIFECYCLE = Workflow(
    name="lifecycle",
    description="prospect -> active -> lost -> reviewed -> archived;"
    " lost/reviewed -> active on reactivation; closed when opened in error; merged",
    states=("prospect", "active", "lost", "reviewed", "archived", "closed", "merged"),
    initial="prospect",
    finals=("archived", "closed", "merged"),
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
        # An account opened in error (ADR 0020): not a lost customer, so no P8 review.
        Transition(
            "close",
            ("prospect", "active", "lost", "reviewed"),
            "closed",
            events=("AccountClosed",),
        ),
        # A duplicate merged into another account: its facts count there from now on.
        Transition(
            "merge",
            ("prospect", "active", "lost", "reviewed"),
            "merged",
            events=("AccountMergedInto",),
        ),
    ),
)

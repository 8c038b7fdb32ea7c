"""The named guards of the workflow tables, as functions over an account's facts.

A workflow row lists its guards by name (``kamflow/workflows/``); the account asks the
machine whether a step may fire, then evaluates these, each mapped to the principle it
enforces (ADR 0007). They read an ``AccountFacts``, not the aggregate itself, so that
anything that knows those facts can ask the same questions: the aggregate does, and so
does the demo planner, which plans a year of work that the rules will accept.

A guard returns None when the step may go ahead, or the message parts of the refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from kamflow.domain.errors import Field, Part, Suggest


class AccountFacts(Protocol):
    """What the guards ask of an account."""

    @property
    def key(self) -> str: ...

    def current_contacts(self) -> int:
        """How many contacts have not left."""
        ...

    def departments(self) -> set[str]:
        """Departments of the current contacts (case-folded)."""
        ...

    def has_current_decider(self) -> bool: ...

    def team_size(self) -> int: ...

    def has_published_plan(self) -> bool: ...

    def cycle_has_results(self) -> bool:
        """A satisfaction measurement or a sale in the current program cycle."""
        ...

    def program_cycle(self) -> int: ...

    def complaints_without_outcome(self) -> list[str]:
        """Ids of complaints with neither a resolution nor a rejection."""
        ...

    def has_post_mortem(self) -> bool: ...


Problem = Sequence[Part] | None
Guard = Callable[[AccountFacts, Mapping[str, Any]], Problem]


def _departments(count: int, what: str) -> Guard:
    def check(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
        have = len(a.departments())
        if have >= count:
            return None
        return (
            f'"{a.key}" has current contacts in {have} department(s); {what} needs {count}:'
            " add contacts in other departments (",
            Suggest("contact add"),
            ")",
        )

    return check


def _given(what: str) -> Guard:
    def check(_: AccountFacts, context: Mapping[str, Any]) -> Problem:
        article = "an" if what[0] in "aeiou" else "a"
        return None if str(context.get(what) or "").strip() else (f"{article} {what} is required",)

    return check


def _decider(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.has_current_decider():
        return None
    return (
        f'no current contact on "{a.key}" has the decider role; add or change one with ',
        Field("roles"),
        " decider",
    )


def _has_outcome(_: AccountFacts, context: Mapping[str, Any]) -> Problem:
    if context.get("outcome_recorded"):
        return None
    return (f"complaint {context['complaint_id']} has no outcome",)


def _team_assigned(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.team_size():
        return None
    return (f'no team member is assigned to "{a.key}"; assign one with ', Suggest("team assign"))


def _results_in_cycle(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.cycle_has_results():
        return None
    return (
        f'no satisfaction measurement or sale on "{a.key}" in program cycle'
        f" {a.program_cycle()}; record one first",
    )


def _one_current_contact(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.current_contacts():
        return None
    return (f'"{a.key}" has no current contact; early KAM needs one',)


def _plan_published(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.has_published_plan():
        return None
    return (f'"{a.key}" has no published account plan; complete the program step publish-plan',)


def _two_team_members(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.team_size() >= 2:
        return None
    return (f'"{a.key}" has {a.team_size()} team member(s); synergistic KAM needs 2',)


def _post_mortem(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    if a.has_post_mortem():
        return None
    return (
        f'account "{a.key}" was lost without a post-mortem; record one with ',
        Suggest("account review", (a.key,), {"cause": None, "lessons": None}),
    )


def _complaints_have_outcomes(a: AccountFacts, _: Mapping[str, Any]) -> Problem:
    missing = a.complaints_without_outcome()
    if not missing:
        return None
    return (f'complaint {missing[0]} on "{a.key}" has no outcome; resolve or reject it first',)


# Guard name (as the workflow tables list it) -> (principle it enforces, check).
GUARDS: dict[str, tuple[str | None, Guard]] = {
    "outcome_given": ("P7", _given("outcome")),
    "justification_given": ("P7", _given("justification")),
    "has_outcome": ("P7", _has_outcome),
    "reason_given": (None, _given("reason")),
    "team_assigned": (None, _team_assigned),
    "decider_known": (None, _decider),
    "results_in_cycle": (None, _results_in_cycle),
    "one_current_contact": (None, _one_current_contact),
    "two_departments": (None, _departments(2, "mid KAM (more than one thread)")),
    "three_departments": (None, _departments(3, "partnership KAM")),
    "four_departments": (None, _departments(4, "synergistic KAM")),
    "plan_published": (None, _plan_published),
    "two_team_members": (None, _two_team_members),
    "post_mortem": ("P8", _post_mortem),
    "complaints_have_outcomes": ("P7", _complaints_have_outcomes),
}


def refusals(
    names: Iterable[str], facts: AccountFacts, context: Mapping[str, Any] | None = None
) -> Iterator[tuple[str | None, Sequence[Part]]]:
    """The refusals of the named guards (a workflow row's), in order, each as the
    principle it enforces (None for a plain conflict) and the message parts. Yields
    nothing when the step may go ahead; stop at the first to ask only "may it?"."""
    for name in names:
        principle, check = GUARDS[name]
        problem = check(facts, context or {})
        if problem:
            yield principle, problem

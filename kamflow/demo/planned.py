"""The planned account, what the domain's guards see of it on a day, and the base the
planner is built on (its state, adding a step, chains of steps)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kamflow.demo.catalogue import Catalogue, Choice, Company, Draw, Industry
from kamflow.demo.timeline import Step, days, first
from kamflow.domain.guards import refusals
from kamflow.domain.values import ATTITUDES, Tier
from kamflow.workflows.base import Workflow


def draw(rng: random.Random, spec: Draw, rank: int) -> int:
    """A number as the catalogue's ``[counts]`` say (exact, a range, a choice, a chance)."""
    if isinstance(spec, int):
        return spec
    if isinstance(spec, tuple):
        return rng.randint(*spec)
    if isinstance(spec, Choice):
        return rng.choice(spec.choice)
    if spec.top is not None and rank == 0:
        return spec.top
    return spec.hit if rng.random() < spec.chance else spec.miss


@dataclass(eq=False)
class Person:
    name: str
    seat: int
    added: date
    attitude: str
    left: date | None = None
    boss: Person | None = None

    def current(self, on: date) -> bool:
        # A person leaving on a day counts as gone all that day (leaves run last).
        return self.added <= on and (self.left is None or on < self.left)


@dataclass(eq=False)
class PlannedAccount:
    company: Company  # for a branch, the catalogue company it belongs to
    key: str
    name: str
    industry: Industry
    rank: int
    owner: str
    tier: Tier  # at the end of the year
    initial_tier: Tier
    revenue: float  # planned annual revenue, in the account's currency
    below_zero: bool
    opened: date
    until: date  # last day of new business: the day before it is lost, or the year's end
    fate: str = ""  # "", "lost", "reviewed" (lost, post-mortem done) or "archived"
    promoted_on: date | None = None
    people: list[Person] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    team: list[date] = field(default_factory=list)  # when each member was assigned
    evidence: list[date] = field(default_factory=list)  # sales and satisfaction measured
    plan_published: date | None = None
    cycle: int = 0  # of the management program
    cycle_confirmed: date | None = None  # when the current cycle began
    complaints: list[date | None] = field(default_factory=list)  # when each got its outcome
    reviewed_on: date | None = None  # the post-mortem

    def on(self, day: date) -> DayFacts:
        return DayFacts(self, day)


@dataclass(frozen=True)
class DayFacts:
    """A planned account as the guards see it on ``day`` (``AccountFacts``).

    Contacts count from the day they are added (people are added before a day's other
    steps) and are gone all the day they leave (leaves run last); a team member, the
    published plan and a post-mortem count from the day after, and results from the day
    after the cycle's confirmation: the planner keeps that margin rather than rely on
    the order of steps within a day.
    """

    account: PlannedAccount
    day: date

    @property
    def key(self) -> str:
        return self.account.key

    def present(self) -> list[Person]:
        return [p for p in self.account.people if p.current(self.day)]

    def decider(self) -> Person | None:
        seats = self.account.industry.seats
        for p in self.present():
            if "decider" in seats[p.seat].roles:
                return p
        return None

    def current_contacts(self) -> int:
        return len(self.present())

    def departments(self) -> set[str]:
        seats = self.account.industry.seats
        return {seats[p.seat].department.casefold() for p in self.present()}

    def has_current_decider(self) -> bool:
        return self.decider() is not None

    def team_size(self) -> int:
        return sum(t < self.day for t in self.account.team)

    def has_published_plan(self) -> bool:
        published = self.account.plan_published
        return published is not None and published < self.day

    def cycle_has_results(self) -> bool:
        confirmed = self.account.cycle_confirmed
        return confirmed is not None and any(
            confirmed < e <= self.day for e in self.account.evidence
        )

    def program_cycle(self) -> int:
        return self.account.cycle

    def complaints_without_outcome(self) -> list[str]:
        # Complaints are raised in planning order, so C-n is the n-th one planned.
        return [
            f"C-{n}"
            for n, ended in enumerate(self.account.complaints, 1)
            if ended is None or ended > self.day
        ]

    def has_post_mortem(self) -> bool:
        reviewed = self.account.reviewed_on
        return reviewed is not None and reviewed < self.day


def first_allowed(
    workflow: Workflow, state: str, trigger: str, a: PlannedAccount, lo: date, hi: date
) -> date | None:
    """The first day in [lo, hi] on which the workflow's guards let ``trigger`` fire from
    ``state`` on the planned account, or None."""
    guards = workflow.guards(state, trigger)
    return first(lo, hi, lambda day: next(refusals(guards, a.on(day)), None) is None)


class PlanBase:
    """The planner's state and how it adds a step; the planning itself is in
    ``people.People`` and ``plan.Planner``."""

    def __init__(self, catalogue: Catalogue, rng: random.Random, start: date, end: date) -> None:
        self.c = catalogue
        self.rng = rng
        self.start = start
        self.end = end
        self.steps: list[Step] = []
        self.discount_exceptions = 0
        self.legacy_raise = False  # the one tier raise made without an approver
        # The weights of the catalogue, in the order of the domain's attitudes.
        weights = catalogue.people.attitudes
        self.attitudes = [(name, weights[name]) for name in ATTITUDES if name in weights]

    def count(self, table: Mapping[Tier, Draw], a: PlannedAccount) -> int:
        """How many of something ``a`` gets this year: every tier's entry is drawn, in
        the table's order (what a seed gives depends on it), and ``a``'s tier's kept."""
        drawn = {tier: draw(self.rng, spec, a.rank) for tier, spec in table.items()}
        return drawn[a.tier]

    def add(
        self,
        account: PlannedAccount | None,
        on: date,
        command: str,
        fields: dict[str, Any],
        *,
        actor: str | None = None,
        order: int = 5,
        source: Step | None = None,
        source_field: str = "",
        source_index: int = 0,
        gives: str = "",
    ) -> Step:
        # Governance commands (account None) concern the whole store, not one account.
        head: dict[str, Any] = {"on": on} if account is None else {"account": account.key, "on": on}
        step = Step(
            on=on,
            order=order,
            seq=len(self.steps),
            command=command,
            actor=actor or (account.owner if account else self.c.staff.director),
            fields=head | fields,
            source=source,
            source_field=source_field,
            source_index=source_index,
            gives=gives,
        )
        self.steps.append(step)
        return step


class Chain:
    """Steps that follow one source step (a complaint, an opportunity), each on or after
    the previous one and within the account's year; ``then`` says whether it fit."""

    def __init__(self, planner: PlanBase, account: PlannedAccount, source: Step, ref: str) -> None:
        self.planner = planner
        self.account = account
        self.source = source
        self.ref = ref
        self.last = source.on

    def then(self, command: str, fields: dict[str, Any], low: int, high: int) -> bool:
        when = self.last + days(self.planner.rng, low, high)
        if when > self.account.until:
            return False
        self.planner.add(
            self.account, when, command, fields, source=self.source, source_field=self.ref
        )
        self.last = when
        return True

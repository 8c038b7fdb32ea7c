"""The demo's catalogue: what `kamflow demo` draws from, as typed records.

The data (companies, industries and their buying centres, people's names, the texts of
visits, complaints, reasons and notes, weights) is in ``catalogue.toml`` beside this
module; here are its records and the checks that tie it to the domain. Every tier,
stage, program step, buying role, level, severity, attitude and roster role the file
names is typed with the domain's own ``Literal`` (so a misspelt one is refused when the
file is read), and a table the planner looks up by such a name must name all of them.

In the file, an industry's buying centre may name a seat shared by every industry
(``[shared.seats]``), a seat's ``boss`` and the industry's ``growth`` name seats by title,
and the shared visits come before each industry's own; ``load`` resolves them into the
records below (seats by index, as the planner uses them).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any, TypeVar, dataclass_transform

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config

from kamflow.domain.commands.governing import Role
from kamflow.domain.commands.relationship import StageName, StepName
from kamflow.domain.errors import InvalidInput
from kamflow.domain.policies import credit_limit, parse_policy_value
from kamflow.domain.values import (
    SEVERITIES,
    TIERS,
    Attitude,
    BuyingRole,
    Level,
    Severity,
    Tier,
)
from kamflow.workflows.program import STEPS
from kamflow.workflows.stage import LADDER

T = TypeVar("T")
Texts = tuple[str, ...]


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """A frozen dataclass that pydantic reads refusing keys it does not declare."""
    return dataclass(frozen=True)(with_config(ConfigDict(extra="forbid"))(cls))


class CatalogueError(ValueError):
    """The catalogue file is malformed or names something the domain does not know."""


# ------------------------------------------------------------------------ companies
@record
class Company:
    key: str
    name: str
    industry: str
    city: str
    currency: str = "CNY"

    @property
    def western(self) -> bool:
        """Its people get English names: it trades in another currency than CNY, or its
        name has no Chinese."""
        return self.currency != "CNY" or not any("\u4e00" <= ch <= "\u9fff" for ch in self.name)


@record
class Branch:
    """A regional subsidiary, for portfolios larger than the list of companies."""

    suffix: str
    name: str


@record
class Portfolio:
    branches: tuple[Branch, ...]
    companies: tuple[Company, ...]


# ------------------------------------------------------------------------ industries
@record
class Seat:
    """A seat in the customer's buying centre (docs/domain.md, The customer file)."""

    title: str
    title_zh: str
    department: str
    roles: tuple[BuyingRole, ...]
    influence: Level
    boss: int | None = None  # index of the seat this one reports to


@record
class Product:
    name: str
    weight: int
    margin: tuple[float, float]  # lowest and highest gross margin, as a fraction


@record
class Visit:
    purpose: str
    objective: str
    results: Texts


@record
class Issue:
    issue: str
    follow_up: str


@record
class ComplaintKind:
    summary: str
    severity: Severity
    outcome: str  # when it is resolved
    rejection: str  # the justification when it is rejected


@record
class Competitor:
    name: str
    products: str
    rep: str
    style: str
    strengths: str
    weaknesses: str


@record
class Opportunity:
    title: str
    problem: str
    procurement: str


@record
class Service:
    category: str
    description: str


@record
class Support:
    member: str
    role: str


@record
class Industry:
    products: tuple[Product, ...]
    seats: tuple[Seat, ...]
    growth: tuple[int, ...]  # seat indexes, in the order the file grows
    support: Support
    sizes: Texts
    strategies: Texts
    offerings: Texts
    fits: Texts
    visits: tuple[Visit, ...]
    issues: tuple[Issue, ...]
    complaints: tuple[ComplaintKind, ...]
    competitors: tuple[Competitor, ...]
    opportunities: tuple[Opportunity, ...]
    service: tuple[Service, ...]


# ------------------------------------------------------------------------ people
@record
class Staff:
    owners: Texts
    director: str
    finance: str
    service_desk: str
    general_manager: str
    auditor: str


@record
class Grant:
    """A role granted on day one; ``post`` names a member of the staff."""

    post: str
    role: Role
    reason: str


@record
class Leaving:
    reason: str
    analysis: str


@record
class People:
    attitudes: dict[Attitude, int]  # weights
    title_promotion: tuple[str, str]
    title_promotion_zh: tuple[str, str]
    leavings: tuple[Leaving, ...]


@record
class Names:
    surnames: Texts
    given: Texts
    surnames_zh: str  # one character each
    given_zh: Texts
    first_en: Texts
    last_en: Texts


# ------------------------------------------------------------------------ counts
@record
class Choice:
    choice: tuple[int, ...]


@record
class Chance:
    chance: float
    hit: int
    miss: int
    top: int | None = None  # for the biggest account, without a draw


# Exact, drawn between two numbers, picked from a list, or a chance.
Draw = int | tuple[int, int] | Choice | Chance


@record
class Counts:
    """How many of each thing an account of each tier gets in the year."""

    contacts: dict[Tier, Draw]
    visits: dict[Tier, Draw]
    complaints: dict[Tier, Draw]
    sales: dict[Tier, Draw]
    service_costs: dict[Tier, Draw]
    satisfaction: dict[Tier, Draw]
    competitors: dict[Tier, Draw]
    opportunities: dict[Tier, Draw]
    stages: dict[Tier, Draw]
    service_share: dict[Tier, tuple[float, float]]


# ------------------------------------------------------------------------ the year's texts
@record
class Money:
    rates: dict[str, float]  # rough CNY value of one unit of each currency
    source: str  # where the demo's recorded exchange rates say they come from
    top_revenue: float
    pareto: float


@record
class Credit:
    limits: dict[Tier, str]  # policy values, as `policy set` takes them
    reason: str
    exception_reasons: Texts


@record
class Sales:
    launch_discount: Decimal
    discount_reason: str


@record
class Promotion:
    from_tier: Tier
    to_tier: Tier
    reason: str


@record
class Tiers:
    demotion: str
    promotions: tuple[Promotion, ...]

    def promotion(self, from_tier: str, to_tier: str) -> str | None:
        """The reason for a promotion between two tiers, or None if there is none."""
        for p in self.promotions:
            if (p.from_tier, p.to_tier) == (from_tier, to_tier):
                return p.reason
        return None


@record
class Profile:
    finance: Texts
    strategy_update: str  # a template with {strategy}


@record
class Complaints:
    resolution_days: dict[Severity, tuple[int, int]]
    investigations: Texts
    escalations: Texts
    confirmations: Texts


@record
class Satisfaction:
    targets: dict[Tier, Decimal]
    notes: Texts


@record
class CompetitorNotes:
    satisfaction: Texts
    relationship: Texts


@record
class Opportunities:
    unknown_decider: str
    timeline: str  # a template with {quarter}
    wins: Texts
    losses: Texts
    # A probability (percent, as typed) and why, set over the stage's policy.
    judgements: tuple[tuple[str, str], ...]


@record
class Tasks:
    """What a key-account manager promises to do, by when (templates with {contact})."""

    titles: Texts
    done: Texts
    moved: Texts


@record
class Relationship:
    uncouple_reason: str
    reasons: dict[StageName, str]


@record
class Program:
    evidence: dict[StepName, str]


@record
class Loss:
    cause: str
    lessons: str


@record
class Losses:
    reviewed: Loss
    archived: Loss
    open_cause: str
    archive_note: str


@record
class Catalogue:
    staff: Staff
    roster: tuple[Grant, ...]
    money: Money
    counts: Counts
    credit: Credit
    sales: Sales
    tiers: Tiers
    profile: Profile
    people: People
    names: Names
    complaints: Complaints
    satisfaction: Satisfaction
    competitors: CompetitorNotes
    opportunities: Opportunities
    tasks: Tasks
    relationship: Relationship
    program: Program
    losses: Losses
    portfolio: Portfolio
    industries: dict[str, Industry]


# ------------------------------------------------------------------------ loading
@cache
def catalogue() -> Catalogue:
    """The catalogue shipped with kamflow (``kamflow/demo/catalogue.toml``), read once."""
    return load((files(__package__) / "catalogue.toml").read_text(encoding="utf-8"))


def load(text: str) -> Catalogue:
    """Read a catalogue from TOML text; raise CatalogueError naming the first problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"demo catalogue: {exc}") from None
    return from_data(raw)


def from_data(raw: dict[str, Any]) -> Catalogue:
    """A catalogue from the parsed TOML (which it changes); CatalogueError names the
    first problem by its place in the file (``credit.limits.stratgic: ...``)."""
    try:
        found = TypeAdapter(Catalogue).validate_python(_resolve(raw))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"] if p != "[key]")
        raise CatalogueError(f"demo catalogue: {where}: {err['msg']}") from None
    _check(found)
    return found


def _resolve(raw: dict[str, Any]) -> dict[str, Any]:
    """The file's shared seats and visits copied into each industry, and seats named by
    title turned into indexes."""
    shared = raw.pop("shared", {})
    seats: dict[str, Any] = shared.get("seats", {})
    visits: list[Any] = shared.get("visits", [])
    for name, industry in raw.get("industries", {}).items():
        where = f"industries.{name}"
        listed: list[dict[str, Any]] = []
        for seat in industry.get("seats", []):
            if isinstance(seat, str) and seat not in seats:
                raise CatalogueError(f"demo catalogue: {where}.seats: no shared seat {seat!r}")
            listed.append(dict(seats[seat] if isinstance(seat, str) else seat))
        titles = [seat.get("title") for seat in listed]
        for seat in listed:
            if "boss" in seat:
                seat["boss"] = _index(titles, seat["boss"], f"{where}.seats (boss)")
        industry["seats"] = listed
        growth = industry.get("growth", [])
        industry["growth"] = [_index(titles, t, f"{where}.growth") for t in growth]
        industry["visits"] = [*visits, *industry.get("visits", [])]
    return raw


def _index(titles: list[Any], title: str, where: str) -> int:
    if title not in titles:
        raise CatalogueError(f"demo catalogue: {where}: no seat titled {title!r}")
    return titles.index(title)


def _check(c: Catalogue) -> None:
    """What the types cannot say: tables complete, and names that point elsewhere."""
    every: list[tuple[str, set[str], tuple[str, ...]]] = [
        ("credit.limits", set(c.credit.limits), TIERS),
        ("satisfaction.targets", set(c.satisfaction.targets), TIERS),
        ("complaints.resolution_days", set(c.complaints.resolution_days), SEVERITIES),
        # Every stage the relationship can advance to: the stage workflow's ladder.
        ("relationship.reasons", set(c.relationship.reasons), LADDER[1:]),
        ("program.evidence", set(c.program.evidence), STEPS),
    ]
    every += [(f"counts.{f.name}", set(getattr(c.counts, f.name)), TIERS) for f in fields(Counts)]
    for where, have, needed in every:
        missing = [name for name in needed if name not in have]
        if missing:
            raise CatalogueError(f"demo catalogue: {where}: missing {', '.join(missing)}")
    for tier, value in c.credit.limits.items():
        try:  # what `policy set` will say of the value, said now
            parse_policy_value(credit_limit(tier), value)
        except InvalidInput as exc:
            raise CatalogueError(f"demo catalogue: credit.limits.{tier}: {exc}") from None
    posts = {f.name for f in fields(Staff)}
    for grant in c.roster:
        if grant.post not in posts:
            raise CatalogueError(
                f"demo catalogue: roster: unknown post {grant.post!r}; one of {sorted(posts)}"
            )
    if not c.people.attitudes:
        raise CatalogueError("demo catalogue: people.attitudes: no weights")
    for company in c.portfolio.companies:
        if company.industry not in c.industries:
            raise CatalogueError(
                f"demo catalogue: company {company.key}: unknown industry {company.industry!r}"
            )
        if company.currency not in c.money.rates:
            raise CatalogueError(
                f"demo catalogue: company {company.key}: no rate for {company.currency}"
            )
    for name, industry in c.industries.items():
        if sorted(industry.growth) != list(range(len(industry.seats))):
            raise CatalogueError(
                f"demo catalogue: industries.{name}.growth: must name every seat once"
            )

"""The shapes of an account's decision state (ADR 0001), for the type checker.

They are ``TypedDict``s: plain dicts at run time, so snapshots keep exactly the bytes
they had (old snapshots still load, ADR 0004) while mypy checks every key the rules
read. Keys marked ``NotRequired`` appear once something happened (a contact left, a
complaint reached an outcome, an opportunity closed).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NotRequired, TypedDict


class ContactState(TypedDict):
    name: str
    title: str
    department: str
    roles: list[str]
    influence: str | None
    attitude: str | None
    personality: str | None
    reports_to: str | None
    influenced_by: list[str]
    current: bool
    since: date
    left_on: NotRequired[date]
    # The personal fields given (values.PERSONAL_FIELDS; decrypted in memory, encrypted
    # in snapshots: ADR 0026) and whether the person was forgotten.
    personal: NotRequired[dict[str, str]]
    forgotten: NotRequired[bool]


class VisitRef(TypedDict):
    id: str
    on: date
    purpose: str


class IssueState(TypedDict):
    text: str
    visit: str
    raised_on: date


class ComplaintState(TypedDict):
    summary: str
    severity: str
    raised_on: date
    status: str
    outcome: str | None
    ended_on: NotRequired[date]


class InvoiceState(TypedDict):
    """An invoice with money still owed; settled ones leave the state (ADR 0001)."""

    currency: str
    amount: Decimal
    paid: Decimal
    # The sale's business date; absent in states made before kamflow kept it.
    on: NotRequired[date]


class Satisfaction(TypedDict):
    score: Decimal
    target: Decimal
    on: date


class OpportunityState(TypedDict):
    title: str
    budget: Decimal | None
    currency: str
    stage: str
    opened_on: date
    closed_on: NotRequired[date]
    reason: NotRequired[str]
    # The expected close date (ADR 0021); absent before one is given.
    close_by: NotRequired[date]
    # A probability set for this opportunity (percent), over its stage's policy.
    probability: NotRequired[Decimal]


class ProgramState(TypedDict):
    cycle: int
    step: str
    # A satisfaction measurement or a sale in this cycle (the measure-results guard).
    evidence: bool
    cycle_started_on: date | None


class ExceptionState(TypedDict):
    rule: str
    approver: str
    reason: str
    invoice: str | None
    used_by: str | None


class RequestState(TypedDict):
    """A request awaiting a second person's approval: an exception (``rule``,
    ``invoice``) or a tier raise (``to_tier``); ``requester`` as recorded."""

    kind: str
    requester: str
    rule: str | None
    to_tier: str | None
    reason: str
    invoice: str | None


class Lost(TypedDict):
    cause: str
    on: date


class PostMortem(TypedDict):
    cause: str
    lessons: str
    on: date


class TaskState(TypedDict):
    """An open task (done and cancelled ones keep only their status: a second ``done``
    or a ``move`` must be refused, nothing more)."""

    status: str
    due: NotRequired[date]
    added_on: NotRequired[date]

"""The demo's timeline: planned steps, business days, and what is settled once the whole
year is sorted (invoice numbers, the credit exceptions sales will need, record times)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from kamflow.domain.governance import empty_governance
from kamflow.domain.policies import credit_after_sale, parse_policy_value

T = TypeVar("T")


@dataclass(eq=False)
class Step:
    """One command the demo will run; some fields are known only once earlier steps ran."""

    on: date
    order: int  # within a day: open the account before adding people, people before visits
    seq: int
    command: str
    actor: str
    fields: dict[str, Any]
    # A follow-up needs its issue's id, a payment its invoice, a resolution its complaint:
    # ids the store hands out when the source step runs, so they are filled in then.
    source: Step | None = None
    source_field: str = ""
    source_index: int = 0
    # The kind of id (in the command's Outcome.ids) that later steps need from this one.
    gives: str = ""
    made: list[str] = field(default_factory=list)

    def resolved(self) -> dict[str, Any]:
        """The command's fields, with the id its source step was given filled in."""
        fields = dict(self.fields)
        if self.source is not None:
            fields[self.source_field] = self.source.made[self.source_index]
        return fields


# ------------------------------------------------------------------------ days
def money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.01):.2f}")


def weighted(rng: random.Random, options: Sequence[tuple[T, int]]) -> T:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def workday(day: date, lo: date, hi: date) -> date:
    """Move a weekend date to a weekday: people visit customers from Monday to Friday."""
    if day.weekday() >= 5:
        monday = day + timedelta(days=7 - day.weekday())
        day = monday if monday <= hi else day - timedelta(days=day.weekday() - 4)
    return min(max(day, lo), hi)


def spread(rng: random.Random, count: int, lo: date, hi: date) -> list[date]:
    """``count`` weekdays spread evenly (with jitter) over [lo, hi]."""
    span = (hi - lo).days
    if count <= 0 or span < 0:
        return []
    slot = (span + 1) / count
    return sorted(
        workday(lo + timedelta(days=int(slot * i + rng.uniform(0, slot))), lo, hi)
        for i in range(count)
    )


def first(lo: date, hi: date, test: Callable[[date], bool]) -> date | None:
    """The first day in [lo, hi] that passes ``test``."""
    day = lo
    while day <= hi:
        if test(day):
            return day
        day += timedelta(days=1)
    return None


def quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


# ------------------------------------------------------------------------ the sorted year
def number_invoices(steps: Sequence[Step]) -> None:
    """Invoice refs in the order sales happen, so that INV numbers rise with time."""
    number = 0
    for step in steps:
        if step.command == "sale record":
            number += 1
            step.made = [f"INV-{step.on.year}-{number:05d}"]
            step.fields["invoice"] = step.made[0]


def cover_credit(
    steps: Sequence[Step], rng: random.Random, approver: str, reasons: Sequence[str]
) -> list[Step]:
    """Insert an approved exception before each sale that would break its credit limit.

    The limit depends on the account's tier on the day and on what it owes then, so this
    replays the timeline's policies, tiers, sales and payments, and asks the domain's
    credit check (``credit_after_sale``) of each sale, as ``sale record`` will.
    """
    governance = empty_governance()  # only read here, for its policy look-up and defaults
    tiers: dict[str, str] = {}
    owed: dict[tuple[str, str], Decimal] = {}
    out: list[Step] = []
    asked: dict[str, str] = {}  # the tier each account's pending raise asks for
    legacy_done = False
    for step in steps:
        key = str(step.fields.get("account", ""))
        if step.command == "policy set" and step.fields["policy"] != "signatures":
            name = str(step.fields["policy"])
            governance.policies[name] = parse_policy_value(name, str(step.fields["value"]))
        elif step.command in ("account open", "tier set", "legacy tier set"):
            tiers[key] = str(step.fields["tier"])
        elif step.command == "tier request":
            asked[key] = str(step.fields["tier"])
        elif step.command == "tier approve":
            tiers[key] = asked.pop(key)
        elif step.command == "payment record" and step.source is not None:
            currency = str(step.source.fields["currency"])
            owed[key, currency] -= step.fields["amount"]
        elif step.command == "sale record":
            currency = str(step.fields["currency"])
            now_owed = owed.get((key, currency), Decimal(0))
            credit = credit_after_sale(
                now_owed, step.fields["amount"], tiers[key], governance.policy
            )
            if credit.exceeded:
                exception = {
                    "account": key,
                    "on": step.on,
                    "rule": "credit-limit",
                    "reason": rng.choice(reasons),
                }
                if not legacy_done:
                    # One exception as an older kamflow let it be made: granted by the
                    # owner alone, self-approved (kamflow/demo/legacy.py).
                    legacy_done = True
                    out.append(
                        Step(
                            step.on,
                            step.order,
                            step.seq,
                            "legacy exception grant",
                            step.actor,
                            exception,
                            source=step,
                            source_field="invoice",
                        )
                    )
                    owed[key, currency] = credit.owed
                    out.append(step)
                    continue
                # Four eyes: the sale's owner asks, the approver approves.
                request = Step(
                    step.on,
                    step.order,
                    step.seq,
                    "exception request",
                    step.actor,
                    exception,
                    source=step,
                    source_field="invoice",
                    gives="exception",
                )
                approval = Step(
                    step.on,
                    step.order,
                    step.seq,
                    "exception approve",
                    approver,
                    {"account": key, "on": step.on},
                    source=request,
                    source_field="exception",
                )
                out.extend((request, approval))
            owed[key, currency] = credit.owed
        out.append(step)
    return out


def record_times(steps: Sequence[Step], rng: random.Random, zone: tzinfo) -> list[datetime]:
    """A record time for each step, in UTC: during its business day in ``zone``, strictly
    increasing.

    Steps are spread over the nine hours from 09:00 in ``zone`` of their business date
    (01:00-10:00 UTC in China), each in its own slot, so times never repeat and never go
    back even on a busy day, and each falls on its own business day.
    """
    times: list[datetime] = []
    window = 9 * 3600.0
    i = 0
    while i < len(steps):
        day = steps[i].on
        j = i
        while j < len(steps) and steps[j].on == day:
            j += 1
        opening = datetime.combine(day, time(9, 0), tzinfo=zone).astimezone(UTC)
        slot = window / (j - i)
        for n in range(j - i):
            offset = slot * n + rng.uniform(0, 0.8 * slot)
            if slot >= 5:
                offset = float(int(offset))  # whole seconds, as a person would type
            times.append(opening + timedelta(seconds=offset))
        i = j
    return times

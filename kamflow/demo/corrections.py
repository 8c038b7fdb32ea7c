"""The demo's corrections (ADR 0020): a few mistakes a real year has, and how they were
put right, so that history, `report audit --type corrections` and the reports have
something to show.

After the year is laid, on its last business day, on the biggest account:
- a visit of that day sent twice (forced with ``again``) and the duplicate voided;
- a credit note for part of an invoice still owed (goods returned);
- a second key for the same customer (an import), with a contact, a visit and a cost,
  merged into it.
Every step goes through the same commands a user types.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from kamflow.application import Kamflow
from kamflow.demo.timeline import Step
from kamflow.domain.commands import COMMANDS, build

# The most clock reads the corrections make (a merge reads it once per account).
CLOCK_READS = 64


def duplicate_key(key: str) -> str:
    """The key an import gave the same customer a second time."""
    return f"{key}-import"


def correct(
    kamflow: Kamflow, steps: Sequence[Step], last_at: datetime, key: str, on: date
) -> tuple[int, dict[str, Decimal]]:
    """Record the corrections on account ``key`` on business date ``on``, stamped after
    ``last_at`` and before 18:00 of that day in the business zone (office hours, as the
    rest of the demo); the number of events written and the revenue credited, by
    currency."""
    before = kamflow.event_count()
    credited: dict[str, Decimal] = {}
    closing = datetime.combine(on, time(18, 0), tzinfo=kamflow.zone).astimezone(UTC)
    step = max(closing - last_at, timedelta(0)) / (CLOCK_READS + 1)
    reads = [0]

    def clock() -> datetime:
        reads[0] += 1
        return last_at + step * min(reads[0], CLOCK_READS)

    def execute(command: str, fields: dict[str, Any], *, again: bool = False) -> Any:
        return kamflow.execute(
            build(COMMANDS[command], {"on": on, **fields}), actor=actor, again=again
        )

    account = kamflow.load(key)
    actor = account.profile["owner"]
    with kamflow.using_clock(clock):
        visits = [s for s in steps if s.command == "visit log" and s.fields["account"] == key]
        here = [cid for cid, c in account.contacts.items() if c["current"]]
        if visits and here:
            # A visit of the day, then the same sent again (forced past the repeat check)
            # and voided.
            sent = {**visits[-1].resolved(), "on": on, "with": here[:1], "issues": []}
            execute("visit log", sent)
            repeat = execute("visit log", sent, again=True)
            execute(
                "visit void",
                {
                    "account": key,
                    "ref": repeat.ids["visit"],
                    "reason": "entered twice: sent again from shell history",
                },
            )
        owed = sorted(account.invoices)
        if owed:
            sale = account.invoices[owed[0]]
            left = Decimal(sale["amount"]) - Decimal(sale["paid"])
            credited[sale["currency"]] = (left / 10).quantize(Decimal("0.01"))
            execute(
                "sale credit",
                {
                    "account": key,
                    "invoice": owed[0],
                    "amount": (left / 10).quantize(Decimal("0.01")),
                    "reason": "2 t returned, damaged in transit",
                },
            )
        dup = duplicate_key(key)
        profile = account.profile
        execute(
            "account open",
            {
                "account": dup,
                "name": profile["name"],
                "industry": profile["industry"],
                "owner": actor,
                "currency": account.currency,
            },
        )
        execute(
            "contact add",
            {"account": dup, "contact": "Gao Jun", "title": "储运主管 Logistics Lead",
             "department": "logistics"},
        )  # fmt: skip
        execute(
            "visit log",
            {"account": dup, "with": ["P-1"], "purpose": "delivery schedule",
             "objective": "agree the Q1 call-off plan", "result": "weekly call-offs agreed"},
        )  # fmt: skip
        execute(
            "cost record",
            {"account": dup, "amount": Decimal("1800.00"), "category": "logistics",
             "description": "express delivery of samples"},
        )  # fmt: skip
        execute(
            "account merge",
            {"account": dup, "into": key, "reason": "one customer, imported twice"},
        )
    # A merge writes on both accounts: count what the store holds.
    return kamflow.event_count() - before, credited

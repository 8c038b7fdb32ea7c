"""Running the plan: every step through the same validated commands a user types."""

from __future__ import annotations

import os
import random
import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kamflow.application import DEFAULT_DB, Kamflow, describe_locator
from kamflow.demo import legacy
from kamflow.demo.catalogue import catalogue
from kamflow.demo.corrections import correct
from kamflow.demo.plan import Planner
from kamflow.demo.timeline import cover_credit, number_invoices, record_times
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.errors import Conflict, InvalidInput, KamflowError
from kamflow.domain.values import TIERS
from kamflow.identity import demo_key

MAX_ACCOUNTS = 10_000
PROGRESS_EVERY = 100


@dataclass(frozen=True)
class DemoSummary:
    """What `kamflow demo` built, for its closing message and for tests."""

    accounts: int
    events: int
    contacts: int
    visits: int
    follow_ups: int
    complaints_raised: int
    complaints_with_outcome: int
    complaints_open: int
    sales: int
    revenue: dict[str, Decimal]
    first_on: date
    last_on: date
    by_tier: dict[str, int]
    top_account: str  # the biggest account by revenue, a good first `account show`
    seed: int


def build_demo(
    kamflow: Kamflow,
    *,
    accounts: int = 60,
    seed: int = 7,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Build a sample portfolio covering the year up to ``today`` into an empty store.

    The same ``accounts``, ``seed``, ``today`` and business time zone always give the
    same events (in Asia/Shanghai, and in any zone for all but record times). Business
    dates run from 365 days before ``today`` (default: the business date now) to the day
    before it, so that the demo never stamps a record time later than the real clock and
    today is left to the user.
    ``progress``, if given, is called with the running number of events written (every
    few dozen commands and once at the end); ``on_step``, if given, after every command
    with the number of commands done and planned (for a progress bar). Record time
    comes from a clock the demo puts on ``kamflow`` for the length of the build
    (``Kamflow.using_clock``).

    Refuses (Conflict) a store that already holds events: a demo mixed into real data
    would corrupt every report.
    """
    if not 1 <= accounts <= MAX_ACCOUNTS:
        raise InvalidInput(f"--accounts must be between 1 and {MAX_ACCOUNTS} (got {accounts})")
    held = kamflow.event_count()
    if held:
        raise Conflict(
            f'database "{describe_locator(kamflow.locator)}" already holds {held:,} events;'
            " the demo needs a fresh one (use --db new.db)"
        )
    c = catalogue()
    end = (today or kamflow.today()) - timedelta(days=1)
    start = end - timedelta(days=364)
    rng = random.Random(seed)
    planner = Planner(c, rng, start, end)
    planned = planner.plan(accounts)
    # Chronological order: record time then follows business time across the whole log.
    steps = sorted(planner.steps, key=lambda s: (s.on, s.order, s.seq))
    number_invoices(steps)
    steps = cover_credit(steps, rng, c.staff.director, c.credit.exception_reasons)
    times = record_times(steps, rng, kamflow.zone)

    done: Counter[str] = Counter()
    revenue: dict[str, Decimal] = {}
    by_account: dict[str, float] = {}
    written = 0
    clock_now = [times[0]]
    # Each person signs their writes with their demo key (ADR 0025); the blank and
    # two-line names of the legacy import have none (they are written unsigned).
    kamflow.use_keys(demo_key(s.actor) for s in steps if s.actor.strip() and "\n" not in s.actor)
    with kamflow.using_clock(lambda: clock_now[0]):
        for index, (step, at) in enumerate(zip(steps, times, strict=True)):
            clock_now[0] = at
            fields = step.resolved()
            if step.command.startswith(legacy.PREFIX):
                written += legacy.write(kamflow, step)
                continue
            try:
                outcome = kamflow.execute(build(COMMANDS[step.command], fields), actor=step.actor)
            except KamflowError as exc:
                # A refusal here is a bug in the planner (or a new rule it does not know).
                exc.add_note(f"demo step {index + 1}: {step.command} {fields}")
                raise
            if step.gives:
                # Ids are the aggregate's to give; later steps (follow-ups, the steps of a
                # complaint or an opportunity) name the ones this step was given.
                given = outcome.ids[step.gives]
                step.made.extend([given] if isinstance(given, str) else given)
            if step.command == "sale record":
                key, currency = str(fields["account"]), str(fields["currency"])
                amount: Decimal = fields["amount"]
                revenue[currency] = revenue.get(currency, Decimal(0)) + amount
                rate = c.money.rates[currency]
                by_account[key] = by_account.get(key, 0.0) + float(amount) * rate
            done[step.command] += 1
            written += len(outcome.events)
            if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
                progress(written)
            if on_step is not None:
                on_step(index + 1, len(steps))
    top = max(by_account, key=lambda k: by_account[k]) if by_account else planned[0].key
    # A year has mistakes: a few, put right as a user would (ADR 0020).
    corrected, credited = correct(kamflow, steps, times[-1], top, steps[-1].on)
    written += corrected
    for currency, amount in credited.items():  # revenue is net of credit notes
        revenue[currency] -= amount
    if progress is not None:
        progress(written)

    tiers: Counter[str] = Counter(a.tier for a in planned)
    outcomes = done["complaint resolve"] + done["complaint reject"]
    return DemoSummary(
        accounts=len(planned),
        events=kamflow.event_count(),
        contacts=done["contact add"],
        visits=done["visit log"],
        follow_ups=done["visit follow-up"],
        complaints_raised=done["complaint raise"],
        complaints_with_outcome=outcomes,
        complaints_open=done["complaint raise"] - outcomes,
        sales=done["sale record"],
        revenue=dict(sorted(revenue.items())),
        first_on=steps[0].on,
        last_on=steps[-1].on,
        # Biggest tier first.
        by_tier={t: tiers[t] for t in reversed(TIERS) if tiers[t]},
        top_account=top,
        seed=seed,
    )


def render_summary(summary: DemoSummary, locator: str) -> str:
    """A few lines for people: what was built and what to try next."""
    if "://" in locator:
        where, cli = describe_locator(locator), "kamflow"
    elif locator == DEFAULT_DB or os.environ.get("KAMFLOW_DB") == locator:
        where, cli = locator, "kamflow"
    else:
        where, cli = locator, f"kamflow --db {shlex.quote(locator)}"
    tiers = ", ".join(f"{n} {tier}" for tier, n in summary.by_tier.items())
    revenue = "; ".join(f"{amount:,.2f} {cur}" for cur, amount in summary.revenue.items())
    lines = [
        f"Demo portfolio written to {where} (seed {summary.seed}): {summary.accounts} accounts,"
        f" {summary.events:,} events, {summary.first_on} .. {summary.last_on}.",
        f"  tiers       {tiers}",
        f"  people      {summary.contacts} contacts; {summary.visits} visits,"
        f" {summary.follow_ups} follow-ups",
        f"  complaints  {summary.complaints_raised} raised: {summary.complaints_with_outcome}"
        f" with an outcome, {summary.complaints_open} still open",
        f"  sales       {summary.sales} invoices: {revenue or 'none'}",
        "Try:",
        f"  {cli} account list",
        f"  {cli} account show {summary.top_account}",
        f"  {cli} report portfolio",
    ]
    if "://" in locator:
        lines.append("  (with KAMFLOW_DB or --db naming the same database)")
    return "\n".join(lines)

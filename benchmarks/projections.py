"""kamflow read-model (projections) benchmarks, each measured in the same run as its baseline.

Usage (from the repository root, with the interpreter kamflow is installed in):

    python benchmarks/projections.py             # full run: 1M events, 10,000 accounts
    python benchmarks/projections.py --quick     # smoke run, about a minute; NOT the targets
    python benchmarks/projections.py --events N  # another store size (memory: N/4 and N)
    python benchmarks/projections.py --batch N   # another catch-up batch (default: the CLI's)
    python benchmarks/projections.py --profile   # also cProfile the rebuild and the baseline
    python benchmarks/projections.py --compare-rowid  # also the rebuild as before ADR 0028

Targets:
  1. rebuild every view from the whole log (`Projector.rebuild(StoreSource)`: filled
     aside and swapped in, as `kamflow projections rebuild` does) at >= 50,000 events/s,
     and at >= 0.5x the rate of a baseline that only reads and decodes every stored
     event (select_notifications in batches + mapper.to_domain_event, nothing else);
  2. peak RSS of that rebuild <= 256 MB, at two store sizes, not growing with the events;
  3. `kamflow report portfolio --json` on caught-up views of every account, as a whole
     process, within 3x the wall time of `kamflow --help` (medians, interleaved runs);
  4. `kamflow audit verify` (kamflow.verify.verify: the seal chain, the snapshots against
     replays, the integrity check) at >= 0.5x the read+decode baseline's rate, its peak
     RSS not growing with the log (ADR 0017).

  3b. `kamflow report scorecard --month M --json` (M: last month) within 3x the wall
     time of `report portfolio --json` on the same store (issue 15).

  3c. `kamflow agenda --json` (everyone's week: tasks, follow-ups, SLAs, cadence) within
     3x the wall time of `report portfolio --json` on the same store (issue 15).

    python benchmarks/projections.py --reports-only   # targets 3, 3b, 3c alone (big store)

Stores are generated in bulk through the Account aggregate's own command methods (the same
rules and events as the CLI) and saved 500 events per `app.save`, then cached under
benchmarks/results/ keyed by STORE_VERSION, kamflow and eventsourcing versions and size.
Writes benchmarks/results/projections-<time>[-quick].json (and projections-latest[-quick]
.json) and prints a table of figures, ratios and PASS/FAIL. Standard library plus kamflow.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import pstats
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import (
    HERE,
    PYTHON,
    RESULTS,
    Row,
    child_env,
    clear_report_cache,
    environment,
    import_times,
    kamflow_script,
    log,
    median,
    ms,
    remove_db,
    render_rows,
)

if TYPE_CHECKING:
    from kamflow.domain.account import Account

ROOT = HERE.parent

# Bump when the generated store changes shape, so cached stores are built again.
# p3: compact invoice refs and command log in the state; p4: accounts opened
# OPENED_BEFORE days before their first fact (the date-order rule).
# p5: tasks; p6: both. p7: each snapshot a deep copy (a shallow one, encoded at the
# next flush, held later values: most snapshots did not match their events).
# p8: snapshots pruned as Kamflow.execute prunes them (ADR 0024).
STORE_VERSION = "p8"
OPENED_BEFORE = 30  # days
MB = 1024 * 1024

Json = dict[str, Any]

# Targets.
# Issue 16 dropped the absolute rate (it does not hold on shared machines): shown as info.
REBUILD_MIN_RATIO = 0.45  # x the read+decode baseline's rate
REBUILD_MAX_PEAK_MB = 256.0
PEAK_MAX_GROWTH_MB = 16.0  # big store's peak minus the small one's: "independent of events"
REPORT_MAX_RATIO = 3.5  # x `kamflow --help`, on cfg.accounts (10,000) accounts
REPORT_SMALL_MAX_RATIO = 2.0  # x `kamflow --help`, on cfg.portfolio_accounts (2,000)
VERIFY_MIN_RATIO = 0.5  # `audit verify` (ADR 0017), x the read+decode baseline's rate
SCORECARD_MAX_RATIO = 3.0  # x `kamflow report portfolio --json`
AGENDA_MAX_RATIO = 3.0  # x `kamflow report portfolio --json`, same store, same run


# ------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class Config:
    quick: bool
    events: int  # the big store: targets 1 and 3, and the second size of target 2
    small_events: int  # first size of target 2 (same number of accounts)
    accounts: int
    batch: int  # catch-up batch; `kamflow projections rebuild` uses 5000
    rebuild_reps: int  # timed baseline/rebuild pairs on the big store (best of)
    report_reps: int  # timed runs of the report and of --help (after 2 warm-ups)
    importtime_reps: int
    cli_rebuild: bool  # also time the real `kamflow projections rebuild` process
    portfolio_accounts: int  # the second portfolio store: accounts ...
    portfolio_events: int  # ... and events
    # Also time the rebuild with the view tables keyed by rowid, as before ADR 0028
    # (--compare-rowid), alternating with the others.
    compare_rowid: bool = False


FULL = Config(
    quick=False,
    events=1_000_000,
    small_events=250_000,
    accounts=10_000,
    batch=5000,
    rebuild_reps=2,
    report_reps=11,
    importtime_reps=3,
    cli_rebuild=True,
    portfolio_accounts=2_000,
    portfolio_events=200_000,
)
QUICK = Config(
    quick=True,
    events=100_000,
    small_events=25_000,
    accounts=1_000,
    batch=5000,
    rebuild_reps=1,
    report_reps=5,
    importtime_reps=1,
    cli_rebuild=False,
    portfolio_accounts=200,
    portfolio_events=20_000,
)


@dataclass
class Report:
    config: Config
    rows: list[Row] = field(default_factory=list)
    details: Json = field(default_factory=dict)


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f} ev/s"


def mb(kb: int) -> str:
    return f"{kb / 1024:.1f} MB"


@dataclass(frozen=True)
class Child:
    """One finished child process: its output and wall time."""

    stdout: str
    stderr: str
    seconds: float


def run_child(argv: list[str]) -> Child:
    """Run a process to its end, failing loudly on a bad run.

    Peak memory is read by the child itself (VmHWM in /proc/self/status, see PEAK_RSS),
    not from getrusage: a child's ru_maxrss (wait4, RUSAGE_CHILDREN) starts from the RSS
    of the parent it was forked from, which is this process after building a store
    (hundreds of MB), so it would hide the child's own peak."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=child_env(), check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark process failed ({proc.returncode}): {' '.join(argv[:4])} ...\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-3000:]}"
        )
    return Child(proc.stdout, proc.stderr, seconds)


def sql_scalar(path: Path, statement: str) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(statement).fetchone()[0]
    finally:
        conn.close()


def count_events(path: Path) -> int:
    return int(sql_scalar(path, "SELECT COUNT(*) FROM stored_events"))


# ------------------------------------------------------------------ store generation
PEOPLE = (
    ("Wang Fang", "Purchasing Manager", "procurement", "buyer"),
    ("Li Na", "Technical Director", "technical", "user"),
    ("Zhang Wei", "General Manager", "management", "decider"),
    ("Chen Jie", "Quality Manager", "quality", "influencer"),
    ("Liu Yang", "Finance Director", "finance", "approver"),
)
OWNERS = ("li.wei", "zhao.min", "sun.hao", "zhou.lan", "wu.gang")
INDUSTRIES = ("feed", "aquafeed", "petfood", "premix", "integrator")
PRODUCTS = ("phytase", "xylanase", "protease", "premix", "amino acids", "probiotics")
COST_CATEGORIES = ("logistics", "technical service", "entertainment", "samples", "travel")
COMPETITORS = ("DSM", "Novozymes", "BASF", "Adisseo", "AB Vista")
SEVERITIES = ("low", "medium", "high", "critical")
PURPOSES = ("quarterly review", "trial follow-up", "price talk", "technical seminar")
TEAM = ("zhou.lan", "wu.gang", "he.ping", "ma.li")
TEAM_ROLES = ("sales", "technical service", "logistics")
CENT = Decimal("0.01")

# Relative frequency of each kind of fact once an account is open; kinds that need
# something to act on (an open issue, an unpaid invoice, a complaint) fall back to a
# visit without it. Roughly the mix of benchmarks/run.py plus the rarer commands.
MIX: dict[str, int] = {
    "visit": 25,
    "follow-up": 15,
    "cost": 15,
    "sale": 13,
    "payment": 12,
    "complaint raise": 3,
    "complaint ack": 2,
    "complaint outcome": 3,
    "complaint close": 2,
    "satisfaction": 5,
    "competitor": 3,
    "opp open": 2,
    "opp move": 2,
    "contact add": 1,
    "contact change": 1,
    "update": 1,
    "tier": 1,
    "stage": 1,
    "team": 1,
    "exception": 1,
    "task": 3,
}
KINDS = list(MIX)
WEIGHTS = list(MIX.values())


class AccountState:
    """One account's aggregate plus the little bookkeeping that keeps its commands valid."""

    def __init__(self, account: Account, size: int, contacts: list[str]) -> None:
        self.account = account
        self.size = size  # typical sale, in whole currency units
        self.contacts = contacts  # contact ids, e.g. P-1
        self.unpaid: dict[str, Decimal] = {}  # invoice -> still owed
        self.invoices = 0
        self.new_complaints: list[str] = []  # raised, not acknowledged
        self.open_complaints: list[str] = []  # no outcome yet
        self.decided: list[str] = []  # resolved or rejected, not closed
        self.opportunities: list[str] = []  # open ones


def decide(command: str, account: Any, meta: Any, **fields: Any) -> str:
    """Decide a command on an account in memory, as the application would, without
    validating its fields (the generator's values are valid by construction)."""
    from kamflow.domain.commands import COMMANDS

    cls = COMMANDS[command]
    _, reference = cls.model_construct(account=account.key, **fields).decide(account, meta)
    return str(reference)


class StoreBuilder:
    """A realistic store written fast: events come from the Account aggregate's command
    methods (the rules and events of the CLI) and are saved in chunks of many events
    across many accounts, with a snapshot every 20 versions as Kamflow.execute takes, pruned
    as it prunes them."""

    CHUNK = 500
    SNAPSHOT_INTERVAL = 20

    def __init__(self, path: Path, events: int, accounts: int, seed: int = 20261127) -> None:
        self.path = path
        self.events = events
        self.accounts = accounts
        self.rng = random.Random(seed)
        self.states: list[AccountState] = []
        self.pending: list[Any] = []
        self.snapshots: list[Any] = []
        self.written = 0
        self.kinds: dict[str, int] = {}
        self.gov: Any = None  # the Governance aggregate, for rules that read the roster
        end = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
        self.start = end - timedelta(days=730)
        self.step = (end - self.start - timedelta(days=1)) / events

    # -------------------------------------------------------------- plumbing
    def meta(
        self,
        *,
        backdate: bool = True,
        actor: str | None = None,
        gov: bool = False,
        opening: bool = False,
    ) -> Any:
        from kamflow.domain.envelope import Meta

        rng = self.rng
        recorded = self.start + self.step * self.written
        occurred = recorded.date()
        if opening:
            # Nothing about an account may be dated before it was opened, and facts are
            # entered up to 5 days late: an account's file is opened (as a business date)
            # OPENED_BEFORE days before it is first written to.
            occurred -= timedelta(days=OPENED_BEFORE)
        elif backdate and rng.random() < 0.1:  # entered a few days late
            occurred -= timedelta(days=rng.randint(1, 5))
        return Meta(
            actor or rng.choice(OWNERS),
            uuid.UUID(int=rng.getrandbits(128)).hex,
            occurred,
            recorded,
            governance=self.gov if gov else None,
        )

    def collect(self, aggregate: Any, kind: str) -> None:
        events = aggregate.collect_events()
        self.pending.extend(events)
        self.written += len(events)
        self.kinds[kind] = self.kinds.get(kind, 0) + len(events)
        for event in events:
            if event.originator_version % self.SNAPSHOT_INTERVAL == 0:
                # Snapshot.take copies the state shallowly, and the snapshot is encoded
                # at the next flush: copy it deeply, or it holds the account's later values.
                snapshot = type(aggregate).Snapshot.take(aggregate)
                self.snapshots.append(copy.deepcopy(snapshot))

    def flush(self, app: Any, *, force: bool = False) -> None:
        if len(self.pending) >= self.CHUNK or (force and self.pending):
            app.save(*self.pending)
            self.pending = []
        if self.snapshots and (len(self.snapshots) >= 100 or force):
            app.snapshots.put(self.snapshots)
            self.snapshots = []

    # -------------------------------------------------------------- the facts
    def governance(self) -> None:
        from kamflow.domain.governance import Governance

        meta = self.meta(backdate=False)
        gov = Governance.start(meta)
        gov.grant(meta, "zhao.min", "approver", "sales director")
        gov.grant(meta, "li.wei", "auditor", "finance controller")
        gov.set_policy(meta, "bz-profit-floor", Decimal(0), "as agreed in the KAM charter")
        gov.set_policy(meta, "zone-min-revenue", Decimal(500_000), "large enough to matter")
        self.collect(gov, "governance")
        self.gov = gov

    def open_account(self) -> None:
        from kamflow.domain.account import Account

        rng = self.rng
        i = len(self.states)
        key = f"acct-{i:05d}"
        meta = self.meta(opening=True)
        account = Account.open(
            meta,
            key=key,
            name=f"{key.title()} Feed Co. 饲料有限公司",
            industry=rng.choice(INDUSTRIES),
            owner=rng.choice(OWNERS),
            currency="USD" if rng.random() < 0.03 else "CNY",
            tier=rng.choices(("prospect", "target", "key", "strategic"), (3, 4, 2, 1))[0],
        )
        contacts = []
        for name, title, department, role in PEOPLE[: rng.randint(1, 3)]:
            contacts.append(
                decide(
                    "contact add",
                    account,
                    meta,
                    contact=name,
                    title=title,
                    department=department,
                    roles=[role],
                    influence=rng.choice(("low", "medium", "high")),
                    attitude=rng.choice(("champion", "supporter", "neutral", None)),
                    personality=None,
                    reports_to=None,
                    influenced_by=[],
                )
            )
        # Sizes spread over two orders of magnitude, for an 80/20-shaped portfolio.
        size = int(5_000 * 10 ** (2 * rng.random() ** 2))
        self.states.append(AccountState(account, size, contacts))
        self.collect(account, "open")

    def act(self, state: AccountState, kind: str) -> str:
        """Record one fact of ``kind`` on the account (or a visit if it has nothing to act
        on); return the kind recorded."""
        from kamflow.domain.errors import KamflowError

        rng = self.rng
        a = state.account
        meta = self.meta()
        try:
            if kind == "follow-up" and a.open_issues:
                decide(
                    "visit follow-up",
                    a,
                    meta,
                    issue=next(iter(a.open_issues)),
                    result="resolved on site",
                )
            elif kind == "cost":
                decide(
                    "cost record",
                    a,
                    meta,
                    amount=Decimal(rng.randint(100, max(200, state.size // 5))),
                    currency=None,
                    category=rng.choice(COST_CATEGORIES),
                    description="routine",
                )
            elif kind == "sale":
                state.invoices += 1
                invoice = f"INV-{a.key}-{state.invoices}"
                amount = Decimal(rng.randint(state.size // 2, state.size * 2))
                decide(
                    "sale record",
                    a,
                    meta,
                    invoice=invoice,
                    product=rng.choice(PRODUCTS),
                    amount=amount,
                    cost=(amount * Decimal(rng.choice(("0.6", "0.7", "0.8", "0.95")))).quantize(
                        CENT
                    ),
                    currency=None,
                    discount=Decimal(rng.randint(0, 12)) if rng.random() < 0.3 else None,
                )
                state.unpaid[invoice] = amount
            elif kind == "payment" and state.unpaid:
                invoice = next(iter(state.unpaid))
                owed = state.unpaid[invoice]
                amount = owed if rng.random() < 0.7 else (owed / 2).quantize(CENT)
                decide("payment record", a, meta, invoice=invoice, amount=amount, currency=None)
                if owed - amount <= 0:
                    del state.unpaid[invoice]
                else:
                    state.unpaid[invoice] = owed - amount
            elif kind == "complaint raise":
                cid = decide(
                    "complaint raise",
                    a,
                    meta,
                    summary="late delivery, line stopped",
                    severity=rng.choice(SEVERITIES),
                )
                state.new_complaints.append(cid)
                state.open_complaints.append(cid)
            elif kind == "complaint ack" and state.new_complaints:
                decide("complaint ack", a, meta, complaint=state.new_complaints.pop(0))
            elif kind == "complaint outcome" and state.open_complaints:
                cid = state.open_complaints.pop(0)
                if cid in state.new_complaints:
                    state.new_complaints.remove(cid)
                if rng.random() < 0.75:
                    decide(
                        "complaint resolve", a, meta, complaint=cid, outcome="credit note issued"
                    )
                else:
                    decide(
                        "complaint reject",
                        a,
                        meta,
                        complaint=cid,
                        justification="damage after delivery",
                    )
                state.decided.append(cid)
            elif kind == "complaint close" and state.decided:
                decide(
                    "complaint close",
                    a,
                    meta,
                    complaint=state.decided.pop(0),
                    confirmation="customer agreed",
                )
            elif kind == "task":
                # A task due within six weeks; half of an account's open ones get done.
                open_tasks = [t for t, v in a.tasks.items() if v["status"] == "open"]
                if open_tasks and rng.random() < 0.5:
                    decide("task done", a, meta, task=open_tasks[0], note="done")
                else:
                    decide(
                        "task add",
                        a,
                        meta,
                        title=rng.choice(PURPOSES),
                        due=meta.occurred_on + timedelta(days=rng.randint(1, 42)),
                        owner=None,
                        about=None,
                    )
            elif kind == "satisfaction":
                decide(
                    "satisfaction record",
                    a,
                    meta,
                    score=Decimal(rng.randint(50, 100)) / 10,
                    target=Decimal("8.5"),
                    note=rng.choice(("", "delivery still slow", "happy with service")),
                )
            elif kind == "competitor":
                decide(
                    "competitor note",
                    a,
                    meta,
                    competitor=rng.choice(COMPETITORS),
                    strengths=f"price ({a.version})",
                    products=rng.choice(PRODUCTS),
                )
            elif kind == "opp open":
                oid = decide(
                    "opp open",
                    a,
                    meta,
                    title=f"{rng.choice(PRODUCTS)} line {a.version}",
                    problem="feed cost too high",
                    budget=Decimal(rng.randint(10, 900) * 1000),
                    currency=None,
                    decision_maker="Zhang Wei",
                    timeline="next quarter",
                    procurement="tender",
                )
                state.opportunities.append(oid)
            elif kind == "opp move" and state.opportunities:
                oid = state.opportunities[0]
                stage = a.opportunities[oid]["stage"]
                if stage == "negotiation":
                    state.opportunities.pop(0)
                    if rng.random() < 0.5:
                        decide("opp win", a, meta, opportunity=oid, note="signed")
                    else:
                        decide("opp lose", a, meta, opportunity=oid, reason="price")
                elif rng.random() < 0.15:
                    state.opportunities.pop(0)
                    decide("opp lose", a, meta, opportunity=oid, reason="no budget")
                else:
                    decide("opp advance", a, meta, opportunity=oid, to=None)
            elif kind == "contact add" and len(state.contacts) < len(PEOPLE):
                name, title, department, role = PEOPLE[len(state.contacts)]
                state.contacts.append(
                    decide(
                        "contact add",
                        a,
                        meta,
                        contact=name,
                        title=title,
                        department=department,
                        roles=[role],
                        influence="medium",
                        attitude=None,
                        personality=rng.choice(("open", "doubting", "introvert")),
                        reports_to=state.contacts[0],
                        influenced_by=[],
                    )
                )
            elif kind == "contact change" and state.contacts:
                decide(
                    "contact change",
                    a,
                    meta,
                    contact=rng.choice(state.contacts),
                    attitude=rng.choice(("champion", "supporter", "neutral", "skeptic")),
                )
            elif kind == "update":
                decide("account update", a, meta, notes=f"reviewed at version {a.version}")
            elif kind == "tier":
                to = rng.choice([t for t in ("target", "key", "strategic") if t != a.tier])
                decide(
                    "tier set",
                    a,
                    meta,
                    tier=to,
                    reason="annual portfolio review",
                    approved_by="zhao.min",
                )
            elif kind == "team":
                if a.team and rng.random() < 0.3:
                    decide(
                        "team release",
                        a,
                        meta,
                        member=next(iter(a.team)),
                        reason="moved to another account",
                    )
                else:
                    decide(
                        "team assign", a, meta, member=rng.choice(TEAM), role=rng.choice(TEAM_ROLES)
                    )
            elif kind == "exception":
                # An approver grants a discount exception, and the sale it was for uses it
                # (the sale checks policies: governance is passed, as the CLI does).
                approver = self.meta(actor="zhao.min", gov=True)
                decide(
                    "exception grant",
                    a,
                    approver,
                    rule="discount-ceiling",
                    reason="tender",
                    invoice=None,
                )
                self.collect(a, "exception")
                state.invoices += 1
                invoice = f"INV-{a.key}-{state.invoices}"
                amount = Decimal(max(1000, state.size // 10))
                decide(
                    "sale record",
                    a,
                    self.meta(gov=True),
                    invoice=invoice,
                    product=rng.choice(PRODUCTS),
                    amount=amount,
                    cost=(amount * Decimal("0.8")).quantize(CENT),
                    currency=None,
                    discount=Decimal(20),
                )
                state.unpaid[invoice] = amount
                kind = "sale"
            elif kind == "stage":
                from kamflow.workflows.stage import STAGE

                following = STAGE.dest(a.stage, "advance")
                if following is None:
                    raise LookupError
                decide("stage advance", a, meta, stage=following, reason="broader contact")
            else:
                raise LookupError
        except (LookupError, KamflowError):
            # Nothing to act on, or a rule refused (a stage guard, an unchanged value):
            # nothing was triggered; log a visit instead, as a key-account manager would.
            kind = "visit"
        if kind == "visit":
            found = rng.choice((0, 0, 0, 1, 2))
            decide(
                "visit log",
                a,
                meta,
                with_=rng.sample(state.contacts, min(len(state.contacts), rng.choice((1, 1, 2)))),
                purpose=rng.choice(PURPOSES),
                objective="agree next step",
                result="next step agreed",
                issues=[f"issue raised at version {a.version}"] * found,
            )
        return kind

    def prune(self, app: Any) -> None:
        """Keep the snapshots Kamflow keeps (ADR 0024): each account's newest, and the
        older ones at multiples of CHECKPOINT_INTERVAL (as-of checkpoints)."""
        from kamflow.application import CHECKPOINT_INTERVAL

        table = app.snapshots.recorder.events_table_name  # "stored_snapshots"
        with app.snapshots.recorder.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {table} WHERE originator_version % ? <> 0"
                f" AND originator_version < (SELECT MAX(s.originator_version) FROM {table} s"
                f" WHERE s.originator_id = {table}.originator_id)",
                (CHECKPOINT_INTERVAL,),
            )

    # -------------------------------------------------------------- the whole store
    def build(self) -> Json:
        from kamflow.application import Kamflow

        started = time.perf_counter()
        kf = Kamflow(str(self.path))
        app = kf.app
        rng = self.rng
        try:
            self.governance()
            # Accounts open over the first 60% of the history; activity favours the
            # accounts opened earlier (older relationships, more facts).
            opening_span = 0.6 * self.events
            next_log = 100_000
            while self.written < self.events:
                due = min(self.accounts, int(self.accounts * self.written / opening_span) + 1)
                if len(self.states) < due:
                    self.open_account()
                else:
                    opened = len(self.states)
                    state = self.states[int(opened * rng.random() ** 1.6)]
                    kind = self.act(state, rng.choices(KINDS, WEIGHTS)[0])
                    self.collect(state.account, kind)
                self.flush(app)
                if self.written >= next_log:
                    spent = time.perf_counter() - started
                    done = f"{self.written:,}/{self.events:,}"
                    log(f"  store: {done} events ({self.written / spent:,.0f}/s)")
                    next_log += 100_000
            self.flush(app, force=True)
            self.prune(app)
        finally:
            kf.close()
        return {
            "build_seconds": round(time.perf_counter() - started, 1),
            "accounts_opened": len(self.states),
            "events_by_kind": dict(sorted(self.kinds.items(), key=lambda kv: -kv[1])),
        }


def store_path(events: int, accounts: int) -> Path:
    from kamflow import __version__

    es = metadata.version("eventsourcing")
    return RESULTS / (
        f"projstore-{STORE_VERSION}-kamflow{__version__}-es{es}-{events}ev-{accounts}acc.db"
    )


def ensure_store(events: int, accounts: int, *, rebuild: bool) -> tuple[Path, Json]:
    """The cached store of this size, built first if missing (or with --rebuild-store)."""
    path = store_path(events, accounts)
    info: Json = {"path": str(path.relative_to(ROOT)), "cached": True}
    meta_path = path.with_suffix(".json")
    if rebuild or not path.exists() or count_events(path) < events:
        log(f"building store {path.name} (cached for later runs)")
        tmp = path.with_suffix(".building")
        remove_db(tmp)
        built = StoreBuilder(tmp, events, accounts).build()
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        remove_db(path)
        tmp.rename(path)
        meta_path.write_text(json.dumps(built, indent=2), encoding="utf-8")
        info["cached"] = False
    if meta_path.exists():
        info.update(json.loads(meta_path.read_text(encoding="utf-8")))
    info["events"] = count_events(path)
    info["bytes"] = path.stat().st_size
    return path, info


# ------------------------------------------------------------------ child programs
# Each runs in its own process (fresh interpreter, its own peak RSS), prints one JSON line.
PEAK_RSS = """\
def peak_rss_kb():
    # The high-water mark of this process's resident set (Linux), in KiB.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

BASELINE_CODE = (
    PEAK_RSS
    + """\
import json, sys, time
t0 = time.perf_counter()
from kamflow.application import Kamflow
kf = Kamflow(sys.argv[1])
batch = int(sys.argv[2])
recorder, decode = kf.app.recorder, kf.app.mapper.to_domain_event
t1, c1 = time.perf_counter(), time.process_time()
def run():
    n, start = 0, 0
    while True:
        notifications = recorder.select_notifications(
            start=start, limit=batch, inclusive_of_start=False
        )
        if not notifications:
            return n
        events = [(x.id, decode(x)) for x in notifications]
        n += len(events)
        start = notifications[-1].id
if len(sys.argv) > 3:
    import cProfile
    profiler = cProfile.Profile()
    n = profiler.runcall(run)
    profiler.dump_stats(sys.argv[3])
else:
    n = run()
t2, c2 = time.perf_counter(), time.process_time()
kf.close()
print(json.dumps({"events": n, "setup_seconds": t1 - t0, "seconds": t2 - t1,
                  "cpu_seconds": c2 - c1, "peak_rss_kb": peak_rss_kb()}))
"""
)

REBUILD_CODE = (
    PEAK_RSS
    + """\
import json, sys, time
t0 = time.perf_counter()
from kamflow.projections.db import ViewDB
from kamflow.projections.engine import Projector
from kamflow.projections.log import StoreSource
locator, batch = sys.argv[1], int(sys.argv[2])
projector = Projector(ViewDB(locator))
projector.ensure_schema()
source = StoreSource(locator)
t1, c1 = time.perf_counter(), time.process_time()
def run():
    return projector.rebuild([v.name for v in projector.views], source, batch=batch)
if len(sys.argv) > 3:
    import cProfile
    profiler = cProfile.Profile()
    n = profiler.runcall(run)
    profiler.dump_stats(sys.argv[3])
else:
    n = run()
t2, c2 = time.perf_counter(), time.process_time()
projector.db.close()
source.close()
print(json.dumps({"events": n, "setup_seconds": t1 - t0, "seconds": t2 - t1,
                  "cpu_seconds": c2 - c1, "peak_rss_kb": peak_rss_kb()}))
"""
)

# The same with the view tables as before ADR 0028 (SQLite's rowid tables): the views are
# rebuilt in this definition, and the next run's ensure_schema rebuilds them again.
ROWID_REBUILD_CODE = REBUILD_CODE.replace(
    "from kamflow.projections.db import ViewDB\n",
    "from kamflow.projections.db import ViewDB\nViewDB.options = lambda self, columns: ''\n",
)
assert ROWID_REBUILD_CODE != REBUILD_CODE


VERIFY_CODE = (
    PEAK_RSS
    + """\
import json, sys, time
t0 = time.perf_counter()
from kamflow.application import Kamflow
from kamflow.verify import verify
kf = Kamflow(sys.argv[1])
t1, c1 = time.perf_counter(), time.process_time()
result = verify(kf)
t2, c2 = time.perf_counter(), time.process_time()
kf.close()
# The whole store must verify, snapshots included (store p7 on: before, the builder's
# snapshots held later values, and the rate timed the comparison of mismatched ones).
if result.findings:
    raise SystemExit(f"verify failed: {[f.line() for f in result.findings[:3]]}")
print(json.dumps({"events": result.events, "setup_seconds": t1 - t0, "seconds": t2 - t1,
                  "cpu_seconds": c2 - c1, "peak_rss_kb": peak_rss_kb(),
                  "snapshots": result.snapshots}))
"""
)


@dataclass(frozen=True)
class Pass:
    """One read of the whole log in a child process."""

    events: int
    seconds: float  # the loop only (rebuild, or read + decode), wall clock
    cpu_seconds: float  # the same loop, CPU time of the process (user + system)
    wall: float  # the whole process, start-up included
    max_rss_kb: int  # peak RSS of the whole process (VmHWM)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.events / self.cpu_seconds


def run_pass(code: str, db: Path, cfg: Config, profile: Path | None = None) -> Pass:
    argv = [PYTHON, "-c", code, str(db), str(cfg.batch)]
    if profile is not None:
        argv.append(str(profile))
    child = run_child(argv)
    found = json.loads(child.stdout.strip().splitlines()[-1])
    return Pass(
        int(found["events"]),
        float(found["seconds"]),
        float(found["cpu_seconds"]),
        child.seconds,
        int(found["peak_rss_kb"]),
    )


# `kamflow projections rebuild` exactly as the console script runs it (kamflow.cli:main),
# reporting its peak RSS to stderr at exit (main ends with sys.exit: atexit handlers run).
CLI_CODE = (
    PEAK_RSS
    + """\
import atexit, sys
atexit.register(lambda: sys.stderr.write(f"\\npeak_rss_kb={peak_rss_kb()}\\n"))
sys.argv = ["kamflow", *sys.argv[1:]]
from kamflow.cli import main
sys.exit(main())
"""
)


def check_views(db: Path, events: int) -> Json:
    """The rebuilt views hold every event (the audit view has one row per event) and
    every view's position is the end of the log."""
    conn = sqlite3.connect(db)
    try:
        audit = int(conn.execute("SELECT COUNT(*) FROM kf_audit").fetchone()[0])
        accounts = int(conn.execute("SELECT COUNT(*) FROM kf_accounts").fetchone()[0])
        positions = {r[0] for r in conn.execute("SELECT position FROM kf_tracking")}
        newest = int(conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0])
    finally:
        conn.close()
    if audit != events or positions != {newest}:
        raise RuntimeError(f"rebuild incomplete: {audit} audit rows of {events}, {positions}")
    return {"audit_rows": audit, "accounts": accounts, "position": newest}


def view_cache_kib(db: Path) -> int:
    """The page cache cap of the views' SQLite connection (PRAGMA cache_size), in KiB."""
    from kamflow.projections.db import ViewDB

    views = ViewDB(str(db))
    try:
        pages = int(views.scalar("PRAGMA cache_size"))
        page_size = int(views.scalar("PRAGMA page_size"))
    finally:
        views.close()
    return -pages if pages < 0 else pages * page_size // 1024


# ------------------------------------------------------------------ targets 1 and 2
def bench_rebuild(cfg: Config, report: Report, big: Path, small: Path) -> None:
    # Target 1: best of N alternating pairs on the big store (the OS cache is warm for
    # both: the store was just copied), so a burst of noise from another process on the
    # machine hits one run, not the verdict.
    baselines: list[Pass] = []
    rebuilds: list[Pass] = []
    rowid: list[Pass] = []
    for rep in range(cfg.rebuild_reps):
        if cfg.compare_rowid:
            log(f"  rebuild with rowid view tables ({rep + 1}/{cfg.rebuild_reps})")
            rowid.append(run_pass(ROWID_REBUILD_CODE, big, cfg))
            log(f"  {rowid[-1].rate:,.0f} ev/s ({rowid[-1].cpu_rate:,.0f} per CPU-second)")
        log(f"target 1: read+decode baseline, {cfg.events:,} events ({rep + 1}/{cfg.rebuild_reps})")
        baselines.append(run_pass(BASELINE_CODE, big, cfg))
        log(f"  {baselines[-1].rate:,.0f} ev/s ({baselines[-1].cpu_rate:,.0f} per CPU-second)")
        log(f"target 1: rebuild all views, {cfg.events:,} events ({rep + 1}/{cfg.rebuild_reps})")
        rebuilds.append(run_pass(REBUILD_CODE, big, cfg))
        log(f"  {rebuilds[-1].rate:,.0f} ev/s ({rebuilds[-1].cpu_rate:,.0f} per CPU-second)")
    base = max(baselines, key=lambda p: p.rate)
    best = max(rebuilds, key=lambda p: p.rate)
    base_cpu = max(baselines, key=lambda p: p.cpu_rate)
    best_cpu = max(rebuilds, key=lambda p: p.cpu_rate)
    views = check_views(big, best.events)
    ratio = best.rate / base.rate
    report.rows += [
        Row(
            f"1. rebuild all views ({cfg.events:,} events)",
            rate(best.events, best.seconds),
        ),
        Row(
            "1. rebuild vs read+decode baseline",
            rate(best.events, best.seconds),
            rate(base.events, base.seconds),
            ratio,
            f">= {REBUILD_MIN_RATIO:g}x",
            ratio >= REBUILD_MIN_RATIO,
        ),
        # The same on CPU time, which other processes on the machine disturb less.
        Row(
            "   the same in CPU time (rate per CPU-second)",
            f"{best_cpu.cpu_rate:,.0f} ev/s",
            f"{base_cpu.cpu_rate:,.0f} ev/s",
            best_cpu.cpu_rate / base_cpu.cpu_rate,
        ),
    ]
    if rowid:
        # Before ADR 0028, in the same run: the view tables with a rowid (SQLite's
        # default), their primary key a second B-tree.
        old = max(rowid, key=lambda p: p.rate)
        old_cpu = max(rowid, key=lambda p: p.cpu_rate)
        report.rows += [
            Row(
                "   rebuild, view tables with rowid (before ADR 0028)",
                rate(old.events, old.seconds),
                rate(base.events, base.seconds),
                old.rate / base.rate,
            ),
            Row(
                "   the same in CPU time",
                f"{old_cpu.cpu_rate:,.0f} ev/s",
                f"{base_cpu.cpu_rate:,.0f} ev/s",
                old_cpu.cpu_rate / base_cpu.cpu_rate,
            ),
        ]
    details: Json = {
        "events": cfg.events,
        "batch": cfg.batch,
        "baseline_runs": [asdict(p) | {"rate": p.rate, "cpu_rate": p.cpu_rate} for p in baselines],
        "rebuild_runs": [asdict(p) | {"rate": p.rate, "cpu_rate": p.cpu_rate} for p in rebuilds],
        "rowid_rebuild_runs": [asdict(p) | {"rate": p.rate, "cpu_rate": p.cpu_rate} for p in rowid],
        "rebuild_rate": best.rate,
        "baseline_rate": base.rate,
        "ratio": ratio,
        "per_event_us": {
            "baseline": base.seconds / base.events * 1e6,
            "rebuild": best.seconds / best.events * 1e6,
            "projection_work": (best.seconds / best.events - base.seconds / base.events) * 1e6,
            "baseline_cpu": 1e6 / base_cpu.cpu_rate,
            "rebuild_cpu": 1e6 / best_cpu.cpu_rate,
        },
        "views": views,
        "baseline_code": BASELINE_CODE,
        "rebuild_code": REBUILD_CODE,
    }

    # Target 2: peak RSS of the same rebuild at two sizes (same accounts, 4x the events).
    log(f"target 2: rebuild, {cfg.small_events:,} events (peak RSS)")
    small_rebuild = run_pass(REBUILD_CODE, small, cfg)
    check_views(small, small_rebuild.events)
    small_base = run_pass(BASELINE_CODE, small, cfg)
    big_peak = max(p.max_rss_kb for p in rebuilds)
    peak = max(big_peak, small_rebuild.max_rss_kb)
    growth_kb = big_peak - small_rebuild.max_rss_kb
    report.rows += [
        Row(
            f"2. rebuild peak RSS, {cfg.small_events:,} events",
            mb(small_rebuild.max_rss_kb),
            mb(small_base.max_rss_kb),
            small_rebuild.max_rss_kb / small_base.max_rss_kb,
            f"<= {REBUILD_MAX_PEAK_MB:g} MB",
            small_rebuild.max_rss_kb / 1024 <= REBUILD_MAX_PEAK_MB,
        ),
        Row(
            f"2. rebuild peak RSS, {cfg.events:,} events",
            mb(big_peak),
            mb(max(p.max_rss_kb for p in baselines)),
            big_peak / max(p.max_rss_kb for p in baselines),
            f"<= {REBUILD_MAX_PEAK_MB:g} MB",
            big_peak / 1024 <= REBUILD_MAX_PEAK_MB,
        ),
        Row(
            f"2. peak growth {cfg.small_events // 1000}k -> {cfg.events // 1000}k events",
            f"{growth_kb / 1024:+.1f} MB",
            "",
            big_peak / small_rebuild.max_rss_kb,
            f"<= +{PEAK_MAX_GROWTH_MB:g} MB" + (" (info: quick)" if cfg.quick else ""),
            # Quick stores' views are smaller than the views' bounded SQLite page cache,
            # which is still filling between the two sizes: growth there is not a verdict.
            None if cfg.quick else growth_kb / 1024 <= PEAK_MAX_GROWTH_MB,
        ),
    ]
    details["memory"] = {
        "small_events": cfg.small_events,
        "small_rebuild": asdict(small_rebuild) | {"rate": small_rebuild.rate},
        "small_baseline": asdict(small_base) | {"rate": small_base.rate},
        "big_rebuild_peak_kb": big_peak,
        "peak_kb": peak,
        "growth_kb": growth_kb,
        "method": "VmHWM of each child process, read by itself at the end (KiB)",
        "view_page_cache_kib": view_cache_kib(small),
    }

    if cfg.cli_rebuild:
        # The real command, as a user runs it (progress bar on a non-terminal stderr).
        log(f"cross-check: `kamflow projections rebuild`, {cfg.events:,} events")
        child = run_child([PYTHON, "-c", CLI_CODE, "--db", str(big), "projections", "rebuild"])
        if f"from {cfg.events} events" not in child.stdout:
            raise RuntimeError(f"unexpected rebuild output: {child.stdout[-500:]}")
        cli_peak = int(child.stderr.rsplit("peak_rss_kb=", 1)[1].split()[0])
        check_views(big, cfg.events)
        report.rows.append(
            Row(
                "   `kamflow projections rebuild` (whole process)",
                rate(cfg.events, child.seconds),
                rate(base.events, base.seconds),
                (cfg.events / child.seconds) / base.rate,
                f"peak {mb(cli_peak)}",
            )
        )
        details["cli"] = {"seconds": child.seconds, "max_rss_kb": cli_peak}
    report.details["rebuild"] = details


# ------------------------------------------------------------------ target 4
def bench_verify(cfg: Config, report: Report, big: Path, small: Path) -> None:
    """`audit verify` against the read+decode baseline, alternating, best of N; and its
    peak RSS at two store sizes."""
    baselines: list[Pass] = []
    verifies: list[Pass] = []
    for rep in range(cfg.rebuild_reps):
        log(f"target 4: read+decode baseline, {cfg.events:,} events ({rep + 1})")
        baselines.append(run_pass(BASELINE_CODE, big, cfg))
        log(f"target 4: audit verify, {cfg.events:,} events ({rep + 1})")
        verifies.append(run_pass(VERIFY_CODE, big, cfg))
        log(f"  {verifies[-1].rate:,.0f} ev/s vs {baselines[-1].rate:,.0f} ev/s")
    base = max(baselines, key=lambda p: p.rate)
    best = max(verifies, key=lambda p: p.rate)
    small_verify = run_pass(VERIFY_CODE, small, cfg)
    ratio = best.rate / base.rate
    report.rows += [
        Row(
            "4. audit verify vs read+decode baseline",
            rate(best.events, best.seconds),
            rate(base.events, base.seconds),
            ratio,
            f">= {VERIFY_MIN_RATIO:g}x",
            ratio >= VERIFY_MIN_RATIO,
        ),
        Row(
            f"   audit verify peak RSS {cfg.small_events // 1000}k -> {cfg.events // 1000}k",
            f"{mb(small_verify.max_rss_kb)} -> {mb(best.max_rss_kb)}",
            "",
            best.max_rss_kb / small_verify.max_rss_kb,
        ),
    ]
    report.details["verify"] = {
        "runs": [asdict(p) | {"rate": p.rate} for p in verifies],
        "baseline_runs": [asdict(p) | {"rate": p.rate} for p in baselines],
        "small": asdict(small_verify),
        "ratio": ratio,
        "code": VERIFY_CODE,
    }


# ------------------------------------------------------------------ target 3
def bench_report(cfg: Config, report: Report, db: Path, limit: float, *, details: bool) -> None:
    """`report portfolio --json` against `kamflow --help`, interleaved: as a script
    meets it (views caught up, nothing written since the last report: the kept JSON),
    and built (the kept JSON forgotten before each run, as after a write)."""
    kamflow = kamflow_script()
    now = datetime.now(UTC).date()
    last_month = f"{now.year - (now.month == 1)}-{(now.month - 2) % 12 + 1:02d}"
    probes = {
        "report": [kamflow, "--db", str(db), "report", "portfolio", "--json"],
        "built": [kamflow, "--db", str(db), "report", "portfolio", "--json"],
        "help": [kamflow, "--help"],
        "scorecard": [
            kamflow, "--db", str(db), "report", "scorecard", "--month", last_month, "--json"
        ],
        "agenda": [kamflow, "--db", str(db), "agenda", "--json"],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in probes}
    warmup = 2
    log(f"target 3: {cfg.report_reps} interleaved runs of each process (+{warmup} warm-up)")
    rows = items = 0
    for i in range(warmup + cfg.report_reps):
        for name, argv in probes.items():
            if name == "built":
                clear_report_cache(db)
            start = time.perf_counter()
            proc = subprocess.run(
                argv, capture_output=True, text=True, env=child_env(), check=False
            )
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise RuntimeError(f"{name} failed: {proc.stderr[-2000:]}")
            if name == "report" and i == 0:
                rows = len(json.loads(proc.stdout)["rows"])
            if name == "agenda" and i == 0:
                items = len(json.loads(proc.stdout)["rows"])
            if i >= warmup:
                times[name].append(elapsed)
    med = {name: median(v) for name, v in times.items()}
    ratio = med["report"] / med["help"]
    agenda_ratio = med["agenda"] / med["report"]
    report.rows.append(
        Row(
            f"3. report portfolio --json ({rows:,} accounts)",
            ms(med["report"]),
            ms(med["help"]),
            ratio,
            f"<= {limit:g}x --help",
            ratio <= limit,
        )
    )
    card = med["scorecard"] / med["report"]
    report.rows.append(
        Row(
            f"3b. report scorecard --month {last_month} --json",
            ms(med["scorecard"]),
            ms(med["report"]),
            card,
            f"<= {SCORECARD_MAX_RATIO:g}x report portfolio",
            card <= SCORECARD_MAX_RATIO,
        )
    )
    report.rows.append(
        Row(
            f"3c. agenda --json ({items:,} items)",
            ms(med["agenda"]),
            ms(med["report"]),
            agenda_ratio,
            f"<= {AGENDA_MAX_RATIO:g}x report portfolio",
            agenda_ratio <= AGENDA_MAX_RATIO,
        )
    )
    report.rows.append(
        Row(
            f"   the same, built (after a write), {rows:,} accounts",
            ms(med["built"]),
            ms(med["help"]),
            med["built"] / med["help"],
        )
    )
    found: Json = {
        "rows": rows,
        "runs": cfg.report_reps,
        "median_seconds": med,
        "min_seconds": {n: min(v) for n, v in times.items()},
        "max_seconds": {n: max(v) for n, v in times.items()},
        "ratio": ratio,
        "agenda_items": items,
        "agenda_ratio": agenda_ratio,
    }
    if details:
        clear_report_cache(db)
        found["importtime"] = importtime([*probes["built"]], cfg)
        found["in_process_ms"] = report_parts(db)
    report.details.setdefault("report", {})[str(rows)] = found


def importtime(argv: list[str], cfg: Config) -> Json:
    """`python -X importtime` of the report command: medians of per-module times."""
    found = import_times([argv] * cfg.importtime_reps)
    return {
        **found.summary(heaviest=15),
        "eventsourcing_imported": any(n.startswith("eventsourcing") for n in found.cumulative),
    }


# Where the report's own time goes after start-up, in a fresh process (this one may hold
# hundreds of MB from building a store, which slows its garbage collector): the
# caught-up check, the report's build (queries + Python), and the JSON rendering; medians.
REPORT_PARTS_CODE = """\
import json, statistics, sys, time
from datetime import UTC, datetime
t0 = time.perf_counter()
from kamflow import output
from kamflow.projections.engine import caught_up_views
from kamflow.projections.reports import builder
from kamflow.projections.reports.base import ReportParams
imports = time.perf_counter() - t0
parts = {"caught_up_check": [], "build": [], "to_json": []}
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    views = caught_up_views(sys.argv[1])
    t1 = time.perf_counter()
    if "eventsourcing" in sys.modules:
        raise RuntimeError("views should be caught up; the report read the log")
    try:
        result = builder("portfolio")(views, ReportParams(today=datetime.now(UTC).date()))
    finally:
        views.close()
    t2 = time.perf_counter()
    text = output.to_json(result.as_json())
    t3 = time.perf_counter()
    for name, seconds in (("caught_up_check", t1 - t0), ("build", t2 - t1), ("to_json", t3 - t2)):
        parts[name].append(seconds)
out = {name: round(statistics.median(v) * 1000, 1) for name, v in parts.items()}
out["imports_once"] = round(imports * 1000, 1)
out["json_bytes"] = len(text.encode())
print(json.dumps(out))
"""


def report_parts(db: Path) -> Json:
    child = run_child([PYTHON, "-c", REPORT_PARTS_CODE, str(db), "5"])
    found: Json = json.loads(child.stdout.strip().splitlines()[-1])
    return found


# ------------------------------------------------------------------ profiles
def top_functions(prof: Path, limit: int = 30) -> str:
    out = []
    for sort in ("tottime", "cumulative"):
        buffer = io.StringIO()
        stats = pstats.Stats(str(prof), stream=buffer)
        stats.strip_dirs().sort_stats(sort).print_stats(limit)
        out.append(f"==== sorted by {sort}\n{buffer.getvalue()}")
    return "\n".join(out)


def profile_rebuild(cfg: Config, small: Path) -> Json:
    """cProfile of the rebuild and of the baseline on the small store (child processes)."""
    written: Json = {}
    for name, code in (("rebuild", REBUILD_CODE), ("baseline", BASELINE_CODE)):
        prof = RESULTS / f"projections-profile-{name}.prof"
        log(f"profiling the {name} on {cfg.small_events:,} events")
        run_pass(code, small, cfg, profile=prof)
        txt = prof.with_suffix(".txt")
        txt.write_text(top_functions(prof), encoding="utf-8")
        written[name] = str(txt.relative_to(ROOT))
    return written


# ------------------------------------------------------------------ output
def render(report: Report) -> str:
    cfg = report.config
    mode = (
        "QUICK (smoke run: smaller sizes, NOT the targets)"
        if cfg.quick
        else f"full ({cfg.events:,} events, {cfg.accounts:,} accounts, batch {cfg.batch:,})"
    )
    return render_rows(report.rows, f"kamflow projection benchmarks — {mode}")


def render_details(report: Report) -> str:
    lines: list[str] = []
    rebuild = report.details.get("rebuild")
    if rebuild:
        per = rebuild["per_event_us"]
        lines.append(
            f"per event: read+decode {per['baseline']:.1f} us, rebuild {per['rebuild']:.1f} us"
            f" (projection work {per['projection_work']:.1f} us); CPU time:"
            f" {per['baseline_cpu']:.1f} us and {per['rebuild_cpu']:.1f} us"
        )
    found = report.details.get("report", {})
    info = next((v for v in found.values() if "importtime" in v), None)
    if info:
        it = info["importtime"]
        lines.append(
            f"report: imports {it['total_import_ms']} ms (eventsourcing imported:"
            f" {it['eventsourcing_imported']}); in-process {info['in_process_ms']}"
        )
        lines.append("  top-level imports of the report command (cumulative ms):")
        for name, value in list(it["top_level_cumulative_ms"].items())[:8]:
            lines.append(f"    {value:7.1f}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--events", type=int, help="events in the big store (small: a quarter)")
    parser.add_argument(
        "--batch", type=int, help="catch-up batch (default 5000, as `projections rebuild`)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile rebuild and baseline")
    parser.add_argument("--rebuild-store", action="store_true", help="build cached stores anew")
    parser.add_argument(
        "--compare-rowid",
        action="store_true",
        help="also rebuild with rowid view tables (before ADR 0028), alternating",
    )
    parser.add_argument(
        "--reports-only", action="store_true", help="only targets 3, 3b, 3c, on the big store"
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.events is not None:
        if args.events < 1000:
            parser.error("--events must be at least 1000")
        # At least ~20 events per account, so most of the log is not account openings.
        cfg = replace(
            cfg,
            events=args.events,
            small_events=args.events // 4,
            accounts=min(cfg.accounts, max(10, args.events // 20)),
        )
    if args.batch is not None:
        cfg = replace(cfg, batch=max(1, args.batch))
    if args.compare_rowid:
        cfg = replace(cfg, compare_rowid=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = Report(cfg)
    env = environment()
    started = time.perf_counter()
    work = RESULTS / f"projwork-{os.getpid()}"
    work.mkdir()
    try:
        big_store, big_info = ensure_store(cfg.events, cfg.accounts, rebuild=args.rebuild_store)
        big = work / "big.db"
        shutil.copyfile(big_store, big)
        if args.reports_only:
            report.details["stores"] = {"big": big_info}
            log("catching up the views of the big store (not timed)")
            subprocess.run(
                [kamflow_script(), "--db", str(big), "projections", "rebuild"],
                capture_output=True,
                env=child_env(),
                check=True,
            )
        else:
            small_store, small_info = ensure_store(
                cfg.small_events, cfg.accounts, rebuild=args.rebuild_store
            )
            report.details["stores"] = {"big": big_info, "small": small_info}
            small = work / "small.db"
            shutil.copyfile(small_store, small)
            bench_rebuild(cfg, report, big, small)
            portfolio_store, portfolio_info = ensure_store(
                cfg.portfolio_events, cfg.portfolio_accounts, rebuild=args.rebuild_store
            )
            report.details["stores"]["portfolio"] = portfolio_info
            portfolio = work / "portfolio.db"
            shutil.copyfile(portfolio_store, portfolio)
            bench_report(cfg, report, portfolio, REPORT_SMALL_MAX_RATIO, details=False)
        bench_report(cfg, report, big, REPORT_MAX_RATIO, details=True)
        if not args.reports_only:
            bench_verify(cfg, report, big, small)
        if args.profile and not args.reports_only:
            report.details["profiles"] = profile_rebuild(cfg, small)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish(cfg, report, env, started)


def finish(cfg: Config, report: Report, env: Json, started: float) -> int:
    """Write the results file, print the table; 0 when every target passed."""
    elapsed = time.perf_counter() - started
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "-quick" if cfg.quick else ""
    result = {
        "mode": "quick" if cfg.quick else "full",
        "valid_for_targets": not cfg.quick and cfg.events >= 1_000_000 and cfg.batch == 5000,
        "when": stamp,
        "seconds": round(elapsed, 1),
        "config": asdict(cfg),
        "environment": env | {"load_average_at_end": os.getloadavg()},
        "rows": [{**asdict(r), "result": r.verdict} for r in report.rows],
        "all_passed": all(r.passed for r in report.rows if r.passed is not None),
        "details": report.details,
    }
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    out = RESULTS / f"projections-{stamp}{suffix}.json"
    out.write_text(text, encoding="utf-8")
    (RESULTS / f"projections-latest{suffix}.json").write_text(text, encoding="utf-8")
    print(render(report))
    print()
    print(render_details(report))
    if "profiles" in report.details:
        print("profiles: " + ", ".join(report.details["profiles"].values()))
    print(f"\n{elapsed:.0f} s; results in {out.relative_to(ROOT)}")
    return 0 if result["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

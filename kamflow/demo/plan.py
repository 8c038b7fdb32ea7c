"""The demo's planner: a year of key-account work, account by account.

The planner decides what happens (from the catalogue and a seeded random generator); the
domain decides what is allowed. Where a step has a guard in a workflow table (a stage
advance, a program step, archiving a lost account), the planner asks that guard, the
same function the aggregate asks (``kamflow.domain.guards``), of ``DayFacts``: what the
planned account will show on a given day. Steps are placed on the first day the guards
let them through, so a year of ordinary use passes every rule. The buying centre, visits
and complaints are planned in ``people.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from kamflow.demo.catalogue import Catalogue, Company
from kamflow.demo.people import People
from kamflow.demo.planned import Chain, PlannedAccount, first_allowed
from kamflow.demo.timeline import Step, days, money, quarter, spread, workday
from kamflow.domain.policies import credit_limit
from kamflow.domain.values import BIG_TIERS, TIERS, Tier
from kamflow.identity import demo_key
from kamflow.workflows.lifecycle import LIFECYCLE
from kamflow.workflows.program import PROGRAM, STEPS
from kamflow.workflows.stage import STAGE


def tier_bands(count: int) -> list[Tier]:
    """Final tiers by revenue rank: the selection funnel of docs/domain.md, Key accounts."""
    strategic = max(1, round(count * 0.07))
    key = min(max(1, round(count * 0.15)), count - strategic)
    target = min(round(count * 0.45), count - strategic - key)
    prospect = count - strategic - key - target
    bands: dict[Tier, int] = {
        "strategic": strategic,
        "key": key,
        "target": target,
        "prospect": prospect,
    }
    return [tier for tier, n in bands.items() for _ in range(n)]


class Planner(People):
    """Plans a year of work, account by account; the run sorts it into one timeline."""

    # ------------------------------------------------------------------ portfolio
    def plan(self, count: int) -> list[PlannedAccount]:
        self.governance()
        accounts = self.portfolio(count)
        self.fates(accounts)
        for account in accounts:
            self.account(account)
        return accounts

    def signatures(self, value: str, reason: str) -> None:
        fields = {"policy": "signatures", "value": value, "reason": reason}
        self.add(
            None, self.start, "policy set", fields, actor=self.c.staff.general_manager, order=-1
        )

    def governance(self) -> None:
        """Day one: who may approve exceptions, and the credit limits of the year (P1)."""
        staff = self.c.staff
        for grant in self.c.roster:
            post = getattr(staff, grant.post)
            for person in post if isinstance(post, list | tuple) else [post]:
                fields = {
                    "person": person,
                    "role": grant.role,
                    "reason": grant.reason,
                    "key": demo_key(person).public,  # registered with the grant (ADR 0025)
                }
                self.add(
                    None, self.start, "roster grant", fields, actor=staff.general_manager, order=-1
                )
        # History the commands now refuse, written below them (kamflow/demo/legacy.py):
        # one of each act `report principles` flags (ADR 0023). Imported unsigned, with
        # signatures off for the length of the import, as a team would (ADR 0025):
        # `audit verify` reports those positions as written while signatures were off.
        first, second = staff.owners[0], staff.owners[1]
        legacy = "recorded before roles were enforced (imported from the old CRM)"
        self.signatures("off", "importing the old CRM's history, which no one signed")
        self.add(
            None,
            self.start,
            "legacy role grant",
            {"person": first, "role": "auditor", "reason": legacy},
            actor=first,
            order=-1,
        )
        for actor, policy in (
            (second, "complaint-sla-days.prospect"),
            ("   ", "contact-cadence-days.prospect"),
            (f"intern\n{staff.director}", "complaint-sla-days.target"),
        ):
            self.add(
                None,
                self.start,
                "legacy policy set",
                {"policy": policy, "reason": legacy},
                actor=actor,
                order=-1,
            )
        self.signatures("required", "the old CRM's history is in")
        self.rates()
        for tier in TIERS:
            self.add(
                None,
                self.start,
                "policy set",
                {
                    "policy": credit_limit(tier),
                    "value": self.c.credit.limits[cast(Tier, tier)],
                    "reason": self.c.credit.reason,
                },
                actor=staff.general_manager,  # an admin: policies are theirs to set
                order=-1,
            )

    def rates(self) -> None:
        """Exchange rates to CNY for the foreign currencies, on the first day and at the
        start of each quarter (ADR 0021), moving a little so reports show which rate
        each amount used."""
        money_ = self.c.money
        for currency, rough in sorted(money_.rates.items()):
            if currency == "CNY":
                continue
            on, n = self.start, 0
            while on <= self.end:
                wiggle = Decimal(1) + Decimal((n % 3) - 1) / 100
                rate = (Decimal(str(rough)) * wiggle).quantize(Decimal("0.0001"))
                self.add(
                    None,
                    on,
                    "fx set",
                    {
                        "currency": currency,
                        "quote": "CNY",
                        "rate": str(rate),
                        "source": money_.source,
                    },
                    actor=self.c.staff.general_manager,  # an admin: rates are governance
                    order=-1,
                )
                n += 1
                month = on.month + 3 - (on.month - 1) % 3
                on = date(on.year + (month > 12), (month - 1) % 12 + 1, 1)

    def companies(self, count: int) -> list[tuple[str, str, Company]]:
        """The first ``count`` companies (key, name, catalogue company), industries
        interleaved so any size gets a mix; past the catalogue, regional branches."""
        listed = self.c.portfolio.companies
        by_industry = [[c for c in listed if c.industry == ind] for ind in self.c.industries]
        interleaved: list[Company] = []
        for i in range(max(len(group) for group in by_industry)):
            interleaved.extend(group[i] for group in by_industry if i < len(group))
        branches = self.c.portfolio.branches
        picked: list[tuple[str, str, Company]] = []
        for i in range(count):
            base = interleaved[i % len(interleaved)]
            cycle = i // len(interleaved)
            if cycle == 0:
                picked.append((base.key, base.name, base))
                continue
            branch = branches[(cycle - 1) % len(branches)]
            suffix, name = branch.suffix, branch.name
            if cycle > len(branches):
                suffix, name = f"{suffix}{(cycle - 1) // len(branches) + 1}", f"{name} {cycle}"
            picked.append((f"{base.key}-{suffix}", f"{base.name} {name}", base))
        return picked

    def portfolio(self, count: int) -> list[PlannedAccount]:
        rng, money_ = self.rng, self.c.money
        companies = self.companies(count)
        rng.shuffle(companies)  # revenue rank: which company is big depends on the seed
        tiers = tier_bands(count)
        first_key = tiers.index("key") if "key" in tiers else count
        first_target = tiers.index("target") if "target" in tiers else count
        first_prospect = tiers.index("prospect") if "prospect" in tiers else count
        initial = list(tiers)
        # Tier decisions made during the year (promote ahead of time: docs/domain.md).
        if first_key >= 2:
            initial[1] = "key"
        if first_target - first_key >= 3:
            initial[first_target - 1] = initial[first_target - 2] = "target"
        target_band = first_prospect - first_target
        if target_band >= 6:
            for i in range(first_prospect - 3, first_prospect):
                initial[i] = "prospect"
        # Two below-zero accounts in the target band; one of them was "key" and is
        # demoted late in the year, the decision a BZ finding should lead to.
        below_zero: tuple[int, ...] = ()
        if target_band >= 8:
            below_zero = (first_target + 1, first_target + 4)
            initial[first_target + 1] = "key"

        owners = self.c.staff.owners
        accounts: list[PlannedAccount] = []
        for rank, (key, name, company) in enumerate(companies):
            tier = tiers[rank]
            if tier == "prospect":
                revenue = 0.0
            else:
                revenue = (
                    money_.top_revenue * (rank + 1) ** -money_.pareto * rng.uniform(0.85, 1.15)
                )
            if initial[rank] != "prospect":
                # The existing book is entered in the first weeks of the year.
                opened = self.start + days(rng, 0, 20)
            elif tier == "prospect":
                opened = self.start + days(rng, 5, 300)  # found during the year
            else:
                opened = self.start + days(rng, 5, 150)  # found, then promoted
            if rank == 0:
                opened = self.start  # the history starts on the first day of the year
            accounts.append(
                PlannedAccount(
                    company=company,
                    key=key,
                    name=name,
                    industry=self.c.industries[company.industry],
                    rank=rank,
                    owner=owners[rank % len(owners)] if rank < 10 else rng.choice(owners),
                    tier=tier,
                    initial_tier=initial[rank],
                    revenue=revenue / money_.rates[company.currency],
                    below_zero=rank in below_zero,
                    opened=workday(opened, self.start, self.end),
                    until=self.end,
                )
            )
        return accounts

    def fates(self, accounts: list[PlannedAccount]) -> None:
        """A few accounts are lost (P8): one reviewed, one reviewed and archived, one not
        reviewed yet, so the principles report has each case to show."""
        rng, end = self.rng, self.end

        def pick(tier: Tier, test: Callable[[PlannedAccount], bool]) -> PlannedAccount | None:
            for a in accounts:
                if not a.fate and a.tier == a.initial_tier == tier and not a.below_zero and test(a):
                    return a
            return None

        reviewed = pick("target", lambda a: a.opened <= end - timedelta(days=150))
        if reviewed is not None:
            reviewed.fate, reviewed.until = "reviewed", end - days(rng, 80, 120)
        archived = pick("prospect", lambda a: a.opened <= end - timedelta(days=200))
        if archived is not None:
            archived.fate, archived.until = "archived", archived.opened + days(rng, 60, 100)
        lost = pick("prospect", lambda a: a.opened <= end - timedelta(days=80))
        if lost is not None:
            lost.fate, lost.until = "lost", end - days(rng, 5, 20)

    # ------------------------------------------------------------------ one account
    def account(self, a: PlannedAccount) -> None:
        self.add(
            a,
            a.opened,
            "account open",
            {
                "name": a.name,
                "industry": a.company.industry,
                "owner": a.owner,
                "currency": a.company.currency,
                "tier": a.initial_tier,
            },
            order=0,
        )
        self.add(a, a.opened, "team assign", {"member": a.owner}, order=1)
        a.team.append(a.opened)
        self.profile(a)
        self.tier_changes(a)
        self.contacts(a)
        self.support(a)
        self.visits(a)
        self.complaints(a)
        margin = self.sales(a)
        self.service_costs(a, margin)
        self.satisfaction(a)
        self.competitors(a)
        self.opportunities(a)
        self.program(a)
        self.stages(a)
        self.fate(a)
        self.tasks(a)

    def profile(self, a: PlannedAccount) -> None:
        rng, ind = self.rng, a.industry
        changes = {"address": a.company.city, "size": rng.choice(ind.sizes)}
        if a.tier != "prospect":
            # A prospect's file is thin on purpose: file completeness is a report.
            changes |= {
                "strategy": rng.choice(ind.strategies),
                "products": rng.choice(ind.offerings),
                "finance": rng.choice(self.c.profile.finance),
                "fit": rng.choice(ind.fits),
            }
        self.add(a, min(a.opened + days(rng, 0, 7), a.until), "account update", changes, order=1)
        if a.tier in BIG_TIERS and rng.random() < 0.5:
            later = workday(a.opened + days(rng, 120, 300), a.opened, a.until)
            strategy = rng.choice([s for s in ind.strategies if s != changes["strategy"]])
            updated = self.c.profile.strategy_update.format(strategy=strategy)
            self.add(a, later, "account update", {"strategy": updated})

    def tier_changes(self, a: PlannedAccount) -> None:
        rng = self.rng
        if a.initial_tier == a.tier:
            return
        reason = self.c.tiers.promotion(a.initial_tier, a.tier)
        if reason is not None:
            lo = a.opened + timedelta(days=30)
            on = workday(lo + days(rng, 0, 150), lo, a.until)
            a.promoted_on = on
        else:
            reason = self.c.tiers.demotion
            lo = a.until - timedelta(days=60)
            on = workday(lo + days(rng, 0, 40), lo, a.until)
        raising = a.tier in BIG_TIERS and TIERS.index(a.tier) > TIERS.index(a.initial_tier)
        if raising and not self.legacy_raise:
            # One raise as an older kamflow let it be made: no approver (legacy.py).
            self.legacy_raise = True
            self.add(a, on, "legacy tier set", {"tier": a.tier, "reason": reason}, order=3)
        elif raising:
            # Four eyes: the owner asks, the director (an approver) approves.
            self.add(a, on, "tier request", {"tier": a.tier, "reason": reason}, order=3)
            self.add(a, on, "tier approve", {}, actor=self.c.staff.director, order=3)
        else:
            self.add(a, on, "tier set", {"tier": a.tier, "reason": reason}, order=3)

    # ------------------------------------------------------------------ value
    def sales(self, a: PlannedAccount) -> Decimal:
        """Plan the account's sales and payments; return the planned gross margin."""
        rng, ind = self.rng, a.industry
        count = self.count(self.c.counts.sales, a)
        rate = self.c.money.rates[a.company.currency]
        revenue = a.revenue
        if a.tier == "prospect":
            revenue = rng.uniform(20_000, 80_000) / rate  # a trial order
        lo = a.opened + timedelta(days=3)
        if a.promoted_on is not None and a.initial_tier == "prospect":
            lo = max(lo, a.promoted_on - timedelta(days=14))  # the promotion's trial order
        dates = spread(rng, count, lo, a.until)
        weights = [rng.uniform(0.6, 1.4) for _ in dates]
        biggest = weights.index(max(weights)) if weights else -1
        margin_total = Decimal(0)
        for n, (on, weight) in enumerate(zip(dates, weights, strict=True)):
            product = rng.choices(ind.products, [p.weight for p in ind.products])[0]
            low, high = product.margin
            margin = rng.uniform(0.03, 0.08) if a.below_zero else rng.uniform(low, high)
            amount = money(revenue * weight / sum(weights))
            cost = money(float(amount) * (1 - margin))
            margin_total += amount - cost
            fields: dict[str, Any] = {
                "product": product.name,
                "amount": amount,
                "cost": cost,
                "currency": a.company.currency,
            }
            # A launch discount beyond the ceiling needs an approved exception (P4).
            special = a.tier == "strategic" and n == biggest and self.discount_exceptions < 2
            if special:
                fields["discount"] = self.c.sales.launch_discount
            elif rng.random() < 0.3:
                fields["discount"] = Decimal(rng.randint(4, 24)) / 2
            sale = self.add(a, on, "sale record", fields)
            if special:
                self.discount_exceptions += 1
                exception = {"rule": "discount-ceiling", "reason": self.c.sales.discount_reason}
                # Four eyes: the owner asks, the director (an approver) approves.
                request = self.add(
                    a,
                    on,
                    "exception request",
                    exception,
                    order=4,
                    source=sale,
                    source_field="invoice",
                    gives="exception",
                )
                self.add(
                    a,
                    on,
                    "exception approve",
                    {},
                    actor=self.c.staff.director,
                    order=4,
                    source=request,
                    source_field="exception",
                )
            a.evidence.append(on)
            self.payments(a, sale, on, amount)
        return margin_total

    def payments(self, a: PlannedAccount, sale: Step, on: date, amount: Decimal) -> None:
        """P2: payments reference a sale; most are paid, some partly, some not at all."""
        rng = self.rng
        pay_on = on + timedelta(days=rng.choice((30, 45, 60, 90)) + rng.randint(-10, 25))
        pay_on = max(pay_on, on + timedelta(days=1))
        roll = rng.random()
        if pay_on > a.until or roll < (0.4 if a.below_zero else 0.08):
            return  # not yet due, or overdue: receivables for the ledger report
        paid = amount
        if roll < 0.25:
            paid = money(float(amount) * rng.uniform(0.3, 0.7))
        self._pay(a, sale, pay_on, paid)
        rest_on = pay_on + days(rng, 20, 45)
        if paid < amount and rest_on <= a.until and rng.random() < 0.5:
            self._pay(a, sale, rest_on, amount - paid)

    def _pay(self, a: PlannedAccount, sale: Step, on: date, amount: Decimal) -> None:
        fields = {"amount": amount}
        finance = self.c.staff.finance
        self.add(
            a, on, "payment record", fields, actor=finance, source=sale, source_field="invoice"
        )

    def service_costs(self, a: PlannedAccount, margin: Decimal) -> None:
        rng, ind = self.rng, a.industry
        count = self.count(self.c.counts.service_costs, a)
        if a.below_zero:
            # Service eats more than the whole margin: this account is BZ (docs/domain.md,
            # Value classes).
            total = float(margin) * rng.uniform(1.4, 2.0)
        elif margin > 0:
            share = self.c.counts.service_share[a.tier]
            total = float(margin) * rng.uniform(*share)
        else:
            total = rng.uniform(3_000, 20_000) / self.c.money.rates[a.company.currency]
        dates = spread(rng, count, a.opened + timedelta(days=1), a.until)
        weights = [rng.uniform(0.5, 1.5) for _ in dates]
        for on, weight in zip(dates, weights, strict=True):
            service = rng.choice(ind.service)
            fields = {
                "amount": money(max(total * weight / sum(weights), 50)),
                "category": service.category,
                "description": service.description,
            }
            self.add(a, on, "cost record", fields)

    def satisfaction(self, a: PlannedAccount) -> None:
        rng = self.rng
        count = self.count(self.c.counts.satisfaction, a)
        target = self.c.satisfaction.targets[a.tier]
        for on in spread(rng, count, a.opened + timedelta(days=45), a.until):
            base = float(target) - (1.2 if a.below_zero else 0.1)
            score = min(max(rng.gauss(base, 0.7), 3.0), 10.0)
            fields = {
                "score": Decimal(f"{score:.1f}"),
                "target": target,
                "note": rng.choice(self.c.satisfaction.notes),
            }
            self.add(a, on, "satisfaction record", fields)
            a.evidence.append(on)

    # ------------------------------------------------------------------ market
    def competitors(self, a: PlannedAccount) -> None:
        rng, ind, notes = self.rng, a.industry, self.c.competitors
        count = self.count(self.c.counts.competitors, a)
        chosen = rng.sample(list(ind.competitors), min(count, len(ind.competitors)))
        dates = spread(rng, len(chosen), a.opened + timedelta(days=5), a.until)
        for on, rival in zip(dates, chosen, strict=False):
            self.add(
                a,
                on,
                "competitor note",
                {
                    "competitor": rival.name,
                    "products": rival.products,
                    "satisfaction": rng.choice(notes.satisfaction),
                    "rep": rival.rep,
                    "style": rival.style,
                    "relationship": rng.choice(notes.relationship),
                    "strengths": rival.strengths,
                    "weaknesses": rival.weaknesses,
                },
            )
            later = on + days(rng, 60, 200)
            if a.tier == "strategic" and later <= a.until and rng.random() < 0.5:
                # The file is kept current, not written once (docs/domain.md, The customer file).
                update = {"competitor": rival.name, "satisfaction": rng.choice(notes.satisfaction)}
                self.add(a, workday(later, on, a.until), "competitor note", update)

    def opportunities(self, a: PlannedAccount) -> None:
        """Opportunities through the funnel: some won, some lost, the rest open."""
        rng, ind, texts = self.rng, a.industry, self.c.opportunities
        count = self.count(self.c.counts.opportunities, a)
        chosen = rng.sample(list(ind.opportunities), min(count, len(ind.opportunities)))
        dates = spread(rng, len(chosen), a.opened + timedelta(days=20), a.until)
        rate = self.c.money.rates[a.company.currency]
        for on, opportunity in zip(dates, chosen, strict=False):
            decider = a.on(on).decider()
            maker = (
                f"{decider.name}, {ind.seats[decider.seat].title}"
                if decider
                else texts.unknown_decider
            )
            size = a.revenue if a.revenue > 0 else 400_000 / rate
            budget = max(1000, round(size * rng.uniform(0.1, 0.4), -3))
            decision = on + days(rng, 60, 240)
            opened = self.add(
                a,
                on,
                "opp open",
                {
                    "title": opportunity.title,
                    "problem": opportunity.problem,
                    "budget": money(budget),
                    "decision_maker": maker,
                    "timeline": texts.timeline.format(quarter=quarter(decision)),
                    "procurement": opportunity.procurement,
                    "close_by": decision,
                },
                gives="opportunity",
            )
            roll = rng.random()
            ending = "opp win" if roll < 0.3 else "opp lose" if roll < 0.55 else ""
            chain = Chain(self, a, opened, "opportunity")
            advanced = 0
            for _ in range(3 if ending == "opp win" else rng.randint(0, 3)):
                if not chain.then("opp advance", {}, 10, 45):
                    ending = ""  # the year ended with the opportunity still in the funnel
                    break
                advanced += 1
            if advanced >= 2 and not ending:
                # The manager's own judgement over the stage's probability (ADR 0021).
                view = texts.judgements[len(self.steps) % len(texts.judgements)]
                chain.then("opp probability", {"probability": view[0], "reason": view[1]}, 1, 15)
            if ending == "opp win":
                chain.then(ending, {"note": rng.choice(texts.wins)}, 10, 40)
            elif ending:
                chain.then(ending, {"reason": rng.choice(texts.losses)}, 10, 40)

    # ------------------------------------------------------------------ tasks
    def tasks(self, a: PlannedAccount) -> None:
        """Tasks in the account's last weeks for its owner: one overdue, one done, one
        moved to a date after today, one due in the coming week, so the agenda and the
        task list show something for every key-account manager (the first ten
        accounts, which have each owner at least once). Drawn from a generator of
        their own, so the rest of the demo is the same with or without them."""
        if a.rank >= 10 or a.fate:
            return
        rng = random.Random(f"tasks {a.key} {self.end}")
        texts = self.c.tasks
        today = self.end + timedelta(days=1)
        people = a.on(a.until).present()
        names = [p.name for p in people] or [a.name]

        def title() -> str:
            return rng.choice(texts.titles).format(contact=rng.choice(names))

        def added(on: date, due: date) -> Step:
            # Due on a weekday, as people plan their calls and visits.
            due = workday(due, due - timedelta(days=2), due + timedelta(days=2))
            return self.add(a, on, "task add", {"title": title(), "due": due}, gives="task")

        start = max(a.opened, self.end - timedelta(days=40))
        # Overdue: due 3 to 12 days ago, still open.
        added(start, today - days(rng, 3, 12))
        # Done on time.
        done = added(start, today - days(rng, 1, 10))
        on = min(self.end, max(start, date.fromisoformat(str(done.fields["due"]))))
        self.add(
            a, on, "task done", {"note": rng.choice(texts.done)}, source=done, source_field="task"
        )
        # Moved from last week to the coming one.
        moved = added(start, today - days(rng, 1, 5))
        self.add(
            a,
            self.end,
            "task move",
            {
                "due": workday(today + days(rng, 1, 6), today, today + timedelta(days=9)),
                "reason": rng.choice(texts.moved),
            },
            source=moved,
            source_field="task",
        )
        # Due this week.
        added(self.end, today + days(rng, 0, 6))

    # ------------------------------------------------------------------ program & stage
    def program(self, a: PlannedAccount) -> None:
        """The ten-step management program for key and strategic accounts; the
        biggest start a second cycle. Each step goes on the first day, from when it is
        due, on which the program workflow's guards let it through."""
        rng = self.rng
        if a.initial_tier in BIG_TIERS:
            cursor = a.opened + days(rng, 3, 15)
        elif a.tier in BIG_TIERS and a.promoted_on is not None:
            cursor = a.promoted_on + days(rng, 1, 10)
        else:
            return
        state = PROGRAM.initial
        for cycle in range(2 if a.tier == "strategic" else 1):
            for n, step in enumerate(STEPS):
                planned = cursor if cycle == n == 0 else cursor + days(rng, 5, 25)
                on = first_allowed(PROGRAM, state, step, a, planned, a.until)
                if on is None:
                    return
                self.add(
                    a,
                    on,
                    "program complete",
                    {"step": step, "evidence": self.c.program.evidence[step]},
                    order=6,
                )
                if step == "confirm":
                    a.cycle, a.cycle_confirmed = a.cycle + 1, on
                elif step == "publish-plan":
                    a.plan_published = on
                state, cursor = step, on

    def stages(self, a: PlannedAccount) -> None:
        """Relationship stages, each taken on the first day the stage workflow's
        guards (breadth of contact, a decider, the plan, the team) let it through."""
        rng = self.rng
        goal = self.count(self.c.counts.stages, a)
        # A lost account uncouples first, so its stages stop before that.
        bound = a.until - timedelta(days=25) if a.fate == "reviewed" else a.until
        cursor = (a.promoted_on or a.opened) + days(rng, 1, 20)
        state = STAGE.initial
        for _ in range(goal):
            stage = STAGE.dest(state, "advance")
            assert stage is not None, f"the stage workflow ends at {state}"
            on = first_allowed(STAGE, state, "advance", a, cursor, bound)
            if on is None:
                return
            reason = self.c.relationship.reasons[stage]
            self.add(a, on, "stage advance", {"stage": stage, "reason": reason}, order=7)
            state, cursor = stage, on + days(rng, 20, 60)

    def fate(self, a: PlannedAccount) -> None:
        rng, losses = self.rng, self.c.losses
        if not a.fate:
            return
        lost_on = a.until + timedelta(days=1)
        if a.fate == "reviewed":
            uncoupled = a.until - timedelta(days=20)
            reason = {"reason": self.c.relationship.uncouple_reason}
            self.add(a, uncoupled, "stage uncouple", reason, order=9)
        loss = losses.archived if a.fate == "archived" else losses.reviewed
        cause = losses.open_cause if a.fate == "lost" else loss.cause
        self.add(a, lost_on, "account lose", {"cause": cause}, order=9)
        if a.fate == "lost":
            return  # not reviewed yet: P8 has something to flag
        reviewed_on = workday(lost_on + days(rng, 7, 25), lost_on, self.end)
        review = {"cause": cause, "lessons": loss.lessons}
        self.add(a, reviewed_on, "account review", review, order=9)
        a.reviewed_on = reviewed_on
        if a.fate == "archived":
            day = workday(reviewed_on + days(rng, 3, 15), reviewed_on, self.end)
            # Archived only if P8's guards let it be (post-mortem, complaints settled).
            reviewed = LIFECYCLE.state_after("PostMortemRecorded")
            if first_allowed(LIFECYCLE, reviewed, "archive", a, day, day):
                self.add(a, day, "account archive", {"note": losses.archive_note}, order=9)


def demo_people(c: Catalogue) -> list[str]:
    """Everyone the demo's roster grants a role (and so a key), in grant order."""
    people: list[str] = []
    for grant in c.roster:
        post = getattr(c.staff, grant.post)
        for person in post if isinstance(post, list | tuple) else [post]:
            if person not in people:
                people.append(person)
    return people

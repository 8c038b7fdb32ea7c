"""Planning the customer's people and the talk with them: the buying centre (who joins,
who leaves, who changes), the account team, visits and their follow-ups, complaints
through their workflow."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from kamflow.demo.planned import Chain, Person, PlanBase, PlannedAccount
from kamflow.demo.timeline import days, spread, weighted, workday
from kamflow.domain.values import BIG_TIERS, PERSONALITIES


class People(PlanBase):
    """The part of the planner that plans people and the talk with them."""

    def _name(self, a: PlannedAccount) -> str:
        rng, names = self.rng, self.c.names
        while True:
            if a.company.western:
                name = f"{rng.choice(names.first_en)} {rng.choice(names.last_en)}"
            elif rng.random() < 0.4:
                name = rng.choice(names.surnames_zh) + rng.choice(names.given_zh)
            else:
                name = f"{rng.choice(names.surnames)} {rng.choice(names.given)}"
            if name not in a.names:
                a.names.append(name)
                return name

    def _add_person(self, a: PlannedAccount, seat: int, on: date, boss: Person | None) -> Person:
        rng, role = self.rng, a.industry.seats[seat]
        person = Person(self._name(a), seat, on, weighted(rng, self.attitudes), boss=boss)
        title = role.title if a.company.western else f"{role.title_zh} {role.title}"
        fields: dict[str, Any] = {
            "contact": person.name,
            "title": title,
            "department": role.department,
            "roles": list(role.roles),
            "influence": role.influence,
            "attitude": person.attitude,
            "personality": rng.choice(PERSONALITIES),
        }
        if boss is not None and boss.current(on):
            fields["reports_to"] = boss.name
        self.add(a, on, "contact add", fields, order=2)
        a.people.append(person)
        return person

    def contacts(self, a: PlannedAccount) -> None:
        rng, ind = self.rng, a.industry
        count = self.count(self.c.counts.contacts, a)
        seats = list(ind.growth[:count])

        def depth(seat: int) -> int:
            boss = ind.seats[seat].boss
            return 0 if boss is None else 1 + depth(boss)

        # The first two seats are known when the account is opened; the rest of the
        # buying centre is mapped over the following months. Same-day bosses go first so
        # that reports_to can name someone already on file.
        span = max((a.until - a.opened).days, 0)
        dated: list[tuple[date, int, int]] = []
        for seat in seats:
            on = a.opened
            if seat not in ind.growth[:2]:
                on = workday(a.opened + days(rng, 1, max(1, int(span * 0.6))), a.opened, a.until)
            dated.append((on, depth(seat), seat))
        by_seat: dict[int, Person] = {}
        for on, _, seat in sorted(dated):
            boss_seat = ind.seats[seat].boss
            boss = by_seat.get(boss_seat) if boss_seat is not None else None
            by_seat[seat] = self._add_person(a, seat, on, boss)
        # Bosses met after their people: link them once both are on file.
        for seat, person in by_seat.items():
            boss_seat = ind.seats[seat].boss
            if boss_seat is not None and boss_seat in by_seat and person.boss is None:
                person.boss = by_seat[boss_seat]
        self.leaver(a)
        self.contact_changes(a)

    def leaver(self, a: PlannedAccount) -> None:
        """Now and then a contact leaves: a personnel change and its analysis (docs/domain.md,
        The customer file)."""
        rng, first_seat = self.rng, a.industry.growth[0]
        hi = a.until - timedelta(days=45)
        # The buyer (first seat) always stays, so every visit has someone to see; bosses
        # stay too, so that reports_to always names someone still on file.
        bosses = [p.boss for p in a.people if p.boss is not None]
        leavers = [
            p
            for p in a.people
            if p.seat != first_seat
            and all(p is not b for b in bosses)
            and p.added + timedelta(days=90) <= hi
        ]
        if not leavers or rng.random() > (0.3 if a.tier != "prospect" else 0.1):
            return
        person = rng.choice(leavers)
        lo = person.added + timedelta(days=90)
        left = workday(lo + days(rng, 0, (hi - lo).days), lo, hi)
        person.left = left
        leaving = rng.choice(self.c.people.leavings)
        fields = {"contact": person.name, "reason": leaving.reason, "analysis": leaving.analysis}
        self.add(a, left, "contact leave", fields, order=8)
        successor_on = left + days(rng, 7, 40)
        if successor_on <= a.until and rng.random() < 0.7:
            boss = person.boss if person.boss and person.boss.current(successor_on) else None
            self._add_person(a, person.seat, workday(successor_on, left, a.until), boss)

    def contact_changes(self, a: PlannedAccount) -> None:
        """A few people change during the year: a promotion, a sceptic won over."""
        rng, ind = self.rng, a.industry
        for person in list(a.people):
            boss = person.boss
            if boss is not None and boss.added > person.added:
                linked = workday(boss.added + days(rng, 0, 14), boss.added, a.until)
                if person.current(linked) and boss.current(linked):
                    self.add(
                        a,
                        linked,
                        "contact change",
                        {"contact": person.name, "reports_to": boss.name},
                    )
            if person.left is not None or rng.random() > 0.12:
                continue
            lo = person.added + timedelta(days=30)
            if lo > a.until:
                continue
            on = workday(lo + days(rng, 0, (a.until - lo).days), lo, a.until)
            role = ind.seats[person.seat]
            change: dict[str, Any] = {"contact": person.name}
            manager, director = self.c.people.title_promotion
            if manager in role.title:
                title = role.title.replace(manager, director)
                zh = role.title_zh.replace(*self.c.people.title_promotion_zh)
                change["title"] = title if a.company.western else f"{zh} {title}"
            else:
                # An unchanged value is refused, so a champion can only cool down.
                change["attitude"] = "supporter" if person.attitude == "champion" else "champion"
            self.add(a, on, "contact change", change)

    def support(self, a: PlannedAccount) -> None:
        """Big accounts get a second team member (synergistic KAM needs two)."""
        rng = self.rng
        if a.tier not in BIG_TIERS or (a.tier == "key" and rng.random() < 0.4):
            return
        on = workday((a.promoted_on or a.opened) + days(rng, 10, 60), a.opened, a.until)
        support = a.industry.support
        self.add(a, on, "team assign", {"member": support.member, "role": support.role}, order=1)
        a.team.append(on)

    # ------------------------------------------------------------------ talk
    def visits(self, a: PlannedAccount) -> None:
        rng, ind = self.rng, a.industry
        count = self.count(self.c.counts.visits, a)
        for on in spread(rng, count, a.opened + timedelta(days=1), a.until):
            present = a.on(on).present()
            if not present:
                continue
            met = rng.sample(present, min(len(present), rng.choice((1, 1, 2, 2, 3))))
            visit = rng.choice(ind.visits)
            issues = []
            if rng.random() < 0.45:
                issues = rng.sample(list(ind.issues), rng.choice((1, 1, 1, 2)))
            logged = self.add(
                a,
                on,
                "visit log",
                {
                    "with": [p.name for p in met],
                    "purpose": visit.purpose,
                    "objective": visit.objective,
                    "result": rng.choice(visit.results),
                    "issues": [issue.issue for issue in issues],
                },
                gives="issues",
            )
            for index, issue in enumerate(issues):
                # Most issues get a follow-up (P6); the rest stay open for the cadence report.
                follow_on = on + days(rng, 2, 30)
                if follow_on > a.until or rng.random() < 0.15:
                    continue
                self.add(
                    a,
                    workday(follow_on, on + timedelta(days=1), a.until),
                    "visit follow-up",
                    {"result": issue.follow_up},
                    source=logged,
                    source_field="issue",
                    source_index=index,
                )

    def complaints(self, a: PlannedAccount) -> None:
        """Complaints through their workflow: most reach an outcome and are closed (P7);
        a few stay open at various steps, some of them overdue."""
        rng, ind, texts = self.rng, a.industry, self.c.complaints
        count = self.count(self.c.counts.complaints, a)
        if a.below_zero:
            count += 2  # demanding customers are part of why they cost so much
        kinds = rng.sample(list(ind.complaints), min(count, len(ind.complaints)))
        kinds += rng.choices(ind.complaints, k=count - len(kinds))  # repeat offenders
        dates = spread(rng, count, a.opened + timedelta(days=14), a.until)
        for on, kind in zip(dates, kinds, strict=False):
            raised = self.add(
                a,
                on,
                "complaint raise",
                {"summary": kind.summary, "severity": kind.severity},
                actor=rng.choice((a.owner, self.c.staff.service_desk)),
                gives="complaint",
            )
            a.complaints.append(None)
            recent = (a.until - on).days < 30
            stays_open = rng.random() < (0.5 if recent else 0.07)
            # Some complaints still wait for acknowledgement: the SLA board's worst rows.
            if stays_open and rng.random() < 0.4:
                continue
            chain = Chain(self, a, raised, "complaint")
            if not chain.then("complaint ack", {}, 0, 0 if kind.severity == "critical" else 2):
                continue
            if kind.severity != "low" and rng.random() < 0.5:
                note = {"note": rng.choice(texts.investigations)}
                chain.then("complaint investigate", note, 1, 4)
            if kind.severity in ("high", "critical") and rng.random() < 0.3:
                escalation = {"reason": rng.choice(texts.escalations), "to": self.c.staff.director}
                chain.then("complaint escalate", escalation, 0, 2)
            if stays_open:
                continue
            low, high = texts.resolution_days[kind.severity]
            if rng.random() < 0.17:
                rejection = {"justification": kind.rejection}
                ended = chain.then("complaint reject", rejection, low, high)
            else:
                ended = chain.then("complaint resolve", {"outcome": kind.outcome}, low, high)
            if ended:
                a.complaints[-1] = chain.last
            if ended and rng.random() < 0.85:
                confirmation = {"confirmation": rng.choice(texts.confirmations)}
                chain.then("complaint close", confirmation, 2, 10)

"""Visits (拜访) and the follow-up of the issues they find (P6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.corrections import VoidFact
from kamflow.domain.commands.fields import MAX_ITEMS, Line, Name, ShortRef, Text
from kamflow.domain.corrections import find
from kamflow.domain.errors import Conflict, Field, InvalidInput, NotFound, RuleViolation

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta


class LogVisit(Command):
    """Log a visit: whom, purpose, objective, result, issues found.

    \b
    Example:
        kamflow visit log acme --with "Wang Fang" --purpose "phytase trial" \\
            --objective "agree trial size" --result "trial of 2 t agreed" \\
            --issue "price vs DSM" --on 2026-11-20
    """

    name = "visit log"
    with_: list[Name] = option(
        "Whom; repeat for several.",
        alias="with",
        metavar="NAME|ID",
        min_length=1,
        max_length=MAX_ITEMS,
    )
    purpose: Text = option()
    objective: Text = option()
    result: Text | None = option("What came of it (P6: required).", default=None)
    issues: list[Line] = option(
        "A problem found; repeat for several.", default=[], max_length=MAX_ITEMS
    )

    def execute(self, account: Account, meta: Meta) -> str:
        if not self.result:
            raise RuleViolation(
                "P6",
                f'a visit to "{account.key}" needs a result as well as a purpose and an'
                " objective; add ",
                Field("result"),
            )
        contacts = sorted({account.find_contact(ref) for ref in self.with_})
        first = account.counters.get("I", 0) + 1
        numbered = {f"I-{first + i}": text for i, text in enumerate(self.issues)}
        visit_id = account.next_id("V")
        account.record(
            Account.VisitLogged,
            meta,
            visit_id=visit_id,
            contacts=contacts,
            issues=numbered,
            **self.given("purpose", "objective", "result"),
        )
        # Say which issue ids the visit opened: users type them in `visit follow-up`.
        return f"{visit_id} with issues {', '.join(numbered)}" if numbered else visit_id


class RecordFollowUp(Command):
    """Record the result of following up an issue found on a visit.

    \b
    Example:
        kamflow visit follow-up acme I-1 --result "price matched for trial volume"
    """

    name = "visit follow-up"
    arguments = ("account", "issue")
    issue: ShortRef = option(metavar="ISSUE")
    result: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        issue_id = self.issue.upper()
        if issue_id not in account.open_issues:
            kind, _, number = issue_id.partition("-")
            if (
                kind == "I"
                and number.isdigit()
                and 1 <= int(number) <= account.counters.get("I", 0)
            ):
                raise Conflict(
                    f'issue {issue_id} on "{account.key}" already has a follow-up result'
                )
            raise NotFound(f'no issue {issue_id} on "{account.key}"')
        account.record(Account.FollowUpRecorded, meta, issue_id=issue_id, result=self.result)
        return issue_id


class VoidVisit(VoidFact):
    """Void a visit recorded by mistake (REF: its id, V-14, or its #N in the history);
    the history keeps it and its voiding, every report leaves it out.

    \b
    Example:
        kamflow visit void acme V-14 --reason "entered twice"
    """

    name = "visit void"
    kind = "visit"


class AmendVisit(Command):
    """Correct what a visit's record says (its purpose, objective or result); the
    history keeps what it said before.

    \b
    Example:
        kamflow visit amend acme V-3 --result "trial of 3 t agreed" --reason "typo: 3 t"
    """

    name = "visit amend"
    arguments = ("account", "visit")
    needs_history = True
    visit: ShortRef = option(metavar="VISIT")
    purpose: Text | None = option(default=None)
    objective: Text | None = option(default=None)
    result: Text | None = option(default=None)
    reason: Text = option("Why it is corrected.")

    def execute(self, account: Account, meta: Meta) -> str:
        history = meta.history or ()
        logged = find(account, history, "visit", self.visit)
        now = {k: getattr(logged, k) for k in ("purpose", "objective", "result")}
        for e in history:
            if isinstance(e, Account.VisitAmended) and e.visit_id == logged.visit_id:
                now.update(e.changes)
        asked = self.model_dump(include={"purpose", "objective", "result"}, exclude_none=True)
        if not asked:
            raise InvalidInput("nothing to amend: give at least one of ", Field("result"), " ...")
        changes = {k: v for k, v in asked.items() if now[k] != v}
        if not changes:
            raise Conflict(f'visit {logged.visit_id} on "{account.key}" already says that')
        account.record(
            Account.VisitAmended,
            meta,
            visit_id=logged.visit_id,
            changes=changes,
            previous={k: now[k] for k in changes},
            reason=self.reason,
        )
        return str(logged.visit_id)

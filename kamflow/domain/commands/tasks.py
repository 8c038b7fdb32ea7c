"""Tasks (待办): what someone must do for an account by a business date (ADR 0022).

A task is events on its account, as everything else is: added, moved (the old due date
stays in the event), done, or cancelled with a reason. Its owner is the account's
key-account manager unless another person is named; it may be about an opportunity, a
complaint, an issue found on a visit or a contact of the account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import BusinessDate, Line, Name, OptText, ShortRef, Text
from kamflow.domain.errors import Conflict, Field, InvalidInput, NotFound
from kamflow.domain.state import TaskState

if TYPE_CHECKING:
    from datetime import date

    from kamflow.domain.envelope import Meta

# What ``--about`` may name, by the letter of its id.
ABOUT = {"O": "opportunity", "C": "complaint", "I": "issue", "P": "contact"}


def about_exists(account: Account, ref: str) -> bool:
    """Whether the account has (or had) the opportunity, complaint, issue or contact
    ``ref`` names. Issues leave the state when followed up, so an issue id is known by
    the account's issue counter."""
    kind, _, number = ref.partition("-")
    if kind == "O":
        return ref in account.opportunities
    if kind == "C":
        return ref in account.complaints
    if kind == "P":
        return ref in account.contacts
    return kind == "I" and number.isdigit() and 1 <= int(number) <= account.counters.get("I", 0)


def check_due(account: Account, due: date) -> None:
    """Refuse a due date before the account was opened: nothing about it was due then."""
    if account.opened_on is not None and due < account.opened_on:
        raise InvalidInput(
            f'"{account.key}" was opened on {account.opened_on}; a task cannot be ',
            Field("due"),
            f" on {due}, before it",
        )


class AddTask(Command):
    """Add a task with a due date (a business date in the business time zone).

    The owner is the account's key-account manager unless --owner names someone else;
    --about ties it to an opportunity, complaint, issue or contact of the account.

    \b
    Example:
        kamflow task add acme "call Zhou Tao about O-1" --due 2026-12-05 --about O-1
    """

    name = "task add"
    arguments: ClassVar[tuple[str, ...]] = ("account", "title")
    title: Line = option(metavar="TITLE")
    due: BusinessDate = option("When it is due (YYYY-MM-DD).")
    owner: Name | None = option("Who must do it (default: the account's owner).", default=None)
    about: ShortRef | None = option(
        "The opportunity, complaint, issue or contact it is about.",
        default=None,
        metavar="O-1|C-2|I-3|P-4",
    )

    def execute(self, account: Account, meta: Meta) -> str:
        about = self.about.upper() if self.about else None
        if about is not None and not about_exists(account, about):
            kinds = ", ".join(f"{k}-n ({v})" for k, v in ABOUT.items())
            what = ABOUT.get(about[0])
            raise NotFound(
                f'no {what} {about} on "{account.key}"'
                if what
                else f"a task is about one of {kinds}, not {about}"
            )
        check_due(account, self.due)
        task_id = account.next_id("T")
        account.record(
            Account.TaskAdded,
            meta,
            task_id=task_id,
            owner=self.owner or account.profile.get("owner", ""),
            about=about,
            **self.given("title", "due"),
        )
        return task_id


class TaskStep(Command):
    """A step on one open task."""

    arguments: ClassVar[tuple[str, ...]] = ("account", "task")
    task: ShortRef = option(metavar="TASK")

    def open_task(self, account: Account) -> tuple[str, TaskState]:
        """The open task this names; NotFound, or Conflict when it is done or cancelled."""
        task_id = self.task.upper()
        task = account.tasks.get(task_id)
        if task is None:
            raise NotFound(f'no task {task_id} on "{account.key}"')
        if task["status"] != "open":
            raise Conflict(f'task {task_id} on "{account.key}" is already {task["status"]}')
        return task_id, task


class CompleteTask(TaskStep):
    """Mark a task done.

    \b
    Example:
        kamflow task done acme T-1 --note "Zhou Tao agreed to a trial"
    """

    name = "task done"
    note: OptText = option("What came of it.", default="")

    def execute(self, account: Account, meta: Meta) -> str:
        task_id, _ = self.open_task(account)
        account.record(Account.TaskDone, meta, task_id=task_id, note=self.note)
        return task_id


class MoveTask(TaskStep):
    """Give a task a new due date (the old one stays in its history).

    \b
    Example:
        kamflow task move acme T-1 --due 2026-12-12 --reason "Zhou Tao travelling"
    """

    name = "task move"
    due: BusinessDate = option("The new due date (YYYY-MM-DD).")
    reason: OptText = option("Why it moved.", default="")

    def execute(self, account: Account, meta: Meta) -> str:
        task_id, task = self.open_task(account)
        if task.get("due") == self.due:
            raise Conflict(f'task {task_id} on "{account.key}" is already due on {self.due}')
        check_due(account, self.due)
        account.record(
            Account.TaskMoved,
            meta,
            task_id=task_id,
            from_due=task["due"],
            to_due=self.due,
            reason=self.reason,
        )
        return task_id


class CancelTask(TaskStep):
    """Cancel a task that no longer needs doing, with the reason.

    \b
    Example:
        kamflow task cancel acme T-2 --reason "the trial was called off"
    """

    name = "task cancel"
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        task_id, _ = self.open_task(account)
        account.record(Account.TaskCancelled, meta, task_id=task_id, reason=self.reason)
        return task_id

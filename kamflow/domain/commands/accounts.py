"""The account's file and lifecycle: open, update, lose, review, archive, reactivate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from kamflow.domain import corrections
from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import Currency, Key, Line, Name, OptText, Text
from kamflow.domain.errors import Conflict, Field, InvalidInput, Suggest
from kamflow.domain.values import PROFILE_FIELDS, Tier
from kamflow.workflows.lifecycle import LIFECYCLE

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta


class OpenAccount(Command):
    """Open a key account with its minimum file (P3: name, industry, owner).

    \b
    Example:
        kamflow account open acme --name "正大饲料 Acme Feed" --industry feed --owner li.wei
    """

    name = "account open"
    display_name: Name = option("Company name (any language).", alias="name")
    industry: Name = option()
    owner: Name = option("The key-account manager responsible.")
    currency: Currency = option("Default currency of its sales (default CNY).", default="CNY")
    tier: Tier = option("Starting tier (default prospect).", default="prospect")

    def decide(self, account: Account | None, meta: Meta) -> tuple[Account, str]:
        if account is not None:
            raise Conflict(
                f'account "{self.account}" already exists ("{account.profile.get("name")}");'
                " change it with ",
                Suggest("account update", (self.account,)),
            )
        opened = Account.open(
            meta,
            key=self.account,
            name=self.display_name,
            industry=self.industry,
            owner=self.owner,
            currency=self.currency,
            tier=self.tier,
        )
        return opened, self.account


class UpdateAccount(Command):
    """Change the company part of the file.

    \b
    Example:
        kamflow account update acme --address "Chengdu, Sichuan" --size "12 mills"
    """

    name = "account update"
    display_name: Name | None = option(default=None, alias="name")
    industry: Name | None = option(default=None)
    owner: Name | None = option(default=None)
    address: Text | None = option(default=None)
    size: Line | None = option(default=None)
    website: Line | None = option(default=None)
    strategy: Text | None = option(default=None)
    products: Text | None = option("The customer's product structure.", default=None)
    finance: Text | None = option("Its financial situation.", default=None)
    fit: Text | None = option("How well its needs fit our products.", default=None)
    notes: Text | None = option(default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        changes = self.model_dump(exclude={"account", "on"}, exclude_none=True)
        if "display_name" in changes:
            changes["name"] = changes.pop("display_name")
        if not changes:
            raise InvalidInput(
                "nothing to update: give at least one field, e.g. ", Field("address")
            )
        unknown = set(changes) - set(PROFILE_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown profile field: {', '.join(sorted(unknown))}")
        real = {k: v for k, v in changes.items() if account.profile.get(k) != v}
        if not real:
            raise Conflict(f'account "{account.key}": nothing to update; the values are unchanged')
        account.record(Account.ProfileUpdated, meta, changes=real)
        return account.key


def _lifecycle(account: Account, trigger: str) -> None:
    account.step(LIFECYCLE, account.lifecycle, trigger, f'account "{account.key}"')


class LoseAccount(Command):
    """Record that a customer was lost (a post-mortem must follow, P8).

    \b
    Example:
        kamflow account lose acme --cause "switched to DSM on price"
    """

    name = "account lose"
    cause: Text = option("Why the customer was lost.")

    def execute(self, account: Account, meta: Meta) -> str:
        _lifecycle(account, "lose")
        account.record(Account.AccountLost, meta, cause=self.cause)
        return "lost"


class ReviewAccount(Command):
    """Record the post-mortem of a lost customer (P8).

    \b
    Example:
        kamflow account review acme --cause "no contact above purchasing" \\
            --lessons "map the decision process before renewal"
    """

    name = "account review"
    cause: Text = option("The root cause found.")
    lessons: Text = option("What we learn and change.")

    def execute(self, account: Account, meta: Meta) -> str:
        _lifecycle(account, "review")
        account.record(Account.PostMortemRecorded, meta, **self.given("cause", "lessons"))
        return "reviewed"


class ArchiveAccount(Command):
    """Archive a lost account: only after its post-mortem (P8) and with every complaint
    at an outcome (P7).

    \b
    Example:
        kamflow account archive acme
    """

    name = "account archive"
    note: OptText = option(default="")

    def execute(self, account: Account, meta: Meta) -> str:
        _lifecycle(account, "archive")
        account.record(Account.AccountArchived, meta, note=self.note)
        return "archived"


class ReactivateAccount(Command):
    """Win back a lost or reviewed account.

    \b
    Example:
        kamflow account reactivate acme --reason "new GM invited us back"
    """

    name = "account reactivate"
    reason: Text = option()

    def execute(self, account: Account, meta: Meta) -> str:
        _lifecycle(account, "reactivate")
        account.record(Account.AccountReactivated, meta, reason=self.reason)
        return "active"


class RenameAccount(Command):
    """Change an account's display name (its key stays); the history keeps the old one.

    \b
    Example:
        kamflow account rename acme "正大饲料 Acme Feed (Chengdu)"
    """

    name = "account rename"
    arguments = ("account", "display_name")
    display_name: Name = option("The new company name.", metavar="NAME", alias="name")

    def execute(self, account: Account, meta: Meta) -> str:
        if account.profile.get("name") == self.display_name:
            raise Conflict(f'account "{account.key}" is already named "{self.display_name}"')
        account.record(Account.ProfileUpdated, meta, changes={"name": self.display_name})
        return self.display_name


class CloseAccount(Command):
    """Close an account that should never have been opened: not a lost customer, so no
    post-mortem (P8); it leaves every report, its history stays readable.

    \b
    Example:
        kamflow account close acme2 --reason opened-in-error --note "typo for acme"
    """

    name = "account close"
    reason: Literal["opened-in-error", "duplicate"] = option(
        "opened-in-error, or duplicate: a second key for a customer with nothing to keep."
    )
    note: OptText = option(default="")

    def execute(self, account: Account, meta: Meta) -> str:
        _lifecycle(account, "close")
        account.record(Account.AccountClosed, meta, **self.given("reason", "note"))
        return "closed"


class MergeAccount(Command):
    """Merge a duplicate account into another: the duplicate closes as merged, its
    facts count once under the target in every report, both histories stay readable,
    and --as-of a date before the merge shows them apart. Its open issues and
    complaints are finished first (P6, P7).

    \b
    Example:
        kamflow account merge acme-feed --into acme --reason "one customer, two keys"
    """

    name = "account merge"
    into: Key = option("The account that stays.", metavar="KEY")
    reason: Text = option()

    def first(self, account: Account) -> Command:
        if account.lifecycle in LIFECYCLE.finals:
            raise Conflict(
                f'account "{account.key}" is {account.lifecycle}; its file is closed to new facts'
            )
        corrections.check_mergeable(account, self.into)
        return AbsorbAccount.model_validate(
            {
                "account": self.into,
                "source": account.key,
                "ledger": corrections.ledger_of(account),
                "reason": self.reason,
                "on": self.on,
            }
        )

    def execute(self, account: Account, meta: Meta) -> str:
        corrections.check_mergeable(account, self.into)
        _lifecycle(account, "merge")
        account.record(Account.AccountMergedInto, meta, target=self.into, reason=self.reason)
        return f'merged into "{self.into}"'


class AbsorbAccount(Command):
    """The target's side of ``account merge`` (no command of its own: no ``name``)."""

    source: Key
    ledger: dict[str, Any]
    reason: str

    def execute(self, account: Account, meta: Meta) -> str:
        if corrections.absorbed(account, self.source):
            return account.key  # a merge run again after its second write failed
        corrections.check_absorbable(account, self.source, self.ledger)
        account.record(Account.AccountAbsorbed, meta, **self.given("source", "ledger", "reason"))
        return account.key

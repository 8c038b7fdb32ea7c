"""Key people (关键人物) and the buying centre: add, change, leave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import MAX_ITEMS, Name, Text
from kamflow.domain.errors import Conflict, Field, InvalidInput
from kamflow.domain.values import Attitude, BuyingRole, Level, Personality

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta

ROLE_HELP = "Buying-centre role; repeat for several."
CONTACT_REF = "NAME|ID"


class AddContact(Command):
    """Add a person to an account's file.

    \b
    Example:
        kamflow contact add acme "Wang Fang" --title "Purchasing Manager" \\
            --department procurement --role buyer --role influencer \\
            --influence high --personality doubting
    """

    name = "contact add"
    arguments = ("account", "contact")
    contact: Name = option(metavar="NAME")
    title: Name = option()
    department: Name = option()
    roles: list[BuyingRole] = option(ROLE_HELP, default=[], max_length=MAX_ITEMS)
    influence: Level | None = option(default=None)
    attitude: Attitude | None = option(default=None)
    personality: Personality | None = option(default=None)
    reports_to: Name | None = option(default=None, metavar=CONTACT_REF)
    influenced_by: list[Name] = option(
        "Repeat for several.", default=[], metavar=CONTACT_REF, max_length=MAX_ITEMS
    )

    def execute(self, account: Account, meta: Meta) -> str:
        # Two people may share a name (ADR 0020): they are told apart by id, and a
        # repeat of this same command is caught as a repeat (corrections.repeated).
        boss = account.find_contact(self.reports_to) if self.reports_to else None
        influencers = [account.find_contact(n) for n in self.influenced_by]
        contact_id = account.next_id("P")
        account.record(
            Account.ContactAdded,
            meta,
            contact_id=contact_id,
            name=self.contact,
            title=self.title,
            department=self.department,
            roles=sorted(set(self.roles)),
            influence=self.influence,
            attitude=self.attitude,
            personality=self.personality,
            reports_to=boss,
            influenced_by=influencers,
        )
        return contact_id


class ChangeContact(Command):
    """Change a person's title, department, roles, influence or relations.

    Giving --role replaces the person's roles with the ones given.

    \b
    Example:
        kamflow contact change acme "Wang Fang" --title "Procurement Director" --role decider
    """

    name = "contact change"
    arguments = ("account", "contact")
    contact: Name = option(metavar=CONTACT_REF)
    title: Name | None = option(default=None)
    department: Name | None = option(default=None)
    roles: list[BuyingRole] | None = option(ROLE_HELP, default=None, max_length=MAX_ITEMS)
    influence: Level | None = option(default=None)
    attitude: Attitude | None = option(default=None)
    personality: Personality | None = option(default=None)
    reports_to: Name | None = option(default=None, metavar=CONTACT_REF)
    influenced_by: list[Name] | None = option(
        "Repeat for several.", default=None, metavar=CONTACT_REF, max_length=MAX_ITEMS
    )

    def execute(self, account: Account, meta: Meta) -> str:
        changes: dict[str, Any] = self.model_dump(
            exclude={"account", "on", "contact"}, exclude_none=True
        )
        if not changes:
            raise InvalidInput("nothing to change: give at least one field, e.g. ", Field("title"))
        cid = account.find_contact(self.contact)
        if changes.get("reports_to") is not None:
            changes["reports_to"] = account.find_contact(changes["reports_to"])
            if changes["reports_to"] == cid:
                raise InvalidInput(f"contact {cid} cannot report to themself")
        if "influenced_by" in changes:
            changes["influenced_by"] = [account.find_contact(n) for n in changes["influenced_by"]]
        if "roles" in changes:
            changes["roles"] = sorted(set(changes["roles"]))
        current = account.contacts[cid]
        real = {k: v for k, v in changes.items() if current.get(k) != v}
        if not real:
            raise Conflict(f"contact {cid}: nothing to change; the values are unchanged")
        account.record(Account.ContactChanged, meta, contact_id=cid, changes=real)
        return cid


class ContactLeaves(Command):
    """Record that a person left (a personnel change and its analysis).

    \b
    Example:
        kamflow contact leave acme "Wang Fang" --reason "moved to a competitor" \\
            --analysis "procurement now led by Li Na; re-map the decision process"
    """

    name = "contact leave"
    arguments = ("account", "contact")
    contact: Name = option(metavar=CONTACT_REF)
    reason: Text = option("What happened (new job, retired...).")
    analysis: Text = option("What the change means for the account.")

    def execute(self, account: Account, meta: Meta) -> str:
        cid = account.find_contact(self.contact)
        account.record(
            Account.ContactLeft, meta, contact_id=cid, reason=self.reason, analysis=self.analysis
        )
        return cid


class RenameContact(Command):
    """Correct (or change) a person's name; the history keeps the old one.

    \b
    Example:
        kamflow contact rename acme P-4 "王芳 Wang Fang"
    """

    name = "contact rename"
    arguments = ("account", "contact", "new_name")
    contact: Name = option(metavar=CONTACT_REF)
    new_name: Name = option(metavar="NAME")

    def execute(self, account: Account, meta: Meta) -> str:
        cid = account.find_contact(self.contact, current=False)
        if account.contacts[cid]["name"] == self.new_name:
            raise Conflict(f'contact {cid} is already named "{self.new_name}"')
        account.record(Account.ContactRenamed, meta, contact_id=cid, name=self.new_name)
        return cid

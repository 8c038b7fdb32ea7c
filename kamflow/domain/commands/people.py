"""Key people (关键人物) and the buying centre: add, change, leave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kamflow.domain.account import Account
from kamflow.domain.commands import Command, option
from kamflow.domain.commands.fields import MAX_ITEMS, Name, Text
from kamflow.domain.errors import Conflict, Field, InvalidInput
from kamflow.domain.values import (
    ERASED,
    PERSONAL_FIELDS,
    Attitude,
    BuyingRole,
    Level,
    Personality,
    identity,
)

if TYPE_CHECKING:
    from kamflow.domain.envelope import Meta

ROLE_HELP = "Buying-centre role; repeat for several."
CONTACT_REF = "NAME|ID"
# The personal fields' help (stored encrypted under the person's key; ADR 0026).
_SECRET = " Personal data: stored encrypted, erased by `contact forget`."
MOBILE = "Mobile phone number." + _SECRET
EMAIL = "E-mail address." + _SECRET
WECHAT = "WeChat id." + _SECRET
BIRTHDAY = "Birthday, as known (2026-03-14, 03-14...)." + _SECRET
FAMILY = "Family (spouse, children...)." + _SECRET
HOBBIES = "Hobbies and interests." + _SECRET
PERSONAL_NOTES = "Personal notes (what matters to the person)." + _SECRET
NOTE = "Any other personal detail." + _SECRET


# kamflow's own marks in personal values (ADR 0026): the prefix of an encrypted value
# (kamflow.personal.PREFIX; a typed one was stored in plain text, then read as a
# ciphertext that does not decrypt, and the account could no longer be read or written)
# and what is shown for erased or keyless data (stored as a name, it reads as erased).
_CIPHER_PREFIX = "pd1:"
_MARKS = (ERASED, "[no key]")


def _not_a_mark(values: dict[str, str | None]) -> None:
    """Refuse a name or personal value spelt as one of kamflow's own marks."""
    for name, value in values.items():
        if value is not None and (value.startswith(_CIPHER_PREFIX) or value.strip() in _MARKS):
            raise InvalidInput(
                "invalid ",
                Field(name),
                f': "{value[:20]}" is spelt as one of kamflow\'s own marks ("pd1:" begins'
                ' an encrypted value, "[erased]" and "[no key]" show erased data); write it'
                " otherwise",
            )


def _not_forgotten(account: Account, cid: str) -> None:
    if account.contacts[cid].get("forgotten"):
        raise Conflict(f"contact {cid} was forgotten (its personal data erased); add them again")


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
    mobile: Name | None = option(MOBILE, default=None)
    email: Name | None = option(EMAIL, default=None)
    wechat: Name | None = option(WECHAT, default=None)
    birthday: Name | None = option(BIRTHDAY, default=None)
    family: Text | None = option(FAMILY, default=None)
    hobbies: Text | None = option(HOBBIES, default=None)
    personal_notes: Text | None = option(PERSONAL_NOTES, default=None)
    note: Text | None = option(NOTE, default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        # Two people may share a name (ADR 0020): they are told apart by id, and a
        # repeat of this same command is caught as a repeat (corrections.repeated).
        _not_a_mark({"contact": self.contact, **{k: getattr(self, k) for k in PERSONAL_FIELDS}})
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
            personal={k: v for k in PERSONAL_FIELDS if (v := getattr(self, k)) is not None},
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
    mobile: Name | None = option(MOBILE, default=None)
    email: Name | None = option(EMAIL, default=None)
    wechat: Name | None = option(WECHAT, default=None)
    birthday: Name | None = option(BIRTHDAY, default=None)
    family: Text | None = option(FAMILY, default=None)
    hobbies: Text | None = option(HOBBIES, default=None)
    personal_notes: Text | None = option(PERSONAL_NOTES, default=None)
    note: Text | None = option(NOTE, default=None)

    def execute(self, account: Account, meta: Meta) -> str:
        changes: dict[str, Any] = self.model_dump(
            exclude={"account", "on", "contact"}, exclude_none=True
        )
        if not changes:
            raise InvalidInput("nothing to change: give at least one field, e.g. ", Field("title"))
        _not_a_mark({k: v for k, v in changes.items() if k in PERSONAL_FIELDS})
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
        if any(k in PERSONAL_FIELDS for k in changes):
            _not_forgotten(account, cid)
        personal = current.get("personal", {})
        real = {
            k: v
            for k, v in changes.items()
            if (personal.get(k) if k in PERSONAL_FIELDS else current.get(k)) != v
        }
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
        _not_a_mark({"new_name": self.new_name})
        cid = account.find_contact(self.contact, current=False)
        _not_forgotten(account, cid)
        if account.contacts[cid]["name"] == self.new_name:
            raise Conflict(f'contact {cid} is already named "{self.new_name}"')
        account.record(Account.ContactRenamed, meta, contact_id=cid, name=self.new_name)
        return cid


# The envelope's fields, never free text about someone.
_NOT_PROSE = frozenset({"actor", "command_id", "topic", "contact_id"})


class ForgetContact(Command):
    """Erase a person's personal data at their request (PIPL art. 47, GDPR art. 17).

    Destroys the person's key: their name and personal fields read as [erased] in every
    output, for every date; the rest of the history stands and the seal still verifies.
    Free text elsewhere that names them (a visit's result, a complaint) cannot be found
    for sure: the events whose text contains the name are listed, to amend.

    \b
    Example:
        kamflow contact forget acme P-1 --reason "asked to be forgotten, mail of 2026-11-30"
    """

    name = "contact forget"
    arguments = ("account", "contact")
    contact: Name = option(metavar=CONTACT_REF)
    reason: Text = option("Who asked, and why (no personal data).")
    # The events are searched for the name (mentions).
    needs_history = True
    on_closed = True

    def execute(self, account: Account, meta: Meta) -> str:
        cid = account.find_contact(self.contact, current=False)
        contact = account.contacts[cid]
        if contact.get("forgotten"):
            raise Conflict(f'contact {cid} was forgotten already on "{account.key}"')
        mentions = _mentions(meta.history or (), cid, contact["name"])
        account.record(Account.ContactForgotten, meta, contact_id=cid, reason=self.reason)
        if not mentions:
            return cid
        return f"{cid}; the name appears in the text of {', '.join(mentions)}: amend them"


def _mentions(history: Any, cid: str, name: str) -> list[str]:
    """The events (a visit's id, else ``version N``) whose free text contains the name,
    other than the person's own events. A name may be written otherwise (a nickname,
    a surname alone): this finds the exact name only, in any case or width."""
    wanted = identity(name)
    if not wanted:
        return []
    found: list[str] = []
    for event in history:
        fields = vars(event)
        if fields.get("contact_id") == cid:
            continue
        texts = _texts(v for k, v in fields.items() if k not in _NOT_PROSE)
        if any(wanted in identity(t) for t in texts):
            ref = fields.get("visit_id") or fields.get("complaint_id")
            found.append(
                f"{ref} (version {event.originator_version})"
                if ref
                else f"version {event.originator_version}"
            )
    return found


def _texts(values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            out.extend(_texts(value.values()))
        elif isinstance(value, list):
            out.extend(_texts(value))
    return out

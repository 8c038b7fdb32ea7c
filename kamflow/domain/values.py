"""Value types, vocabularies and constants: the one home of each (docs/domain.md)."""

from __future__ import annotations

import functools
import re
import unicodedata
import uuid
from decimal import Decimal
from typing import Literal, get_args

from kamflow.domain.errors import InvalidInput

Tier = Literal["prospect", "target", "key", "strategic"]
BuyingRole = Literal[
    "initiator", "user", "influencer", "decider", "buyer", "approver", "gatekeeper"
]
Personality = Literal[
    "opinionated",
    "open",
    "doubting",
    "would-be-expert",
    "weather-vane",
    "flatterer",
    "introvert",
    "showy",
]
Severity = Literal["low", "medium", "high", "critical"]
Level = Literal["low", "medium", "high"]
Attitude = Literal["champion", "supporter", "neutral", "skeptic", "opponent"]

TIERS: tuple[str, ...] = get_args(Tier)
# The tiers of key accounts proper: P4 names their refusals ("no lost principles however
# big"), and reports single them out.
BIG_TIERS: tuple[str, ...] = ("key", "strategic")
BUYING_ROLES: tuple[str, ...] = get_args(BuyingRole)
PERSONALITIES: tuple[str, ...] = get_args(Personality)
SEVERITIES: tuple[str, ...] = get_args(Severity)
LEVELS: tuple[str, ...] = get_args(Level)
ATTITUDES: tuple[str, ...] = get_args(Attitude)

# Fields a user may change with `account update` (the company part of the customer file).
PROFILE_FIELDS: tuple[str, ...] = (
    "name",
    "industry",
    "owner",
    "address",
    "size",
    "website",
    "strategy",
    "products",
    "finance",
    "fit",
    "notes",
)

MAX_KEY = 64
MAX_NAME = 200

# A key person's personal data (the playbook's customer file, §4): kept only encrypted
# under that person's own key, and erased with it by `contact forget` (ADR 0026). The
# person's name is encrypted the same way. ERASED is what every output shows in place of
# a value whose key was destroyed. One-line fields first, then prose.
PERSONAL_LINES = ("mobile", "email", "wechat", "birthday")
PERSONAL_PROSE = ("family", "hobbies", "personal_notes", "note")
PERSONAL_FIELDS = PERSONAL_LINES + PERSONAL_PROSE
ERASED = "[erased]"
MAX_TEXT = 2000

# Money. Views keep amounts as 64-bit integer cents (BIGINT) and add them up per
# account (per currency, and per month): SQLite's SUM raises on overflow, PostgreSQL's
# BIGINT arithmetic fails, and either stops every report. 2**63 cents is about 9.2e16
# units. One amount is at most 1e12 units (a trillion: more than any one invoice, cost
# or budget, even in currencies of small units such as VND or IDR), and an account's
# running totals per currency (revenue, cost of sales, service cost; what it received
# never exceeds its revenue) at most 1e15 units (1e17 cents). The widest sum a view or
# report takes per account, revenue minus cost of sales minus service cost accumulated
# month by month, then stays within 2e17 cents: 46 times below the limit. Sums across
# accounts are taken in Python, whose integers do not overflow. Decimal arithmetic (28
# significant digits) is exact over these totals at two decimals.
MAX_AMOUNT = Decimal(10**12)
MAX_TOTAL = Decimal(10**15)

# A fixed namespace so that the same key gives the same aggregate id on every machine.
ACCOUNT_NAMESPACE = uuid.UUID("6f1c3c2e-8a4b-5d7e-9f10-2b3c4d5e6f70")


# Cached: a bulk load compares the same few names (actors, keys, owners) ~200,000
# times, and two NFKC passes cost more than the lookup. A pure function of a str.
@functools.lru_cache(maxsize=8192)
def identity(name: str) -> str:
    """The form in which two names are one name: NFKC, case-folded, inner white space
    collapsed to one space, stripped (Unicode's NFKC_Casefold, plus spaces).

    ``ＡＣＭＥ`` (full width, as a Chinese IME types it), ``acme``, ``Acme``;
    ``Wáng Fāng`` in NFC and in NFD; ``Li  Na`` and ``Li Na``: each pair is one name.
    Every name, key and reference users type is compared in this form (account keys,
    contacts, team members, owners, actors, competitors, invoice refs); what is stored
    for display is what the user typed.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def same_name(a: str, b: str) -> bool:
    return identity(a) == identity(b)


def normalise_key(raw: str) -> str:
    """The canonical form of an account key: its ``identity``.

    Letters of any script are allowed so that a key can be Chinese; spaces and
    punctuation other than ``-_.`` are not, so that keys stay easy to type in a shell.
    """
    key = identity(raw)
    if not key:
        raise InvalidInput("account key must not be empty")
    if len(key) > MAX_KEY:
        raise InvalidInput(f"account key is {len(key)} characters; at most {MAX_KEY}")
    for ch in key:
        if not (ch.isalnum() or ch in "-_."):
            # Name an invisible or control character by its code point, never raw.
            shown = f'"{ch}"' if ch.isprintable() else f"U+{ord(ch):04X}"
            raise InvalidInput(
                f'account key "{raw}" has {shown}; use letters, digits, "-", "_" or "."'
            )
    return key


# The one governance aggregate's id (kamflow.domain.governance): here, so that reading
# a team setting does not import the governance module (Kamflow.zone).
GOVERNANCE_ID = uuid.UUID("0b6a2f0e-1c1d-5d8e-8f3a-6b5c4d3e2f10")


def account_id(key: str) -> uuid.UUID:
    """Deterministic aggregate id of an account: uuid5 of its normalised key."""
    return uuid.uuid5(ACCOUNT_NAMESPACE, normalise_key(key))


def legacy_account_id(raw: str) -> uuid.UUID | None:
    """The id an account typed as ``raw`` got before keys were NFKC-normalised (NFC and
    case-folded only), when that differs from ``account_id``: a key typed in full-width
    letters was a different account then, and stays findable by what was typed."""
    old = unicodedata.normalize("NFC", raw.strip()).casefold()
    if not old or old == normalise_key(raw):
        return None
    return uuid.uuid5(ACCOUNT_NAMESPACE, old)


def format_money(amount: Decimal) -> str:
    """An amount for people: thousands separators and two decimals (``1,234.50``)."""
    return f"{amount:,.2f}"


# A number as people type it and as kamflow prints it: ASCII digits, an optional minus,
# thousands separated by commas in groups of three or not at all, an optional fraction.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
NUMBER_FORM = "a plain number such as 85000.50 or 85,000.50"


class BadNumber(ValueError):
    """Text that is not a plain number; ``str()`` says so and shows the right form."""


def parse_number(text: str) -> Decimal:
    """A plain decimal typed by a user (``85,000.50``, ``-3``, ``12.5``; surrounding
    whitespace ignored). Refused with BadNumber: exponents (``1e2``), underscores
    (``1_000``), other digits (full-width ``１２０``), misplaced separators
    (``85,00.5``), ``NaN``, ``Infinity`` and anything else."""
    stripped = text.strip()
    if not _PLAIN_NUMBER.fullmatch(stripped):
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
        raise BadNumber(f"{shown} is not {NUMBER_FORM}")
    return Decimal(stripped.replace(",", ""))


def written_out(value: Decimal) -> Decimal:
    """A number with its digits written out as typed (``1E+2`` -> ``100``, ``3.50``
    stays ``3.50``) and no negative zero: the stored form of scores, percentages and
    policy values, so that events, views and reports show the digits users expect."""
    plain = Decimal(format(value, "f"))
    return plain if plain else abs(plain)


def canonical_money(value: Decimal) -> Decimal:
    """The one stored form of an amount of money: exactly two decimals (``85000.50``),
    as kamflow prints it; no negative zero. ``value`` has at most two decimals."""
    plain = value.quantize(Decimal("0.01"))
    return plain if plain else abs(plain)

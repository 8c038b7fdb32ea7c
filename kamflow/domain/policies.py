"""Policies kamflow knows: names, types, ranges, defaults (no I/O, cheap to import).

Reports read these defaults without loading the event store; the Governance aggregate
records every change to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from kamflow.domain.errors import InvalidInput, RuleViolation
from kamflow.domain.values import TIERS, BadNumber, parse_number, written_out

# The roles kamflow enforces once a store has an admin (ADR 0023): admin (the roster and
# the policies), approver (approves exceptions and raises to key or strategic, never
# their own request), kam (the account work), auditor (reads and checkpoints), delegate
# (records for a named person). "director" is a role an older kamflow granted: it may
# stand in stored history and grants nothing.
ROLES = ("admin", "approver", "kam", "auditor", "delegate")
LEGACY_ROLES = ("director",)


@dataclass(frozen=True)
class PolicySpec:
    description: str
    kind: str  # "int" or "decimal"
    low: Decimal
    high: Decimal
    default: Decimal
    principle: str


def _per_tier(
    stem: str,
    description: str,
    kind: str,
    low: str,
    high: str,
    defaults: tuple[str, ...],
    principle: str,
) -> dict[str, PolicySpec]:
    return {
        f"{stem}.{tier}": PolicySpec(
            f"{description} ({tier} tier)", kind, Decimal(low), Decimal(high), Decimal(d), principle
        )
        for tier, d in zip(TIERS, defaults, strict=True)
    }


# Every policy kamflow knows, with its type, range and default. Defaults apply until a
# policy is set; `policy show` marks which values are defaults.
POLICIES: dict[str, PolicySpec] = {
    **_per_tier(
        "complaint-sla-days",
        "days a complaint may stay open before it is overdue",
        "int",
        "1",
        "90",
        ("10", "7", "5", "3"),
        "P7",
    ),
    **_per_tier(
        "credit-limit",
        "most a customer may owe (sales minus payments), in the invoice currency",
        "decimal",
        "0",
        "1000000000",
        ("50000", "200000", "1000000", "5000000"),
        "P1",
    ),
    **_per_tier(
        "contact-cadence-days",
        "days without contact before an active account counts as neglected",
        "int",
        "1",
        "365",
        ("90", "60", "30", "14"),
        "P5",
    ),
    "discount-ceiling-pct": PolicySpec(
        "largest discount off list price on a sale, for every tier",
        "decimal",
        Decimal(0),
        Decimal(100),
        Decimal(15),
        "P1",
    ),
    # Value classes and the key-account zone (docs/domain.md); README "Portfolio rules".
    "mvc-profit-share-pct": PolicySpec(
        "MVC: the most profitable accounts that together bring this share of real profit",
        "decimal",
        Decimal(1),
        Decimal(100),
        Decimal(80),
        "-",
    ),
    "mgc-growth-pct": PolicySpec(
        "MGC: revenue growth, last 6 months over the 6 before, at least this",
        "decimal",
        Decimal(0),
        Decimal(1000),
        Decimal(20),
        "-",
    ),
    "bz-profit-floor": PolicySpec(
        "BZ: real profit (gross margin minus service cost) below this",
        "decimal",
        Decimal(-1000000000),
        Decimal(1000000000),
        Decimal(0),
        "-",
    ),
    "zone-min-revenue": PolicySpec(
        "key-account zone: revenue at least this",
        "decimal",
        Decimal(0),
        Decimal(1000000000),
        Decimal(1000000),
        "-",
    ),
    "zone-max-cost-to-serve-pct": PolicySpec(
        "key-account zone: service cost at most this share of revenue",
        "decimal",
        Decimal(0),
        Decimal(100),
        Decimal(10),
        "-",
    ),
    "zone-min-margin-pct": PolicySpec(
        "key-account zone: gross margin at least this share of revenue",
        "decimal",
        Decimal(0),
        Decimal(100),
        Decimal(15),
        "-",
    ),
    # The forecast (ADR 0021): the chance an opportunity in each open stage is won, and
    # when one counts as stale.
    **{
        f"stage-probability.{stage}": PolicySpec(
            f"forecast: percent chance an opportunity in {stage} is won",
            "decimal",
            Decimal(0),
            Decimal(100),
            Decimal(default),
            "-",
        )
        for stage, default in (
            ("lead", 10),
            ("qualified", 25),
            ("proposal", 50),
            ("negotiation", 75),
        )
    },
    "opportunity-stale-days": PolicySpec(
        "forecast: an open opportunity with no stage step for longer than this is stale",
        "int",
        Decimal(1),
        Decimal(3650),
        Decimal(60),
        "-",
    ),
}


@dataclass(frozen=True)
class SettingSpec:
    """A governance setting whose value is text (recorded as SettingSet, not PolicySet)."""

    description: str
    principle: str


# Settings set like policies (`kamflow policy set NAME VALUE`), validated by
# parse_setting_value; unset, each has a default that no policy row can hold.
SETTINGS: dict[str, SettingSpec] = {
    "timezone": SettingSpec(
        "the business time zone (IANA name): business dates, today, as-of days and printed"
        " times (default: KAMFLOW_TZ, else this machine's zone)",
        "-",
    ),
    "signatures": SettingSpec(
        "whether every write must be signed by its actor's key: required (a database made"
        " since ADR 0025) or off (one made before, until an admin sets it)",
        "-",
    ),
}

SIGNATURES = ("required", "off")


def parse_setting_value(name: str, raw: str) -> str:
    """Validate a setting's value typed by a user into its stored form (the zone's
    canonical IANA name). Raises InvalidInput."""
    from kamflow.domain.dates import BadZone, zone_named

    assert name in SETTINGS, name
    if name == "signatures":
        value = raw.strip().lower()
        if value not in SIGNATURES:
            raise InvalidInput(f"policy signatures: must be required or off, not {raw!r}")
        return value
    try:
        return str(zone_named(raw.strip()).key)
    except BadZone as exc:
        raise InvalidInput(f"policy {name}: {exc}") from None


def credit_limit(tier: str) -> str:
    """The name of the policy that holds a tier's credit limit: ``credit-limit.key``."""
    return f"credit-limit.{tier}"


@dataclass(frozen=True)
class Credit:
    """P1 for one sale: what the customer would owe after it, against its tier's limit
    (both in the sale's currency)."""

    owed: Decimal
    limit: Decimal

    @property
    def exceeded(self) -> bool:
        return self.owed > self.limit


def credit_after_sale(
    owed: Decimal, amount: Decimal, tier: str, policy: Callable[[str], Decimal]
) -> Credit:
    """The credit check of a sale of ``amount`` to a customer of ``tier`` who owes
    ``owed`` now (its receivable in the sale's currency); ``policy`` looks a policy up
    by name (``Governance.policy``). The sale needs an approved exception when the
    result is ``exceeded``. ``RecordSale`` decides with it, and the demo planner plans
    the exceptions its sales will need with it."""
    return Credit(owed + amount, policy(credit_limit(tier)))


def parse_policy_value(name: str, raw: str) -> Decimal:
    """Validate a policy value typed by a user: known name, right type, in range."""
    spec = POLICIES.get(name)
    if spec is None:
        raise InvalidInput(f'unknown policy "{name}"; see `kamflow policy show` for the names')
    if name.startswith("contact-cadence-days.") and raw.strip().lower() in ("0", "none", "off"):
        tier = name.split(".", 1)[1]
        raise RuleViolation(
            "P5",
            f"every active account has a contact cadence, however small; the {tier} tier"
            f" cannot be exempted (give 1-{spec.high} days)",
        )
    try:
        value = parse_number(raw)
    except BadNumber as exc:
        raise InvalidInput(f"policy {name}: {exc}") from None
    if spec.kind == "int" and value != value.to_integral_value():
        raise InvalidInput(f"policy {name} needs a whole number of days, got {raw}")
    if not spec.low <= value <= spec.high:
        raise InvalidInput(f"policy {name} must be between {spec.low} and {spec.high}, got {raw}")
    if spec.kind == "int":
        return Decimal(int(value))
    # Amounts and percentages: at most cents, with the digits typed.
    if value != value.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        raise InvalidInput(f"policy {name} takes at most 2 decimal places, got {raw}")
    return written_out(value)

"""What every report shares: parameters, the result shape, policy lookup, amounts from cents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kamflow.domain.policies import POLICIES
from kamflow.domain.values import TIERS
from kamflow.output import Col
from kamflow.projections.db import ViewDB

if TYPE_CHECKING:
    from kamflow.projections.reports.periods import Period


@dataclass(frozen=True)
class ReportParams:
    """What a report is asked: ``today`` is the business date now, or the as-of date
    when one is given; ``zone`` is the business time zone, in which record times are
    shown (ages and SLAs count business days from ``today``)."""

    today: date
    zone: tzinfo = UTC
    key: str | None = None
    # None: the report's default (DEFAULT_CURRENCY for money, each currency apart for
    # the funnel's budgets).
    currency: str | None = None
    actor: str | None = None
    event_type: str | None = None
    since: date | None = None
    until: date | None = None
    # Money reports (ADR 0021): the business dates that count (None: all), the period
    # compared with and how ("previous", "last-year"), one owner's accounts (as the
    # user typed the name), and how to group ("owner", "tier", "industry").
    period: Period | None = None
    compare: Period | None = None
    compare_how: str | None = None
    owner: str | None = None
    by: str | None = None


DEFAULT_CURRENCY = "CNY"

# The name of a report's main rows among its tables (as in its JSON: "rows").
MAIN = "rows"


@dataclass(frozen=True)
class Table:
    """One of a report's tables for CSV and XLSX: ``name`` is its key in the report's
    JSON (``rows`` for the main rows, else the section's), ``headers`` its columns and
    ``rows`` its values, one list per row, as the report holds them (Decimal, int, bool,
    str, date, datetime, None, and lists of those)."""

    name: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    """A report: flat ``rows`` (table, CSV, JSON) plus optional non-flat ``sections``.

    ``flat`` is False for a document rather than a table (the customer file); CSV and
    XLSX carry every section of any report (``tables``), so nothing is left out either
    way. A read of the store (``kamflow.queries``) gives its own JSON ``document``
    (``account list`` is a JSON list of accounts) and may name more ``csv_columns`` than
    the text table shows.
    """

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    sections: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flat: bool = True
    document: Any = None
    csv_columns: list[str] | None = None
    # The CSV's lines when they are not ``rows`` (the audit trail: one per changed
    # field), made only when CSV is asked for.
    csv_rows: Callable[[], list[dict[str, Any]]] | None = None
    # Printed on stderr, whatever the format: what the reader must know about the data
    # behind the report (an account that could not be read).
    warnings: list[str] = field(default_factory=list)
    # Raised once the report is printed: it is right about everything else, and the
    # error (one line, its exit code) says it is not the whole story (views that skip
    # events they cannot project).
    error: Exception | None = None
    # The report's JSON already rendered (kamflow.output.to_json of ``as_json()``):
    # kept from an earlier run over the same views (kamflow.projections.reportcache),
    # in which case ``rows`` and ``sections`` are left empty.
    rendered_json: str | None = None
    # How the text table shows each column (kamflow.output.Col), by name: the rows'
    # columns and those of the sections' tables and key: value lines. JSON and CSV
    # never look at it.
    layout: dict[str, Col] = field(default_factory=dict)
    # The text table in groups, one heading per value of this row field (in the order
    # of the rows; the agenda's days), columns aligned across the groups.
    group_by: str | None = None

    def as_json(self) -> Any:
        if self.document is not None:
            return self.document
        out: dict[str, Any] = {"report": self.title, "rows": self.rows}
        out.update(self.sections)
        if self.notes:
            out["notes"] = self.notes
        return out

    def tables(self) -> list[Table]:
        """The whole report as tables, in the order of its JSON: the main rows first
        (named ``rows``; columns ``csv_columns``, else ``columns``; ``csv_rows`` when
        the spreadsheet form has rows of its own, e.g. one per changed field), then each section,
        then the notes. A section that is a list of records is a table of their keys (in
        order of first appearance); a mapping is a ``field``/``value`` table, nested
        mappings flattened with dots (``value_classes.MVC``); a list of plain values is a
        one-column table named after the section, and so is a single value."""
        columns = self.csv_columns or self.columns
        rows = self.csv_rows() if self.csv_rows is not None else self.rows
        found = [Table(MAIN, list(columns), [[r.get(c) for c in columns] for r in rows])]
        for name, section in self.sections.items():
            found.append(_table(name, section))
        if self.notes:
            found.append(_table("notes", self.notes))
        return found


def _table(name: str, section: Any) -> Table:
    if isinstance(section, dict):
        return Table(name, ["field", "value"], [[k, v] for k, v in _flatten(section, "")])
    if isinstance(section, list) and any(isinstance(item, dict) for item in section):
        headers: dict[str, None] = {}
        for item in section:
            headers.update(dict.fromkeys(item))
        return Table(name, list(headers), [[item.get(h) for h in headers] for item in section])
    if isinstance(section, list):
        return Table(name, [name] if section else [], [[item] for item in section])
    return Table(name, [name], [[section]])


def _flatten(mapping: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def policy(db: ViewDB, name: str) -> Decimal:
    """A policy as recorded in the views, or its default."""
    if db.table_exists("kf_policies"):
        value = db.scalar("SELECT value FROM kf_policies WHERE policy=?", (name,))
        if value is not None:
            return Decimal(value)
    return POLICIES[name].default


def days_by_tier(db: ViewDB, name: str) -> dict[str, int]:
    """A policy of whole days per tier (``name.<tier>``: ``complaint-sla-days``,
    ``contact-cadence-days``) for every tier, as recorded or by default."""
    return {tier: int(policy(db, f"{name}.{tier}")) for tier in TIERS}


def setting(db: ViewDB, name: str) -> str | None:
    """A text setting (the team's time zone) as recorded in the views, or None."""
    if db.table_exists("kf_policies"):
        value = db.scalar("SELECT value FROM kf_policies WHERE policy=?", (name,))
        if value is not None:
            return str(value)
    return None


def from_cents(cents: int | None) -> Decimal:
    """Integer cents as the views store them, as an amount (None is zero)."""
    # scaleb is exact and several times faster than dividing and quantizing.
    return Decimal(int(cents or 0)).scaleb(-2)


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (part * 100 / whole).quantize(Decimal("0.1"))


def month_add(month: str, delta: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    index = y * 12 + (m - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def days_since(iso_day: str, today: date) -> int:
    """Whole days from an ISO date as the views store it to ``today`` (never negative).

    Date arithmetic is done here, in Python, because SQLite and PostgreSQL disagree on it.
    """
    return max(0, (today - date.fromisoformat(iso_day[:10])).days)


def id_order(short_id: str) -> tuple[int, str]:
    """Sort key for per-account short ids, so that C-2 comes before C-10."""
    _, _, number = short_id.partition("-")
    return (int(number) if number.isdigit() else 0, short_id)


def split_list(text: str | None) -> list[str]:
    """A comma-joined list column (roles, contact ids) back into a list."""
    return [part for part in (text or "").split(",") if part]


def owned_by(db: ViewDB, owner: str | None) -> set[str] | None:
    """The owners as stored that are ``owner`` (values.identity: case, width and spacing
    do not matter); None for no filter. InvalidInput, naming the owners, for a name no
    account has."""
    from kamflow.domain.errors import InvalidInput
    from kamflow.domain.values import identity

    if owner is None:
        return None
    stored = (
        [o for (o,) in db.rows("SELECT DISTINCT owner FROM kf_accounts ORDER BY owner")]
        if db.table_exists("kf_accounts")
        else []
    )
    wanted = {o for o in stored if identity(o) == identity(owner)}
    if not wanted:
        raise InvalidInput(
            f'no account is owned by "{owner}"; owners: {", ".join(stored) or "(none)"}'
        )
    return wanted


def owned_keys(db: ViewDB, owner: str | None) -> set[str] | None:
    """The keys of the accounts ``owner`` owns (``owned_by``); None for no filter."""
    wanted = owned_by(db, owner)
    if wanted is None:
        return None
    return {key for key, who in db.rows("SELECT key, owner FROM kf_accounts") if who in wanted}


def account_exists(db: ViewDB, key: str) -> bool:
    """Whether the views know the account (False on a store with no views yet)."""
    if not db.table_exists("kf_accounts"):
        return False
    return bool(db.scalar("SELECT COUNT(*) FROM kf_accounts WHERE key=?", (key,)))

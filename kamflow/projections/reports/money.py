"""Money in one currency: each account's revenue, cost of sales and service cost over a
period, amounts in other currencies converted at the rate in force on their business
date (ADR 0021).

Rules, in plain words:
- a rate ``1 USD = 7.12 CNY`` recorded with ``kamflow fx set`` (business date ``on``) is in
  force from that date until the next rate of the same pair; an amount of a business
  date before the pair's first rate has no rate;
- an amount in USD is converted to CNY with the USD/CNY rate in force on its date, else
  by dividing by the CNY/USD rate in force (the reverse pair); there is no cross rate
  through a third currency;
- amounts are summed per account, currency and business date (sales and their cost of
  sales, service costs apart), converted, and rounded to the cent, half-even (banker's
  rounding), before they are added up; Decimal throughout;
- an amount with no rate is never dropped silently: it is listed (``no_rate``), and is
  not in the figures;
- ``rates_used`` lists each rate used: the pair, the date it is in force from, the rate,
  its source, how it was applied (``x`` multiply, ``/`` divide: the reverse pair) and
  how many per-day amounts it converted.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from kamflow.domain.errors import InvalidInput
from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import from_cents
from kamflow.projections.reports.periods import Period

ONE = Decimal(1)


@dataclass(frozen=True)
class Rate:
    currency: str
    quote: str
    on: str  # ISO business date it is in force from
    rate: Decimal
    source: str


class RateBook:
    """The rates of the views, by pair and date (``kf_rates``)."""

    def __init__(self, db: ViewDB) -> None:
        self.pairs: dict[tuple[str, str], list[Rate]] = defaultdict(list)
        if db.table_exists("kf_rates"):
            for cur, quote, on, rate, source in db.rows(
                "SELECT currency, quote, on_day, rate, source FROM kf_rates"
                " ORDER BY currency, quote, on_day"
            ):
                self.pairs[(cur, quote)].append(Rate(cur, quote, on, Decimal(rate), source))
        self._days = {pair: [r.on for r in rates] for pair, rates in self.pairs.items()}

    def currencies(self) -> set[str]:
        return {c for pair in self.pairs for c in pair}

    def find(self, currency: str, quote: str, day: str) -> tuple[Rate, bool] | None:
        """The rate converting ``currency`` to ``quote`` on ISO ``day`` and whether it
        multiplies (True) or, taken from the reverse pair, divides; None without one."""
        for pair, multiply in (((currency, quote), True), ((quote, currency), False)):
            days = self._days.get(pair)
            if days:
                at = bisect_right(days, day[:10])
                if at:
                    return self.pairs[pair][at - 1], multiply
        return None


def convert(cents: int, rate: Rate, multiply: bool) -> int:
    """``cents`` of ``rate``'s currency (or quote, when not ``multiply``) in the other
    one, rounded to the cent half-even."""
    exact = Decimal(cents) * rate.rate if multiply else Decimal(cents) / rate.rate
    return int(exact.quantize(ONE, rounding=ROUND_HALF_EVEN))


@dataclass
class Money:
    """Per account key, in cents of ``currency``: revenue, cost of sales, service cost;
    ``months``: converted revenue by account and business month (``YYYY-MM``), of the
    amounts that were converted only (the report currency's own months are in
    ``kf_account_months``); what was used and what could not be converted."""

    currency: str
    revenue: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cost: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    service: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    months: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    used: dict[tuple[Rate, bool], int] = field(default_factory=dict)
    missing: list[dict[str, Any]] = field(default_factory=list)

    def rates_used(self) -> list[dict[str, Any]]:
        return rates_listed(self.used, lambda r: (r.currency, r.quote, r.on))

    def no_rate(self) -> list[dict[str, Any]]:
        return sorted(self.missing, key=lambda m: (m["currency"], m["occurred_on"], m["key"]))


def rates_listed(
    used: dict[tuple[Rate, bool], int], order: Callable[[Rate], tuple[str, ...]]
) -> list[dict[str, Any]]:
    """The section "rates used": each rate with how it was applied (``x`` multiplies,
    ``/`` divides: taken from the reverse pair) and to how many amounts, in ``order``."""
    return [
        {
            "currency": r.currency,
            "quote": r.quote,
            "from": r.on,
            "rate": r.rate,
            "applied": "x" if multiply else "/",
            "amounts": n,
            "source": r.source,
        }
        for (r, multiply), n in sorted(used.items(), key=lambda u: order(u[0][0]))
    ]


def _between(period: Period | None) -> tuple[str, tuple[str, ...]]:
    if period is None:
        return "", ()
    return " AND occurred_on BETWEEN ? AND ?", (period.start.isoformat(), period.end.isoformat())


def money(db: ViewDB, currency: str, period: Period | None) -> Money:
    """Every account's money in ``currency`` over ``period`` (None: all time); see the
    module's rules."""
    out = Money(currency)
    if not db.table_exists("kf_sales"):
        return out
    when, args = _between(period)
    if period is None:
        # The report currency's own amounts, summed by the projector already.
        for key, revenue, cost, service in db.rows(
            "SELECT key, revenue_cents, cost_of_sales_cents, service_cost_cents"
            " FROM kf_account_money WHERE currency=?",
            (currency,),
        ):
            out.revenue[key] += revenue
            out.cost[key] += cost
            out.service[key] += service
    else:
        for key, revenue, cost in db.rows(
            "SELECT key, SUM(amount_cents), SUM(cost_cents) FROM kf_sales"
            f" WHERE currency=?{when} GROUP BY key",
            (currency, *args),
        ):
            out.revenue[key] += revenue
            out.cost[key] += cost
        for key, service in db.rows(
            f"SELECT key, SUM(amount_cents) FROM kf_service_costs WHERE currency=?{when}"
            " GROUP BY key",
            (currency, *args),
        ):
            out.service[key] += service
    _foreign(db, out, when, args)
    return out


def foreign_months(db: ViewDB, currency: str, period: Period) -> Money:
    """Only the amounts not in ``currency`` over ``period``, converted (``Money.months``
    has their revenue by account and month)."""
    out = Money(currency)
    if db.table_exists("kf_sales"):
        when, args = _between(period)
        _foreign(db, out, when, args)
    return out


def _foreign(db: ViewDB, out: Money, when: str, args: tuple[str, ...]) -> None:
    currency = out.currency
    # One range of the covering indexes per other currency (kf_account_money says which
    # there are): an inequality would scan the whole ledger.
    others = [
        c
        for (c,) in db.rows("SELECT DISTINCT currency FROM kf_account_money ORDER BY currency")
        if c != currency
    ]
    foreign_sales: list[tuple[Any, ...]] = []
    foreign_costs: list[tuple[Any, ...]] = []
    for other in others:
        foreign_sales += db.rows(
            "SELECT key, currency, occurred_on, SUM(amount_cents), SUM(cost_cents)"
            f" FROM kf_sales WHERE currency=?{when} GROUP BY key, currency, occurred_on",
            (other, *args),
        )
        foreign_costs += db.rows(
            "SELECT key, currency, occurred_on, SUM(amount_cents), 0 FROM kf_service_costs"
            f" WHERE currency=?{when} GROUP BY key, currency, occurred_on",
            (other, *args),
        )
    if not foreign_sales and not foreign_costs:
        return
    book = RateBook(db)
    for kind, found in (("sales", foreign_sales), ("service cost", foreign_costs)):
        for key, cur, day, amount, cost in found:
            rate = book.find(cur, currency, day)
            if rate is None:
                out.missing.append(
                    {
                        "key": key,
                        "kind": kind,
                        "occurred_on": day,
                        "currency": cur,
                        "amount": from_cents(amount),
                    }
                )
                continue
            out.used[rate] = out.used.get(rate, 0) + 1
            if kind == "sales":
                converted = convert(amount, *rate)
                out.revenue[key] += converted
                out.cost[key] += convert(cost, *rate)
                month = day[:7]
                out.months[key][month] = out.months[key].get(month, 0) + converted
            else:
                out.service[key] += convert(amount, *rate)


def check_currency(db: ViewDB, currency: str) -> None:
    """Refuse (InvalidInput) a report currency no account, amount or rate has, naming
    the ones present; any currency on a store with none yet."""
    present: set[str] = set()
    if db.table_exists("kf_accounts"):
        present.update(c for (c,) in db.rows("SELECT DISTINCT currency FROM kf_accounts"))
        present.update(c for (c,) in db.rows("SELECT DISTINCT currency FROM kf_account_money"))
    present.update(RateBook(db).currencies())
    if present and currency not in present:
        raise InvalidInput(
            f'no account, amount or rate is in "{currency}"; currencies present:'
            f" {', '.join(sorted(present))}"
        )

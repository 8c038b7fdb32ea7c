"""Report periods: the one parser behind ``--from/--to``, ``--month``, ``--quarter``,
``--year``, ``--ytd`` and ``--compare`` of every money report (ADR 0021).

A period is a span of business dates (``occurred_on``, already a day of the business
time zone), both ends included. It is asked for in one of these ways, never two:

- ``--from DATE`` and/or ``--to DATE``: from that day (else the first day of the log)
  to that day (else the report date);
- ``--month 2026-11``: a calendar month; ``--quarter 2026Q4``: a calendar quarter;
  ``--year 2026``: a calendar year;
- ``--ytd``: the first of January of the report date's year to the report date.

``--compare previous`` is the period just before: the previous month, quarter or year
for a calendar one, else the same number of days ending the day before the period
starts; ``--compare last-year`` is the same dates one year earlier (29 February is
28 February). ``--as-of`` is not part of the period: it says what the log held, and the
period says which business dates count (ADR 0015).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from kamflow.domain.dates import FIRST_DAY
from kamflow.domain.errors import InvalidInput

COMPARE = ("previous", "last-year")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-?[Qq]([1-4])")
_YEAR = re.compile(r"[0-9]{4}")


@dataclass(frozen=True)
class Period:
    """Business dates ``start`` to ``end``, both included; ``kind`` is ``month``,
    ``quarter``, ``year`` or ``range`` (what ``previous`` steps by); ``label`` is how
    a report names it (``2026-11``, ``2026Q4``, ``2026``, ``2026-01-01..2026-11-30``)."""

    start: date
    end: date
    kind: str = "range"
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.start}..{self.end}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        """The period just before (see the module's docstring)."""
        if self.kind == "month":
            return month_period(_shift_month(self.start, -1))
        if self.kind == "quarter":
            return quarter_period(_shift_month(self.start, -3))
        if self.kind == "year":
            return year_period(self.start.year - 1)
        days = (self.end - self.start).days + 1
        end = self.start - timedelta(days=1)
        return Period(max(FIRST_DAY, end - timedelta(days=days - 1)), end)

    def last_year(self) -> Period:
        """The same dates one year earlier."""
        if self.kind == "month":
            return month_period(date(self.start.year - 1, self.start.month, 1))
        if self.kind == "quarter":
            return quarter_period(date(self.start.year - 1, self.start.month, 1))
        if self.kind == "year":
            return year_period(self.start.year - 1)
        return Period(_year_back(self.start), _year_back(self.end))

    def compared(self, how: str) -> Period:
        return self.previous() if how == "previous" else self.last_year()

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "from": self.start, "to": self.end}


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _year_back(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def month_period(first: date) -> Period:
    end = _shift_month(first, 1) - timedelta(days=1)
    return Period(first, end, "month", f"{first:%Y-%m}")


def quarter_period(first: date) -> Period:
    end = _shift_month(first, 3) - timedelta(days=1)
    return Period(first, end, "quarter", f"{first.year}Q{(first.month - 1) // 3 + 1}")


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), "year", str(year))


@dataclass(frozen=True)
class PeriodAsk:
    """The period options as typed (None: not given); ``period`` resolves them."""

    start: date | None = None
    end: date | None = None
    month: str | None = None
    quarter: str | None = None
    year: str | None = None
    ytd: bool = False
    compare: str | None = None

    def given(self) -> list[str]:
        """The period options given, as users type them."""
        found = []
        if self.start is not None or self.end is not None:
            found.append("--from/--to")
        for flag, value in (
            ("--month", self.month),
            ("--quarter", self.quarter),
            ("--year", self.year),
        ):
            if value is not None:
                found.append(flag)
        if self.ytd:
            found.append("--ytd")
        return found


def resolve(ask: PeriodAsk, today: date) -> tuple[Period | None, Period | None]:
    """The period asked for and the one to compare with (each None when not asked),
    ``today`` being the report date (the as-of date when one is given).

    Raises InvalidInput (one line): two ways of giving a period at once, a month,
    quarter or year not of its form, ``--from`` after ``--to``, or ``--compare``
    without a period."""
    given = ask.given()
    if len(given) > 1:
        raise InvalidInput(f"give one period, not {' and '.join(given)}")
    period: Period | None = None
    if ask.start is not None or ask.end is not None:
        start, end = ask.start or FIRST_DAY, ask.end or today
        if start > end:
            raise InvalidInput(f"--from {start} is after --to {end}")
        period = Period(start, end)
    elif ask.month is not None:
        match = _MONTH.fullmatch(ask.month.strip())
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise InvalidInput(f"--month {ask.month!r} is not a month; give YYYY-MM (2026-11)")
        period = month_period(date(int(match.group(1)), int(match.group(2)), 1))
    elif ask.quarter is not None:
        match = _QUARTER.fullmatch(ask.quarter.strip())
        if match is None:
            raise InvalidInput(f"--quarter {ask.quarter!r} is not a quarter; give YYYYQn (2026Q4)")
        period = quarter_period(date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1))
    elif ask.year is not None:
        if _YEAR.fullmatch(ask.year.strip()) is None:
            raise InvalidInput(f"--year {ask.year!r} is not a year; give YYYY (2026)")
        period = year_period(int(ask.year))
    elif ask.ytd:
        period = Period(date(today.year, 1, 1), today, "range", f"{today.year} to {today}")
    if period is not None and period.start.year < FIRST_DAY.year:
        raise InvalidInput(f"{period.name} is out of range; give a period from {FIRST_DAY}")
    if ask.compare is None:
        return period, None
    if period is None:
        raise InvalidInput(
            f"--compare {ask.compare} needs a period: --month, --quarter, --year, --ytd or --from"
        )
    return period, period.compared(ask.compare)


def change(now: Decimal, then: Decimal) -> tuple[Decimal, Decimal | None]:
    """The change from ``then`` to ``now``: absolute, and in percent of ``then`` (to 0.1,
    half-even; None when ``then`` is zero). A fall from a loss to a bigger loss is a
    negative percentage: the percentage is of ``abs(then)``."""
    diff = now - then
    if then == 0:
        return diff, None
    return diff, (diff * 100 / abs(then)).quantize(Decimal("0.1"))

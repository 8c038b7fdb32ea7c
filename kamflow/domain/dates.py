"""Business dates and the business time zone: what users may type, and the day an
instant falls on (ADR 0015).

A date is typed as ``YYYY-MM-DD`` (ASCII digits), ``today`` or ``yesterday``, between
``FIRST_DAY`` and ``LAST_DAY``; nothing else (Python's ``date.fromisoformat`` would take
``2026-W48-1`` and ``20261120``). Record times are stored in UTC; the business zone
decides which day an instant belongs to, where a day ends, and how a time is shown.
No I/O but the time zone database that ``zoneinfo`` reads, which is data, like a module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
DATE_FORM = "YYYY-MM-DD (e.g. 2026-11-30), today or yesterday"
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
ZONE_EXAMPLE = "an IANA name such as Asia/Shanghai or UTC"


class BadDate(ValueError):
    """Text that is not a business date; ``str()`` says why and shows the right form."""


def parse_date(text: str, today: date | Callable[[], date] | None) -> date:
    """The day ``text`` names: ``YYYY-MM-DD``, or ``today`` / ``yesterday`` (any case),
    relative to ``today``, the business date now (or a function giving it, called only
    for those words). Surrounding whitespace is ignored. Raises BadDate, whose message
    quotes the text: not of that form, not a day of the calendar, outside
    FIRST_DAY..LAST_DAY, or a relative day where ``today`` is None (not known)."""
    stripped = text.strip()
    shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
    word = stripped.lower()
    if word in ("today", "yesterday"):
        if today is None:
            raise BadDate(f"{shown} is not known here; give YYYY-MM-DD")
        now = today if isinstance(today, date) else today()
        return now if word == "today" else now - timedelta(days=1)
    match = _ISO_DAY.fullmatch(stripped)
    if match is None:
        raise BadDate(f"{shown} is not a date; give {DATE_FORM}")
    try:
        day = date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise BadDate(f"{shown} is not a day of the calendar ({exc})") from None
    return check_range(day, shown)


def check_range(day: date, shown: str | None = None) -> date:
    """``day`` if it lies between FIRST_DAY and LAST_DAY, else BadDate."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadDate(f"{shown or day} is out of range; give a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Shanghai``); BadZone when there is none."""
    from zoneinfo import ZoneInfo

    # A key is a relative path in the zone database: refuse anything else before
    # zoneinfo reads the file system with it.
    if not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", name):
        raise BadZone(f'unknown time zone "{name}"; give {ZONE_EXAMPLE}')
    try:
        return ZoneInfo(name)
    # ZoneInfoNotFoundError is a KeyError; a folder of the database (Asia) an OSError.
    except (KeyError, ValueError, OSError):
        raise BadZone(f'unknown time zone "{name}"; give {ZONE_EXAMPLE}') from None


class BadZone(ValueError):
    """A name that is no time zone; ``str()`` is the one line to show."""


def business_date(instant: datetime, zone: tzinfo) -> date:
    """The business day ``instant`` (timezone-aware) falls on in ``zone``."""
    return instant.astimezone(zone).date()


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """The first instant after business day ``day`` in ``zone`` (midnight that starts
    the next day there), in UTC: "as of ``day``" means recorded before it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def in_zone(value: datetime | str | None, zone: tzinfo) -> datetime | None:
    """A record time (a datetime, or ISO-8601 text as the views store it) as the same
    instant in ``zone``, for showing; None stays None."""
    if value is None:
        return None
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:  # written by no kamflow version; read it as UTC
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone)

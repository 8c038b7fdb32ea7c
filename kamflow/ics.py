"""The agenda as an iCalendar file (RFC 5545) for a phone or Outlook to subscribe to.

Only ``kamflow agenda --ics`` imports this module, and only it imports ``icalendar``
(ADR 0022). Each item is an all-day VEVENT: subscribed calendars on phones, Google
Calendar and Outlook show events but not VTODOs. An overdue item is placed on the day
the file is written, its summary saying since when it is due, so that it is in front of
its owner today rather than on a past page of the calendar. Each event's UID names the
item (kind, account, id), never the date or the export: re-exporting updates the same
events instead of adding copies.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

PRODID = "-//kamflow//agenda//EN"
DOMAIN = "kamflow"


def uid(row: dict[str, Any]) -> str:
    """The item's stable UID: ``kind.account.ref@kamflow`` (``cadence.acme@kamflow``)."""
    parts = [row["kind"], row["key"], row["ref"]]
    return ".".join(p for p in parts if p) + f"@{DOMAIN}"


def calendar(rows: list[dict[str, Any]], *, title: str, today: date, stamp: datetime) -> bytes:
    """The agenda's rows (``reports.agenda`` CSV_COLUMNS) as an iCalendar file: one
    all-day event per row. ``stamp`` (aware) is the DTSTAMP of every event."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    for row in rows:
        due = date.fromisoformat(row["due_on"])
        day = max(due, today)
        late = f" (due {due}, {row['days_overdue']} days overdue)" if due < today else ""
        ref = f" {row['ref']}" if row["ref"] else ""
        event = Event()
        event.add("uid", uid(row))
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", f"{row['key']}{ref}: {row['what']}{late}")
        event.add(
            "description",
            f"account: {row['account']} ({row['key']})\n"
            f"what: {row['kind']}{ref}\n"
            f"owner: {row['owner']}\n"
            f"due: {due}",
        )
        event.add("categories", [row["kind"]])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data

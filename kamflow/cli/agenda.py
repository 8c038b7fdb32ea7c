"""kamflow agenda: what is due for a person, by day, overdue first (ADR 0022).

A module of its own, apart from `kamflow task`: a read of the views that must not load
the domain's commands (and eventsourcing with them), as `kamflow report` does not.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from kamflow.cli import DATE
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report

AS_OF_HELP = "From what the log held at the end of this date in the business time zone."


@click.command("agenda")
@click.option("--owner", metavar="NAME", help="Only what this person must do.")
@click.option("--week", is_flag=True, help="Today and the next six days (the default).")
@click.option("--days", type=click.IntRange(1, 366), help="Today and the next N-1 days.")
@click.option(
    "--ics",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write it as an iCalendar file to subscribe to (one all-day event per item).",
)
@click.option("--as-of", type=DATE, help=AS_OF_HELP)
@output_options()
def agenda(
    owner: str | None, week: bool, days: int | None, ics: str | None, as_of: date | None
) -> Report:
    """What is due for a person, by day, overdue first.

    Tasks, visit follow-ups (P6), complaints against their SLA (P7), contact cadence
    (P5) and opportunities expected to close, from today for a week (--days N for
    another span); --ics writes them as a calendar to subscribe to.

    \b
    Example:
        kamflow agenda --owner li.wei --week
        kamflow agenda --owner li.wei --days 30 --ics li.wei.ics
    """
    from kamflow import clock
    from kamflow.cli.reports import views
    from kamflow.projections.engine import Unprojectable, quarantined, skipped_line
    from kamflow.projections.reports.agenda import READS, WEEK, build
    from kamflow.projections.reports.base import ReportParams

    ctx = click.get_current_context()
    if week and days is not None:
        raise click.UsageError("give --week or --days, not both")
    others = ("as_json", "as_csv", "excel", "out", "xlsx", "section")
    if ics is not None and any(ctx.params.get(name) for name in others):
        raise click.UsageError("--ics writes the calendar alone; leave out --json, --csv, --xlsx")
    with views(as_of) as (db, today, zone):
        result = build(db, ReportParams(today=today, zone=zone), owner=owner, days=days or WEEK)
        skipped = quarantined(db, READS)
    if skipped:
        result.error = Unprojectable(skipped_line(skipped))
    if ics is None:
        return result
    from kamflow.cli.show import warn, write_file
    from kamflow.ics import calendar

    warn(result)
    data = calendar(result.rows, title=result.title, today=today, stamp=clock.now())
    write_file(ics, data)
    n = len(result.rows)
    click.echo(f"wrote {ics}: {n} event{'' if n == 1 else 's'}")
    if result.error is not None:
        raise result.error
    ctx.exit(0)

"""kamflow task and kamflow agenda: tasks with due dates, and what is due per person
(ADR 0022)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from kamflow.cli import DATE
from kamflow.cli.factory import ModelGroup, add_model_commands
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report

AS_OF_HELP = "From what the log held at the end of this date in the business time zone."


@click.group(cls=ModelGroup)
def task() -> None:
    """Tasks (待办) with due dates: add, done, move, cancel, list."""


add_model_commands(task)


@task.command("list")
@click.option("--owner", metavar="NAME", help="Only this person's tasks.")
@click.option("--overdue", is_flag=True, help="Only open tasks due before today.")
@click.option("--all", "every", is_flag=True, help="Done and cancelled tasks too.")
@click.option("--as-of", type=DATE, help=AS_OF_HELP)
@output_options()
def task_list(owner: str | None, overdue: bool, every: bool, as_of: date | None) -> Report:
    """Open tasks by due date (business dates, in the business time zone).

    \b
    Example:
        kamflow task list --owner li.wei --overdue
    """
    from kamflow.cli.reports import views
    from kamflow.projections.engine import Unprojectable, quarantined, skipped_line
    from kamflow.projections.reports.agenda import TASK_READS, build_tasks
    from kamflow.projections.reports.base import ReportParams

    with views(as_of) as (db, today, zone):
        params = ReportParams(today=today, zone=zone)
        result = build_tasks(db, params, owner=owner, overdue=overdue, every=every)
        skipped = quarantined(db, TASK_READS)
    if skipped:
        result.error = Unprojectable(skipped_line(skipped))
    return result

"""kamflow audit: proving that what is stored was not altered (ADR 0017)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kamflow.cli import session
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report


@click.group()
def audit() -> None:
    """Prove nothing stored was altered: the sealed log, snapshots, views."""


@audit.command("verify")
@click.option(
    "--views",
    is_flag=True,
    help="Also compare every read-model table with a rebuild from the log.",
)
@output_options()
def audit_verify(views: bool) -> Report:
    """Check that nothing stored was altered since kamflow stored it.

    Recomputes the seal of every event in the log, checks every snapshot against its
    account's events, runs the database's own integrity check (and with --views
    compares every view table with a rebuild). Exit 1 naming the first place that is
    not as kamflow stored it (edited, deleted, inserted, reordered, account changed);
    exit 0 with the number of events verified and the head seal.

    \b
    Example:
        kamflow audit verify
        kamflow audit verify --views --json
    """
    from kamflow.cli.progress import progress
    from kamflow.verify import report, verify

    kamflow = session().kamflow
    with progress("verifying", unit="events") as bar:
        result = verify(kamflow, views=views, progress=bar.advance, total=bar.set_total)
    return report(result)

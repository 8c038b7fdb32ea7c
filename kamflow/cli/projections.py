"""kamflow projections: the read models' status, rebuild and follow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kamflow.cli import session
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report


@click.group()
def projections() -> None:
    """The read models: status, rebuild, follow."""


def _projector() -> Any:
    from kamflow.projections.db import ViewDB
    from kamflow.projections.engine import Projector
    from kamflow.storage import resolve, storage_env

    locator = resolve(session().db)
    storage_env(locator)
    projector = Projector(ViewDB(locator))
    projector.ensure_schema()
    click.get_current_context().call_on_close(projector.db.close)
    return projector


@projections.command("status")
@output_options()
def projections_status() -> Report:
    """Each view's position in the event log and how far behind it is."""
    from kamflow.projections.reports.base import Report

    records = [
        {"view": s.name, "position": s.position, "behind": s.behind, "description": s.description}
        for s in _projector().status()
    ]
    columns = ["view", "position", "behind", "description"]
    return Report(title="", columns=columns, rows=records, document=records)


@projections.command("rebuild")
@click.argument("names", nargs=-1, metavar="[NAME]...")
def projections_rebuild(names: tuple[str, ...]) -> None:
    """Rebuild views from zero (all, or the named ones), with a progress bar.

    \b
    Example:
        kamflow projections rebuild
        kamflow projections rebuild complaints
    """
    from rich.console import Console
    from rich.progress import Progress

    from kamflow.projections.engine import StoreSource

    projector = _projector()
    chosen = list(names) or [v.name for v in projector.views]
    projector.reset(chosen)
    with (
        StoreSource(session().kamflow) as source,
        Progress(transient=True, console=Console(stderr=True)) as bar,
    ):
        task = bar.add_task("rebuilding", total=source.max_position() or 1)
        read = projector.catch_up(source, batch=5000, progress=lambda n: bar.advance(task, n))
    click.echo(f"rebuilt {', '.join(chosen)} from {read} events")


@projections.command("follow")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between pulls.")
@click.option("--for", "duration", type=float, help="Stop after this many seconds.")
def projections_follow(interval: float, duration: float | None) -> None:
    """Keep the views caught up until stopped (Ctrl-C), e.g. for a team on PostgreSQL."""
    import time

    from kamflow.projections.engine import StoreSource

    projector = _projector()
    deadline = None if duration is None else time.monotonic() + duration
    applied = 0
    with StoreSource(session().kamflow) as source:
        try:
            while deadline is None or time.monotonic() < deadline:
                got = projector.catch_up(source)
                if got:
                    applied += got
                    click.echo(
                        f"caught up {got} events (position {max(projector.positions().values())})"
                    )
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
    click.echo(f"stopped; {applied} events applied")

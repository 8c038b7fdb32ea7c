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

    projector = Projector(ViewDB(session().existing()))
    projector.ensure_schema()
    click.get_current_context().call_on_close(projector.db.close)
    return projector


@projections.command("status")
@output_options()
def projections_status() -> Report:
    """Each view's position in the event log, how far behind it is, and the events it
    skips because it cannot project them (exit 1 when there are any)."""
    from kamflow.domain.dates import in_zone
    from kamflow.projections.engine import Unprojectable, skipped_line
    from kamflow.projections.reports.base import Report, setting
    from kamflow.zones import SETTING, business_zone

    projector = _projector()
    statuses = projector.status()
    zone = business_zone(session().tz, lambda: setting(projector.db, SETTING))
    records = [
        {
            "view": s.name,
            "position": s.position,
            "behind": s.behind,
            # Record times as every read shows them: in the business time zone.
            "quarantined": [
                {**q.as_json(), "recorded_at": in_zone(q.recorded_at, zone)} for q in s.quarantined
            ],
            "description": s.description,
        }
        for s in statuses
    ]
    rows = [{**r, "quarantined": len(r["quarantined"])} for r in records]
    columns = ["view", "position", "behind", "quarantined", "description"]
    skipped = [q for s in statuses for q in s.quarantined]
    sections: dict[str, Any] = {}
    if skipped:
        sections["events the views skip (quarantined)"] = [
            {"view": q.view, "event": q.event, "why": q.error} for q in skipped
        ]
    return Report(
        title="",
        columns=columns,
        rows=rows,
        sections=sections,
        document=records,
        error=Unprojectable(skipped_line(skipped, hint=False)) if skipped else None,
    )


@projections.command("rebuild")
@click.argument("names", nargs=-1, metavar="[NAME]...")
def projections_rebuild(names: tuple[str, ...]) -> None:
    """Rebuild views from zero (all, or the named ones), with a progress bar.

    \b
    Example:
        kamflow projections rebuild
        kamflow projections rebuild complaints
    """
    from kamflow.cli.progress import progress
    from kamflow.projections.engine import Unprojectable, skipped_line
    from kamflow.projections.log import StoreSource

    projector = _projector()
    chosen = list(names) or [v.name for v in projector.views]
    projector.check(chosen)  # an unknown name is refused before the store is opened
    with (
        StoreSource(projector.db.locator) as source,
        progress("rebuilding", unit="events") as bar,
    ):
        bar.set_total(source.max_position() or 1)
        read = projector.rebuild(chosen, source, batch=5000, progress=bar.advance)
    click.echo(f"rebuilt {', '.join(chosen)} from {read} events")
    skipped = projector.quarantined(chosen)
    if skipped:
        raise Unprojectable(skipped_line(skipped))


@projections.command("follow")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between pulls.")
@click.option("--for", "duration", type=float, help="Stop after this many seconds.")
def projections_follow(interval: float, duration: float | None) -> None:
    """Keep the views caught up until stopped (Ctrl-C), e.g. for a team on PostgreSQL."""
    import time

    from kamflow.projections.log import StoreSource

    projector = _projector()
    deadline = None if duration is None else time.monotonic() + duration
    applied = 0
    with StoreSource(projector.db.locator) as source:
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

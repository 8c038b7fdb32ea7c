"""The one output path of every read: a ``Report`` as a text table, JSON or CSV.

A read command returns a ``Report`` (``kamflow.queries`` for reads of the store,
``kamflow.projections.reports`` for reports); ``output_options`` gives it ``--json``
(and ``--csv`` where its rows are flat) and prints what it returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from kamflow.domain.errors import InvalidInput

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report

Read = Callable[..., "Report"]


def output_options(*, csv: bool = True) -> Callable[[Read], Callable[..., None]]:
    """``--json`` (and ``--csv`` when ``csv``) for a read; the read returns a Report,
    printed by ``emit``. Both at once are refused before the read runs."""

    def decorate(read: Read) -> Callable[..., None]:
        @functools.wraps(read)
        def command(*args: Any, as_json: bool, as_csv: bool = False, **kwargs: Any) -> None:
            if as_json and as_csv:
                raise click.UsageError("give --json or --csv, not both")
            result = read(*args, **kwargs)
            emit(result, as_json=as_json, as_csv=as_csv)
            if result.error is not None:
                raise result.error

        if csv:
            command = click.option("--csv", "as_csv", is_flag=True, help="CSV of the rows.")(
                command
            )
        return click.option("--json", "as_json", is_flag=True, help="JSON for programs.")(command)

    return decorate


def emit(result: Report, *, as_json: bool, as_csv: bool = False) -> None:
    """Print a report: its JSON, its rows as CSV, or text for people."""
    from kamflow import output

    for warning in result.warnings:
        click.echo(f"Warning: {output.escape(warning)}", err=True)
    if as_json:
        click.echo(output.to_json(result.as_json()))
    elif as_csv:
        if not result.flat:
            path = click.get_current_context().command_path.split()[1:]
            raise InvalidInput(f"{' '.join(path)} is a document, not flat rows; use --json")
        columns = result.csv_columns or result.columns
        click.echo(output.to_csv(columns, [[r.get(c) for c in columns] for r in result.rows]))
    else:
        click.echo(render_text(result))


def render_text(result: Report) -> str:
    """A report for people: its title, its rows as a table, then each section."""
    from kamflow import output

    lines = [result.title, ""] if result.title else []
    if result.rows:
        lines.append(
            output.table(result.columns, [[r.get(c) for c in result.columns] for r in result.rows])
        )
    else:
        lines.append("(nothing to report)")
    for title, section in result.sections.items():
        lines += ["", title.replace("_", " ")]
        if isinstance(section, dict):
            for k, v in section.items():
                lines.append(f"  {k.replace('_', ' ')}: {output.cell(v)}")
        elif isinstance(section, list) and section and isinstance(section[0], dict):
            headers = list(section[0].keys())
            lines.append(output.table(headers, [[row.get(h) for h in headers] for row in section]))
        elif isinstance(section, list):
            lines.append("  (none)" if not section else "  " + output.cell(section))
        else:
            lines.append(f"  {output.cell(section)}")
    for note in result.notes:
        lines.append(f"note: {note}")
    # Cells are escaped already (output.cell); titles and notes quote stored text too.
    return output.escape("\n".join(lines), keep_newlines=True)

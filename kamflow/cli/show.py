"""The one output path of every read: a ``Report`` as a text table, JSON or CSV.

A read command returns a ``Report`` (``kamflow.queries`` for reads of the store,
``kamflow.projections.reports`` for reports); ``output_options`` gives it ``--json``
(and the CSV and XLSX options), ``--wide`` and ``--no-pager``, and prints what it
returns.

CSV and XLSX carry the whole report (``Report.tables``): the main rows, then every
section. CSV puts the main rows first, as a plain table a spreadsheet opens cleanly,
then each section after a blank line under a line ``# NAME`` (``--section NAME`` gives
one table alone); no text cell starts a formula (``kamflow.output.neutralise``).
``--excel``, and ``--out FILE``, start it with the UTF-8 byte-order mark, without which
Excel reads a CSV in the machine's code page. ``--xlsx FILE`` writes one sheet per table
(``kamflow.xlsx``).

Text for people fits the screen: no line is wider than ``COLUMNS`` when it is set,
else than the terminal when stdout is one; piped text has no width limit (a script
gets every character; ``--csv`` and ``--json`` are made for it). Tables cut their text
and hide their least important columns to fit (``kamflow.output.table``); ``--wide``
shows every column whole. Text longer than the screen goes through a pager, as git
does: ``KAMFLOW_PAGER``, else ``PAGER``, else ``less -FRX``; never when stdout is not
a terminal, never with ``--no-pager`` or a pager set to ``""`` or ``cat``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import click

from kamflow.domain.errors import InvalidInput

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report

Read = Callable[..., "Report"]
# True while a read runs for --json: a report may then answer with JSON it kept
# (kamflow.projections.reportcache) instead of building its rows.
JSON_WANTED: ContextVar[bool] = ContextVar("JSON_WANTED", default=False)
DEFAULT_PAGER = "less -FRX"
DEFAULT_LINES = 24  # a terminal that does not say how tall it is


def output_options(*, csv: bool = True) -> Callable[[Read], Callable[..., None]]:
    """``--json`` (and, when ``csv``, ``--csv``, ``--excel``, ``--out FILE``,
    ``--section NAME`` and ``--xlsx FILE``), ``--wide`` and ``--no-pager`` for a read;
    the read returns a Report, printed (or written) by ``emit``. Two formats at once, or
    ``--section`` without CSV, are refused before the read runs."""

    def decorate(read: Read) -> Callable[..., None]:
        @functools.wraps(read)
        def command(
            *args: Any,
            as_json: bool,
            wide: bool,
            no_pager: bool,
            as_csv: bool = False,
            excel: bool = False,
            out: str | None = None,
            xlsx: str | None = None,
            section: str | None = None,
            **kwargs: Any,
        ) -> None:
            wants_csv = as_csv or excel or out is not None
            given = [
                flag
                for flag, on in (("--json", as_json), ("--csv", wants_csv), ("--xlsx", xlsx))
                if on
            ]
            if len(given) == 2:
                raise click.UsageError(f"give {given[0]} or {given[1]}, not both")
            if len(given) > 2:
                raise click.UsageError("give one of --json, --csv or --xlsx")
            if section is not None and not wants_csv:
                raise click.UsageError("--section picks one table of the CSV; give --csv too")
            token = JSON_WANTED.set(as_json)
            try:
                result = read(*args, **kwargs)
            finally:
                JSON_WANTED.reset(token)
            if xlsx is not None:
                write_xlsx(result, xlsx)
            elif wants_csv:
                emit_csv(result, excel=excel, out=out, section=section)
            else:
                emit(result, as_json=as_json, wide=wide, pager=not no_pager)
            if result.error is not None:
                raise result.error

        command = click.option(
            "--no-pager", is_flag=True, help="Print straight to the terminal, never via a pager."
        )(command)
        command = click.option(
            "--wide", is_flag=True, help="Every column, whole, however wide the table."
        )(command)
        if csv:
            command = click.option(
                "--xlsx",
                metavar="FILE",
                type=click.Path(dir_okay=False),
                help="Write an Excel workbook, one sheet per table.",
            )(command)
            command = click.option(
                "--section",
                metavar="NAME",
                help="Only this table of the CSV (rows, summary...).",
            )(command)
            command = click.option(
                "--out",
                metavar="FILE",
                type=click.Path(dir_okay=False, allow_dash=False),
                help="Write the CSV to FILE, with the byte-order mark.",
            )(command)
            command = click.option(
                "--excel",
                is_flag=True,
                help="CSV with the UTF-8 byte-order mark, for spreadsheets.",
            )(command)
            command = click.option(
                "--csv",
                "as_csv",
                is_flag=True,
                help="CSV: the rows, then each section under a # NAME line.",
            )(command)
        return click.option("--json", "as_json", is_flag=True, help="JSON for programs.")(command)

    return decorate


def emit(result: Report, *, as_json: bool, wide: bool = False, pager: bool = True) -> None:
    """Print a report: its JSON, or text for people (fitted to the screen unless
    ``wide``, through a pager when ``pager`` and it is longer than the screen); its
    warnings first, on stderr."""
    from kamflow import output

    warn(result)
    if as_json:
        rendered = result.rendered_json
        click.echo(rendered if rendered is not None else output.to_json(result.as_json()))
    else:
        terminal = sys.stdout.isatty()
        screen = screen_width(os.environ, terminal)
        text = render_text(result, limit=None if wide else screen)
        size = (screen, screen_height(os.environ, terminal))
        argv = pager_command(text, env=os.environ, terminal=terminal and pager, size=size)
        if argv is None or not run_pager(argv, text):
            click.echo(text)


def warn(result: Report) -> None:
    from kamflow.output import escape

    for warning in result.warnings:
        click.echo(f"Warning: {escape(warning)}", err=True)


def emit_csv(
    result: Report, *, excel: bool = False, out: str | None = None, section: str | None = None
) -> None:
    """A report as CSV (``kamflow.output.tables_to_csv``): every table, or only the one
    named ``section`` (InvalidInput when the report has none of that name), on stdout,
    or written to ``out``. The byte-order mark starts it with ``excel`` and in a file."""
    from kamflow import output

    warn(result)
    tables = result.tables()
    if section is not None:
        names = [t.name for t in tables]
        if section not in names:
            raise InvalidInput(f'no table "{section}" in this report; one of: {", ".join(names)}')
        tables = [t for t in tables if t.name == section]
    text = output.tables_to_csv([(t.name, t.headers, t.rows) for t in tables])
    if out is None:
        click.echo(output.BOM + text if excel else text)
        return
    write_file(out, (output.BOM + text + "\n").encode("utf-8"))
    click.echo(f"wrote {out}: {_described(tables)}")


def write_xlsx(result: Report, path: str) -> None:
    """A report as an Excel workbook at ``path`` (``kamflow.xlsx``, which alone imports
    the XLSX library): one sheet per table."""
    from kamflow.xlsx import workbook

    warn(result)
    tables = result.tables()
    write_file(path, workbook(tables, title=result.title, layout=result.layout))
    click.echo(f"wrote {path}: {_described(tables)}")


def _described(tables: list[Any]) -> str:
    return ", ".join(f"{t.name} ({len(t.rows)})" for t in tables)


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: into a new file beside it, renamed
    over it once complete. A folder that is missing or not writable is one line (exit
    1), and leaves nothing behind."""
    import tempfile

    target = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(target)
    try:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".kamflow-", suffix=".part")
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # A new file gets the permissions the user's umask gives, as open() would.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp, 0o666 & ~mask)
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None


def screen_width(env: Mapping[str, str], terminal: bool) -> int | None:
    """The widest a line of text may be: ``COLUMNS`` when set to a positive number,
    else the terminal's width when stdout is a terminal, else None (no limit)."""
    given = _positive(env.get("COLUMNS"))
    if given is not None or not terminal:
        return given
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return None
    return columns or None


def screen_height(env: Mapping[str, str], terminal: bool) -> int:
    """Lines on the screen: ``LINES``, else the terminal's, else 24."""
    given = _positive(env.get("LINES"))
    if given is not None or not terminal:
        return given or DEFAULT_LINES
    try:
        lines = os.get_terminal_size(sys.stdout.fileno()).lines
    except (OSError, ValueError):
        return DEFAULT_LINES
    return lines or DEFAULT_LINES


def _positive(text: str | None) -> int | None:
    value = (text or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def pager_command(
    text: str, *, env: Mapping[str, str], terminal: bool, size: tuple[int | None, int]
) -> list[str] | None:
    """The pager to show ``text`` through, as an argument list, or None to print it.

    None unless ``terminal`` (stdout is a terminal and paging was not turned off) and
    ``text`` needs more rows than the screen (``size``: columns, or None for unknown,
    and lines) holds, counting the rows a line wider than the screen wraps onto, and the
    prompt after it. The pager is ``KAMFLOW_PAGER``, else ``PAGER``, else ``less -FRX``;
    set to ``""`` or ``cat``, none.
    """
    from kamflow.output import width

    if not terminal:
        return None
    command = env.get("KAMFLOW_PAGER")
    if command is None:
        command = env.get("PAGER")
    if command is None:
        command = DEFAULT_PAGER
    try:
        argv = shlex.split(command)
    except ValueError:  # unbalanced quotes: a pager that cannot run
        return None
    if not argv or argv == ["cat"]:
        return None
    columns, lines = size
    rows = 1  # the shell's prompt after the output
    for line in text.split("\n"):
        w = width(line)
        rows += max(1, -(-w // columns)) if columns else 1
        if rows > lines:
            return argv
    return None


def run_pager(argv: list[str], text: str) -> bool:
    """Show ``text`` through the pager ``argv``; False when it cannot be started (the
    caller prints the text instead). Like git, ``LESS=FRX`` unless ``LESS`` is set: quit
    at once when the text fits, keep colours, leave the text on the screen."""
    import shutil
    import subprocess

    program = shutil.which(argv[0])
    if program is None:
        return False
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.flush()
    try:
        pager = subprocess.Popen([program, *argv[1:]], stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    assert pager.stdin is not None
    try:
        pager.stdin.write((text + "\n").encode(encoding, "replace"))
        pager.stdin.close()
    except BrokenPipeError:  # the reader quit the pager before reading everything
        pass
    while True:
        try:
            pager.wait()
            return True
        except KeyboardInterrupt:
            # less uses Ctrl-C itself (to stop a search); wait until it is quit.
            continue


def grouped(result: Report, table: Callable[[list[str], list[list[Any]]], str]) -> list[str]:
    """The rows as one table cut into groups, a heading line and a blank line before
    each (the value of ``result.group_by``; rows of a group are consecutive), so that
    the columns line up from group to group."""
    from kamflow import output

    assert result.group_by is not None
    lines = table(result.columns, [[r.get(c) for c in result.columns] for r in result.rows])
    header, body = lines.split("\n")[:2], lines.split("\n")[2:]
    rows, after = body[: len(result.rows)], body[len(result.rows) :]
    out: list[str] = []
    previous: object = object()
    for row, line in zip(result.rows, rows, strict=True):
        value = row.get(result.group_by)
        if value != previous:
            if out:
                out.append("")
            out += [output.escape(str(value)), *header]
            previous = value
        out.append(line)
    return out + after


def render_text(result: Report, *, limit: int | None = None) -> str:
    """A report for people: its title, its rows as a table, then each section; no line
    wider than ``limit`` display columns (None: no limit)."""
    from kamflow import output

    layout = result.layout

    def para(text: str, hang: int) -> list[str]:
        # Titles and notes quote stored text; cells are escaped already (output.cell).
        return output.wrap(output.escape(text), limit, hang)

    def table(headers: list[str], rows: list[list[Any]]) -> str:
        return output.table(headers, rows, layout=layout, limit=limit)

    lines = [*para(result.title, 2), ""] if result.title else []
    if result.rows and result.group_by is not None:
        lines += grouped(result, table)
    elif result.rows:
        lines.append(
            table(result.columns, [[r.get(c) for c in result.columns] for r in result.rows])
        )
    else:
        lines.append("(nothing to report)")
    for title, section in result.sections.items():
        lines += ["", *para(title.replace("_", " "), 2)]
        if isinstance(section, dict):
            for k, v in section.items():
                kind = layout[k].kind if k in layout else None
                lines += output.wrap(
                    f"  {output.escape(k.replace('_', ' '))}: {output.cell(v, kind)}", limit, 4
                )
        elif isinstance(section, list) and section and isinstance(section[0], dict):
            headers = list(section[0].keys())
            lines.append(table(headers, [[row.get(h) for h in headers] for row in section]))
        elif isinstance(section, list):
            lines += (
                ["  (none)"] if not section else output.wrap("  " + output.cell(section), limit, 2)
            )
        else:
            lines += output.wrap(f"  {output.cell(section)}", limit, 2)
    if result.notes:
        lines.append("")
    for note in result.notes:
        lines += para(f"note: {note}", 2)
    return output.escape("\n".join(lines), keep_newlines=True)

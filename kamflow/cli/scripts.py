"""Scripts: `kamflow apply` (JSON Lines) and `kamflow demo`."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

import click

from kamflow.cli import session

if TYPE_CHECKING:
    from kamflow.application import Outcome
    from kamflow.cli.factory import Shape


@click.command("apply")
# Required unless --fields is given: named FILE, as if required, in usage and errors.
@click.argument("file", type=click.File("rb"), required=False, metavar="FILE")
@click.option(
    "--fields",
    "fields_of",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[COMMAND]",
    help='List the JSON keys of every command (or of COMMAND, e.g. "visit log" or visit)'
    " instead of applying a file.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON summary with what each line recorded; errors as JSON on stderr.",
)
@click.pass_context
def apply(ctx: click.Context, file: IO[bytes] | None, fields_of: str | None, as_json: bool) -> None:
    """Apply a stream of commands, one JSON object a line (`-` reads stdin).

    Each line names the command and its fields, with an optional command_id so a
    re-run of the same file applies nothing twice. The first bad line stops the
    run: the lines before it stay applied, nothing of it is written. The keys of
    each command: `kamflow apply --fields [COMMAND]`.

    \b
    Example:
        {"command": "visit log", "account": "acme", "with": ["Wang Fang"],
         "purpose": "trial", "objective": "size", "result": "2 t", "command_id": "v-17"}
    """
    if fields_of is not None:
        if file is not None:
            raise click.UsageError("give a FILE to apply or --fields, not both")
        click.echo(describe_fields(fields_of))
        return
    if file is None:
        raise click.MissingParameter(ctx=ctx, param=_param(ctx, "file"))
    from kamflow.batch import LineFailed, apply_lines
    from kamflow.cli.progress import drawn, progress

    sess = session()
    actor = sess.actor  # refused before the store is opened, so nothing is created
    results: list[dict[str, Any]] = []
    on_outcome: Callable[[int, Outcome], None] | None = None
    if as_json:
        from kamflow.cli.factory import outcome_json

        def on_outcome(number: int, outcome: Outcome) -> None:
            results.append({"line": number, **outcome_json(outcome)})

    try:
        with progress("applying", _count_lines(file) if drawn() else None, unit="lines") as bar:
            summary = apply_lines(
                sess.writer,
                _counted(file, bar.advance),
                actor=actor,
                on_outcome=on_outcome,
                on_behalf_of=sess.behalf,
            )
    except LineFailed as exc:
        # The lines before it stay applied: their views are caught up as after a whole
        # run, and a script learns their ids here, on stdout, and the failed line's
        # error on stderr (exit 1 or 2).
        if exc.applied:
            with contextlib.suppress(Exception):  # the line's error is the one to tell
                catch_up_views(sess.writer.locator)
        if as_json:
            click.echo(_json(apply_summary(results, failed=exc.line)))
        raise
    catch_up_views(sess.writer.locator)
    from kamflow.cli.factory import tell

    for notice in sess.writer.notices:
        tell(notice)
    click.echo(_json(apply_summary(results)) if as_json else summary)


def _json(data: Any) -> str:
    from kamflow.output import to_json

    return to_json(data)


def _count_lines(file: IO[bytes]) -> int | None:
    """Lines in ``file`` if it is a regular file (read, then rewound), else None (stdin,
    a pipe: the bar then shows the count and the rate without a total)."""
    try:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        start = file.tell()
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
        last = file.tell() > start and not _ends_with_newline(file)
        file.seek(start)
    except (OSError, ValueError, AttributeError):
        return None
    return lines + int(last)


def _ends_with_newline(file: IO[bytes]) -> bool:
    file.seek(-1, os.SEEK_END)
    return file.read(1) == b"\n"


def _counted(lines: Iterable[bytes], advance: Callable[[int], None]) -> Iterator[bytes]:
    for line in lines:
        yield line
        advance(1)


def catch_up_views(locator: str) -> None:
    """Bring the views (``kf_*`` tables) up to date with the log after a batch of writes
    (`apply`, `demo`), so that readers outside kamflow (sqlite3, psql, a BI tool) find
    them current, as reports do; with a progress bar on a terminal."""
    from kamflow.cli.progress import progress
    from kamflow.projections.engine import caught_up_views

    with progress("updating views", unit="events") as bar:
        caught_up_views(locator, progress=bar.advance, total=bar.set_total).close()


def apply_summary(results: list[dict[str, Any]], failed: int | None = None) -> dict[str, Any]:
    """`kamflow apply --json`'s answer: ``{"applied": 2, "skipped": 1, "failed_line":
    null, "results": [{"line": 1, ...outcome_json...}, ...]}``, ``results`` holding
    every line applied or already applied (skipped), in order, and ``failed_line`` the
    number of the line that stopped the run, if one did."""
    applied = sum(1 for r in results if r["applied"])
    return {
        "applied": applied,
        "skipped": len(results) - applied,
        "failed_line": failed,
        "results": results,
    }


def _param(ctx: click.Context, name: str) -> click.Parameter:
    return next(p for p in ctx.command.params if p.name == name)


def describe_fields(wanted: str) -> str:
    """The JSON keys of every command (``wanted`` empty), of one command, or of every
    command of one noun (``visit``): key, type, default (or required), help."""
    from kamflow import output
    from kamflow.cli.factory import (
        COMMAND_ID_HELP,
        ON_HELP,
        command_line_fields,
        describe_default,
    )
    from kamflow.domain.commands import all_commands
    from kamflow.domain.errors import InvalidInput

    commands = all_commands()
    chosen = [
        name
        for name in commands
        if not wanted.strip() or wanted.strip() in (name, name.split(" ", 1)[0])
    ]
    if not chosen:
        raise InvalidInput(f'unknown command "{wanted}"; one of: {", ".join(sorted(commands))}')
    blocks = [
        'Each line is one JSON object: its "command" and the keys below; numbers may be'
        " given as strings."
    ]
    for name in chosen:
        arguments, options = command_line_fields(commands[name])
        rows: list[list[Any]] = [
            [
                s.key,
                f"list of {_kind(s)}" if s.multiple else _kind(s),
                describe_default(s),
                s.help,
            ]
            for s in (*arguments, *options)
        ]
        rows.append(["on", "YYYY-MM-DD", "none", ON_HELP])
        rows.append(["command_id", "text", "none", COMMAND_ID_HELP])
        table = output.table(["key", "type", "default", "help"], rows)
        blocks.append(f'{{"command": "{name}", ...}}\n{table}')
    return "\n\n".join(blocks)


def _kind(s: Shape) -> str:
    return "|".join(s.choices) if s.choices is not None else s.kind


def refuse_behalf(command: str) -> None:
    """Refuse `--on-behalf-of` on a writer that records as --actor only (demo, import),
    rather than record the delegate's work under its own name (InvalidInput, exit 2)."""
    if session().behalf is not None:
        from kamflow.domain.errors import InvalidInput

        raise InvalidInput(
            f'--on-behalf-of is not taken by "{command}", which records as --actor; it is'
            " for the commands that record one person's work, apply and fx import"
        )


@click.command("demo")
@click.option("--accounts", default=60, show_default=True, type=click.IntRange(1, 10000))
@click.option("--seed", default=7, show_default=True, type=int)
def demo(accounts: int, seed: int) -> None:
    """Build a realistic sample portfolio in a fresh database and summarise it.

    \b
    Example:
        kamflow --db demo.db demo --accounts 60 --seed 7
    """
    from kamflow.cli.progress import progress
    from kamflow.demo import build_demo, render_summary

    refuse_behalf("demo")
    sess = session()
    with progress("building the demo", unit="commands") as bar:
        summary = build_demo(sess.writer, accounts=accounts, seed=seed, on_step=bar.update)
    catch_up_views(sess.writer.locator)
    click.echo(render_summary(summary, sess.writer.locator))

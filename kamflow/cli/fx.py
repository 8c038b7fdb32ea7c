"""Exchange rates: set one, import many from a CSV, show them (ADR 0021)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kamflow.cli import session
from kamflow.cli.factory import ModelGroup, add_model_commands
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report

IMPORT_COLUMNS = ("currency", "quote", "rate", "on", "source")


@click.group(cls=ModelGroup)
def fx() -> None:
    """Exchange rates, recorded, for reports in one currency."""


add_model_commands(fx)


@fx.command("import")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
def fx_import(path: str) -> None:
    """Record the exchange rates of a CSV file (UTF-8, a header line naming the
    columns currency, quote, rate, on, source; - reads stdin). Every line is checked
    before any is recorded; a rate already recorded for its pair and day is skipped, so
    a file can be imported again.

    \b
    Example:
        kamflow fx import rates.csv
    """
    import csv
    import io

    from kamflow.domain.commands import build
    from kamflow.domain.commands.fx import SetRate
    from kamflow.domain.errors import Conflict, InvalidInput

    sess = session()
    try:
        with click.open_file(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"{path}: the header line lacks {', '.join(missing)}; give {','.join(IMPORT_COLUMNS)}"
        )
    wanted = []
    for number, line in enumerate(reader, start=2):
        fields = {k.strip().lower(): (v or "").strip() for k, v in line.items() if k}
        try:
            wanted.append(
                build(
                    SetRate,
                    {c: fields[c] for c in IMPORT_COLUMNS},
                    today=sess.today,
                )
            )
        except InvalidInput as exc:
            raise InvalidInput(f"{path} line {number}: ", *exc.parts) from None
    recorded = skipped = 0
    for command in wanted:
        try:
            sess.writer.execute(command, actor=sess.actor, on_behalf_of=sess.behalf)
        except Conflict:  # that very rate is already recorded for that day
            skipped += 1
        else:
            recorded += 1
    rates = "1 rate" if recorded == 1 else f"{recorded} rates"
    were = "1 was" if skipped == 1 else f"{skipped} were"
    click.echo(f"recorded {rates} from {path}; {were} already recorded")


@fx.command("show")
@output_options()
def fx_show() -> Report:
    """Every exchange rate, by pair and the business date it is in force from.

    \b
    Example:
        kamflow fx show
    """
    from kamflow import queries

    return queries.rate_show(session().kamflow)

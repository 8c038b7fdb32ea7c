"""`kamflow import`: bring a team's data in.

A table (``.csv``, ``.tsv``, ``.xlsx``) is imported through a mapping the team keeps
(``--mapping map.toml``; ``--suggest`` writes a first one), row by row as the domain
commands `kamflow apply` runs (kamflow.tableimport, ADR 0019). A kamflow export (its
first line is an export's header) is loaded whole into an empty database, every seal
checked (``kamflow.log_import``, ADR 0018): the way to move a store from SQLite to
PostgreSQL and back.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kamflow.cli import fail, session

if TYPE_CHECKING:
    from kamflow.application import Kamflow
    from kamflow.tableimport.read import Table
    from kamflow.tableimport.run import Summary


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="MAP.toml",
    help="The mapping from the file's columns to kamflow's fields (TOML).",
)
@click.option(
    "--suggest",
    is_flag=True,
    help="Print a first mapping written from the file's headers instead of importing.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check every row against every rule and list each bad one; write nothing.",
)
@click.option("--strict", is_flag=True, help="Stop at the first bad row (the rows before it stay).")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Where the bad rows go, with a reason column (default: FILE's name"
    " + .rejects.csv, in the current folder).",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="The file's text encoding (default: detected: UTF-8 with or without BOM,"
    " UTF-16, GB18030/GBK).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--public-key",
    metavar="KEY|FILE",
    help="For a kamflow export: the public key its checkpoint must be signed with.",
)
def import_(
    file: Path,
    mapping: Path | None,
    suggest: bool,
    dry_run: bool,
    strict: bool,
    rejects: Path | None,
    encoding: str | None,
    as_json: bool,
    public_key: str | None,
) -> None:
    """Import a table (CSV, TSV, XLSX) of accounts, contacts, opportunities, sales and
    payments, through a mapping the team keeps.

    Each row becomes the commands `kamflow apply` runs, so every rule holds. An
    account is found by the external id the mapping names as its key; command ids are
    made from the source's ids, so importing a changed file again applies only what
    changed, once. Bad rows are written to the rejects file with the reason (exit 1);
    the others are imported. A progress bar is drawn on a terminal.

    \b
    A kamflow export (`kamflow export`) is loaded into an empty database instead, every
    seal and its signed checkpoint checked as it goes; a file that does not verify, or a
    database that is not empty, is refused and nothing is written.

    \b
    Example:
        kamflow import --suggest customers.csv > map.toml
        kamflow import customers.csv --mapping map.toml --dry-run
        kamflow import customers.csv --mapping map.toml
        kamflow --db postgresql://kam@db.example.com/kam import kam.jsonl
    """
    from kamflow.cli.scripts import refuse_behalf
    from kamflow.tableimport.read import TABLE_SUFFIXES

    refuse_behalf("import")
    if not (suggest or mapping is not None or file.suffix.lower() in TABLE_SUFFIXES):
        if _is_export(file):
            _import_log(file, public_key)
            return
        raise click.UsageError(
            f"{file.name}: neither a kamflow export nor a table; kamflow imports a table"
            " (.csv, .tsv or .xlsx) through --mapping MAP.toml, and a command stream is"
            " run by `kamflow apply`"
        )
    if suggest:
        if mapping is not None or dry_run or strict or rejects is not None:
            raise click.UsageError("--suggest writes a mapping; give it only FILE (and --encoding)")
        from kamflow.tableimport.read import read_table
        from kamflow.tableimport.suggest import suggest as suggested

        click.echo(suggested(read_table(file, encoding=encoding), file.name), nl=False)
        return
    if mapping is None:
        raise click.UsageError(
            f"give --mapping MAP.toml; write a first one with"
            f" `kamflow import --suggest {file.name} > map.toml`"
        )
    if dry_run and strict:
        raise click.UsageError("give --dry-run or --strict, not both")
    table, checked = _read(file, mapping, encoding, as_json)
    summary = _rehearse(table, checked) if dry_run else _import(table, checked, strict)
    rejects_path = rejects or Path(file.name + ".rejects.csv")
    if summary.rejects and not dry_run:
        _write_rejects(rejects_path, table, summary)
    if as_json:
        from kamflow.output import to_json

        data: dict[str, Any] = {"file": str(file), "dry_run": dry_run, **summary.as_json()}
        data["rejects_file"] = str(rejects_path) if summary.rejects and not dry_run else None
        click.echo(to_json(data))
    else:
        click.echo(_render(file, summary, dry_run, rejects_path))
    if summary.rejected:
        sys.exit(1)


def _read(file: Path, mapping_path: Path, encoding: str | None, as_json: bool) -> tuple[Table, Any]:
    """The table and its mapping, checked against its headers: every mistake of the
    mapping is one line on stderr (exit 2)."""
    from kamflow.tableimport.mapping import MappingErrors, file_settings, parse
    from kamflow.tableimport.read import read_table

    try:
        text = mapping_path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise click.FileError(str(mapping_path), hint=exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise click.FileError(str(mapping_path), hint="not UTF-8 text") from None
    try:
        # The [file] settings say how to read the table; its headers then let every
        # column the mapping names be checked, mistakes elsewhere or not.
        encoding_, sheet, delimiter = file_settings(text, mapping_path.name)
        table = read_table(file, encoding=encoding or encoding_, sheet=sheet, delimiter=delimiter)
        return table, parse(text, mapping_path.name, table.headers)
    except MappingErrors as exc:
        if as_json:
            fail("InvalidInput", str(exc), 2, as_json=True, mistakes=exc.mistakes)
        from kamflow.output import escape

        for mistake in exc.mistakes:
            click.echo(f"Error: {escape(exc.where)}: {escape(mistake)}", err=True)
        sys.exit(2)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Rarer cyclic garbage collections for the length of a bulk load: it makes millions
    of objects that live to its end (the accounts kept in memory, the held events), and
    at CPython's default threshold (a collection every 700 allocations) the collector
    went over them ~470 times, ~10% of an import's CPU time. Every 10,000 still
    frees what a cycle leaves; the default is put back after."""
    import gc

    before = gc.get_threshold()
    gc.set_threshold(10_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _run(kamflow: Kamflow, table: Table, mapping: Any, strict: bool) -> Summary:
    from kamflow.cli.progress import progress
    from kamflow.tableimport.run import Importer

    with progress("importing", len(table.rows), unit="rows") as bar, _fewer_collections():
        importer = Importer(
            kamflow, table, mapping, actor=session().actor, strict=strict, on_row=bar.advance
        )
        return importer.run()


def _import(table: Table, mapping: Any, strict: bool) -> Summary:
    from kamflow.cli.scripts import catch_up_views
    from kamflow.tableimport.run import RowRefused

    sess = session()
    try:
        summary = _run(sess.writer, table, mapping, strict)
    except RowRefused:
        # The rows before it stay imported: their views are caught up as after a run.
        with _fewer_collections():
            catch_up_views(sess.writer.locator)
        raise
    with _fewer_collections():
        catch_up_views(sess.writer.locator)
    return summary


def _rehearse(table: Table, mapping: Any) -> Summary:
    """Every row decided against the store as it is (or an empty one, if there is none
    yet), and nothing saved (Kamflow.rehearse)."""
    import tempfile

    from kamflow.application import Kamflow
    from kamflow.storage import NoStore

    sess = session()
    try:
        locator: str | None = sess.existing()
    except NoStore:
        locator = None
    with tempfile.TemporaryDirectory(prefix="kamflow-dry-run-") as folder:
        kamflow = Kamflow(locator or str(Path(folder) / "empty.db"), tz=sess.tz)
        try:
            kamflow.rehearse()
            return _run(kamflow, table, mapping, strict=False)
        finally:
            kamflow.close()


def _write_rejects(path: Path, table: Table, summary: Summary) -> None:
    """The bad rows as they were read, with the row number, the column at fault and the
    reason first; CSV with a byte-order mark, so that Excel reads it right, and every
    cell that would start a formula neutralised (kamflow.output.csv_value)."""
    from kamflow import output
    from kamflow.cli.show import write_file

    rows = [
        [r.row, r.column, r.reason, *(_cell(c) for c in table.rows[r.row - 2])]
        for r in summary.rejects
    ]
    text = output.to_csv(["row", "column", "reason", *table.headers], rows)
    write_file(str(path), (output.BOM + text + "\n").encode("utf-8"))


def _cell(value: Any) -> Any:
    from decimal import Decimal, InvalidOperation

    if isinstance(value, str) and value[:1] in "-+" and len(value) < 30:
        try:
            return Decimal(value)  # a number stays a number, not a neutralised text
        except InvalidOperation:
            return value
    return value


def _render(file: Path, summary: Summary, dry_run: bool, rejects: Path) -> str:
    lines: list[str] = []
    if dry_run:
        from kamflow import output

        if summary.rejects:
            lines.append(
                output.table(
                    ["row", "column", "value", "why"],
                    [[r.row, r.column, r.value, r.reason] for r in summary.rejects],
                )
            )
        lines.append(f"dry run of {file.name}: nothing was written")
    verb = "would be " if dry_run else ""
    s = summary
    counts = (
        f"{s.rows} rows ({s.encoding}): {s.created} {verb}created, {s.updated} {verb}updated,"
        f" {s.unchanged} unchanged, {s.rejected} rejected"
        + (f", {s.skipped} skipped" if s.skipped else "")
    )
    lines.append(counts)
    lines.append(
        f"accounts: {s.accounts_opened} {verb}opened, {s.accounts_updated} {verb}updated;"
        f" {s.commands} commands {'would be applied' if dry_run else 'applied'}"
    )
    if s.rejects and not dry_run:
        lines.append(f"rejected rows written to {rejects}, with the reason")
    return "\n".join(lines)


# The command's name in NOUNS: `import` is a Python keyword.
globals()["import"] = import_


def _is_export(file: Path) -> bool:
    """Whether FILE's first line is a kamflow export's header."""
    from kamflow.export import is_export

    try:
        with file.open("rb") as stream:
            first = stream.readline(1 << 16)
    except OSError as exc:
        raise click.FileError(str(file), hint=exc.strerror or str(exc)) from None
    return is_export(first)


def _import_log(file: Path, public_key: str | None) -> None:
    from kamflow.checkpoint import trusted_key
    from kamflow.cli.progress import drawn, progress
    from kamflow.log_import import load
    from kamflow.storage import resolve

    trusted = trusted_key(public_key) if public_key is not None else None
    locator = resolve(session().db)
    keys = _key_rows(file)  # checked before anything is imported
    with progress("importing", unit="events") as bar:
        if drawn():
            with file.open("rb") as stream:
                lines = sum(c.count(b"\n") for c in iter(lambda: stream.read(1 << 20), b""))
            bar.set_total(max(lines - 2, 1))
        imported = load(file, locator, trusted=trusted, progress=bar.advance)
    _read_keys(keys, locator)
    checkpoint = imported.verified.checkpoint
    click.echo(
        f"imported {imported.events:,} events from {file}; every seal verified; head"
        f" {checkpoint.head.hex()[:16]}..., as the checkpoint of {checkpoint.made_at}"
        f" signed by {checkpoint.signer} (key {checkpoint.key_id})"
    )


def _key_rows(file: Path) -> list[dict[str, Any]] | None:
    """The persons' keys `kamflow export` wrote beside the file (None: no such file).
    Raises InvalidInput for a file that is not one, naming its line: read before the
    import, so that a bad key file leaves nothing written (not a log without names)."""
    import base64
    import binascii
    import json

    from kamflow.domain.errors import InvalidInput
    from kamflow.personal import keys_beside

    beside = Path(keys_beside(str(file)))
    try:
        text = beside.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f'cannot read "{beside}": {exc}') from None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            good = (
                isinstance(row, dict)
                and isinstance(row.get("account"), str)
                and isinstance(row.get("person"), str)
                and isinstance(row.get("forgotten_at"), str | None)
                and (row.get("key") is None or len(base64.b64decode(row["key"], validate=True)))
            )
        except (ValueError, TypeError, binascii.Error):
            good = False
        if not good:
            raise InvalidInput(
                f'"{beside}" line {number}: not a person\'s key as `kamflow export` writes'
                " them; nothing was imported"
            )
        rows.append(row)
    return rows


def _read_keys(rows: list[dict[str, Any]] | None, locator: str) -> None:
    """The persons' keys read beside the export (``_key_rows``), into this store's key
    store (ADR 0026); without them the imported names read as [no key]."""
    from kamflow.personal import store_keys

    if rows is None:
        return
    keys = store_keys(locator)
    if keys is None:
        return
    try:
        keys.load(rows)
    finally:
        keys.close()

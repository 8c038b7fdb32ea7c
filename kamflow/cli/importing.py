"""kamflow import: load a file into kamflow.

A kamflow export (its first line is an export's header) is loaded whole into an empty
database, every seal checked (``kamflow.log_import``, ADR 0018): the way to move a
store from SQLite to PostgreSQL and back. Any other file is a table to import through
a mapping (``--mapping``).
"""

from __future__ import annotations

from pathlib import Path

import click

from kamflow.cli import session


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option(
    "--public-key",
    metavar="KEY|FILE",
    help="For an export: the public key its checkpoint must be signed with.",
)
def import_(file: Path, public_key: str | None) -> None:
    """Load a kamflow export into an empty database.

    Every seal and the signed checkpoint are checked as it goes (kamflow export writes
    the file): a file that does not verify, or a
    database that is not empty, is refused and nothing is written. Positions and seals
    carry over unchanged, so `audit verify` and the export's checkpoint still pass.

    \b
    Example:
        kamflow --db kam.db export --out kam.jsonl
        kamflow --db postgresql://kam@db.example.com/kam import kam.jsonl
    """
    from kamflow.export import is_export

    try:
        with file.open("rb") as stream:
            first = stream.readline(1 << 16)
    except OSError as exc:
        raise click.FileError(str(file), hint=exc.strerror or str(exc)) from None
    if not is_export(first):
        raise click.UsageError(
            f"{file.name}: not a kamflow export; to import a CSV/XLSX give --mapping"
        )
    _import_log(file, public_key)


def _import_log(file: Path, public_key: str | None) -> None:
    from kamflow.checkpoint import trusted_key
    from kamflow.cli.progress import drawn, progress
    from kamflow.log_import import load
    from kamflow.storage import resolve

    trusted = trusted_key(public_key) if public_key is not None else None
    locator = resolve(session().db)
    with progress("importing", unit="events") as bar:
        if drawn():
            with file.open("rb") as stream:
                lines = sum(c.count(b"\n") for c in iter(lambda: stream.read(1 << 20), b""))
            bar.set_total(max(lines - 2, 1))
        imported = load(file, locator, trusted=trusted, progress=bar.advance)
    checkpoint = imported.verified.checkpoint
    click.echo(
        f"imported {imported.events:,} events from {file}; every seal verified; head"
        f" {checkpoint.head.hex()[:16]}..., as the checkpoint of {checkpoint.made_at}"
        f" signed by {checkpoint.signer} (key {checkpoint.key_id})"
    )

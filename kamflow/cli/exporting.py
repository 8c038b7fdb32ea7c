"""kamflow export: the sealed log as JSON Lines, with a signed checkpoint at its end.

Thin: the format and its writer are ``kamflow.export`` (ADR 0018).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from kamflow.cli import session


@click.command("export")
@click.option("--account", "account", metavar="KEY", help="Only this account's events.")
@click.option("--out", metavar="FILE", help="Write to FILE (default: standard output).")
@click.option(
    "--key",
    metavar="FILE",
    help="The Ed25519 private key (PEM) that signs the checkpoint at the end (default:"
    " kamflow's own, as for `audit checkpoint`).",
)
def export(account: str | None, out: str | None, key: str | None) -> None:
    """Write the sealed log as JSON Lines, with a signed checkpoint.

    One line per event (position, account, version, type, actor, dates, command id,
    payload, the stored bytes and the seals), the signed checkpoint at the end, for an
    auditor or a move to another database. Every seal is checked as the log is read.
    `audit verify --file` checks an export with no database; `kamflow import` loads one
    into an empty database.

    \b
    Example:
        kamflow export --out kamflow-2026-12-01.jsonl
        kamflow export --account acme --out acme.jsonl
        kamflow audit verify --file kamflow-2026-12-01.jsonl --public-key KEY
    """
    from kamflow import clock
    from kamflow.checkpoint import signing_key
    from kamflow.cli.audit import new_key_notice
    from kamflow.cli.progress import progress
    from kamflow.export import write

    sess = session()
    kamflow = sess.kamflow
    scope = None
    if account is not None:
        kamflow.last_version(account)  # AccountNotFound (exit 1) for an unknown key
        scope = kamflow.locate(account)
    chosen = signing_key(key)
    total = kamflow.event_count()
    target = Path(out) if out is not None else None
    partial = target.with_name(f".{target.name}.partial") if target is not None else None
    try:
        stream = partial.open("w", encoding="utf-8") if partial is not None else sys.stdout
    except OSError as exc:
        raise click.FileError(str(out), hint=exc.strerror or str(exc)) from None
    try:
        with progress("exporting", total or None, unit="events") as bar:
            written = write(
                kamflow,
                stream,
                key=chosen,
                signer=sess.actor,
                made_at=clock.now(),
                account=scope,
                progress=bar.advance,
            )
        if partial is not None and target is not None:
            stream.close()
            os.replace(partial, target)
    except BaseException:
        if partial is not None:
            stream.close()
            partial.unlink(missing_ok=True)
        raise
    new_key_notice(chosen)
    if target is not None:
        _write_keys(kamflow, str(target), scope)
        log = written.checkpoint["log"]
        click.echo(
            f"exported {written.lines:,} events to {out}; checkpoint: {log['size']:,} events,"
            f" head {log['head'][:16]}..., key {written.checkpoint['key_id']}"
        )


def _write_keys(kamflow: Any, out: str, scope: Any) -> None:
    """The persons' keys beside the export (``FILE.keys``, JSON Lines), apart from it as
    the key store is apart from the log, so that `kamflow import` of FILE can read the
    names it holds encrypted (ADR 0026). None: no file."""
    from kamflow.personal import keys_beside, store_keys

    keys = store_keys(kamflow.locator)
    if keys is None:
        return
    try:
        rows = keys.dump({str(scope[1])} if scope is not None else None)
    finally:
        keys.close()
    path = Path(keys_beside(out))
    if not rows:
        path.unlink(missing_ok=True)
        return
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path.chmod(0o600)

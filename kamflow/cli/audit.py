"""kamflow audit: prove nothing was altered (the seals, checkpoints, verify).

Thin: the checks live in ``kamflow.checkpoint`` (signed checkpoints) and
``kamflow.export`` (the sealed log, and an export checked offline). ADR 0017, 0018.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from kamflow.cli import session


@click.group()
def audit() -> None:
    """Prove nothing was altered: verify the sealed log, sign checkpoints."""


def new_key_notice(key: Any) -> None:
    """Tell, on stderr, that a signing key was made, and the public key to keep."""
    if key.made:
        click.echo(
            f"Note: made a new signing key {key.path} (mode 0600; back it up). Its public"
            f" key, for the auditor to keep: {key.public_text}",
            err=True,
        )


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a file beside it, renamed)."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None


@audit.command("checkpoint")
@click.option("--out", metavar="FILE", help="Write the checkpoint to FILE (default: print it).")
@click.option(
    "--key",
    metavar="FILE",
    help="The Ed25519 private key (PEM) to sign with (default: checkpoint-key.pem in"
    " kamflow's user config folder, made on first use).",
)
def audit_checkpoint(out: str | None, key: str | None) -> None:
    """Sign a checkpoint of the log (its size and head seal, the UTC time, the signer)
    for an auditor to file away; `audit verify --checkpoint` later proves the log still
    extends it. The log's seals are checked first: a checkpoint vouches only for a log
    that verifies.

    \b
    Example:
        kamflow audit checkpoint --out checkpoint-2026-12-01.json
        kamflow audit verify --checkpoint checkpoint-2026-12-01.json --public-key KEY
    """
    from kamflow import clock
    from kamflow.checkpoint import make, signing_key
    from kamflow.cli.progress import progress
    from kamflow.export import head

    sess = session()
    kamflow = sess.kamflow
    chosen = signing_key(key)
    with progress("checking seals", kamflow.event_count() or None, unit="events") as bar:
        size, last, seal = head(kamflow, bar.advance)
    statement = make(
        chosen, size=size, last_position=last, head=seal, signer=sess.actor, made_at=clock.now()
    )
    new_key_notice(chosen)
    text = json.dumps(statement, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    write_atomically(out, text)
    click.echo(
        f"checkpoint of {size:,} events (last position {last}), head {seal.hex()[:16]}...,"
        f" signed by {sess.actor} at {statement['made_at']}: {out}"
    )
    click.echo(f"public key (key id {chosen.key_id}): {chosen.public_text}")


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    metavar="FILE",
    help="Also prove the log still extends this checkpoint (nothing cut, rolled back or"
    " changed before it).",
)
@click.option(
    "--file",
    "export_file",
    metavar="EXPORT",
    help="Check an export (kamflow export) instead of the database, offline.",
)
@click.option(
    "--public-key",
    metavar="KEY|FILE",
    help="The public key checkpoints must be signed with (ed25519:..., as `audit"
    " checkpoint` prints it, or a file holding it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(
    checkpoint_file: str | None, export_file: str | None, public_key: str | None, as_json: bool
) -> None:
    """Recompute every seal of the log and name the first bad position (exit 1); with
    --checkpoint, also prove the log extends that signed checkpoint; with --file,
    check an export the same way, with no database.

    \b
    Example:
        kamflow audit verify
        kamflow audit verify --checkpoint checkpoint-2026-12-01.json --public-key KEY
        kamflow audit verify --file export.jsonl --public-key KEY
    """
    from kamflow.checkpoint import trusted_key

    trusted = trusted_key(public_key) if public_key is not None else None
    if export_file is not None:
        if checkpoint_file is not None:
            raise click.UsageError("give --file or --checkpoint, not both")
        result = _verify_export(export_file, trusted)
    else:
        result = _verify_store(checkpoint_file, trusted)
    lines = result.pop("lines")
    if as_json:
        from kamflow.output import to_json

        click.echo(to_json(result))
        return
    for line in lines:
        click.echo(line)


def _signed(checkpoint: Any, trusted: bool) -> str:
    by = f"signed by {checkpoint.signer} with key {checkpoint.key_id}"
    return by + (
        " (the trusted key)" if trusted else " (not compared with a trusted key: give --public-key)"
    )


def _verify_export(path: str, trusted: bytes | None) -> dict[str, Any]:
    from kamflow.cli.progress import drawn, progress
    from kamflow.export import verify

    try:
        stream = open(path, "rb")  # noqa: SIM115  # closed below
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None
    with stream, progress("verifying", unit="lines") as bar:
        if drawn():
            bar.set_total(_lines(stream))
        verified = verify(stream, f'"{path}"', trusted, bar.advance)
    checkpoint = verified.checkpoint
    scope = (
        f"{verified.lines:,} events of {verified.account}"
        if verified.account
        else (f"{verified.lines:,} events")
    )
    return {
        "file": path,
        "events": verified.lines,
        "account": verified.account,
        "head": checkpoint.head.hex(),
        "checkpoint": _checkpoint_json(checkpoint, verified.trusted),
        "lines": [
            f"verified {scope} in {path}: every seal recomputed",
            f"checkpoint of {checkpoint.made_at}: {checkpoint.size:,} events in the log,"
            f" head {checkpoint.head.hex()[:16]}..., {_signed(checkpoint, verified.trusted)}",
        ],
    }


def _verify_store(checkpoint_file: str | None, trusted: bytes | None) -> dict[str, Any]:
    from kamflow.checkpoint import check_extends, check_signature, read
    from kamflow.cli.progress import progress
    from kamflow.export import chain
    from kamflow.seal import GENESIS

    checkpoint = read(checkpoint_file) if checkpoint_file is not None else None
    is_trusted = False
    if checkpoint is not None:
        is_trusted = check_signature(checkpoint, trusted, f'checkpoint "{checkpoint_file}"')
    kamflow = session().kamflow
    last: tuple[int, int, bytes] = (0, 0, GENESIS)
    with progress("verifying", kamflow.event_count() or None, unit="events") as bar:
        for last in chain(kamflow, bar.advance):
            if checkpoint is not None and last[0] == checkpoint.size:
                check_extends(checkpoint, [last])
    if checkpoint is not None and last[0] < checkpoint.size:
        check_extends(checkpoint, [last] if last[0] else [])
    size, position, seal = last
    lines = [f"verified {size:,} events: every seal recomputed; head {seal.hex()[:16]}..."
             f" (position {position})"]  # fmt: skip
    result: dict[str, Any] = {"events": size, "last_position": position, "head": seal.hex()}
    if checkpoint is not None:
        result["checkpoint"] = _checkpoint_json(checkpoint, is_trusted)
        lines.append(
            f"extends the checkpoint of {checkpoint.made_at} ({checkpoint.size:,} events),"
            f" {_signed(checkpoint, is_trusted)}"
        )
    result["lines"] = lines
    return result


def _checkpoint_json(checkpoint: Any, trusted: bool) -> dict[str, Any]:
    return {
        "size": checkpoint.size,
        "last_position": checkpoint.last_position,
        "head": checkpoint.head.hex(),
        "made_at": checkpoint.made_at,
        "signer": checkpoint.signer,
        "key_id": checkpoint.key_id,
        "trusted_key": trusted,
    }


def _lines(stream: Any) -> int:
    """How many lines a file holds (for the bar's total), the stream put back."""
    count = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    stream.seek(0)
    return int(count)

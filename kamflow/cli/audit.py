"""kamflow audit: proving that what is stored was not altered (ADR 0017, 0018).

Thin: the checks live in ``kamflow.verify`` (the sealed log, snapshots, the store, the
views), ``kamflow.checkpoint`` (signed checkpoints) and ``kamflow.export`` (an export
checked offline).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kamflow.cli import session
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.application import Kamflow
    from kamflow.checkpoint import Checkpoint
    from kamflow.projections.reports.base import Report
    from kamflow.verify import Verification


@click.group()
def audit() -> None:
    """Prove nothing stored was altered: the sealed log, snapshots, views."""


@audit.command("verify")
@click.option(
    "--views",
    is_flag=True,
    help="Also compare every read-model table with a rebuild from the log.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    metavar="FILE",
    help="Also prove the log still extends this signed checkpoint (nothing cut, rolled"
    " back or changed before it).",
)
@click.option(
    "--file",
    "export_file",
    metavar="EXPORT",
    help="Check an export (kamflow export) instead of the database, with no database.",
)
@click.option(
    "--public-key",
    metavar="KEY|FILE",
    help="The public key checkpoints must be signed with (ed25519:..., as `audit"
    " checkpoint` prints it, or a file holding it).",
)
@output_options()
def audit_verify(
    views: bool, checkpoint_file: str | None, export_file: str | None, public_key: str | None
) -> Report:
    """Check that nothing stored was altered since kamflow stored it.

    Recomputes the seal of every event in the log, checks every snapshot against its
    account's events, runs the database's own integrity check (and with --views
    compares every view table with a rebuild). Exit 1 naming the first place that is
    not as kamflow stored it (edited, deleted, inserted, reordered, account changed);
    exit 0 with the number of events verified and the head seal. With --checkpoint,
    also prove the log extends that signed checkpoint; with --file, check an export
    the same way, with no database.

    \b
    Example:
        kamflow audit verify
        kamflow audit verify --views --json
        kamflow audit verify --checkpoint checkpoint-2026-12-01.json --public-key KEY
        kamflow audit verify --file export.jsonl --public-key KEY
    """
    from kamflow.checkpoint import trusted_key

    trusted = trusted_key(public_key) if public_key is not None else None
    if export_file is not None:
        if checkpoint_file is not None or views:
            raise click.UsageError("--file checks an export alone: give no --checkpoint or --views")
        return _verify_export(export_file, trusted)
    from kamflow.checkpoint import read
    from kamflow.cli.progress import progress
    from kamflow.verify import report, verify

    checkpoint = read(checkpoint_file) if checkpoint_file is not None else None
    kamflow = session().kamflow
    with progress("verifying", unit="events") as bar:
        result = verify(kamflow, views=views, progress=bar.advance, total=bar.set_total)
    if checkpoint is None:
        return report(result)
    assert checkpoint_file is not None
    said = _against_checkpoint(kamflow, result, checkpoint, checkpoint_file, trusted)
    shown = report(result)
    shown.rows.append({"check": "checkpoint", "result": said})
    shown.document["checkpoint"] = {**_checkpoint_json(checkpoint), "result": said}
    return shown


def _against_checkpoint(
    kamflow: Kamflow,
    result: Verification,
    checkpoint: Checkpoint,
    name: str,
    trusted: bytes | None,
) -> str:
    """Check ``checkpoint`` against the log ``result`` verified; a failure is added to
    the findings (``kind``: bad signature, wrong key, size smaller, differs). Returns the
    row's text."""
    from kamflow.checkpoint import VerifyFailed, check_extends, check_signature
    from kamflow.export import chain
    from kamflow.verify import Finding

    where = f'"{name}"'
    try:
        is_trusted = check_signature(checkpoint, trusted, f"checkpoint {where}")
        if any(f.check == "log" for f in result.findings):
            return "not checked: the log itself does not verify"
        check_extends(checkpoint, _upto(chain(kamflow), checkpoint.size))
    except VerifyFailed as exc:
        result.findings.append(Finding("checkpoint", where, exc.kind, exc.detail))
        return f"{exc.kind}: see the findings"
    return (
        f"extends the checkpoint of {checkpoint.made_at} ({checkpoint.size:,} events),"
        f" {_signed(checkpoint, is_trusted)}"
    )


def _upto(events: Any, size: int) -> Any:
    """The log's (count, position, seal) up to its ``size``-th event: no further read."""
    for event in events:
        yield event
        if event[0] >= size:
            return


def _signed(checkpoint: Checkpoint, trusted: bool) -> str:
    by = f"signed by {checkpoint.signer} with key {checkpoint.key_id}"
    return by + (
        " (the trusted key)" if trusted else " (not compared with a trusted key: give --public-key)"
    )


def _checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "size": checkpoint.size,
        "last_position": checkpoint.last_position,
        "head": checkpoint.head.hex(),
        "made_at": checkpoint.made_at,
        "signer": checkpoint.signer,
        "key_id": checkpoint.key_id,
    }


def _verify_export(path: str, trusted: bytes | None) -> Report:
    from kamflow.cli.progress import drawn, progress
    from kamflow.export import verify
    from kamflow.projections.reports.base import Report

    try:
        stream = open(path, "rb")  # noqa: SIM115  # closed below
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None
    with stream, progress("verifying", unit="lines") as bar:
        if drawn():
            bar.set_total(_lines(stream))
        verified = verify(stream, f'"{path}"', trusted, bar.advance)
    checkpoint = verified.checkpoint
    what = f"{verified.lines:,} events" + (f" of {verified.account}" if verified.account else "")
    said = (
        f"of {checkpoint.made_at}: {checkpoint.size:,} events in the log, head"
        f" {checkpoint.head.hex()[:16]}..., {_signed(checkpoint, verified.trusted)}"
    )
    return Report(
        title="",
        columns=["check", "result"],
        rows=[
            {"check": "file", "result": f"{what} in {path}, every seal recomputed"},
            {"check": "checkpoint", "result": said},
        ],
        document={
            "ok": True,
            "file": path,
            "events": verified.lines,
            "account": verified.account,
            "checkpoint": {**_checkpoint_json(checkpoint), "trusted_key": verified.trusted},
        },
    )


def _lines(stream: Any) -> int:
    """How many lines a file holds (for the bar's total), the stream put back."""
    count = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    stream.seek(0)
    return int(count)


# ------------------------------------------------------------------ checkpoints
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

"""People's signing keys (ADR 0025): `kamflow id init`."""

from __future__ import annotations

import click

from kamflow.cli import session


@click.group("id")
def id_() -> None:
    """Your signing key: every write is signed by its actor's key."""


@id_.command("init")
def id_init() -> None:
    """Make your Ed25519 key pair if you have none (for the acting person: --actor,
    KAMFLOW_ACTOR or the OS user) and print your public key, for an admin to register
    with `roster grant NAME ROLE --key PUB` or `roster key NAME --key PUB`. The private
    key is kept in your config folder (KAMFLOW_CONFIG_DIR, else the user config
    folder), mode 0600; an existing key is never replaced, so running it again prints
    the same public key. Where the key was made is said on stderr at a terminal.

    \b
    Example:
        kamflow --actor zhou.hui id init
    """
    from kamflow.cli.factory import tell
    from kamflow.identity import load_key, make_key

    actor = session().actor
    key = load_key(actor)
    if key is None:
        key = make_key(actor)
        tell(f"made {actor}'s signing key at {key.path} (mode 0600; back it up)")
    click.echo(key.public)

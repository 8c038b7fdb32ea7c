"""kamflow account: open, change and read key accounts; the account's lifecycle."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from kamflow.cli import DATE, session
from kamflow.cli.factory import ModelGroup, add_model_commands
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report


@click.group(cls=ModelGroup)
def account() -> None:
    """Open, change and read key accounts."""


add_model_commands(account)


@account.command("show")
@click.argument("key")
@click.option(
    "--as-of", type=DATE, help="As the log held it at the end of this date (business time zone)."
)
@click.option("--version", type=int, help="As it stood after its Nth event.")
@output_options(csv=False)
def account_show(key: str, as_of: date | None, version: int | None) -> Report:
    """Show an account now, on a past date, or at a version.

    \b
    Example:
        kamflow account show acme
        kamflow account show acme --as-of 2026-06-30 --json
    """
    from kamflow import queries

    return queries.account_show(session().kamflow, key, as_of=as_of, version=version)


@account.command("list")
@output_options()
def account_list() -> Report:
    """List every account: key, name, industry, owner, tier.

    \b
    Example:
        kamflow account list --json
    """
    from kamflow import queries

    return queries.account_list(session().kamflow)


@account.command("history")
@click.argument("key")
@output_options()
def account_history(key: str) -> Report:
    """Every event of an account: who, business date, record time, what.

    \b
    Example:
        kamflow account history acme
    """
    from kamflow import queries

    return queries.account_history(session().kamflow, key)

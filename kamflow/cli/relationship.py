"""The relationship stage, the key-account team and the ten-step program."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kamflow.cli import session
from kamflow.cli.factory import ModelGroup, add_model_commands
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report


@click.group(cls=ModelGroup)
def stage() -> None:
    """The relationship stage, one step at a time."""


@click.group(cls=ModelGroup)
def team() -> None:
    """The key-account team (团队)."""


@click.group(cls=ModelGroup)
def program() -> None:
    """The ten-step key-account management program."""


for group in (stage, team, program):
    add_model_commands(group)


@program.command("status")
@click.argument("key")
@output_options(csv=False)
def program_status(key: str) -> Report:
    """Where the account stands in the program and what the next step needs.

    \b
    Example:
        kamflow program status acme
    """
    from kamflow import queries

    return queries.program_status(session().kamflow, key)

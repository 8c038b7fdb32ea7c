"""kamflow contact: key people (关键人物) and the buying centre."""

from __future__ import annotations

import click

from kamflow.cli.factory import add_model_commands
from kamflow.domain.commands import people as commands


@click.group()
def contact() -> None:
    """Key people (关键人物) and the buying centre."""


add_model_commands(contact, commands)

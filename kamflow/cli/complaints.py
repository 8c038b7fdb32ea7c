"""kamflow complaint: complaints (投诉) and their workflow (P7)."""

from __future__ import annotations

import click

from kamflow.cli.factory import add_model_commands
from kamflow.domain.commands import complaints as commands


@click.group()
def complaint() -> None:
    """Complaints (投诉): every one must reach an outcome (P7)."""


add_model_commands(complaint, commands)

"""kamflow complaint: complaints (投诉) and their workflow (P7)."""

from __future__ import annotations

import click

from kamflow.cli.factory import ModelGroup, add_model_commands


@click.group(cls=ModelGroup)
def complaint() -> None:
    """Complaints (投诉): every one must reach an outcome (P7)."""


add_model_commands(complaint)

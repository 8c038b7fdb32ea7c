"""kamflow contact: key people (关键人物) and the buying centre."""

from __future__ import annotations

import click

from kamflow.cli.factory import ModelGroup, add_model_commands


@click.group(cls=ModelGroup)
def contact() -> None:
    """Key people (关键人物) and the buying centre."""


add_model_commands(contact)

"""kamflow visit: visits (拜访) and the follow-up of the issues they find (P6)."""

from __future__ import annotations

import click

from kamflow.cli.factory import ModelGroup, add_model_commands


@click.group(cls=ModelGroup)
def visit() -> None:
    """Visits (拜访) and the follow-up of the issues they find."""


add_model_commands(visit)

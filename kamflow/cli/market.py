"""The market: competitors (竞争对手) and opportunities (项目资料) through the funnel."""

from __future__ import annotations

import click

from kamflow.cli.factory import ModelGroup, add_model_commands


@click.group(cls=ModelGroup)
def competitor() -> None:
    """Competitors (竞争对手) at an account."""


@click.group(cls=ModelGroup)
def opp() -> None:
    """Opportunities (项目资料) and the sales funnel."""


for group in (competitor, opp):
    add_model_commands(group)

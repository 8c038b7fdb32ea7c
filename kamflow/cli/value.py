"""Value: tier, sales, payments, service costs, satisfaction, and policy exceptions."""

from __future__ import annotations

import click

from kamflow.cli.factory import ModelGroup, add_model_commands


@click.group(cls=ModelGroup)
def tier() -> None:
    """The account's tier in the selection funnel."""


@click.group(cls=ModelGroup)
def sale() -> None:
    """Sales records (销售记录)."""


@click.group(cls=ModelGroup)
def payment() -> None:
    """Payments against sales."""


@click.group(cls=ModelGroup)
def cost() -> None:
    """The cost to serve an account."""


@click.group(cls=ModelGroup)
def satisfaction() -> None:
    """Customer satisfaction against its target."""


@click.group(cls=ModelGroup)
def exception() -> None:
    """Policy exceptions: one person asks, another approves (P1, P4)."""


for group in (tier, sale, payment, cost, satisfaction, exception):
    add_model_commands(group)

"""Value: tier, sales, payments, service costs, satisfaction, and policy exceptions."""

from __future__ import annotations

import click

from kamflow.cli.factory import add_model_commands
from kamflow.domain.commands import value as commands


@click.group()
def tier() -> None:
    """The account's tier in the selection funnel."""


@click.group()
def sale() -> None:
    """Sales records (销售记录)."""


@click.group()
def payment() -> None:
    """Payments against sales."""


@click.group()
def cost() -> None:
    """The cost to serve an account."""


@click.group()
def satisfaction() -> None:
    """Customer satisfaction against its target."""


@click.group()
def exception() -> None:
    """Policy exceptions: one person asks, another approves (P1, P4)."""


for group in (tier, sale, payment, cost, satisfaction, exception):
    add_model_commands(group, commands)

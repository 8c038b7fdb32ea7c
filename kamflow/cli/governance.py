"""Governance: business policies (P1) and the roster of who holds which role."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kamflow.cli import session
from kamflow.cli.factory import ModelGroup, add_model_commands
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report


@click.group(cls=ModelGroup)
def policy() -> None:
    """Business policies: recorded, with who changed them and when (P1)."""


@click.group(cls=ModelGroup)
def roster() -> None:
    """Who holds which role (admin, approver, kam, auditor), recorded."""


for group in (policy, roster):
    add_model_commands(group)


@policy.command("show")
@output_options()
def policy_show() -> Report:
    """Every policy, its value, and who set it when.

    \b
    Example:
        kamflow policy show
    """
    from kamflow import queries

    return queries.policy_show(session().kamflow)


@roster.command("show")
@output_options()
def roster_show() -> Report:
    """Every person and the roles they hold."""
    from kamflow import queries

    return queries.roster_show(session().kamflow)

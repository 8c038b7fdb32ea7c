"""kamflow workflow: the state machines behind the rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kamflow.cli import session
from kamflow.cli.show import output_options

if TYPE_CHECKING:
    from kamflow.projections.reports.base import Report


@click.group()
def workflow() -> None:
    """The state machines behind the rules."""


@workflow.command("list")
@output_options()
def workflow_list() -> Report:
    """Every workflow and what it governs."""
    from kamflow import queries

    return queries.workflow_list()


@workflow.command("show")
@click.argument("name")
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "json"]), default="mermaid", show_default=True
)
def workflow_show(name: str, fmt: str) -> None:
    """Print a workflow as a Mermaid diagram, or its states and transitions as JSON.

    \b
    Example:
        kamflow workflow show complaint
        kamflow workflow show program --format json
    """
    from kamflow import output
    from kamflow.domain.errors import InvalidInput
    from kamflow.workflows import registry

    workflows = registry()
    if name not in workflows:
        raise InvalidInput(f'unknown workflow "{name}"; one of: {", ".join(workflows)}')
    chosen = workflows[name]
    click.echo(chosen.mermaid() if fmt == "mermaid" else output.to_json(chosen.as_json()))


@workflow.command("check")
@click.argument("key", required=False)
def workflow_check(key: str | None) -> None:
    """Replay stored history through the workflows and report any step they forbid.

    Loading never consults guards (history is history); this check is how a stream
    that a machine would not allow (an import, an old bug) gets noticed. It also flags
    what roles and four eyes forbid (self-granted roles, self-approved exceptions, tier
    raises without an approver, policy changes by a non-admin, blank or two-line
    actors), exit 1.

    \b
    Example:
        kamflow workflow check
        kamflow workflow check acme
    """
    from kamflow.domain.errors import RuleViolation
    from kamflow.output import escape

    kf = session().kamflow
    keys = [key] if key else [a.key for a in kf.accounts()]
    problems = [p for k in keys for p in kf.check_workflows(k)]
    for problem in problems:
        click.echo(escape(problem))
    # Roles and four eyes in history (ADR 0023): what the commands refuse now.
    conduct = kf.conduct(key)
    for finding in conduct:
        click.echo(escape(finding))
    if problems or conduct:
        raise RuleViolation(
            "workflow",
            f"{len(problems)} step(s) no workflow allows, {len(conduct)} act(s) the roles"
            " and four eyes forbid",
        )
    click.echo(
        f"checked {len(keys)} account(s): every step is one the workflows allow, and every"
        " act one the roles and four eyes allow"
    )

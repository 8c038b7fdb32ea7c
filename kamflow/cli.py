"""The kamflow command line. Thin: parse, call the application, render.

Heavy modules (eventsourcing, pydantic, the domain) are imported inside the commands
that need them, so `kamflow --help` and a single write stay quick to start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from kamflow import __version__
from kamflow.domain.errors import KamflowError
from kamflow.domain.values import (
    ATTITUDES,
    BUYING_ROLES,
    LEVELS,
    PERSONALITIES,
    SEVERITIES,
    TIERS,
)

if TYPE_CHECKING:
    from kamflow.application import Kamflow, Outcome

F = TypeVar("F", bound=Callable[..., Any])


class IsoDate(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A calendar date typed as YYYY-MM-DD; impossible dates (2026-02-30) are refused."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            self.fail(f"{value!r} is not a valid date (YYYY-MM-DD): {exc}", param, ctx)


DATE = IsoDate()


class Session:
    """Per-invocation state: where the store is and who is acting. Opened lazily."""

    def __init__(self, db: str | None, actor: str | None) -> None:
        self.db = db
        self._actor = actor
        self._kamflow: Kamflow | None = None

    @property
    def actor(self) -> str:
        if not self._actor:
            from kamflow.application import default_actor

            self._actor = default_actor()
        return self._actor

    @property
    def kamflow(self) -> Kamflow:
        if self._kamflow is None:
            from kamflow.application import Kamflow

            self._kamflow = Kamflow(self.db)
        return self._kamflow

    def close(self) -> None:
        if self._kamflow is not None:
            self._kamflow.close()


def session() -> Session:
    obj = click.get_current_context().find_object(Session)
    assert obj is not None
    return obj


class KamflowGroup(click.Group):
    """The root group: bad input and refusals print one line on stderr, never a traceback.

    Handling errors in ``main`` (not in a wrapper around it) means click's CliRunner,
    and so the tests, see exactly what a user sees.
    """

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> None:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            _error(exc.format_message())
            sys.exit(exc.exit_code)
        except KamflowError as exc:
            _error(str(exc))
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:
            # A bug, not bad input: still one line for the user, the whole traceback
            # for whoever sets KAMFLOW_DEBUG to investigate it.
            if os.environ.get("KAMFLOW_DEBUG"):
                raise
            _error(
                f"internal error ({type(exc).__name__}: {exc}); nothing more was"
                " written. Set KAMFLOW_DEBUG=1 for details and please report it."
            )
            sys.exit(70)
        sys.exit(rv if isinstance(rv, int) else 0)


def _error(message: str) -> None:
    """``Error: message`` on stderr, as one line: messages quote what users typed or
    stored, which may hold escape sequences or line breaks; those are shown escaped."""
    from kamflow.output import escape

    click.echo(f"Error: {escape(message)}", err=True)


@click.group(cls=KamflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="KAMFLOW_DB",
    metavar="PATH|URL",
    help="SQLite file (default ./kamflow.db) or postgresql:// URL. Env: KAMFLOW_DB.",
)
@click.option(
    "--actor",
    envvar="KAMFLOW_ACTOR",
    metavar="NAME",
    help="Who is acting, recorded on every event (default: the OS user). Env: KAMFLOW_ACTOR.",
)
@click.version_option(__version__, prog_name="kamflow")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str | None) -> None:
    """kamflow: every fact about a key account is an immutable event.

    \b
    Example:
        kamflow demo
        kamflow account list
        kamflow account show acme --as-of 2026-06-30
    """
    obj = Session(db, actor)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


# ------------------------------------------------------------------ helpers
def write_options(func: F) -> F:
    """--on and --command-id, shared by every write command."""
    func = click.option(
        "--command-id",
        metavar="ID",
        help="Idempotency key: a command whose id was already applied is not applied again.",
    )(func)
    func = click.option(
        "--on", "on", type=DATE, help="Business date it happened (default: today)."
    )(func)
    return func


def output_options(*, csv: bool = True) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        if csv:
            func = click.option("--csv", "as_csv", is_flag=True, help="CSV for spreadsheets.")(func)
        return click.option("--json", "as_json", is_flag=True, help="JSON for programs.")(func)

    return decorate


def run(name: str, fields: dict[str, Any], command_id: str | None) -> None:
    """Build the named command from the given fields, execute it, print what was recorded."""
    from kamflow.domain.commands import COMMANDS, build

    command = build(COMMANDS[name], {k: v for k, v in fields.items() if v is not None})
    sess = session()
    outcome = sess.kamflow.execute(command, actor=sess.actor, command_id=command_id)
    click.echo(describe_outcome(outcome))


def describe_outcome(outcome: Outcome) -> str:
    from kamflow.output import escape

    return escape(_outcome_line(outcome))


def _outcome_line(outcome: Outcome) -> str:
    if not outcome.applied:
        return (
            f'already applied: command {outcome.command_id} on "{outcome.account}"; nothing written'
        )
    events = ", ".join(f"{name} (version {version})" for name, version in outcome.events)
    ref = (
        f": {outcome.reference}"
        if outcome.reference and outcome.reference != outcome.account
        else ""
    )
    return f'recorded {events} on "{outcome.account}"{ref}'


def emit(
    headers: list[str],
    rows: list[list[Any]],
    records: list[dict[str, Any]],
    *,
    as_json: bool,
    as_csv: bool = False,
) -> None:
    from kamflow import output

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    if as_json:
        click.echo(output.to_json(records))
    elif as_csv:
        click.echo(output.to_csv(headers, rows))
    else:
        click.echo(output.table(headers, rows))


# ------------------------------------------------------------------ account
@cli.group()
def account() -> None:
    """Open, change and read key accounts."""


@account.command("open")
@click.argument("key")
@click.option("--name", required=True, help="Company name (any language).")
@click.option("--industry", required=True)
@click.option("--owner", required=True, help="The key-account manager responsible.")
@click.option("--currency", default=None, help="Default currency of its sales (default CNY).")
@click.option(
    "--tier", type=click.Choice(TIERS), default=None, help="Starting tier (default prospect)."
)
@write_options
def account_open(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Open a key account with its minimum file (P3: name, industry, owner).

    \b
    Example:
        kamflow account open acme --name "正大饲料 Acme Feed" --industry feed --owner li.wei
    """
    run("account open", {"account": key, "on": on, **fields}, command_id)


@account.command("update")
@click.argument("key")
@click.option("--name")
@click.option("--industry")
@click.option("--owner")
@click.option("--address")
@click.option("--size")
@click.option("--website")
@click.option("--strategy")
@click.option("--products", help="The customer's product structure.")
@click.option("--finance", help="Its financial situation.")
@click.option("--fit", help="How well its needs fit our products.")
@click.option("--notes")
@write_options
def account_update(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Change the company part of the file (playbook §4).

    \b
    Example:
        kamflow account update acme --address "Chengdu, Sichuan" --size "12 mills"
    """
    run("account update", {"account": key, "on": on, **fields}, command_id)


@account.command("show")
@click.argument("key")
@click.option("--as-of", type=DATE, help="As the log held it at the end of this date (UTC).")
@click.option("--version", type=int, help="As it stood after its Nth event.")
@output_options(csv=False)
def account_show(key: str, as_of: date | None, version: int | None, as_json: bool) -> None:
    """Show an account now, on a past date, or at a version.

    \b
    Example:
        kamflow account show acme
        kamflow account show acme --as-of 2026-06-30 --json
    """
    from kamflow import output
    from kamflow.application import account_view

    acct = session().kamflow.account_at(key, as_of=as_of, version=version)
    view = account_view(acct)
    if as_json:
        click.echo(output.to_json(view))
    else:
        click.echo(render_account(view))


def render_account(view: dict[str, Any]) -> str:
    from kamflow import output

    # Table cells are escaped by output.table, stored text in the free lines by cell
    # (a stored line break shows as \n: it must not start what looks like a field).
    cell = output.cell
    lines = [
        f"{view['key']}  {cell(view['name'])}",
        output.table(
            ["industry", "owner", "tier", "lifecycle", "opened", "version", "last contact"],
            [
                [
                    view["industry"],
                    view["owner"],
                    view["tier"],
                    view["lifecycle"],
                    view["opened_on"],
                    view["version"],
                    view["last_contact_on"],
                ]
            ],
        ),
    ]
    for field, value in view["profile"].items():
        lines.append(f"{field}: {cell(value)}")
    if view["contacts"]:
        lines += ["", "People"]
        rows = [
            [
                c["id"],
                c["name"],
                c["title"],
                c["department"],
                c["roles"],
                c["influence"],
                c["personality"],
                "current" if c["current"] else f"left {c.get('left_on')}",
            ]
            for c in view["contacts"]
        ]
        lines.append(
            output.table(
                ["id", "name", "title", "department", "roles", "influence", "type", "status"], rows
            )
        )
    lines += ["", f"Visits: {view['visits']}"]
    if view["last_visit"]:
        lv = view["last_visit"]
        lines[-1] += f" (last {lv['id']} on {lv['on']}: {cell(lv['purpose'])})"
    if view["open_issues"]:
        lines += ["", "Open issues (P6: each needs a follow-up result)"]
        lines.append(
            output.table(
                ["id", "raised", "visit", "issue"],
                [[i["id"], i["raised_on"], i["visit"], i["text"]] for i in view["open_issues"]],
            )
        )
    if view["complaints"]:
        lines += ["", "Complaints"]
        lines.append(
            output.table(
                ["id", "raised", "severity", "status", "summary", "outcome"],
                [
                    [
                        c["id"],
                        c["raised_on"],
                        c["severity"],
                        c["status"],
                        c["summary"],
                        c["outcome"],
                    ]
                    for c in view["complaints"]
                ],
            )
        )
    if view["money"]:
        lines += ["", "Money"]
        lines.append(
            output.table(
                [
                    "currency",
                    "revenue",
                    "gross margin",
                    "service cost",
                    "real profit",
                    "received",
                    "receivable",
                ],
                [
                    [
                        cur,
                        m["revenue"],
                        m["gross_margin"],
                        m["service_cost"],
                        m["real_profit"],
                        m["received"],
                        m["receivable"],
                    ]
                    for cur, m in view["money"].items()
                ],
            )
        )
    if view["satisfaction"]:
        s = view["satisfaction"]
        lines += ["", f"Satisfaction: {s['score']} against target {s['target']} ({s['on']})"]
    if view["competitors"]:
        lines += ["", "Competitors"]
        for c in view["competitors"]:
            rest = ", ".join(f"{k} {cell(v)}" for k, v in c.items() if k != "name")
            lines.append(f"  {cell(c['name'])}" + (f": {rest}" if rest else ""))
    if view["opportunities"]:
        lines += ["", "Opportunities"]
        lines.append(
            output.table(
                ["id", "title", "stage", "budget", "currency", "opened"],
                [
                    [o["id"], o["title"], o["stage"], o["budget"], o["currency"], o["opened_on"]]
                    for o in view["opportunities"]
                ],
            )
        )
    return "\n".join(output.escape(line, keep_newlines=True) for line in lines)


@account.command("list")
@output_options()
def account_list(as_json: bool, as_csv: bool) -> None:
    """List every account: key, name, industry, owner, tier.

    \b
    Example:
        kamflow account list --json
    """
    headers = ["key", "name", "industry", "owner", "tier", "lifecycle", "version", "status"]
    records: list[dict[str, Any]] = []
    for item in session().kamflow.listing():
        a = item.account
        if a is None:
            # One damaged account is shown as such; the others still list.
            click.echo(f"Warning: {item.problem}", err=True)
            records.append({**dict.fromkeys(headers), "key": item.key, "status": "unreadable"})
        else:
            records.append(
                {
                    "key": a.key,
                    "name": a.profile.get("name"),
                    "industry": a.profile.get("industry"),
                    "owner": a.profile.get("owner"),
                    "tier": a.tier,
                    "lifecycle": a.lifecycle,
                    "version": a.version,
                    "status": "ok",
                }
            )
        records[-1]["problem"] = item.problem
    rows = [[r[h] for h in headers] for r in records]
    emit(headers, rows, records, as_json=as_json, as_csv=as_csv)


@account.command("history")
@click.argument("key")
@output_options()
def account_history(key: str, as_json: bool, as_csv: bool) -> None:
    """Every event of an account: who, business date, record time, what.

    \b
    Example:
        kamflow account history acme
    """
    from dataclasses import asdict

    events = list(session().kamflow.history(key))
    headers = ["version", "occurred_on", "recorded_at", "actor", "type", "summary"]
    rows = [[e.version, e.occurred_on, e.recorded_at, e.actor, e.type, e.summary] for e in events]
    if as_csv:
        headers.append("command_id")
        for row, e in zip(rows, events, strict=True):
            row.append(e.command_id)
    emit(headers, rows, [asdict(e) for e in events], as_json=as_json, as_csv=as_csv)


# ------------------------------------------------------------------ people
@cli.group()
def contact() -> None:
    """Key people (关键人物) and the buying centre."""


def contact_fields(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--role",
                "roles",
                multiple=True,
                type=click.Choice(BUYING_ROLES),
                help="Buying-centre role; repeat for several.",
            ),
            click.option("--influence", type=click.Choice(LEVELS)),
            click.option("--attitude", type=click.Choice(ATTITUDES)),
            click.option("--personality", type=click.Choice(PERSONALITIES)),
            click.option("--reports-to", metavar="NAME|ID"),
            click.option(
                "--influenced-by", multiple=True, metavar="NAME|ID", help="Repeat for several."
            ),
        ]
    ):
        func = option(func)
    return func


@contact.command("add")
@click.argument("key")
@click.argument("name")
@click.option("--title", required=True)
@click.option("--department", required=True)
@contact_fields
@write_options
def contact_add(
    key: str, name: str, on: date | None, command_id: str | None, **fields: Any
) -> None:
    """Add a person to an account's file.

    \b
    Example:
        kamflow contact add acme "Wang Fang" --title "Purchasing Manager" \\
            --department procurement --role buyer --role influencer \\
            --influence high --personality doubting
    """
    fields["roles"] = list(fields["roles"])
    fields["influenced_by"] = list(fields["influenced_by"])
    run("contact add", {"account": key, "contact": name, "on": on, **fields}, command_id)


@contact.command("change")
@click.argument("key")
@click.argument("contact_ref", metavar="NAME|ID")
@click.option("--title")
@click.option("--department")
@contact_fields
@write_options
def contact_change(
    key: str, contact_ref: str, on: date | None, command_id: str | None, **fields: Any
) -> None:
    """Change a person's title, department, roles, influence or relations.

    Giving --role replaces the person's roles with the ones given.

    \b
    Example:
        kamflow contact change acme "Wang Fang" --title "Procurement Director" --role decider
    """
    fields["roles"] = list(fields["roles"]) or None
    fields["influenced_by"] = list(fields["influenced_by"]) or None
    run("contact change", {"account": key, "contact": contact_ref, "on": on, **fields}, command_id)


@contact.command("leave")
@click.argument("key")
@click.argument("contact_ref", metavar="NAME|ID")
@click.option("--reason", required=True, help="What happened (new job, retired...).")
@click.option("--analysis", required=True, help="What the change means for the account.")
@write_options
def contact_leave(
    key: str, contact_ref: str, on: date | None, command_id: str | None, **fields: Any
) -> None:
    """Record that a person left (a personnel change and its analysis).

    \b
    Example:
        kamflow contact leave acme "Wang Fang" --reason "moved to a competitor" \\
            --analysis "procurement now led by Li Na; re-map the decision process"
    """
    run("contact leave", {"account": key, "contact": contact_ref, "on": on, **fields}, command_id)


# ------------------------------------------------------------------ visits
@cli.group()
def visit() -> None:
    """Visits (拜访) and the follow-up of the issues they find."""


@visit.command("log")
@click.argument("key")
@click.option(
    "--with",
    "with_",
    multiple=True,
    required=True,
    metavar="NAME|ID",
    help="Whom; repeat for several.",
)
@click.option("--purpose", required=True)
@click.option("--objective", required=True)
@click.option("--result", help="What came of it (P6: required).")
@click.option("--issue", "issues", multiple=True, help="A problem found; repeat for several.")
@write_options
def visit_log(
    key: str,
    on: date | None,
    command_id: str | None,
    with_: tuple[str, ...],
    issues: tuple[str, ...],
    **fields: Any,
) -> None:
    """Log a visit: whom, purpose, objective, result, issues found.

    \b
    Example:
        kamflow visit log acme --with "Wang Fang" --purpose "phytase trial" \\
            --objective "agree trial size" --result "trial of 2 t agreed" \\
            --issue "price vs DSM" --on 2026-11-20
    """
    run(
        "visit log",
        {"account": key, "on": on, "with": list(with_), "issues": list(issues), **fields},
        command_id,
    )


@visit.command("follow-up")
@click.argument("key")
@click.argument("issue", metavar="ISSUE")
@click.option("--result", required=True)
@write_options
def visit_follow_up(
    key: str, issue: str, on: date | None, command_id: str | None, result: str
) -> None:
    """Record the result of following up an issue found on a visit.

    \b
    Example:
        kamflow visit follow-up acme I-1 --result "price matched for trial volume"
    """
    run("visit follow-up", {"account": key, "issue": issue, "on": on, "result": result}, command_id)


# ------------------------------------------------------------------ complaints
@cli.group()
def complaint() -> None:
    """Complaints (投诉): every one must reach an outcome (P7)."""


@complaint.command("raise")
@click.argument("key")
@click.option("--summary", required=True)
@click.option("--severity", type=click.Choice(SEVERITIES), required=True)
@write_options
def complaint_raise(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Record a complaint.

    \b
    Example:
        kamflow complaint raise acme --summary "late delivery, line 2 stopped" --severity high
    """
    run("complaint raise", {"account": key, "on": on, **fields}, command_id)


@complaint.command("resolve")
@click.argument("key")
@click.argument("complaint_id", metavar="COMPLAINT")
@click.option("--outcome", required=True)
@write_options
def complaint_resolve(
    key: str, complaint_id: str, on: date | None, command_id: str | None, outcome: str
) -> None:
    """Resolve a complaint with its outcome.

    \b
    Example:
        kamflow complaint resolve acme C-1 --outcome "credit note; second carrier contracted"
    """
    run(
        "complaint resolve",
        {"account": key, "complaint": complaint_id, "on": on, "outcome": outcome},
        command_id,
    )


@complaint.command("reject")
@click.argument("key")
@click.argument("complaint_id", metavar="COMPLAINT")
@click.option("--justification", required=True)
@write_options
def complaint_reject(
    key: str, complaint_id: str, on: date | None, command_id: str | None, justification: str
) -> None:
    """Reject a complaint, with the justification.

    \b
    Example:
        kamflow complaint reject acme C-2 --justification "damage happened after delivery"
    """
    run(
        "complaint reject",
        {"account": key, "complaint": complaint_id, "on": on, "justification": justification},
        command_id,
    )


# ------------------------------------------------------------------ value
@cli.group()
def tier() -> None:
    """The account's tier in the selection funnel."""


@tier.command("set")
@click.argument("key")
@click.argument("new_tier", metavar="TIER", type=click.Choice(TIERS))
@click.option("--reason", required=True)
@click.option("--approved-by", metavar="NAME")
@write_options
def tier_set(
    key: str, new_tier: str, on: date | None, command_id: str | None, **fields: Any
) -> None:
    """Move an account to another tier (prospect, target, key, strategic).

    \b
    Example:
        kamflow tier set acme key --reason "top-20% by profit two quarters running"
    """
    run("tier set", {"account": key, "tier": new_tier, "on": on, **fields}, command_id)


@cli.group()
def sale() -> None:
    """Sales records (销售记录)."""


@sale.command("record")
@click.argument("key")
@click.option("--invoice", required=True)
@click.option("--product", required=True)
@click.option("--amount", required=True, help="Invoice amount, e.g. 120000 or 120000.50.")
@click.option("--cost", required=True, help="Our cost of the goods sold.")
@click.option("--currency", help="Default: the account's currency.")
@click.option("--discount", help="Discount off list price, in percent (P1: under the ceiling).")
@write_options
def sale_record(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Record a sale (P2: invoice ref, amount and cost).

    \b
    Example:
        kamflow sale record acme --invoice INV-0042 --product phytase \\
            --amount 120000 --cost 84000 --currency CNY
    """
    run("sale record", {"account": key, "on": on, **fields}, command_id)


@cli.group()
def payment() -> None:
    """Payments against sales."""


@payment.command("record")
@click.argument("key")
@click.option("--invoice", required=True, help="The sale it pays (P2).")
@click.option("--amount", required=True)
@click.option("--currency")
@write_options
def payment_record(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Record a payment received against an invoice.

    \b
    Example:
        kamflow payment record acme --invoice INV-0042 --amount 60000
    """
    run("payment record", {"account": key, "on": on, **fields}, command_id)


@cli.group()
def cost() -> None:
    """The cost to serve an account."""


@cost.command("record")
@click.argument("key")
@click.option("--amount", required=True)
@click.option("--category", required=True, help="e.g. logistics, technical service, entertainment.")
@click.option("--description")
@click.option("--currency")
@write_options
def cost_record(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Record a service cost.

    \b
    Example:
        kamflow cost record acme --amount 3500 --category "technical service"
    """
    run("cost record", {"account": key, "on": on, **fields}, command_id)


@cli.group()
def satisfaction() -> None:
    """Customer satisfaction against its target (playbook §9)."""


@satisfaction.command("record")
@click.argument("key")
@click.option("--score", required=True, help="0 to 10.")
@click.option("--target", required=True, help="0 to 10.")
@click.option("--note")
@write_options
def satisfaction_record(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Record a satisfaction measurement.

    \b
    Example:
        kamflow satisfaction record acme --score 7.5 --target 8.5
    """
    run("satisfaction record", {"account": key, "on": on, **fields}, command_id)


# ------------------------------------------------------------------ market
@cli.group()
def competitor() -> None:
    """Competitors (竞争对手) at an account."""


@competitor.command("note")
@click.argument("key")
@click.argument("name")
@click.option("--products", help="Which of their products the customer uses.")
@click.option("--satisfaction", help="The customer's satisfaction with them.")
@click.option("--rep", help="Their rep's name.")
@click.option("--style", help="Their rep's style.")
@click.option("--relationship", help="Their rep's relationship with the customer.")
@click.option("--strengths")
@click.option("--weaknesses")
@write_options
def competitor_note(
    key: str, name: str, on: date | None, command_id: str | None, **fields: Any
) -> None:
    """Note what we know about a competitor at an account.

    \b
    Example:
        kamflow competitor note acme DSM --products "phytase" --strengths "price"
    """
    run("competitor note", {"account": key, "competitor": name, "on": on, **fields}, command_id)


@cli.group()
def opp() -> None:
    """Opportunities (项目资料) and the sales funnel."""


@opp.command("open")
@click.argument("key")
@click.option("--title", required=True)
@click.option("--problem", help="The problem the customer must solve.")
@click.option("--budget")
@click.option("--currency")
@click.option("--decision-maker")
@click.option("--timeline", help="When they will buy.")
@click.option("--procurement", help="How they buy (tender, direct...).")
@write_options
def opp_open(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Open an opportunity (stage: lead).

    \b
    Example:
        kamflow opp open acme --title "enzyme line 3" --budget 500000 \\
            --decision-maker "GM Zhao" --timeline 2027-Q1 --procurement tender
    """
    run("opp open", {"account": key, "on": on, **fields}, command_id)


# ------------------------------------------------------------------ workflows
@complaint.command("ack")
@click.argument("key")
@click.argument("complaint_id", metavar="COMPLAINT")
@write_options
def complaint_ack(key: str, complaint_id: str, on: date | None, command_id: str | None) -> None:
    """Acknowledge a complaint to the customer.

    \b
    Example:
        kamflow complaint ack acme C-1
    """
    run("complaint ack", {"account": key, "complaint": complaint_id, "on": on}, command_id)


@complaint.command("investigate")
@click.argument("key")
@click.argument("complaint_id", metavar="COMPLAINT")
@click.option("--note", help="What is being looked into.")
@write_options
def complaint_investigate(
    key: str, complaint_id: str, on: date | None, command_id: str | None, note: str | None
) -> None:
    """Start investigating an acknowledged complaint.

    \b
    Example:
        kamflow complaint investigate acme C-1 --note "carrier logs requested"
    """
    fields = {"account": key, "complaint": complaint_id, "on": on, "note": note}
    run("complaint investigate", fields, command_id)


@complaint.command("escalate")
@click.argument("key")
@click.argument("complaint_id", metavar="COMPLAINT")
@click.option("--reason", required=True)
@click.option("--to", help="Whom it is escalated to.")
@write_options
def complaint_escalate(
    key: str, complaint_id: str, on: date | None, command_id: str | None, **fields: Any
) -> None:
    """Escalate an open complaint.

    \b
    Example:
        kamflow complaint escalate acme C-1 --reason "line stopped twice" --to "sales director"
    """
    run(
        "complaint escalate",
        {"account": key, "complaint": complaint_id, "on": on, **fields},
        command_id,
    )


@complaint.command("close")
@click.argument("key")
@click.argument("complaint_id", metavar="COMPLAINT")
@click.option("--confirmation", required=True, help="How the customer confirmed the outcome.")
@write_options
def complaint_close(
    key: str, complaint_id: str, on: date | None, command_id: str | None, confirmation: str
) -> None:
    """Close a resolved or rejected complaint (P7: never without an outcome).

    \b
    Example:
        kamflow complaint close acme C-1 --confirmation "Wang Fang confirmed by phone"
    """
    fields = {"account": key, "complaint": complaint_id, "on": on, "confirmation": confirmation}
    run("complaint close", fields, command_id)


@account.command("lose")
@click.argument("key")
@click.option("--cause", required=True, help="Why the customer was lost.")
@write_options
def account_lose(key: str, on: date | None, command_id: str | None, cause: str) -> None:
    """Record that a customer was lost (a post-mortem must follow, P8).

    \b
    Example:
        kamflow account lose acme --cause "switched to DSM on price"
    """
    run("account lose", {"account": key, "on": on, "cause": cause}, command_id)


@account.command("review")
@click.argument("key")
@click.option("--cause", required=True, help="The root cause found.")
@click.option("--lessons", required=True, help="What we learn and change.")
@write_options
def account_review(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Record the post-mortem of a lost customer (P8).

    \b
    Example:
        kamflow account review acme --cause "no contact above purchasing" \\
            --lessons "map the decision process before renewal"
    """
    run("account review", {"account": key, "on": on, **fields}, command_id)


@account.command("archive")
@click.argument("key")
@click.option("--note")
@write_options
def account_archive(key: str, on: date | None, command_id: str | None, note: str | None) -> None:
    """Archive a lost account: only after its post-mortem (P8) and with every complaint
    at an outcome (P7).

    \b
    Example:
        kamflow account archive acme
    """
    run("account archive", {"account": key, "on": on, "note": note}, command_id)


@account.command("reactivate")
@click.argument("key")
@click.option("--reason", required=True)
@write_options
def account_reactivate(key: str, on: date | None, command_id: str | None, reason: str) -> None:
    """Win back a lost or reviewed account.

    \b
    Example:
        kamflow account reactivate acme --reason "new GM invited us back"
    """
    run("account reactivate", {"account": key, "on": on, "reason": reason}, command_id)


@cli.group()
def stage() -> None:
    """The relationship stage (playbook §8), one step at a time."""


@stage.command("advance")
@click.argument("key")
@click.argument("to", metavar="STAGE")
@click.option("--reason")
@write_options
def stage_advance(
    key: str, to: str, on: date | None, command_id: str | None, reason: str | None
) -> None:
    """Move the relationship one stage up: early, mid, partnership, synergistic.

    \b
    Example:
        kamflow stage advance acme mid --reason "R&D and production now meet monthly"
    """
    run("stage advance", {"account": key, "stage": to, "on": on, "reason": reason}, command_id)


@stage.command("uncouple")
@click.argument("key")
@click.option("--reason", required=True)
@write_options
def stage_uncouple(key: str, on: date | None, command_id: str | None, reason: str) -> None:
    """Record that the relationship broke down (from any stage).

    \b
    Example:
        kamflow stage uncouple acme --reason "new owner moved purchasing to HQ"
    """
    run("stage uncouple", {"account": key, "on": on, "reason": reason}, command_id)


@stage.command("re-engage")
@click.argument("key")
@click.option("--reason", required=True)
@write_options
def stage_re_engage(key: str, on: date | None, command_id: str | None, reason: str) -> None:
    """Start again at early KAM after uncoupling.

    \b
    Example:
        kamflow stage re-engage acme --reason "HQ purchasing agreed to a trial"
    """
    run("stage re-engage", {"account": key, "on": on, "reason": reason}, command_id)


@cli.group()
def team() -> None:
    """The key-account team (团队)."""


@team.command("assign")
@click.argument("key")
@click.argument("member")
@click.option("--role", help="Role on the team (default: key-account manager).")
@write_options
def team_assign(
    key: str, member: str, on: date | None, command_id: str | None, role: str | None
) -> None:
    """Assign someone to an account's team.

    \b
    Example:
        kamflow team assign acme zhang.min --role "technical service"
    """
    run("team assign", {"account": key, "member": member, "on": on, "role": role}, command_id)


@team.command("release")
@click.argument("key")
@click.argument("member")
@click.option("--reason")
@write_options
def team_release(
    key: str, member: str, on: date | None, command_id: str | None, reason: str | None
) -> None:
    """Release someone from an account's team.

    \b
    Example:
        kamflow team release acme zhang.min --reason "moved to the south region"
    """
    run("team release", {"account": key, "member": member, "on": on, "reason": reason}, command_id)


@cli.group()
def program() -> None:
    """The ten-step key-account management program (playbook §7)."""


@program.command("status")
@click.argument("key")
@output_options(csv=False)
def program_status(key: str, as_json: bool) -> None:
    """Where the account stands in the program and what the next step needs.

    \b
    Example:
        kamflow program status acme
    """
    from kamflow import output
    from kamflow.workflows.program import STEPS

    acct = session().kamflow.load(key)
    nxt = acct.next_step()
    problems = acct.step_problems(nxt)
    done = acct.program["step"]
    view = {
        "key": acct.key,
        "cycle": acct.program["cycle"],
        "last_step": done,
        "next_step": nxt,
        "next_step_ready": not problems,
        "needs": problems,
        "steps": [
            {
                "step": step,
                "done": done != "not-started" and i <= STEPS.index(done),
            }
            for i, step in enumerate(STEPS)
        ],
    }
    if as_json:
        click.echo(output.to_json(view))
        return
    lines = [f"{acct.key}: program cycle {view['cycle']}, last step {done}"]
    for i, step in enumerate(STEPS, start=1):
        mark = "x" if view["steps"][i - 1]["done"] else (">" if step == nxt else " ")
        lines.append(f"  [{mark}] {i:>2}. {step}")
    if problems:
        lines.append(f"next: {nxt}; it needs: " + "; ".join(problems))
    else:
        lines.append(
            f"next: {nxt}; ready (`kamflow program complete {acct.key} {nxt} --evidence ...`)"
        )
    click.echo("\n".join(output.escape(line) for line in lines))


@program.command("complete")
@click.argument("key")
@click.argument("step")
@click.option("--evidence", required=True, help="What shows the step was done.")
@write_options
def program_complete(
    key: str, step: str, on: date | None, command_id: str | None, evidence: str
) -> None:
    """Complete the next program step (steps go in order; then a new cycle).

    \b
    Example:
        kamflow program complete acme confirm --evidence "top-20% by profit"
    """
    run(
        "program complete",
        {"account": key, "step": step, "on": on, "evidence": evidence},
        command_id,
    )


@opp.command("advance")
@click.argument("key")
@click.argument("opportunity", metavar="OPP")
@click.argument("to", metavar="[STAGE]", required=False)
@write_options
def opp_advance(
    key: str, opportunity: str, to: str | None, on: date | None, command_id: str | None
) -> None:
    """Move an opportunity one stage down the funnel (qualified, proposal, negotiation).

    \b
    Example:
        kamflow opp advance acme O-1 qualified
    """
    fields = {"account": key, "opportunity": opportunity, "to": to, "on": on}
    run("opp advance", fields, command_id)


@opp.command("win")
@click.argument("key")
@click.argument("opportunity", metavar="OPP")
@click.option("--note")
@write_options
def opp_win(
    key: str, opportunity: str, on: date | None, command_id: str | None, note: str | None
) -> None:
    """Mark an opportunity in negotiation as won.

    \b
    Example:
        kamflow opp win acme O-1 --note "3-year supply contract"
    """
    fields = {"account": key, "opportunity": opportunity, "on": on, "note": note}
    run("opp win", fields, command_id)


@opp.command("lose")
@click.argument("key")
@click.argument("opportunity", metavar="OPP")
@click.option("--reason", required=True)
@write_options
def opp_lose(
    key: str, opportunity: str, on: date | None, command_id: str | None, reason: str
) -> None:
    """Mark an open opportunity as lost, with the reason.

    \b
    Example:
        kamflow opp lose acme O-1 --reason "budget frozen"
    """
    fields = {"account": key, "opportunity": opportunity, "on": on, "reason": reason}
    run("opp lose", fields, command_id)


# ------------------------------------------------------------------ governance
@cli.group("exception")
def exception_group() -> None:
    """Exceptions to a policy, granted by an approver (P1, P4)."""


@exception_group.command("grant")
@click.argument("key")
@click.option("--rule", required=True, type=click.Choice(["credit-limit", "discount-ceiling"]))
@click.option("--reason", required=True)
@click.option("--invoice", help="The one sale it covers (default: the next sale that needs it).")
@write_options
def exception_grant(key: str, on: date | None, command_id: str | None, **fields: Any) -> None:
    """Grant a one-off exception to a policy; the acting person must hold the approver role.

    \b
    Example:
        kamflow --actor zhao.director exception grant acme --rule credit-limit \\
            --invoice INV-0077 --reason "harvest season; paid on time for 5 years"
    """
    run("exception grant", {"account": key, "on": on, **fields}, command_id)


@cli.group()
def policy() -> None:
    """Business policies: recorded, with who changed them and when (P1)."""


@policy.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--reason", required=True)
@write_options
def policy_set(name: str, value: str, on: date | None, command_id: str | None, reason: str) -> None:
    """Set a policy, e.g. complaint-sla-days.key, credit-limit.target, discount-ceiling-pct.

    \b
    Example:
        kamflow policy set complaint-sla-days.key 3 --reason "board decision 2026-11"
    """
    run("policy set", {"policy": name, "value": value, "on": on, "reason": reason}, command_id)


@policy.command("show")
@output_options()
def policy_show(as_json: bool, as_csv: bool) -> None:
    """Every policy, its value, and who set it when.

    \b
    Example:
        kamflow policy show
    """
    from kamflow.domain.governance import POLICIES

    kf = session().kamflow
    governance = kf.governance()
    last: dict[str, Any] = {}
    for change in kf.governance_history():
        if type(change).__name__ == "PolicySet":
            last[vars(change)["policy"]] = change
    records = []
    for name, spec in POLICIES.items():
        event = last.get(name)
        value = governance.policy(name)
        records.append(
            {
                "policy": name,
                "value": int(value) if spec.kind == "int" else value,
                "default": name not in governance.policies,
                "set_by": event.actor if event else None,
                "set_at": event.timestamp if event else None,
                "reason": event.reason if event else None,
                "principle": spec.principle,
                "description": spec.description,
            }
        )
    headers = ["policy", "value", "default", "set_by", "set_at", "principle", "description"]
    rows = [
        [r[h] if h != "default" else ("yes" if r[h] else "no") for h in headers] for r in records
    ]
    emit(headers, rows, records, as_json=as_json, as_csv=as_csv)


@cli.group()
def roster() -> None:
    """Who holds which role (approver, director, auditor), recorded."""


@roster.command("grant")
@click.argument("person")
@click.argument("role")
@click.option("--reason", required=True)
@write_options
def roster_grant(
    person: str, role: str, on: date | None, command_id: str | None, reason: str
) -> None:
    """Give a person a role.

    \b
    Example:
        kamflow roster grant zhao.director approver --reason "sales director"
    """
    fields = {"person": person, "role": role, "on": on, "reason": reason}
    run("roster grant", fields, command_id)


@roster.command("revoke")
@click.argument("person")
@click.argument("role")
@click.option("--reason", required=True)
@write_options
def roster_revoke(
    person: str, role: str, on: date | None, command_id: str | None, reason: str
) -> None:
    """Take a role away from a person.

    \b
    Example:
        kamflow roster revoke zhao.director approver --reason "left the company"
    """
    fields = {"person": person, "role": role, "on": on, "reason": reason}
    run("roster revoke", fields, command_id)


@roster.command("show")
@output_options()
def roster_show(as_json: bool, as_csv: bool) -> None:
    """Every person and the roles they hold."""
    governance = session().kamflow.governance()
    records = [
        {"person": person, "roles": sorted(roles)}
        for person, roles in sorted(governance.roster.items())
    ]
    rows = [[r["person"], ", ".join(r["roles"])] for r in records]
    emit(["person", "roles"], rows, records, as_json=as_json, as_csv=as_csv)


@cli.group()
def workflow() -> None:
    """The state machines behind the rules."""


@workflow.command("list")
@output_options(csv=False)
def workflow_list(as_json: bool) -> None:
    """Every workflow and what it governs."""
    from kamflow.workflows import registry

    records = [
        {"name": w.name, "states": len(w.states), "description": w.description}
        for w in registry().values()
    ]
    emit(
        ["name", "states", "description"],
        [list(r.values()) for r in records],
        records,
        as_json=as_json,
    )


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
    that a machine would not allow (an import, an old bug) gets noticed.

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
    if problems:
        raise RuleViolation("workflow", f"{len(problems)} step(s) no workflow allows")
    click.echo(f"checked {len(keys)} account(s): every step is one the workflows allow")


# ------------------------------------------------------------------ reports
@cli.group()
def report() -> None:
    """Reports from the read models (caught up with the log before each query)."""


def report_options(func: F) -> F:
    func = click.option("--csv", "as_csv", is_flag=True, help="CSV of the rows.")(func)
    func = click.option("--json", "as_json", is_flag=True, help="JSON for programs.")(func)
    return click.option(
        "--as-of", type=DATE, help="From what the log held at the end of this date (UTC)."
    )(func)


def show_report(name: str, as_of: date | None, as_json: bool, as_csv: bool, **params: Any) -> None:
    from datetime import UTC, datetime, time, timedelta

    from kamflow import output
    from kamflow.domain.errors import InvalidInput
    from kamflow.projections.engine import Unprojectable, quarantined, skipped_line
    from kamflow.projections.reports import READS, builder
    from kamflow.projections.reports.base import ReportParams
    from kamflow.storage import resolve, storage_env

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    sess = session()
    locator = resolve(sess.db)
    storage_env(locator)  # refuse a bad locator before creating anything
    if as_of is not None:
        from kamflow.projections.engine import views_as_of

        cutoff = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
        db = views_as_of(sess.kamflow, cutoff)
        today = as_of
    else:
        from kamflow.projections.access import report_views

        db = report_views(locator, lambda: sess.kamflow)
        today = datetime.now(UTC).date()
    try:
        result = builder(name)(db, ReportParams(today=today, **params))
        skipped = quarantined(db, READS[name])
    finally:
        db.close()
    if as_json:
        click.echo(output.to_json(result.as_json()))
    elif as_csv:
        if not result.flat:
            raise InvalidInput(f"report {name} is a document, not flat rows; use --json")
        rows = [[r.get(c) for c in result.columns] for r in result.rows]
        click.echo(output.to_csv(result.columns, rows))
    else:
        click.echo(render_report(result))
    if skipped:
        # The report is given (it is right about everything else); exit 1 says it is
        # not the whole story.
        raise Unprojectable(skipped_line(skipped))


def render_report(result: Any) -> str:
    from kamflow import output

    lines = [result.title, ""]
    if result.rows:
        lines.append(
            output.table(result.columns, [[r.get(c) for c in result.columns] for r in result.rows])
        )
    else:
        lines.append("(nothing to report)")
    for title, section in result.sections.items():
        lines += ["", title.replace("_", " ")]
        if isinstance(section, dict):
            for k, v in section.items():
                lines.append(f"  {k.replace('_', ' ')}: {output.cell(v)}")
        elif isinstance(section, list) and section and isinstance(section[0], dict):
            headers = list(section[0].keys())
            lines.append(output.table(headers, [[row.get(h) for h in headers] for row in section]))
        elif isinstance(section, list):
            lines.append("  (none)" if not section else "  " + output.cell(section))
        else:
            lines.append(f"  {output.cell(section)}")
    for note in result.notes:
        lines.append(f"note: {note}")
    return output.escape("\n".join(lines), keep_newlines=True)


@report.command("file")
@click.argument("key")
@report_options
def report_file(key: str, as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """The whole customer file (客户档案) of an account, with its completeness (P3).

    \b
    Example:
        kamflow report file acme --as-of 2026-06-30
    """
    from kamflow.domain.values import normalise_key

    show_report("file", as_of, as_json, as_csv, key=normalise_key(key))


@report.command("portfolio")
@click.option("--currency", default="CNY", show_default=True, help="Report currency.")
@report_options
def report_portfolio(currency: str, as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Revenue and profit concentration (80/20), top and bottom 10 by real profit,
    value class (MVC/MGC/BZ) with the rule that set it, key-account zone, months to profit.

    \b
    Example:
        kamflow report portfolio --json
    """
    show_report("portfolio", as_of, as_json, as_csv, currency=currency.upper())


@report.command("complaints")
@click.argument("key", required=False)
@report_options
def report_complaints(key: str | None, as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Open complaints by age against their tier's SLA, overdue first (P7)."""
    show_report("complaints", as_of, as_json, as_csv, key=_key(key))


@report.command("cadence")
@report_options
def report_cadence(as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Last contact per account, neglected accounts (P5), open follow-ups (P6)."""
    show_report("cadence", as_of, as_json, as_csv)


@report.command("buying-centre")
@click.argument("key", required=False)
@report_options
def report_buying_centre(key: str | None, as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Buying-centre roles covered and missing; single point of contact flagged."""
    show_report("buying-centre", as_of, as_json, as_csv, key=_key(key))


@report.command("funnel")
@report_options
def report_funnel(as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Opportunities by stage and value."""
    show_report("funnel", as_of, as_json, as_csv)


@report.command("satisfaction")
@report_options
def report_satisfaction(as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Measured satisfaction against target per account, worst gap first (playbook §9)."""
    show_report("satisfaction", as_of, as_json, as_csv)


@report.command("principles")
@report_options
def report_principles(as_of: date | None, as_json: bool, as_csv: bool) -> None:
    """Every violation or risk of P1-P8 across the portfolio."""
    show_report("principles", as_of, as_json, as_csv)


@report.command("audit")
@click.option("--actor", help="Only events by this actor.")
@click.option("--account", "key", help="Only events of this account.")
@click.option("--type", "event_type", help="Only events of this type, e.g. TierChanged.")
@click.option("--since", type=DATE, help="Business date from (inclusive).")
@click.option("--until", type=DATE, help="Business date to (inclusive).")
@report_options
def report_audit(
    as_of: date | None, as_json: bool, as_csv: bool, key: str | None, **filters: Any
) -> None:
    """Who did what, when, to which account.

    \b
    Example:
        kamflow report audit --actor li.wei --since 2026-01-01 --csv
    """
    show_report("audit", as_of, as_json, as_csv, key=_key(key), **filters)


def _key(key: str | None) -> str | None:
    from kamflow.domain.values import normalise_key

    return normalise_key(key) if key else None


# ------------------------------------------------------------------ projections
@cli.group()
def projections() -> None:
    """The read models: status, rebuild, follow."""


def _projector() -> Any:
    from kamflow.projections.db import ViewDB
    from kamflow.projections.engine import Projector
    from kamflow.storage import resolve, storage_env

    locator = resolve(session().db)
    storage_env(locator)
    projector = Projector(ViewDB(locator))
    projector.ensure_schema()
    click.get_current_context().call_on_close(projector.db.close)
    return projector


@projections.command("status")
@output_options(csv=False)
def projections_status(as_json: bool) -> None:
    """Each view's position in the event log and how far behind it is."""
    from kamflow import output
    from kamflow.projections.engine import Unprojectable, skipped_line

    statuses = _projector().status()
    records = [
        {
            "view": s.name,
            "position": s.position,
            "behind": s.behind,
            "quarantined": [q.as_json() for q in s.quarantined],
            "description": s.description,
        }
        for s in statuses
    ]
    headers = ["view", "position", "behind", "quarantined", "description"]
    rows = [[s.name, s.position, s.behind, len(s.quarantined), s.description] for s in statuses]
    emit(headers, rows, records, as_json=as_json)
    skipped = [q for s in statuses for q in s.quarantined]
    if not skipped:
        return
    if not as_json:
        listed = [[q.view, q.event, q.error] for q in skipped]
        click.echo("\nevents the views skip (quarantined)")
        click.echo(output.table(["view", "event", "why"], listed))
    raise Unprojectable(skipped_line(skipped, hint=False))


@projections.command("rebuild")
@click.argument("names", nargs=-1, metavar="[NAME]...")
def projections_rebuild(names: tuple[str, ...]) -> None:
    """Rebuild views from zero (all, or the named ones), with a progress bar.

    \b
    Example:
        kamflow projections rebuild
        kamflow projections rebuild complaints
    """
    from rich.progress import Progress

    from kamflow.projections.engine import StoreSource, Unprojectable, skipped_line

    projector = _projector()
    chosen = list(names) or [v.name for v in projector.views]
    projector.check(chosen)  # an unknown name is refused before the store is opened
    with (
        StoreSource(session().kamflow) as source,
        Progress(transient=True, console=_stderr_console(), disable=not sys.stderr.isatty()) as bar,
    ):
        task = bar.add_task("rebuilding", total=source.max_position() or 1)
        read = projector.rebuild(
            chosen, source, batch=5000, progress=lambda n: bar.advance(task, n)
        )
    click.echo(f"rebuilt {', '.join(chosen)} from {read} events")
    skipped = projector.quarantined(chosen)
    if skipped:
        raise Unprojectable(skipped_line(skipped))


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@projections.command("follow")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between pulls.")
@click.option("--for", "duration", type=float, help="Stop after this many seconds.")
def projections_follow(interval: float, duration: float | None) -> None:
    """Keep the views caught up until stopped (Ctrl-C), e.g. for a team on PostgreSQL."""
    import time

    from kamflow.projections.engine import StoreSource

    projector = _projector()
    deadline = None if duration is None else time.monotonic() + duration
    applied = 0
    with StoreSource(session().kamflow) as source:
        try:
            while deadline is None or time.monotonic() < deadline:
                got = projector.catch_up(source)
                if got:
                    applied += got
                    click.echo(
                        f"caught up {got} events (position {max(projector.positions().values())})"
                    )
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
    click.echo(f"stopped; {applied} events applied")


# ------------------------------------------------------------------ batch & demo
@cli.command("apply")
@click.argument("file", type=click.File("rb"))
def apply_file(file: IO[bytes]) -> None:
    """Apply a stream of commands, one JSON object a line (`-` reads stdin).

    Each line names the command and its fields, with an optional command_id so a
    re-run of the same file applies nothing twice. The first bad line stops the
    run: the lines before it stay applied, nothing of it is written.

    \b
    Example:
        {"command": "visit log", "account": "acme", "with": ["Wang Fang"],
         "purpose": "trial", "objective": "size", "result": "2 t", "command_id": "v-17"}
    """
    from kamflow.batch import apply_lines

    sess = session()
    report = apply_lines(sess.kamflow, file, actor=sess.actor)
    click.echo(report)


@cli.command("demo")
@click.option("--accounts", default=60, show_default=True, type=click.IntRange(1, 10000))
@click.option("--seed", default=7, show_default=True, type=int)
def demo(accounts: int, seed: int) -> None:
    """Build a realistic sample portfolio in a fresh database and summarise it.

    \b
    Example:
        kamflow --db demo.db demo --accounts 60 --seed 7
    """
    from kamflow.demo import build_demo, render_summary

    sess = session()
    summary = build_demo(sess.kamflow, accounts=accounts, seed=seed)
    click.echo(render_summary(summary, sess.kamflow.locator))


# ------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="kamflow")

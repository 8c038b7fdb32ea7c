"""The kamflow command line. Thin: parse, call the application, render.

Heavy modules (eventsourcing, pydantic, the domain) are imported inside the commands
that need them, so `kamflow --help` and a single write stay quick to start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
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
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except KamflowError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


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
        else:
            func.__dict__.setdefault("_no_csv", True)
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

    lines = [
        f"{view['key']}  {view['name']}",
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
        lines.append(f"{field}: {value}")
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
        lines[-1] += f" (last {lv['id']} on {lv['on']}: {lv['purpose']})"
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
            rest = ", ".join(f"{k} {v}" for k, v in c.items() if k != "name")
            lines.append(f"  {c['name']}" + (f": {rest}" if rest else ""))
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
    return "\n".join(lines)


@account.command("list")
@output_options()
def account_list(as_json: bool, as_csv: bool) -> None:
    """List every account: key, name, industry, owner, tier.

    \b
    Example:
        kamflow account list --json
    """
    accounts = session().kamflow.accounts()
    headers = ["key", "name", "industry", "owner", "tier", "lifecycle", "version"]
    records = [
        {
            "key": a.key,
            "name": a.profile.get("name"),
            "industry": a.profile.get("industry"),
            "owner": a.profile.get("owner"),
            "tier": a.tier,
            "lifecycle": a.lifecycle,
            "version": a.version,
        }
        for a in accounts
    ]
    emit(headers, [list(r.values()) for r in records], records, as_json=as_json, as_csv=as_csv)


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
    report = apply_lines(sess.kamflow, iter_lines(file), actor=sess.actor)
    click.echo(report)


def iter_lines(file: IO[bytes]) -> Iterator[bytes]:
    yield from file


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

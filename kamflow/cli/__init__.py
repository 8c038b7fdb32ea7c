"""The kamflow command line. Thin: parse, call the application, render.

The root group knows each noun's module and one-line help from one table (``NOUNS``)
and imports a noun's module only when that noun is invoked (click's lazy group
pattern), so `kamflow --help` imports no noun module and `kamflow visit log ...` imports
only ``kamflow.cli.visits`` (and, through it, only the visit commands of the domain).

Write commands are built from their domain models (``factory.py``); reads return a
``Report`` rendered by one output path (``show.py``).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from importlib import import_module
from typing import TYPE_CHECKING, Any, NoReturn

import click

from kamflow import __version__
from kamflow.domain.errors import KamflowError

if TYPE_CHECKING:
    from kamflow.application import Kamflow

# Every top-level command: the module under kamflow/cli/ that defines it (as a
# module-level object of the same name) and its one-line help for `kamflow --help`.
# tests/cli/test_structure.py checks each line against the command it names.
NOUNS: dict[str, tuple[str, str]] = {
    "account": ("accounts", "Open, change and read key accounts."),
    "contact": ("people", "Key people (关键人物) and the buying centre."),
    "visit": ("visits", "Visits (拜访) and the follow-up of the issues they find."),
    "complaint": ("complaints", "Complaints (投诉): every one must reach an outcome (P7)."),
    "tier": ("value", "The account's tier in the selection funnel."),
    "sale": ("value", "Sales records (销售记录)."),
    "payment": ("value", "Payments against sales."),
    "cost": ("value", "The cost to serve an account."),
    "satisfaction": ("value", "Customer satisfaction against its target."),
    "exception": (
        "value",
        "Policy exceptions: one person asks, another approves (P1, P4).",
    ),
    "competitor": ("market", "Competitors (竞争对手) at an account."),
    "opp": ("market", "Opportunities (项目资料) and the sales funnel."),
    "stage": ("relationship", "The relationship stage, one step at a time."),
    "team": ("relationship", "The key-account team (团队)."),
    "program": ("relationship", "The ten-step key-account management program."),
    "policy": ("governance", "Business policies: recorded, with who changed them and when (P1)."),
    "roster": ("governance", "Who holds which role (admin, approver, kam, auditor), recorded."),
    "fx": ("fx", "Exchange rates, recorded, for reports in one currency."),
    "id": ("ident", "Your signing key: every write is signed by its actor's key."),
    "task": ("tasks", "Tasks (待办) with due dates: add, done, move, cancel, list."),
    "agenda": ("agenda", "What is due for a person, by day, overdue first."),
    "workflow": ("workflows", "The state machines behind the rules."),
    "report": (
        "reports",
        "Reports from the read models (caught up with the log before each query).",
    ),
    "projections": ("projections", "The read models: status, rebuild, follow."),
    "audit": ("audit", "Prove nothing stored was altered: the sealed log, snapshots, views."),
    "apply": ("scripts", "Apply a stream of commands, one JSON object a line (`-` reads stdin)."),
    "export": ("exporting", "Write the sealed log as JSON Lines, with a signed checkpoint."),
    "import": (
        "importing",
        "Import a table (CSV, TSV, XLSX) of accounts, contacts, opportunities, sales and"
        " payments, through a mapping the team keeps.",
    ),
    "demo": (
        "scripts",
        "Build a realistic sample portfolio in a fresh database and summarise it.",
    ),
}


class IsoDate(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A business date typed as YYYY-MM-DD, ``today`` or ``yesterday`` (in the business
    time zone), from 1900-01-01 to 2999-12-31 (kamflow.domain.dates.parse_date)."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        from kamflow.domain.dates import BadDate, parse_date

        if isinstance(value, date):
            return value
        try:
            # The business date is looked up only for `today` and `yesterday`.
            return parse_date(str(value), lambda: session().today())
        except BadDate as exc:
            self.fail(str(exc), param, ctx)


DATE = IsoDate()


class TimeZone(click.ParamType):  # type: ignore[type-arg]
    """An IANA time zone name (``Asia/Shanghai``), checked when given."""

    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from kamflow.domain.dates import BadZone, zone_named

        try:
            return str(zone_named(str(value)).key)
        except BadZone as exc:
            self.fail(str(exc), param, ctx)


class Session:
    """Per-invocation state: where the store is and who is acting. Opened lazily.

    Reads open the store with ``kamflow`` (or ask ``existing`` for its locator), which
    refuses one that does not exist rather than create it; writes open it with
    ``writer``, which creates it on first use.
    """

    def __init__(
        self,
        db: str | None,
        actor: str | None,
        tz: str | None = None,
        actor_source: str = "--actor",
    ) -> None:
        self.db = db
        self._actor = actor
        self._actor_source = actor_source
        self._checked: str | None = None
        # The business time zone given (--tz or KAMFLOW_TZ), else None: the team's
        # setting or the machine's zone (kamflow.zones.business_zone).
        self.tz = tz
        self._kamflow: Kamflow | None = None
        self._exists = False
        # --on-behalf-of: the person a delegate records for (ADR 0025), else None.
        self.behalf: str | None = None

    @property
    def actor(self) -> str:
        """Who is acting: ``--actor``, else ``KAMFLOW_ACTOR``, else the OS user name;
        refused (InvalidInput, exit 2) if blank or more than one line, wherever it came
        from, so no event is recorded as no one (ADR 0023)."""
        if self._checked is None:
            import os

            from kamflow.domain.text import check_actor
            from kamflow.domain.values import MAX_NAME

            if self._actor is not None:
                actor, source = self._actor, self._actor_source
            elif os.environ.get("KAMFLOW_ACTOR") is not None:
                # click drops an empty variable; a set but empty one is still a mistake.
                actor, source = os.environ["KAMFLOW_ACTOR"], "KAMFLOW_ACTOR"
            else:
                from kamflow.application import default_actor

                actor, source = default_actor(), "the OS user name"
            self._checked = check_actor(actor, source, MAX_NAME)
        return self._checked

    def existing(self) -> str:
        """The locator of a store that exists. Raises InvalidInput for a malformed
        locator and NoStore (a StorageError, exit 1) for a store that is not there;
        creates nothing."""
        from kamflow.storage import require, resolve

        locator = resolve(self.db)
        if not self._exists:
            require(locator)
            self._exists = True
        return locator

    @property
    def kamflow(self) -> Kamflow:
        """The store, for a read: refused if it does not exist (``existing``)."""
        if self._kamflow is None:
            self.existing()
        return self._open()

    @property
    def writer(self) -> Kamflow:
        """The store, for a write: created (file and tables) if it does not exist."""
        return self._open()

    def _open(self) -> Kamflow:
        if self._kamflow is None:
            from kamflow.application import Kamflow

            self._kamflow = Kamflow(self.db, tz=self.tz)
        return self._kamflow

    def today(self) -> date:
        """The business date now (``today`` on the command line). Before the first
        write there is no store, and so no team setting: the zone given or the
        machine's decides; asking never creates the store."""
        from kamflow.storage import NoStore

        try:
            self.existing()
        except NoStore:
            from kamflow import clock
            from kamflow.domain.dates import business_date
            from kamflow.zones import business_zone

            return business_date(clock.now(), business_zone(self.tz, lambda: None))
        return self.kamflow.today()

    def close(self) -> None:
        if self._kamflow is not None:
            self._kamflow.close()


def session() -> Session:
    """The invocation's session (set up by the root group)."""
    obj = click.get_current_context().find_object(Session)
    assert obj is not None
    return obj


class ListedGroup(click.Group):
    """A group whose commands are loaded or built only when invoked (the root's nouns,
    a noun's model commands: ADR 0029): its help lists them from ``listed`` (stand-ins
    carrying the help, which click shortens exactly as it would the command's own) and
    an unknown name is answered with suggestions from every listed name."""

    def listed(self, ctx: click.Context) -> list[tuple[str, click.Command]]:
        """(name, command or stand-in) for each command, in the help's order."""
        raise NotImplementedError

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            # Suggest from every listed command, loaded or not ("Did you mean 'log'?").
            raise click.exceptions.NoSuchCommand(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, c) for name, c in self.listed(ctx) if not c.hidden]
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in rows])


class KamflowGroup(ListedGroup):
    """The root group: loads a noun's module on first use, prints its help when given
    nothing to do (exit 0), and prints bad input and refusals as one line on stderr,
    never a traceback: ``Error: ...``, or a JSON object when ``--json`` is among the
    arguments (``fail``).

    Handling errors in ``main`` (not in a wrapper around it) means click's CliRunner,
    and so the tests, see exactly what a user sees.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(NOUNS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in NOUNS:
            return None
        module = import_module(f"kamflow.cli.{NOUNS[cmd_name][0]}")
        # A command named by a Python keyword is defined with a trailing _ (import_).
        command = getattr(module, cmd_name, None) or getattr(module, f"{cmd_name}_")
        assert isinstance(command, click.Command), cmd_name
        return command

    def listed(self, ctx: click.Context) -> list[tuple[str, click.Command]]:
        # The help lines come from the table: listing the nouns imports none of them.
        return [
            (name, click.Command(name, help=NOUNS[name][1])) for name in self.list_commands(ctx)
        ]

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> None:
        # A script that asks for JSON gets its error as JSON too, whatever the error:
        # told from the words given, since a usage error can come before (or instead
        # of) the command that would have parsed --json.
        words = sys.argv[1:] if args is None else list(args)
        as_json = "--json" in (words[: words.index("--")] if "--" in words else words)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            # `kamflow` (or `kamflow account`) alone: the help a newcomer asked for.
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            fail("aborted", "Aborted.", 1, as_json=as_json, prefix="")
        except click.ClickException as exc:
            kind = "usage" if isinstance(exc, click.UsageError) else "file"
            fail(kind, _click_message(exc), exc.exit_code, as_json=as_json)
        except KamflowError as exc:
            fail(error_kind(exc), str(exc), exc.exit_code, as_json=as_json, **error_details(exc))
        except KeyboardInterrupt:
            fail("interrupted", "Interrupted.", 130, as_json=as_json, prefix="")
        except Exception as exc:
            # A bug, not bad input: still one line for the user, the whole traceback
            # for whoever sets KAMFLOW_DEBUG to investigate it.
            if os.environ.get("KAMFLOW_DEBUG"):
                raise
            fail(
                "internal",
                f"internal error ({type(exc).__name__}: {exc}); nothing more was"
                " written. Set KAMFLOW_DEBUG=1 for details and please report it.",
                70,
                as_json=as_json,
            )
        sys.exit(rv if isinstance(rv, int) else 0)


# The kinds of error a script tells apart, each with its exit code in the README;
# subclasses (AccountNotFound, StoreLocked, NoStore, ...) report as their kind.
ERROR_KINDS = ("InvalidInput", "NotFound", "Conflict", "RuleViolation", "StorageError")


def _click_message(exc: click.ClickException) -> str:
    """A click error as one line. A missing parameter is named as typed, with the
    choices it takes (``missing option --rule (one of: credit-limit, discount-ceiling)``)
    where click would list them on lines of their own; any other message that spans
    lines is joined into one."""
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        param = exc.param
        if isinstance(param, click.Option):
            what = f"option {max(param.opts, key=len)}"
        else:
            what = f"argument {param.human_readable_name}"
        choices = getattr(param.type, "choices", None)
        given = f" (one of: {', '.join(str(c) for c in choices)})" if choices else ""
        return f"missing {what}{given}"
    message = exc.format_message()
    if "\n" not in message:
        return message
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def error_kind(exc: KamflowError) -> str:
    """The kind of a kamflow error: one of ERROR_KINDS, else its class's name
    (``Unprojectable``); a failed line of `kamflow apply` is of its cause's kind."""
    from kamflow.domain import errors

    cause = getattr(exc, "cause", None)
    if isinstance(cause, KamflowError):
        return error_kind(cause)
    for name in ERROR_KINDS:
        if isinstance(exc, getattr(errors, name)):
            return name
    return type(exc).__name__


def error_details(exc: KamflowError) -> dict[str, Any]:
    """What a script may need besides the message: the principle a rule violation
    names (``P1``-``P8``, or the rule), and, for a failed line of `kamflow apply`, its
    number (``line``) and how many lines before it were applied (``applied``)."""
    from kamflow.domain.errors import RuleViolation

    details: dict[str, Any] = {}
    cause = getattr(exc, "cause", exc)
    if isinstance(cause, RuleViolation):
        details["principle"] = cause.principle
    for name in ("line", "applied"):
        value = getattr(exc, name, None)
        if isinstance(value, int):
            details[name] = value
    return details


def fail(
    kind: str,
    message: str,
    exit_code: int,
    *,
    as_json: bool,
    prefix: str = "Error: ",
    **details: Any,
) -> NoReturn:
    """Report an error on stderr and exit with ``exit_code``.

    For people, one line ``Error: message``: messages quote what users typed or
    stored, which may hold escape sequences or line breaks, shown escaped. With
    ``as_json``, one JSON object: ``{"error": {"exit_code": 1, "kind": "RuleViolation",
    "principle": "P7", "message": "P7: ..."}}``, ``principle`` only for a rule
    violation (``error_details``); ``message`` is the line people would read.
    """
    from kamflow.output import escape, to_json

    if as_json:
        error = {"exit_code": exit_code, "kind": kind, **details, "message": message}
        click.echo(to_json({"error": error}), err=True)
    else:
        click.echo(f"{prefix}{escape(message)}", err=True)
    sys.exit(exit_code)


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
@click.option(
    "--tz",
    envvar="KAMFLOW_TZ",
    type=TimeZone(),
    metavar="ZONE",
    help="Business time zone, an IANA name such as Asia/Shanghai (default: the team's"
    " `policy set timezone`, else this machine's). Env: KAMFLOW_TZ.",
)
@click.option(
    "--on-behalf-of",
    "behalf",
    metavar="NAME",
    help="Record a write for NAME, signed with your own key (you hold the delegate role).",
)
@click.version_option(__version__, prog_name="kamflow")
@click.pass_context
def cli(
    ctx: click.Context, db: str | None, actor: str | None, tz: str | None, behalf: str | None
) -> None:
    """kamflow: every fact about a key account is an immutable event.

    \b
    Example:
        kamflow demo
        kamflow account list
        kamflow account show acme --as-of 2026-06-30
    """
    source = ctx.get_parameter_source("actor")
    from_env = source is not None and source.name == "ENVIRONMENT"
    obj = Session(db, actor, tz, "KAMFLOW_ACTOR" if from_env else "--actor")
    obj.behalf = behalf
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="kamflow")

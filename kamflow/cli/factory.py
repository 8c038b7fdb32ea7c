"""Write commands built from their domain models: one declaration per command.

A command model (``kamflow/domain/commands/``) says its name as users type it, which
fields are positional (``arguments``), each field's help and metavar, and its help with
an ``Example:`` (docstring). ``model_command`` turns it into a click command:

- positional arguments from ``arguments``, in order, with the field's metavar;
- an option for every other field, spelt as ``Field(name).render("cli")`` spells it in
  error messages (``roles`` -> ``--role``, ``with_`` -> ``--with``);
- a ``Literal`` field takes a ``click.Choice``, a ``list`` field repeats
  (``multiple=True``), a required field is required; nothing else is converted here,
  so text, amounts and references are validated by the model, like ``kamflow apply``;
- the shared ``--on``, ``--command-id`` and ``--json`` (what was recorded, for scripts:
  ``outcome_json``).

An option not given (or a repeatable one given no times) is left out, so the model's
default applies. ``kamflow apply --fields`` describes the same fields (``shapes``).
"""

from __future__ import annotations

import inspect
import json
import types
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import click

from kamflow.cli import DATE, ListedGroup, session
from kamflow.domain.errors import Field, InvalidInput

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from kamflow.application import Outcome
    from kamflow.domain.commands import CommandClass

ON_HELP = "Business date it happened: YYYY-MM-DD, today or yesterday (default: today)."
COMMAND_ID_HELP = "Idempotency key: a command whose id was already applied is not applied again."
JSON_HELP = "Print what was recorded as JSON (events, new ids); errors as JSON on stderr."
AGAIN_HELP = "Record it although the same write was just recorded (a second one, not a repeat)."

# How `kamflow apply --fields` names the type of a value.
KINDS: dict[Any, str] = {str: "text", Decimal: "number", date: "YYYY-MM-DD", int: "number"}


@dataclass(frozen=True)
class Shape:
    """What the command line and ``kamflow apply`` need to know of one command field."""

    name: str  # the model's field name: with_, display_name, roles
    flag: str  # the option on the command line: --with, --name, --role
    key: str  # the JSON key in a line of `kamflow apply`: with, name, roles
    kind: str  # text, number, YYYY-MM-DD (KINDS), or choice
    choices: tuple[str, ...] | None  # the values a Literal allows
    multiple: bool  # a list: the option repeats, the JSON value is a list
    required: bool
    default: Any  # the model's default (meaningless when required)
    help: str | None
    metavar: str | None


def shapes(cls: CommandClass) -> list[Shape]:
    """Every field of a command model, in its declared order (the base class's
    ``account`` and ``on`` first). Raises TypeError for a type the command line cannot
    take, so a new kind of field fails when its command is built, not when it is used."""
    return [shape(name, info) for name, info in cls.model_fields.items()]


def command_line_fields(cls: CommandClass) -> tuple[list[Shape], list[Shape]]:
    """A command's positional fields (in ``arguments`` order) and its other fields,
    without ``on``: the shared ``--on`` option stands for that one."""
    fields = {s.name: s for s in shapes(cls)}
    positional = [fields.pop(name) for name in cls.arguments]
    fields.pop("on")
    return positional, list(fields.values())


def shape(name: str, info: FieldInfo) -> Shape:
    """One field, read from its type annotation and ``option(...)`` declaration."""
    value_type = _unwrap(info.annotation)
    multiple = get_origin(value_type) is list
    if multiple:
        value_type = _unwrap(get_args(value_type)[0])
    choices: tuple[str, ...] | None = None
    if get_origin(value_type) is Literal:
        choices = tuple(str(v) for v in get_args(value_type))
        kind = "choice"
    elif value_type in KINDS:
        kind = KINDS[value_type]
    else:
        raise TypeError(f"field {name!r}: the command line cannot take {value_type!r}")
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    metavar = extra.get("metavar")
    return Shape(
        name=name,
        flag=Field(name).render("cli"),
        key=info.alias or name,
        kind=kind,
        choices=choices,
        multiple=multiple,
        required=info.is_required(),
        default=None if info.is_required() else info.get_default(call_default_factory=True),
        help=info.description,
        metavar=metavar if isinstance(metavar, str) else None,
    )


def _unwrap(annotation: Any) -> Any:
    """The value type under ``Annotated[...]`` and ``X | None``."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return annotation


class ModelCommand(click.Command):
    """A write command built from a command model (kept as ``model``)."""

    def __init__(self, model: CommandClass, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.model = model


def model_command(cls: CommandClass) -> ModelCommand:
    """The click command for a command model; its name is the model's last word."""
    arguments, options = command_line_fields(cls)
    params: list[click.Parameter] = [_argument(s) for s in arguments]
    params += [_option(s) for s in options]
    params += [
        click.Option(["--on", "on"], type=DATE, help=ON_HELP),
        click.Option(["--command-id"], metavar="ID", help=COMMAND_ID_HELP),
        click.Option(["--again"], is_flag=True, help=AGAIN_HELP),
        click.Option(["--json", "as_json"], is_flag=True, help=JSON_HELP),
    ]
    positional = {s.name: s.metavar or s.name.upper() for s in arguments}

    def callback(command_id: str | None, again: bool, as_json: bool, **values: Any) -> None:
        given = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in values.items()
            if value is not None and value != ()
        }
        run(cls, given, command_id, positional, as_json=as_json, again=again)

    return ModelCommand(
        cls,
        name=cls.name.split(" ", 1)[1],
        params=params,
        callback=callback,
        help=inspect.cleandoc(cls.__doc__ or ""),
    )


class ModelGroup(ListedGroup):
    """A noun whose write commands are built from their models when one is invoked
    (ADR 0029). Its listing (``kamflow visit --help``) comes from ``kamflow.cli.listing``
    (each command's domain module and the first paragraph of its help, generated from
    the models by ``python -m kamflow.cli.factory``), so the help imports neither the
    models nor pydantic nor the domain, and ``kamflow visit log`` builds only ``log``.
    Commands added with ``add_command`` (reads) are listed with them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Subcommand -> (module under kamflow.domain.commands, first paragraph of help).
        self.models: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.models})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.models:
            self.add_command(model_command(model_named(f"{self.name} {cmd_name}")))
        return super().get_command(ctx, cmd_name)

    def listed(self, ctx: click.Context) -> list[tuple[str, click.Command]]:
        # A stand-in for each command not built: its help's first paragraph is all
        # click shortens a line from.
        return [
            (name, self.commands.get(name) or click.Command(name, help=self.models[name][1]))
            for name in self.list_commands(ctx)
        ]


def model_named(name: str) -> CommandClass:
    """The command model users call ``name`` (``"visit log"``), importing only its
    module (``kamflow.cli.listing`` says which)."""
    from importlib import import_module

    from kamflow.cli.listing import LISTING
    from kamflow.domain.commands import declared_in

    noun, sub = name.split(" ", 1)
    module = import_module(f"kamflow.domain.commands.{LISTING[noun][sub][0]}")
    found = [cls for cls in declared_in(module) if cls.name == name]
    if not found:
        raise LookupError(
            f"{name!r} is not declared in {module.__name__}: run"
            " `python -m kamflow.cli.factory` to list the commands again"
        )
    return found[0]


def add_model_commands(group: ModelGroup) -> None:
    """Give ``group`` the write commands named under it (``visit log`` and ``visit
    follow-up`` under ``visit``), built when first asked for (ModelGroup)."""
    from kamflow.cli.listing import LISTING

    group.models.update(LISTING.get(str(group.name), {}))


def listing() -> dict[str, dict[str, tuple[str, str]]]:
    """What ``kamflow.cli.listing`` holds, from the models: noun -> subcommand ->
    (module under kamflow.domain.commands, first paragraph of the help)."""
    from kamflow.domain.commands import all_commands

    found: dict[str, dict[str, tuple[str, str]]] = {}
    for name, cls in all_commands().items():
        noun, sub = name.split(" ", 1)
        first = inspect.cleandoc(cls.__doc__ or "").partition("\n\n")[0]
        found.setdefault(noun, {})[sub] = (cls.__module__.rsplit(".", 1)[1], first)
    return found


def listing_source() -> str:
    """The text of kamflow/cli/listing.py for the models as they are."""
    import pprint

    body = pprint.pformat(listing(), width=88, sort_dicts=True)
    return (
        '"""Generated by `python -m kamflow.cli.factory` from the command models: do not'
        " edit.\n\nEach noun's write commands: subcommand -> (module under"
        " kamflow.domain.commands,\nfirst paragraph of its help), for the help and"
        " to import only the invoked\ncommand's module (factory.ModelGroup,"
        ' ADR 0029).\n"""\n\n'
        f"LISTING: dict[str, dict[str, tuple[str, str]]] = {body}\n"
    )


if __name__ == "__main__":
    from pathlib import Path

    Path(__file__).with_name("listing.py").write_text(listing_source(), encoding="utf-8")


def _click_type(s: Shape) -> click.ParamType[Any]:
    return click.Choice(s.choices) if s.choices is not None else click.STRING


def _argument(s: Shape) -> click.Argument:
    if s.multiple:
        raise TypeError(f"field {s.name!r}: a list cannot be a positional argument")
    return click.Argument([s.name], type=_click_type(s), required=s.required, metavar=s.metavar)


def _option(s: Shape) -> click.Option:
    return click.Option(
        [s.flag, s.name],
        type=_click_type(s),
        required=s.required,
        multiple=s.multiple,
        help=s.help,
        metavar=s.metavar,
    )


def run(
    cls: CommandClass,
    fields: dict[str, Any],
    command_id: str | None,
    positional: dict[str, str],
    *,
    as_json: bool = False,
    again: bool = False,
) -> None:
    """Build the command from the given fields, execute it, print what was recorded
    (one line for people, or with ``as_json`` the object of ``outcome_json``)."""
    from kamflow.domain.commands import build

    sess = session()
    try:
        command = build(cls, fields, today=sess.today)
    except InvalidInput as exc:
        if not any(isinstance(part, Field) and part.name in positional for part in exc.parts):
            raise
        # A positional field has no option to name: name it as the usage line does.
        raise InvalidInput(
            *(
                positional.get(part.name, part) if isinstance(part, Field) else part
                for part in exc.parts
            )
        ) from None
    actor = sess.actor  # refused before the store is opened, so nothing is created
    outcome = sess.writer.execute(
        command, actor=actor, command_id=command_id, again=again, on_behalf_of=sess.behalf
    )
    # Said after it was accepted, so that a refusal stays one line.
    deprecated = command.deprecation()
    if deprecated:
        click.echo(f"warning: {deprecated}", err=True)
    tell(outcome.notice)
    if as_json:
        from kamflow.output import to_json

        click.echo(to_json(outcome_json(outcome)))
    else:
        click.echo(describe_outcome(outcome))


def tell(notice: str | None) -> None:
    """Show a person at a terminal what kamflow must tell them (they became the first
    admin): on stderr, and only when it is a terminal, like a progress bar, so that
    scripts keep a clean stderr. Programs read it as ``notice`` in ``--json``."""
    from kamflow.cli.progress import drawn

    if notice and drawn():
        click.echo(f"note: {notice}", err=True)


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """What a write recorded, for programs: ``{"account": "acme", "events": [{"type":
    "ComplaintRaised", "version": 183}], "ids": {"complaint": "C-5"}, "reference": "C-5",
    "command_id": "...", "applied": true}``. ``account`` is ``"governance"`` for policy
    and roster commands; ``ids`` are the short ids the events gave out or acted on, by
    kind (``Outcome.ids``); ``reference`` is the line people read after the colon, or
    null. A command whose id was already applied: ``"applied": false``, no events, no
    ids, null reference."""
    return {
        "account": outcome.account,
        "events": [{"type": name, "version": version} for name, version in outcome.events],
        "ids": outcome.ids,
        "reference": outcome.reference or None,
        "command_id": outcome.command_id,
        "applied": outcome.applied,
        # Only on the first write to a new database: its writer is now the admin.
        **({"notice": outcome.notice} if outcome.notice else {}),
    }


def describe_outcome(outcome: Outcome) -> str:
    """The one line a write prints: what was recorded, or that nothing was (stored text
    in it shown escaped, kamflow.output.escape)."""
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


def describe_default(s: Shape) -> str:
    """What a missing key means: ``(required)``, ``none``, or the default as JSON."""
    if s.required:
        return "(required)"
    if s.default is None:
        return "none"
    return json.dumps(s.default, ensure_ascii=False, default=str)

"""Commands: validated, immutable requests, each one class that declares everything.

A command is a pydantic model. The class says what the command line and ``kamflow
apply`` need (its name as users type it, which fields are positional, each field's help
and metavar, the help text with an ``Example:`` in its docstring) and what the domain
needs (``execute``: the decision, which records events on the account or refuses). The
command line is built from these classes (``kamflow/cli/factory.py``), and a line of a
JSONL file and a typed command are checked by exactly the same code.

The commands of one noun live in one module (``accounts``, ``people``, ``visits``...);
``COMMANDS`` maps every name to its class, importing the modules on first use.
"""

from __future__ import annotations

from decimal import Decimal
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic import Field as PydanticField

from kamflow.domain.commands.fields import BusinessDate, Key, Today
from kamflow.domain.errors import Field, InvalidInput, Part, RuleViolation, Suggest

if TYPE_CHECKING:
    from kamflow.domain.account import Account, Meta
    from kamflow.domain.governance import Governance

# The modules holding the commands, by noun, in the order `kamflow --help` lists them.
MODULES = (
    "accounts",
    "people",
    "visits",
    "complaints",
    "value",
    "market",
    "relationship",
    "governing",
    "fx",
    "tasks",
)


def option(
    description: str | None = None,
    *,
    default: Any = ...,
    metavar: str | None = None,
    alias: str | None = None,
    **constraints: Any,
) -> Any:
    """A command field with the help the command line shows for it (``--help``) and,
    where it helps, a metavar (``NAME|ID``). ``default=...`` means required."""
    return PydanticField(
        default,
        description=description,
        alias=alias,
        json_schema_extra={"metavar": metavar} if metavar else None,
        **constraints,
    )


class Command(BaseModel):
    """A request to change one account; ``on`` is the business date (default: today)."""

    # defer_build: a CLI process validates one command, so building the schemas of
    # all the others at import would only slow start-up.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, populate_by_name=True)

    name: ClassVar[str]
    # Fields typed as positional arguments on the command line, in order.
    arguments: ClassVar[tuple[str, ...]] = ("account",)
    # True for commands whose rules read policies or the roster (P1, P4).
    needs_governance: ClassVar[bool] = False
    # True for commands that correct a recorded fact: they read the account's stored
    # events (``Meta.history``; ADR 0020).
    needs_history: ClassVar[bool] = False
    # The role the acting person must hold once roles are enforced (ADR 0023).
    needs_role: ClassVar[str] = "kam"
    # True for a command that must work on a closed file too (lost, archived, closed,
    # merged): erasing a person's data is owed whatever the account's state (ADR 0026).
    on_closed: ClassVar[bool] = False
    account: Key = option(metavar="KEY")
    on: BusinessDate | None = None
    # The key as the user typed it, for accounts an older kamflow keyed differently
    # (Kamflow.locate).
    _typed: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_typed_key(cls, data: Any, handler: ModelWrapValidatorHandler[Command]) -> Command:
        command = handler(data)
        if isinstance(data, dict) and isinstance(data.get("account"), str):
            private = command.__pydantic_private__
            if private is not None:  # straight in: BaseModel.__setattr__ costs ~4 us
                private["_typed"] = data["account"]
            else:
                command._typed = data["account"]
        return command

    @property
    def typed_account(self) -> str:
        # Read from pydantic's dict of private values: ``self._typed`` goes through
        # BaseModel.__getattr__ (~6 us), and every command asks once or twice.
        private = self.__pydantic_private__ or {}
        typed: str | None = private.get("_typed")
        return typed or self.account

    def decide(self, account: Account | None, meta: Meta) -> tuple[Account, str]:
        """Record this command's events on the account; return it and a reference
        for people (the id it gave out, the new state...)."""
        if account is None:
            raise RuleViolation(
                "P3",
                f'account "{self.account}" has no file; open it first with ',
                Suggest(
                    "account open",
                    (self.account,),
                    {"display_name": None, "industry": None, "owner": None},
                ),
            )
        if self.on_closed:
            from kamflow.domain.account import check_not_future

            check_not_future(meta)
        else:
            account.check_open(meta)
        return account, self.execute(account, meta)

    def execute(self, account: Account, meta: Meta) -> str:
        """The decision on an opened account: record events, or raise a KamflowError."""
        raise NotImplementedError

    def given(self, *fields: str) -> dict[str, Any]:
        """These fields of the command, by name: what an event records as it was given
        (``account.record(Account.X, meta, **self.given("rule", "reason"))``)."""
        return {name: getattr(self, name) for name in fields}

    def first(self, account: Account) -> Command | None:
        """A command to decide and save on another account before this one (a merge
        records the target's side first, ADR 0020); None for almost every command."""
        return None

    def deprecation(self) -> str | None:
        """What to tell the user who used a deprecated form of this command, else None."""
        return None


class GovernanceCommand(BaseModel):
    """A change to the store's policies or roster (not to one account)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, populate_by_name=True)

    name: ClassVar[str]
    arguments: ClassVar[tuple[str, ...]] = ()
    # The role the acting person must hold once roles are enforced (ADR 0023).
    needs_role: ClassVar[str] = "admin"
    on: BusinessDate | None = None

    def apply_to(self, governance: Governance, meta: Meta) -> str:
        raise NotImplementedError

    def deprecation(self) -> str | None:
        """What to tell the user who used a deprecated form of this command, else None."""
        return None


CommandClass = type[Command] | type[GovernanceCommand]
_REGISTRY: dict[str, CommandClass] = {}


def declared_in(module: ModuleType) -> list[CommandClass]:
    """The commands a module declares (not those it imports, nor abstract steps without
    a name of their own), in the order it declares them."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Command | GovernanceCommand)
        and value.__module__ == module.__name__
        and "name" in vars(value)
    ]


def all_commands() -> dict[str, CommandClass]:
    """Every command by the name users type (``"visit log"``), in --help order."""
    if not _REGISTRY:
        for module in MODULES:
            for command in declared_in(import_module(f"kamflow.domain.commands.{module}")):
                _REGISTRY[command.name] = command
    return _REGISTRY


def __getattr__(name: str) -> Any:
    # `COMMANDS` is computed on first use: a single CLI write imports only its own
    # noun's module, while `kamflow apply` and the tests want every command.
    if name == "COMMANDS":
        return all_commands()
    raise AttributeError(name)


def build(
    cls: CommandClass, fields: dict[str, Any], *, today: Today | None = None
) -> Command | GovernanceCommand:
    """Validate ``fields`` into a command, or raise InvalidInput with one clear line.

    Every text field is checked by the rule of kamflow.domain.text (its type carries
    it), so a typed option and a line of `kamflow apply` are refused alike. ``today``
    (the business date, or a function giving it) is what ``"on": "today"`` and
    ``"yesterday"`` mean; without it those words are refused.
    """
    try:
        return cls.model_validate(fields, context={"today": today})
    except ValidationError as exc:
        raise InvalidInput(*describe(exc)) from None


def describe(exc: ValidationError) -> tuple[Part, ...]:
    """The first problem pydantic found, naming the field as the user typed it."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    field = Field(loc[0] if loc else "input")
    msg = err["msg"]
    value = err.get("input")
    kind = err["type"]
    if kind == "missing":
        return ("missing required field ", field)
    if kind == "extra_forbidden":
        return (f"unknown field {field.name!r}",)
    if kind in ("kamflow_utf8", "string_unicode"):
        return (field, " is not valid UTF-8 text")
    if kind in ("kamflow_date", "kamflow_number"):
        # The message quotes the value and shows the right form.
        return ("invalid ", field, f": {msg}")
    if kind == "kamflow_text":
        # The message names the character; the value itself is never echoed.
        return ("invalid ", field, f": {msg}")
    if isinstance(value, Decimal):
        value = str(value)
    shown = (
        f" (got {value!r})" if isinstance(value, str | int | float) and len(str(value)) < 60 else ""
    )
    return ("invalid ", field, f": {msg[0].lower() + msg[1:]}{shown}")

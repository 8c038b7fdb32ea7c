"""Domain errors. Every refusal the user can see is one of these, with one clear line.

A message may name a field of a command (``Field``) or suggest a command to run
(``Suggest``). The domain does not know how the user reached it: on the command line a
field is an option (``--amount``) and a suggestion a shell command; in a line of
``kamflow apply`` a field is a JSON key (``"amount"``) and a suggestion a JSON line. The
edge that caught the error renders it for its surface (``KamflowError.render``);
``str(error)`` is the command-line rendering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Surface = Literal["cli", "apply"]

# Fields whose option is spelt differently from the field: lists take one value per
# option (`--role buyer --role user`), and Python keywords get a trailing underscore.
CLI_SPELLING: dict[str, str] = {
    "roles": "role",
    "issues": "issue",
    "with_": "with",
    "display_name": "name",
    "influenced_by": "influenced-by",
}
# ... and JSON keys that differ from the field's Python name (pydantic aliases).
APPLY_SPELLING: dict[str, str] = {"with_": "with", "display_name": "name"}


@dataclass(frozen=True)
class Field:
    """A field of a command, named in a message (``--amount`` or ``"amount"``)."""

    name: str

    def render(self, surface: Surface) -> str:
        if surface == "apply":
            return f'"{APPLY_SPELLING.get(self.name, self.name)}"'
        if self.name == "account":  # the positional KEY of every account command
            return "account key"
        return "--" + CLI_SPELLING.get(self.name, self.name.rstrip("_").replace("_", "-"))


@dataclass(frozen=True)
class Suggest:
    """A command the user could run next: its name, positional arguments, and options
    (None: the user must fill the value in)."""

    command: str
    arguments: tuple[str, ...] = ()
    options: dict[str, str | None] = field(default_factory=dict)
    # The name of each positional argument as a JSON key in `kamflow apply`.
    argument_names: tuple[str, ...] = ("account",)
    # More fields to fill in than the ones named ("...").
    etc: bool = False

    def render(self, surface: Surface) -> str:
        if surface == "apply":
            parts = [f'"command": "{self.command}"']
            parts += [
                f'"{name}": "{value}"'
                for name, value in zip(self.argument_names, self.arguments, strict=False)
            ]
            parts += [
                f"{Field(k).render('apply')}: " + ("..." if v is None else f'"{v}"')
                for k, v in self.options.items()
            ]
            return "{" + ", ".join(parts + (["..."] if self.etc else [])) + "}"
        words = ["kamflow", self.command, *(_shell(a) for a in self.arguments)]
        for name, value in self.options.items():
            words += [Field(name).render("cli"), "..." if value is None else _shell(value)]
        return "`" + " ".join(words + (["..."] if self.etc else [])) + "`"


def _shell(text: str) -> str:
    return text if text and all(ch.isalnum() or ch in "-_.@:/" for ch in text) else f'"{text}"'


Part = str | Field | Suggest


def render(parts: Sequence[Part], surface: Surface = "cli") -> str:
    """Message parts as one line for ``surface``."""
    return "".join(p if isinstance(p, str) else p.render(surface) for p in parts)


class KamflowError(Exception):
    """Base of every error kamflow reports to a user as one line.

    Give the message as parts: plain text, ``Field``s and ``Suggest``ions, e.g.
    ``InvalidInput("nothing to update: give at least one field, e.g. ", Field("address"))``.
    """

    exit_code = 1

    def __init__(self, *parts: Part) -> None:
        self.parts = parts
        super().__init__(self.render("cli"))

    def render(self, surface: Surface) -> str:
        """The message as the user who reached it through ``surface`` should read it."""
        return render(self.parts, surface)


class InvalidInput(KamflowError):
    """The input itself is wrong (bad date, unknown enum, over-long text)."""

    exit_code = 2


class NotFound(KamflowError):
    """An account, contact, complaint, issue or version that does not exist."""

    exit_code = 1


class AccountNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f'account "{key}" not found; list accounts with ', Suggest("account list"))
        self.key = key


class Conflict(KamflowError):
    """The command contradicts the account's current state (e.g. opening twice)."""

    exit_code = 1


class RuleViolation(KamflowError):
    """A command refused by one of the eight principles (P1-P8) or a role rule."""

    exit_code = 1

    def __init__(self, principle: str, *parts: Part) -> None:
        self.principle = principle
        super().__init__(f"{principle}: ", *parts)


class StorageError(KamflowError):
    """The store cannot be reached or used (unreachable PostgreSQL, unwritable file)."""

    exit_code = 1

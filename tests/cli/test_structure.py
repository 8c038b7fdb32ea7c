"""Meta-tests: a step forgotten while adding a command fails here, loudly.

Every command is in the README's command table (and the table names no other); every
command and group has help, every write an ``Example:``; every command model is on the
command line, built by the factory with exactly its fields; `kamflow --help` imports no
noun module and a write imports only its own noun.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import README as README_PATH
from conftest import CommandPath, command_tree, imported_by, leaf_commands

from kamflow.cli import NOUNS, cli
from kamflow.cli.factory import ModelCommand
from kamflow.domain.commands import CommandClass, all_commands
from kamflow.domain.errors import Field

README = README_PATH.read_text(encoding="utf-8")
TREE = command_tree()
LEAVES = leaf_commands()


def readme_commands() -> set[CommandPath]:
    """The commands the README's `| area | commands |` table names: the leading
    lower-case words of each `code` item (`workflow show NAME` -> workflow show)."""
    start = README.index("| area | commands |")
    table = README[start:].split("\n\n", 1)[0]
    named: set[CommandPath] = set()
    for row in table.splitlines()[2:]:
        commands = row.split("|")[2]
        for item in re.findall(r"`([^`]+)`", commands):
            words: list[str] = []
            for word in item.split():
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                words.append(word)
            if words:  # not an argument on its own, like the `-` of `apply -`
                named.add(tuple(words))
    return named


def test_the_readme_command_table_names_every_command_and_no_other() -> None:
    named = readme_commands()

    assert sorted(set(LEAVES) - named) == [], "commands missing from the README table"
    assert sorted(named - set(LEAVES)) == [], "the README table names commands that do not exist"


def test_the_readme_command_table_has_each_area_once() -> None:
    # Merges added rows beside the old ones (two "value", "market" and "governance"
    # rows, one listing commands the other did not): a reader takes the first as whole.
    start = README.index("| area | commands |")
    table = README[start:].split("\n\n", 1)[0]
    areas = [row.split("|")[1].strip() for row in table.splitlines()[2:]]

    assert sorted(a for a in set(areas) if areas.count(a) > 1) == []


def test_every_command_and_group_has_help() -> None:
    missing = [" ".join(path) for path, command in TREE.items() if not (command.help or "").strip()]

    assert missing == []


def test_every_write_command_shows_an_example() -> None:
    writes = {path: c for path, c in LEAVES.items() if isinstance(c, ModelCommand)}
    without = [" ".join(path) for path, c in writes.items() if "Example:" not in (c.help or "")]

    assert len(writes) == len(all_commands())
    assert without == []


def test_every_line_of_the_root_help_is_the_commands_own() -> None:
    ctx = click.Context(cli)
    for name, (_, line) in NOUNS.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        # What `kamflow --help` lists, at any width, is what the command would say.
        for limit in (30, 45, 10_000):
            stand_in = click.Command(name, help=line)
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name


def test_every_command_model_is_on_the_command_line_as_the_command_it_names() -> None:
    models = all_commands()
    built = {path: c.model for path, c in LEAVES.items() if isinstance(c, ModelCommand)}

    assert {tuple(name.split()): cls for name, cls in models.items()} == built


def expected_parameters(cls: CommandClass) -> dict[str, tuple[bool, bool, tuple[str, ...] | None]]:
    """Each field's (required, repeatable, choices), read from the model's JSON schema:
    a derivation independent of the factory's own reading of the type annotations."""
    schema = cls.model_json_schema()
    by_key = {info.alias or name: name for name, info in cls.model_fields.items()}
    required = set(schema.get("required", []))
    found: dict[str, tuple[bool, bool, tuple[str, ...] | None]] = {}
    for key, prop in schema["properties"].items():
        kinds = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        arrays = [p for p in kinds if p.get("type") == "array"]
        values = (arrays[0]["items"] if arrays else kinds[0]).get("enum")
        found[by_key[key]] = (key in required, bool(arrays), tuple(values) if values else None)
    return found


def actual_parameters(
    command: click.Command,
) -> dict[str, tuple[bool, bool, tuple[str, ...] | None]]:
    found: dict[str, tuple[bool, bool, tuple[str, ...] | None]] = {}
    for param in command.params:
        if param.name in ("on", "command_id", "again", "as_json", "help"):
            continue
        assert param.name is not None
        choices = tuple(param.type.choices) if isinstance(param.type, click.Choice) else None
        found[param.name] = (param.required, param.multiple, choices)
    return found


@pytest.mark.parametrize("name", sorted(all_commands()))
def test_every_model_builds_a_click_command_whose_parameters_are_its_fields(name: str) -> None:
    cls = all_commands()[name]
    command = LEAVES[tuple(name.split())]
    expected = expected_parameters(cls)
    expected.pop("on")

    arguments = [p.name for p in command.params if isinstance(p, click.Argument)]
    options = {p.name: p.opts for p in command.params if isinstance(p, click.Option)}

    assert actual_parameters(command) == expected
    assert arguments == list(cls.arguments)
    for field in set(expected) - set(cls.arguments):
        # The flag is spelt as error messages name the field.
        assert options[field] == [Field(field).render("cli")]
    assert options["on"] == ["--on"]
    assert options["command_id"] == ["--command-id"]
    assert options["again"] == ["--again"]
    assert options["as_json"] == ["--json"]


def test_a_field_whose_json_key_differs_is_named_by_that_key_in_apply_errors() -> None:
    for cls in all_commands().values():
        for name, info in cls.model_fields.items():
            assert Field(name).render("apply") == f'"{info.alias or name}"', (cls.name, name)


# ------------------------------------------------------------------ start-up
def loaded_modules(tmp_path: Path, *args: str) -> set[str]:
    """The kamflow modules a real `kamflow ARGS` process imported."""
    return {n for n in imported_by(tmp_path, *args) if n.startswith("kamflow")}


NOUN_MODULES = {f"kamflow.cli.{module}" for module, _ in NOUNS.values()}


@pytest.mark.slow
def test_kamflow_help_imports_no_noun_module_and_no_command(tmp_path: Path) -> None:
    loaded = loaded_modules(tmp_path, "--help")

    assert loaded & NOUN_MODULES == set()
    assert not any(n.startswith("kamflow.domain.commands") for n in loaded)


def test_the_listing_of_write_commands_is_what_the_models_say() -> None:
    """kamflow/cli/listing.py (what a noun's help lists without importing its models)
    holds every command model, in its module, with its help's first paragraph; after
    adding or changing a command run `python -m kamflow.cli.factory` (ADR 0029)."""
    from kamflow.cli.factory import listing
    from kamflow.cli.listing import LISTING

    assert listing() == LISTING


@pytest.mark.slow
@pytest.mark.parametrize("noun", ["visit", "account", "cost", "roster", "fx", "task"])
def test_a_nouns_help_imports_no_command_model_nor_pydantic_nor_the_domain(
    tmp_path: Path, noun: str
) -> None:
    loaded = imported_by(tmp_path, noun, "--help")

    assert not any(n.startswith("kamflow.domain.commands") for n in loaded)
    assert not any(n == "pydantic" or n.startswith("pydantic.") for n in loaded)
    assert "kamflow.domain.account" not in loaded
    assert "kamflow.domain.governance" not in loaded


@pytest.mark.slow
def test_a_write_imports_only_its_own_noun(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    opened = ["--db", db, "account", "open", "acme", "--name", "A", "--industry", "f"]
    loaded_modules(tmp_path, *opened, "--owner", "li.wei")
    visit: list[Any] = ["--db", db, "visit", "log", "acme", "--with", "x", "--purpose", "p"]

    loaded = loaded_modules(tmp_path, *visit, "--objective", "o", "--result", "r")

    assert loaded & NOUN_MODULES == {"kamflow.cli.visits"}
    # The roster is read from the stored JSON, not built as the aggregate (ADR 0029).
    assert "kamflow.domain.governance" not in loaded
    # corrections: the base every noun's `void` shares (it declares no command).
    assert {n for n in loaded if n.startswith("kamflow.domain.commands.")} == {
        "kamflow.domain.commands.corrections",
        "kamflow.domain.commands.fields",
        "kamflow.domain.commands.visits",
    }


@pytest.mark.parametrize(("typed", "meant"), [("visit lgo", "log"), ("account opne", "open")])
def test_a_mistyped_write_command_is_told_the_one_it_may_mean(typed: str, meant: str) -> None:
    """A noun's write commands are built only when invoked (ADR 0029); a typo is still
    answered from all of them."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, typed.split())

    assert result.exit_code == 2
    assert f"Did you mean '{meant}'?" in result.output

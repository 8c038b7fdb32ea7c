"""A newcomer's path: the README's commands run as written, `kamflow` alone helps, and a
read never creates a database.

The README tests run the README's own code blocks in a shell, in a fresh folder, with
the `kamflow` of the virtual environment these tests run in: they break when the README
and the program drift apart, as a newcomer would find them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import README, FakeClock, fake_clock, invoke, leaf_commands

from kamflow.cli import cli
from kamflow.cli.factory import ModelCommand

VENV_BIN = Path(sys.executable).parent
OPEN = ["account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", "li"]


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 12, 1)) as fake:
        yield fake


# ------------------------------------------------------------------ kamflow alone
def test_kamflow_alone_prints_its_help_and_exits_0() -> None:
    result = CliRunner().invoke(cli, [], prog_name="kamflow", catch_exceptions=False)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: kamflow [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in result.stdout
    assert "Error" not in result.stdout


def test_a_noun_alone_prints_its_help_and_exits_0() -> None:
    result = CliRunner().invoke(cli, ["account"], prog_name="kamflow", catch_exceptions=False)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: kamflow account [OPTIONS] COMMAND [ARGS]...\n")
    assert re.search(r"^  open +Open a key account", result.stdout, re.M)


# ------------------------------------------------------------------ a missing database
NO_STORE = (
    "; create one with `kamflow account open KEY --name ... --industry ... --owner ...`"
    " or `kamflow demo`, or point --db or KAMFLOW_DB at one"
)
# Commands that read no store, with the arguments they need.
STORE_FREE = {
    ("workflow", "list"): [],
    ("workflow", "show"): ["complaint"],
    ("id", "init"): [],  # a person's key, in their config folder (ADR 0025)
}
# Commands that write (and so may create the store), besides the model commands.
WRITERS = {("apply",), ("demo",), ("import",), ("fx", "import")}
EXTRA = {("projections", "follow"): ["--for", "0"]}


def reads() -> dict[tuple[str, ...], list[str]]:
    """Every command that reads a store, with arguments enough to reach it (a KEY for
    each required argument), and a few with the options that take another path."""
    found: dict[tuple[str, ...], list[str]] = {}
    for path, command in leaf_commands().items():
        if isinstance(command, ModelCommand) or path in WRITERS or path in STORE_FREE:
            continue
        required = [p for p in command.params if isinstance(p, click.Argument) and p.required]
        found[path] = [*path, *(["acme"] * len(required)), *EXTRA.get(path, [])]
    found[("account", "show", "--as-of")] = ["account", "show", "acme", "--as-of", "2026-11-01"]
    found[("report", "portfolio", "--as-of")] = ["report", "portfolio", "--as-of", "2026-11-01"]
    found[("account", "list", "--csv")] = ["account", "list", "--csv"]
    return found


READS = reads()


@pytest.mark.parametrize("args", list(READS.values()), ids=[" ".join(p) for p in READS])
def test_a_read_of_a_database_that_does_not_exist_refuses_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    folder = tmp_path / "here"
    folder.mkdir()

    result = invoke(str(folder / "kamflow.db"), *args, actor="li")

    assert (result.exit_code, result.stdout) == (1, ""), result.stderr
    assert result.stderr == f"Error: no kamflow database at {folder}/kamflow.db{NO_STORE}\n"
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("folder", ["missing", "read-only"])
def test_a_read_of_a_file_in_a_folder_that_could_not_hold_one_is_no_database(
    tmp_path: Path, folder: str
) -> None:
    # Not "cannot create database ...": a read would not create one anywhere.
    where = tmp_path / "nowhere"
    if folder == "read-only":
        where.mkdir(mode=0o555)
    db = where / "kamflow.db"

    result = invoke(str(db), "account", "list", actor="li")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: no kamflow database at {db}{NO_STORE}\n"


def test_the_default_database_is_named_as_the_user_knows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAMFLOW_DB", raising=False)

    result = CliRunner().invoke(cli, ["account", "list"], catch_exceptions=False)

    assert result.exit_code == 1
    assert result.stderr == f"Error: no kamflow database at ./kamflow.db{NO_STORE}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", sorted(STORE_FREE), ids=" ".join)
def test_a_command_that_reads_no_store_runs_without_one_and_creates_none(
    tmp_path: Path, path: tuple[str, ...]
) -> None:
    result = invoke(str(tmp_path / "kamflow.db"), *path, *STORE_FREE[path], actor="li")

    assert (result.exit_code, result.stderr) == (0, "")
    assert list(tmp_path.iterdir()) == []


def test_every_command_is_a_read_a_write_or_store_free() -> None:
    # A new command lands in one of the lists above, so it is tested as one of them.
    for path, c in leaf_commands().items():
        kinds = [isinstance(c, ModelCommand) or path in WRITERS, path in STORE_FREE, path in READS]
        assert kinds.count(True) == 1, path


@pytest.mark.parametrize("content", ["empty", "another program's"])
def test_a_sqlite_file_without_kamflow_tables_is_no_kamflow_database(
    tmp_path: Path, content: str
) -> None:
    db = tmp_path / "other.db"
    db.touch()
    if content != "empty":
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE notes (text TEXT)")
        conn.close()
    before = db.read_bytes()

    result = invoke(str(db), "report", "portfolio", actor="li")

    assert result.exit_code == 1
    assert result.stderr == f"Error: no kamflow database at {db}{NO_STORE}\n"
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_write_creates_the_database_and_then_reads_find_it(locator: str) -> None:
    assert invoke(locator, *OPEN, actor="li").exit_code == 0

    listed = invoke(locator, "account", "list", "--json", actor="li")

    assert (listed.exit_code, listed.stderr) == (0, "")
    assert [a["key"] for a in json.loads(listed.stdout)] == ["acme"]


def schema_tables(url: str) -> list[str]:
    import psycopg

    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(url.split("?", 1)[0]) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        ).fetchall()
    return sorted(r[0] for r in rows)


@pytest.mark.parametrize(
    "args",
    [["account", "list"], ["report", "portfolio"], ["projections", "status"],
     ["workflow", "check"], ["account", "show", "acme", "--as-of", "2026-11-01"]],
    ids=" ".join,
)  # fmt: skip
def test_on_postgresql_a_read_of_a_schema_without_kamflow_tables_refuses_and_creates_none(
    postgres_locator: str, args: list[str]
) -> None:
    # Decision: as on SQLite, a read refuses a store that is not there, here a schema
    # without kamflow's tables, rather than answer as if it were an empty store.
    result = invoke(postgres_locator, *args, actor="li")

    where = "postgresql://postgres@127.0.0.1:5432/postgres?schema="
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: no kamflow database at {where}")
    assert result.stderr.endswith(f" (it has no kamflow tables){NO_STORE}\n")
    assert schema_tables(postgres_locator) == []


def test_on_postgresql_a_write_creates_the_tables(postgres_locator: str) -> None:
    assert invoke(postgres_locator, *OPEN, actor="li").exit_code == 0

    assert "kamflow_events" in schema_tables(postgres_locator)
    assert invoke(postgres_locator, "report", "portfolio", actor="li").exit_code == 0


# ------------------------------------------------------------------ ~ in the locator
@pytest.mark.parametrize("given", ["env", "option"])
def test_a_tilde_in_the_database_path_is_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    runner = CliRunner(env={"KAMFLOW_DB": "~/kam.db"} if given == "env" else {})
    db = [] if given == "env" else ["--db", "~/kam.db"]

    opened = runner.invoke(cli, [*db, "--actor", "li", *OPEN], catch_exceptions=False)
    listed = runner.invoke(cli, [*db, "account", "list", "--json"], catch_exceptions=False)

    assert (opened.exit_code, listed.exit_code) == (0, 0), opened.stderr + listed.stderr
    assert [a["key"] for a in json.loads(listed.stdout)] == ["acme"]
    assert (home / "kam.db").is_file()
    assert list(here.iterdir()) == []


# ------------------------------------------------------------------ the README
def code_block(after_heading: str) -> str:
    """The first ``` block after the README heading that starts with ``after_heading``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"\n{after_heading}") :]
    return section.split("```\n", 2)[1]


def shell_lines(block: str) -> list[str]:
    """The block's commands: continuation lines joined, blank lines left out."""
    return [
        line
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def shell_env(home: Path, *, with_venv: bool) -> dict[str, str]:
    """A newcomer's environment: no KAMFLOW_* settings, a home of their own, and the
    virtual environment's bin folder on the PATH only if ``with_venv``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAMFLOW_")}
    env.pop("VIRTUAL_ENV", None)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != VENV_BIN]
    env["PATH"] = os.pathsep.join([str(VENV_BIN), *path] if with_venv else path)
    env["HOME"] = str(home)
    return env


def test_the_readmes_start_puts_kamflow_on_the_path_and_builds_the_demo(tmp_path: Path) -> None:
    # Given a fresh clone where the README's install line has run (.venv: the tests' own)
    lines = shell_lines(code_block("## Start"))
    install, rest = lines[0], lines[1:]
    assert install.startswith("python3 -m venv .venv && .venv/bin/pip install -e ."), install
    if not (VENV_BIN.parent / "pyvenv.cfg").is_file():
        pytest.skip(f"the tests do not run in a virtual environment ({sys.prefix})")
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)

    # When the rest of the block runs in one shell, as typed
    script = "set -e\n" + "\n".join([*rest, "command -v kamflow"]) + "\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=shell_env(tmp_path, with_venv=False),
        capture_output=True,
        text=True,
        timeout=300,
    )

    # Then kamflow is on the PATH and the demo was built into ./kamflow.db
    assert done.returncode == 0, done.stderr
    assert "Demo portfolio written to kamflow.db" in done.stdout
    assert done.stdout.rstrip().endswith("/bin/kamflow")
    assert (tmp_path / "kamflow.db").is_file()


def test_the_readmes_tour_runs_as_written_in_order(tmp_path: Path) -> None:
    lines = shell_lines(code_block("## A five-minute tour"))
    exports = [line for line in lines if line.startswith("export ")]
    commands = [line for line in lines if not line.startswith("export ")]
    assert exports and all(shlex.split(c)[0] == "kamflow" for c in commands), commands
    env = shell_env(tmp_path, with_venv=True)

    for command in commands:
        done = subprocess.run(
            ["bash", "-c", "\n".join([*exports, command])],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert (done.returncode, done.stderr) == (0, ""), command
        if "--json" in shlex.split(command, comments=True):
            json.loads(done.stdout)
    # The database and, beside it, its key store of personal data (ADR 0026).
    assert {p.name.split("-")[0] for p in tmp_path.iterdir()} == {"tour.db", "tour.db.keys"}


def test_the_readmes_personal_data_example_forgets_the_person_it_gave_data_to(
    tmp_path: Path,
) -> None:
    # Read after the tour, on its acme: the person given a phone and a WeChat is the
    # one `contact forget` erases (not the tour's other "Wang Fang", left with them).
    tour = shell_lines(code_block("## A five-minute tour"))
    exports = [line for line in tour if line.startswith("export ")]
    commands = [line for line in tour if not line.startswith("export ")]
    commands += shell_lines(code_block("### Personal data and erasure"))
    env = shell_env(tmp_path, with_venv=True)
    script = "\n".join(["set -e", *exports, *commands, "kamflow account show acme --json"])

    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.splitlines()[-1])
    assert [c["name"] for c in shown["contacts"]] == ["[erased]"]
    assert "+86 139 0000 0000" not in done.stdout.splitlines()[-1]

"""What every test folder shares (tests/domain, cli, projections, system).

pytest finds this file for every folder below tests/; test modules import its helpers
with ``from conftest import ...`` (tests/ has no ``__init__.py``, and pytest's default
"prepend" import mode puts this folder on ``sys.path``, so test module names must be
unique across folders).

- the clock: ``FakeClock`` (given to a Kamflow: ``Kamflow(locator, clock=...)``) and
  ``fake_clock`` (the module clock, for in-process command-line tests; the one place
  that calls ``set_clock``);
- commands through the domain: ``ACTOR``, ``run``, ``refused``;
- the command line: ``invoke``, ``invoker`` and the ``kam`` fixture (``Kam``), ``ok``,
  ``json_of``, ``refusal``; the command tree (``command_tree``, ``leaf_commands``,
  ``write_commands``);
- stores: ``locator`` runs a test once per backend (a SQLite file; a PostgreSQL schema
  of its own, dropped afterwards, skipped with the reason without a server);
  ``sqlite_locator``, ``postgres_locator``, ``empty_store``, ``backend`` and
  ``fresh_store`` (a store per generated example); ``old_store`` (a store written by
  older kamflow, from tests/fixtures/); ``Capped`` and ``Interrupting`` (the log cut
  short);
- values: ``typed``, ``event_count``, and reference parsers of dates and numbers.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypedDict, Unpack

import click
import pytest
from click.testing import CliRunner, Result

from kamflow.application import Kamflow, Outcome, set_clock
from kamflow.cli import cli
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.errors import KamflowError
from kamflow.projections.db import ViewDB
from kamflow.projections.engine import Projector
from kamflow.projections.log import EventSource, StoreSource
from kamflow.projections.reports import MODULES as REPORT_MODULES

# Tests never depend on the machine's time zone: the business zone is UTC unless a test
# says otherwise (TZ or KAMFLOW_TZ set by the test, --tz, or a recorded team setting).
os.environ["TZ"] = "UTC"
os.environ.pop("KAMFLOW_TZ", None)
# Nor on the user's keys (ADR 0025): people's and checkpoint keys go to a folder of the
# session's (each test then gets its own, _own_config_folder), also from fixtures set up
# before any test's and from the processes tests start, never the real home's.
# A process a test starts (spawned workers import this module again) keeps the folder
# the test gave it, where the test's people have their keys.
if os.environ.get("KAMFLOW_TEST_SESSION") is None:
    os.environ["KAMFLOW_TEST_SESSION"] = _SESSION_CONFIG = tempfile.mkdtemp(
        prefix="kamflow-config-"
    )
    os.environ["KAMFLOW_CONFIG_DIR"] = _SESSION_CONFIG
    os.environ["XDG_CONFIG_HOME"] = _SESSION_CONFIG

# Where things are, wherever a test module sits below tests/.
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
README = ROOT / "README.md"
FIXTURES = TESTS / "fixtures"  # stores written by older kamflow (fixtures/README.md)
GOLDEN = TESTS / "golden"


# ------------------------------------------------------------------ the clock
class FakeClock:
    """Record time under a test's control.

    ``start`` is an aware datetime, or a day (then 09:00 UTC on it). Each reading first
    moves the clock on by ``step``: one second by default, so that commands recorded one
    after another get distinct times; ``step=timedelta(0)`` for a clock that stays where
    the test puts it (``at``, ``next_day`` or ``current`` directly).
    """

    def __init__(self, start: date | datetime, *, step: timedelta = timedelta(seconds=1)) -> None:
        if not isinstance(start, datetime):
            start = datetime(start.year, start.month, start.day, 9, 0, tzinfo=UTC)
        self.current = start
        self.step = step

    def __call__(self) -> datetime:
        self.current += self.step
        return self.current

    def at(self, iso: str) -> None:
        """Put the clock at an ISO 8601 time, UTC unless the text gives an offset."""
        moment = datetime.fromisoformat(iso)
        self.current = moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def next_day(self, days: int = 1, *, hour: int = 9) -> None:
        """Move to ``hour``:00 UTC, ``days`` days after the current one."""
        day = self.current.date() + timedelta(days=days)
        self.current = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)

    @property
    def today(self) -> date:
        return self.current.date()


@contextlib.contextmanager
def fake_clock(
    start: date | datetime, *, step: timedelta = timedelta(seconds=1)
) -> Iterator[FakeClock]:
    """kamflow's module clock is a ``FakeClock(start, step=step)`` for the length of the
    block: for in-process command-line tests, whose Kamflow the CLI builds. A test that
    builds its own Kamflow gives it the clock instead (``Kamflow(locator, clock=...)``).
    The one place in the tests that swaps the module clock."""
    fake = FakeClock(start, step=step)
    set_clock(fake)
    try:
        yield fake
    finally:
        set_clock(None)


# ------------------------------------------------------------------ commands through the domain
ACTOR = "li.wei"  # who the tests' commands are recorded as, unless a test says otherwise


def run(
    kf: Kamflow,
    command: str,
    fields: dict[str, Any],
    *,
    actor: str = ACTOR,
    command_id: str | None = None,
    again: bool = False,
) -> Outcome:
    """Execute ``command`` (its name as users type it: ``"visit log"``) with ``fields``
    (keyed by field name, values as `kamflow apply` takes them), as the command line and
    `apply` do. Raises what the command raises (InvalidInput, NotFound, RuleViolation...)."""
    if command == "roster grant" and "key" not in fields:
        fields = {**fields, "key": personal_key(str(fields["person"]))}
    return kf.execute(
        build(COMMANDS[command], fields), actor=actor, command_id=command_id, again=again
    )


def personal_key(person: str) -> str:
    """``person``'s public key, their key pair made first if they have none, in the
    test's own config folder (``_own_config_folder``): what `kamflow id init` prints.
    ``run`` and ``invoke`` register it with every `roster grant` that names no --key,
    as an admin would, so that the grantee can sign their writes (ADR 0025)."""
    from kamflow.identity import load_key, make_key

    found = load_key(person) or make_key(person)
    return found.public


class RunOptions(TypedDict, total=False):
    """``run``'s keyword arguments, for the helpers that pass them on."""

    actor: str
    command_id: str | None
    again: bool


def refused(
    kf: Kamflow, command: str, fields: dict[str, Any], **options: Unpack[RunOptions]
) -> KamflowError:
    """The error a command that must be refused raises (``run``'s arguments); asserts
    it wrote nothing."""
    before = kf.event_count()
    with pytest.raises(KamflowError) as info:
        run(kf, command, fields, **options)
    assert kf.event_count() == before
    return info.value


# ------------------------------------------------------------------ the command line
def invoke(
    db: str,
    *args: str,
    actor: str = ACTOR,
    input: str | bytes | None = None,
    env: Mapping[str, str | None] | None = None,
) -> Result:
    """``kamflow --db DB --actor ACTOR ARGS...`` in process (click's CliRunner), with
    ``input`` on stdin and ``env`` over the environment."""
    if args[:2] == ("roster", "grant") and len(args) > 2 and "--key" not in args:
        args = (*args, "--key", personal_key(args[2]))
    # catch_exceptions=False: a traceback fails the test instead of hiding in a Result.
    return CliRunner().invoke(
        cli, ["--db", db, "--actor", actor, *args], input=input, env=env, catch_exceptions=False
    )


class Kam(Protocol):
    """``invoke`` bound to one store: ``kam("account", "show", "acme")``."""

    def __call__(self, *args: str, actor: str = ..., input: str | bytes | None = ...) -> Result: ...


def invoker(db: str, *, actor: str = ACTOR, env: Mapping[str, str | None] | None = None) -> Kam:
    """A ``Kam`` for the store ``db``; ``actor`` and ``env`` apply to every call."""
    default_actor = actor

    def kam(*args: str, actor: str = default_actor, input: str | bytes | None = None) -> Result:
        return invoke(db, *args, actor=actor, input=input, env=env)

    return kam


def imported_by(folder: Path, *args: str) -> set[str]:
    """Every module a real `kamflow ARGS` process, run in ``folder``, imported."""
    code = (
        "import sys\n"
        "from kamflow.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.__stdout__.write('\\n' + __import__('json').dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=folder, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture
def kam(sqlite_locator: str) -> Kam:
    """The command line on a fresh SQLite store (a module needing another store defines
    its own ``kam`` with ``invoker``)."""
    return invoker(sqlite_locator)


# The events the first write to a new database records before its own: governance
# Started and AdminBootstrapped (its writer becomes the admin; ADR 0023).
FIRST_WRITE = 2


def ok(result: Result) -> list[str]:
    """The stdout lines of a command that must have succeeded, saying nothing on stderr."""
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    return result.stdout.splitlines()


def json_of(result: Result) -> Any:
    """What a command that must have succeeded, saying nothing on stderr, printed as JSON."""
    ok(result)
    return json.loads(result.stdout)


def refusal(result: Result, code: int) -> str:
    """The one line on stderr of a command that must have failed with exit ``code``,
    printing nothing on stdout."""
    assert (result.exit_code, result.stdout) == (code, ""), result.output
    (line,) = result.stderr.splitlines()
    return line


CommandPath = tuple[str, ...]


def command_tree(
    group: click.Group = cli, prefix: CommandPath = ()
) -> dict[CommandPath, click.Command]:
    """Every command and group under ``group`` by the words a user types."""
    ctx = click.Context(group)
    found: dict[CommandPath, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, (*prefix, name)
        found[(*prefix, name)] = command
        if isinstance(command, click.Group):
            found.update(command_tree(command, (*prefix, name)))
    return found


def leaf_commands() -> dict[CommandPath, click.Command]:
    """Every command that is not a group, by the words a user types."""
    return {path: c for path, c in command_tree().items() if not isinstance(c, click.Group)}


def write_commands() -> list[tuple[list[str], click.Command]]:
    """Every command that records something (the ones taking --command-id), by path,
    in the order of their paths."""
    return [
        (list(path), command)
        for path, command in sorted(leaf_commands().items())
        if any(p.name == "command_id" for p in command.params)
    ]


# ------------------------------------------------------------------ stores
POSTGRES_URL = os.environ.get(
    "KAMFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_problem() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"


_PROBLEM: str | bool | None = False


def postgres_problem() -> str | None:
    global _PROBLEM
    if _PROBLEM is False:
        _PROBLEM = _postgres_problem()
        if _PROBLEM and os.environ.get("CI"):
            # In CI PostgreSQL is part of the contract: fail, never skip quietly.
            raise RuntimeError(_PROBLEM)
    return _PROBLEM  # type: ignore[return-value]


def need_postgres() -> None:
    """Skip the running test, saying why, when the PostgreSQL server is not reachable."""
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)


def _demo_key_files() -> dict[str, str]:
    """The demo's people's key files (name -> PEM text), made once per session."""
    import tempfile

    from kamflow.demo.catalogue import catalogue
    from kamflow.demo.plan import demo_people
    from kamflow.identity import DEMO_SECRET, derived_seed, keep_seed

    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        before = os.environ.get("KAMFLOW_CONFIG_DIR")
        os.environ["KAMFLOW_CONFIG_DIR"] = scratch
        try:
            for person in demo_people(catalogue()):
                path = keep_seed(person, derived_seed(person, DEMO_SECRET))
                files[path.name] = path.read_text()
        finally:
            if before is None:
                os.environ.pop("KAMFLOW_CONFIG_DIR")
            else:
                os.environ["KAMFLOW_CONFIG_DIR"] = before
    return files


DEMO_KEY_FILES = _demo_key_files()


@pytest.fixture(autouse=True)
def _own_config_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # People's signing keys (kamflow.identity) and checkpoint keys live in the user's
    # config folder: every test has its own, never the real home's.
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("KAMFLOW_CONFIG_DIR", str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    # The demo's people have their demo keys here, as on the machine that ran `kamflow
    # demo` each would: tests write to demo stores as them (li.wei is one, so li.wei's
    # key in a new store is this one too; kamflow makes one only for someone without).
    keys = folder / "keys"
    keys.mkdir(mode=0o700)
    for name, pem in DEMO_KEY_FILES.items():
        path = keys / name
        path.write_text(pem)
        path.chmod(0o600)


@pytest.fixture(autouse=True)
def _unbounded_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables fit COLUMNS when it is set (kamflow.cli.show): a terminal that exports it
    # must not change what a test sees. Tests of fitting set it themselves.
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def sqlite_locator(tmp_path: Path) -> str:
    return str(tmp_path / "kamflow.db")


@pytest.fixture
def empty_store(sqlite_locator: str) -> str:
    """A SQLite store that exists, its tables made as a first write makes them, and
    holds no events. (A read of a store that does not exist is refused instead.)"""
    Kamflow(sqlite_locator).close()
    return sqlite_locator


@pytest.fixture
def postgres_locator() -> Iterator[str]:
    need_postgres()
    with postgres_schema() as url:
        yield url


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A locator for a fresh PostgreSQL schema, dropped with everything in it after
    (and its key store's schema, ``<schema>_keys``: kamflow.personal)."""
    import psycopg

    schema = f"kf_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_keys CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name, "sqlite" then "postgres" (skipped without a server), for tests
    that open a store of their own per generated example with ``fresh_store``."""
    if request.param == "postgres":
        need_postgres()
    return str(request.param)


@contextlib.contextmanager
def fresh_store(backend: str) -> Iterator[str]:
    """A locator for an empty store of ``backend`` ("sqlite" or "postgres"), removed
    after the block."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kamflow-") as folder:
            yield str(Path(folder) / "kamflow.db")
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def locator(request: pytest.FixtureRequest) -> str:
    """A fresh, empty store: once as a SQLite file, once as a PostgreSQL schema."""
    name = "sqlite_locator" if request.param == "sqlite" else "postgres_locator"
    return str(request.getfixturevalue(name))


# ------------------------------------------------------------------ stores written by older kamflow
StoredRow = tuple[str, int, str, bytes]  # originator_id, originator_version, topic, state


def stored_rows(locator: str) -> list[StoredRow]:
    """Every stored event, in log order, as the store holds it."""
    db = ViewDB(locator)
    try:
        found = db.rows(
            f"SELECT originator_id, originator_version, topic, state FROM {db.events_table}"
            f" ORDER BY {db.position_column}"
        )
    finally:
        db.close()
    return [(str(a), int(v), str(t), bytes(s)) for a, v, t, s in found]


@contextlib.contextmanager
def unsealed() -> Iterator[None]:
    """Kamflows opened in the block make and use eventsourcing's plain recorders, as
    kamflow did before the seal (ADR 0017): no seal tables, no seals."""
    from kamflow.sealed import NO_SEAL_ENV

    before = os.environ.get(NO_SEAL_ENV)
    os.environ[NO_SEAL_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[NO_SEAL_ENV]
        else:
            os.environ[NO_SEAL_ENV] = before


def write_rows(locator: str, rows: list[StoredRow]) -> None:
    """A fresh store at ``locator`` with exactly these events, byte for byte, positions
    1..n, as a kamflow from before the seal wrote them: eventsourcing's tables without
    the seal's (``unsealed``), so the next Kamflow to open it seals them after the fact."""
    with unsealed():
        Kamflow(locator).close()
    db = ViewDB(locator)
    try:
        with db.transaction() as cur:
            cur.executemany(
                db.sql(
                    f"INSERT INTO {db.events_table}"
                    " (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)"
                ),
                rows,
            )
    finally:
        db.close()


# The events that gained ``previous`` with issue 11 (class_version 2).
REPLACING = (
    "ProfileUpdated",
    "ContactChanged",
    "CompetitorNoted",
    "TeamMemberAssigned",
    "TeamMemberReleased",
)


def strip_old_values(locator: str) -> int:
    """Rewrite the store's change events (``REPLACING``) as kamflow stored them before
    issue 11: no ``previous``, no class_version. Returns how many were rewritten."""
    db = ViewDB(locator)
    topics = [f"kamflow.domain.account:Account.{name}" for name in REPLACING]
    try:
        rows = db.rows(
            f"SELECT {db.position_column}, state FROM {db.events_table}"
            f" WHERE topic IN ({', '.join('?' for _ in topics)})",
            topics,
        )
        with db.transaction() as cur:
            for position, state in rows:
                fields = json.loads(bytes(state))
                del fields["previous"], fields["class_version"]
                cur.execute(
                    db.sql(
                        f"UPDATE {db.events_table} SET state = ? WHERE {db.position_column} = ?"
                    ),
                    (json.dumps(fields).encode(), position),
                )
    finally:
        db.close()
    return len(rows)


def snapshot_views(kf: Kamflow) -> ViewDB:
    """Views of everything the store holds right now, in a throw-away database."""
    db = ViewDB(":memory:")
    projector = Projector(db)
    projector.ensure_schema()
    projector.catch_up(StoreSource(kf.locator))
    return db


def old_store(name: str, locator: str) -> str:
    """``locator`` made to hold what an older kamflow stored in ``tests/fixtures/NAME``
    (a SQLite file, gzipped or not): a copy of the file on SQLite, its events byte for
    byte on PostgreSQL (their snapshots left out). Returns ``locator``."""
    fixture = FIXTURES / name
    if locator.startswith("postgresql"):
        with tempfile.TemporaryDirectory() as folder:
            plain = old_store(name, str(Path(folder) / "store.db"))
            write_rows(locator, stored_rows(plain))
    elif fixture.suffix == ".gz":
        with gzip.open(fixture) as packed, open(locator, "wb") as out:
            shutil.copyfileobj(packed, out)
    else:
        shutil.copy(fixture, locator)
    return locator


def report_commands(locator: str) -> dict[str, list[str]]:
    """The --json command of every report, the customer file of every account included."""
    found = {name: ["report", name, "--json"] for name in REPORT_MODULES if name != "file"}
    # Accounts closed or merged are out of every report (ADR 0020).
    keys = [
        r["key"]
        for r in json_of(invoke(locator, "account", "list", "--json"))
        if r["lifecycle"] not in ("closed", "merged")
    ]
    for key in keys:
        found[f"file {key}"] = ["report", "file", key, "--json"]
    return found


# ------------------------------------------------------------------ the event log, cut short
class Capped:
    """The store's log as if it ended at ``upto``: a catch-up or rebuild that stops
    part-way through what was written, not at a write or batch boundary."""

    def __init__(self, source: EventSource, upto: int) -> None:
        self.source = source
        self.upto = upto

    def max_position(self) -> int:
        return min(self.source.max_position(), self.upto)

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        return [(p, e) for p, e in self.source.read(after, limit) if p <= self.upto]


class Interrupting:
    """The store's log, broken off after ``reads`` reads by raising ``error`` (Ctrl-C by
    default), as a killed or interrupted rebuild stops; ``meanwhile`` runs before each
    read that goes through (another process at work)."""

    def __init__(
        self,
        source: EventSource,
        reads: int,
        meanwhile: Callable[[], None] = lambda: None,
        error: type[BaseException] = KeyboardInterrupt,
    ) -> None:
        self.source = source
        self.reads = reads
        self.meanwhile = meanwhile
        self.error = error

    def max_position(self) -> int:
        return self.source.max_position()

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        if self.reads == 0:
            raise self.error
        self.reads -= 1
        self.meanwhile()
        return self.source.read(after, limit)


# ------------------------------------------------------------------ values
def event_count(locator: str) -> int:
    """Events in the store, read by a Kamflow of its own."""
    kamflow = Kamflow(locator)
    try:
        return kamflow.event_count()
    finally:
        kamflow.close()


def typed(value: Any) -> Any:
    """A value with the type of every part made visible, so that a Decimal that came
    back as a float, a list as a tuple or a date as a string compares unequal."""
    if isinstance(value, dict):
        return ("dict", {(type(k).__name__, k): typed(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    return (type(value).__name__, value)


# ------------------------------------------------------------------ reference parsers
# What kamflow must take as a date or a number, restated from the README's rule rather
# than imported, so that a change to the rule has to change the tests too (issue 10).
DIGITS = "0123456789"


def plain_date(text: str, today: date) -> date | None:
    """The day ``text`` names (``YYYY-MM-DD`` in ASCII digits, ``today``, ``yesterday``;
    surrounding whitespace ignored) from 1900-01-01 to 2999-12-31, or None."""
    text = text.strip()
    if text.lower() == "today":
        return today
    if text.lower() == "yesterday":
        return today - timedelta(days=1)
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    year, month, day = text[:4], text[5:7], text[8:]
    if not all(ch in DIGITS for ch in year + month + day):
        return None
    try:
        found = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return found if date(1900, 1, 1) <= found <= date(2999, 12, 31) else None


def plain_number(text: str) -> Decimal | None:
    """The number ``text`` writes (ASCII digits, an optional leading minus, thousands in
    comma-separated groups of three or no commas, an optional fraction with at least one
    digit; surrounding whitespace ignored), or None."""
    text = text.strip()
    body = text[1:] if text.startswith("-") else text
    whole, point, fraction = body.partition(".")
    if point and (not fraction or any(ch not in DIGITS for ch in fraction)):
        return None
    groups = whole.split(",")
    if not groups[0] or len(groups[0]) > (3 if len(groups) > 1 else len(groups[0])):
        return None
    if any(len(g) != 3 for g in groups[1:]) or any(ch not in DIGITS for ch in "".join(groups)):
        return None
    value = Decimal("".join(groups) + (point + fraction))
    return -value if text.startswith("-") else value

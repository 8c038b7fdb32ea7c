"""Storage and connection faults (issue 8, items 4-6): one line that says the cause and
the store (never its password), exit 1, at once, on the command path and the report
path alike; malformed locators are bad input (exit 2) before anything is opened.

Also: a read-only store still reads; a lock held by another process is waited for
once, for KAMFLOW_LOCK_TIMEOUT; a stored event that cannot be read is named by account
key, version and log position; a snapshot that cannot be read is skipped with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import (
    ACTOR,
    FIRST_WRITE,
    POSTGRES_URL,
    ROOT,
    FakeClock,
    event_count,
    fake_clock,
    invoker,
    need_postgres,
    postgres_schema,
    refusal,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.batch import apply_lines
from kamflow.domain.errors import InvalidInput
from kamflow.domain.values import account_id

# The command path (Kamflow) and the report path (ViewDB), as a user meets them.
COMMAND_PATH = [["account", "list"], ["account", "open", "x", "--name", "X",
                 "--industry", "feed", "--owner", "li"]]  # fmt: skip
REPORT_PATH = [["report", "portfolio"], ["projections", "rebuild"], ["projections", "status"]]
BOTH_PATHS = COMMAND_PATH + REPORT_PATH


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    with fake_clock(date(2026, 3, 2)) as fake:
        yield fake


def error(result: Result, code: int) -> str:
    """The one line of stderr of a command that must have failed with ``code``."""
    line = refusal(result, code)
    assert line.startswith("Error: ")
    assert "internal error" not in line
    return line


def fill(locator: str, lines: list[dict[str, Any]]) -> None:
    kf = Kamflow(locator)
    try:
        apply_lines(kf, [json.dumps(line).encode() for line in lines], actor=ACTOR)
    finally:
        kf.close()


def opening(key: str) -> dict[str, Any]:
    return {"command": "account open", "account": key, "name": key.title(),
            "industry": "feed", "owner": ACTOR}  # fmt: skip


def notes(key: str, count: int) -> list[dict[str, Any]]:
    return [
        {"command": "competitor note", "account": key, "competitor": "DSM", "products": f"p{n}"}
        for n in range(count)
    ]


# ------------------------------------------------------------------ locators (exit 2)
BAD_LOCATORS = {
    "port not a number": "postgresql://postgres@127.0.0.1:abc/postgres",
    "port out of range": "postgresql://postgres@127.0.0.1:70000/postgres",
    "connect_timeout not a number": f"{POSTGRES_URL}?connect_timeout=abc",
    "no database name": "postgresql://postgres@127.0.0.1",
    "empty database name": "postgresql://postgres@127.0.0.1:5432/",
    "schema injection": f"{POSTGRES_URL}?schema=public%22%3B%20DROP%20TABLE%20canary%3B%20--",
    "schema with a dash": f"{POSTGRES_URL}?schema=a-b",
    "schema too long": f"{POSTGRES_URL}?schema={'s' * 64}",
    "unknown parameter": f"{POSTGRES_URL}?sslmode=require",
    "parameter twice": f"{POSTGRES_URL}?schema=a&schema=b",
}


@pytest.mark.parametrize("args", BOTH_PATHS, ids=" ".join)
@pytest.mark.parametrize("url", BAD_LOCATORS.values(), ids=BAD_LOCATORS.keys())
def test_a_malformed_database_url_is_bad_input_on_every_path(url: str, args: list[str]) -> None:
    # No server is needed: the URL is refused before anything connects.
    started = time.monotonic()

    line = error(invoker(url)(*args), 2)

    assert time.monotonic() - started < 2
    assert "DROP" not in line or "must be a plain identifier" in line


def test_a_url_without_a_database_name_says_give_one() -> None:
    line = error(invoker("postgresql://postgres@127.0.0.1")("account", "list"), 2)

    assert "give a database name" in line


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_a_schema_is_used_only_if_it_is_a_plain_identifier(schema: str) -> None:
    from urllib.parse import quote

    from kamflow.storage import SCHEMA_NAME, parse

    try:
        store = parse(f"{POSTGRES_URL}?schema={quote(schema, safe='')}")
    except InvalidInput as exc:
        assert "\n" not in str(exc)
        assert not SCHEMA_NAME.fullmatch(schema) or schema == ""
    else:
        assert store.schema is not None and SCHEMA_NAME.fullmatch(store.schema)


def test_the_explicit_postgres_database_of_the_tests_is_still_accepted() -> None:
    from kamflow.storage import parse

    store = parse("postgresql://postgres@127.0.0.1:5432/postgres")

    assert (store.dbname, store.port, store.user) == ("postgres", 5432, "postgres")


# ------------------------------------------------------------ SQL injection (item 3)
@pytest.fixture
def canary_schema() -> Iterator[str]:
    """A schema of our own holding a table named canary."""
    need_postgres()
    import psycopg

    with postgres_schema() as url:
        schema = url.rsplit("schema=", 1)[1]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {schema}.canary (n int)")
        yield schema


@pytest.mark.parametrize("args", BOTH_PATHS, ids=" ".join)
def test_an_injection_through_schema_is_refused_and_drops_nothing(
    canary_schema: str, args: list[str]
) -> None:
    import psycopg

    url = f"{POSTGRES_URL}?schema={canary_schema}%22%3B%20DROP%20TABLE%20canary%3B%20--"

    error(invoker(url)(*args), 2)

    with psycopg.connect(POSTGRES_URL) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (f"{canary_schema}.canary",)).fetchone()
    assert found is not None and found[0] is not None, "the canary table was dropped"


# ---------------------------------------------------- PostgreSQL connection (item 6)
CONNECTION_FAULTS = {
    "wrong role": ("postgresql://nosuchuser:s3cret@127.0.0.1:5432/postgres",
                   'role "nosuchuser" does not exist'),
    "missing database": ("postgresql://postgres:s3cret@127.0.0.1:5432/nosuchdb",
                         'database "nosuchdb" does not exist'),
    "missing schema": (f"{POSTGRES_URL}?schema=nosuchschema",
                       'schema "nosuchschema" does not exist'),
    "closed port": ("postgresql://postgres:s3cret@127.0.0.1:1/postgres", "Connection refused"),
}  # fmt: skip


@pytest.mark.parametrize("args", BOTH_PATHS, ids=" ".join)
@pytest.mark.parametrize(("url", "cause"), CONNECTION_FAULTS.values(), ids=CONNECTION_FAULTS.keys())
def test_a_connection_fault_says_its_cause_at_once_on_every_path(
    url: str, cause: str, args: list[str]
) -> None:
    if "Connection refused" not in cause:
        need_postgres()
    started = time.monotonic()

    line = error(invoker(url)(*args), 1)

    assert time.monotonic() - started < 3, "waited for the pool instead of saying why"
    assert cause in line
    assert "s3cret" not in line
    assert url.split("@")[1].split("?")[0].split("/")[0] in line  # host:port named


# ------------------------------------------------------------- SQLite files (item 5)
def text_file(path: Path) -> None:
    path.write_text("name,owner\nacme,li.wei\n")


def truncated(path: Path) -> None:
    fill(str(path), [opening(f"a{n}") for n in range(40)])
    kf = Kamflow(str(path))
    kf.close()
    # Checkpoint, so the file alone holds everything, then cut it short.
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for end in ("-wal", "-shm"):
        Path(f"{path}{end}").unlink(missing_ok=True)


def damaged_header(path: Path) -> None:
    fill(str(path), [opening("a")])
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[16:24] = b"\xff" * 8  # page size and format bytes
    path.write_bytes(bytes(data))


FILE_FAULTS = {
    "text file": (text_file, "file is not a database"),
    "truncated": (truncated, "malformed"),
    "damaged header": (damaged_header, ""),
}


@pytest.mark.parametrize("args", BOTH_PATHS, ids=" ".join)
@pytest.mark.parametrize(("make", "cause"), FILE_FAULTS.values(), ids=FILE_FAULTS.keys())
def test_a_file_that_is_not_a_sound_database_is_one_line_on_every_path(
    tmp_path: Path, make: Callable[[Path], None], cause: str, args: list[str]
) -> None:
    path = tmp_path / "store.db"
    make(path)
    before = path.read_bytes()

    line = error(invoker(str(path))(*args), 1)

    assert f'"{path}"' in line
    assert cause in line
    assert path.read_bytes() == before


# --------------------------------------------------------------- read-only (item 5)
@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file and its folder without any write permission (what root must honour too)."""
    folder = path.parent
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (path, folder)}
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def frozen_store(tmp_path: Path) -> Iterator[Path]:
    """A store in a folder of its own: acme with views caught up, then beta, which the
    views have not seen; checkpointed and closed cleanly (no -wal or -shm file)."""
    folder = tmp_path / "frozen"
    folder.mkdir()
    path = folder / "store.db"
    kam = invoker(str(path))
    assert kam("account", "open", "acme", "--name", "Acme", "--industry", "feed",
               "--owner", ACTOR).exit_code == 0  # fmt: skip
    assert kam("report", "funnel").exit_code == 0
    assert kam("account", "open", "beta", "--name", "Beta", "--industry", "feed",
               "--owner", ACTOR).exit_code == 0  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == ["store.db"]
    with read_only(path):
        yield path


READS = {
    "account list": (["account", "list"], "beta"),
    "account show": (["account", "show", "beta"], "Beta"),
    "account history": (["account", "history", "acme"], 'opened "Acme"'),
    "report cadence": (["report", "cadence"], "beta"),
    "report file": (["report", "file", "beta"], "key: beta"),
    "report audit": (["report", "audit"], "AccountOpened"),
    "report as of": (["report", "portfolio", "--as-of", "2026-03-02"], "beta"),
    "projections status": (["projections", "status"], "accounts"),
}


@pytest.mark.parametrize(("args", "shows"), READS.values(), ids=READS.keys())
def test_a_read_only_store_in_a_read_only_folder_can_be_read(
    frozen_store: Path, args: list[str], shows: str
) -> None:
    before = digest(frozen_store.parent)

    result = invoker(str(frozen_store))(*args)

    assert (result.exit_code, result.stderr) == (0, "")
    assert shows in result.stdout
    assert digest(frozen_store.parent) == before


def test_a_report_on_a_read_only_store_includes_what_its_views_had_not_seen(
    frozen_store: Path,
) -> None:
    before = digest(frozen_store.parent)

    listed = json.loads(invoker(str(frozen_store))("report", "cadence", "--json").stdout)

    assert {row["key"] for row in listed["rows"]} == {"acme", "beta"}
    assert digest(frozen_store.parent) == before  # views built in memory, not stored


@pytest.mark.parametrize(
    "args",
    [["account", "open", "gamma", "--name", "G", "--industry", "feed", "--owner", "li"],
     ["account", "update", "acme", "--notes", "x"], ["projections", "rebuild"]],
    ids=" ".join,
)  # fmt: skip
def test_a_write_to_a_read_only_store_is_refused_naming_the_file(
    frozen_store: Path, args: list[str]
) -> None:
    before = digest(frozen_store.parent)

    line = error(invoker(str(frozen_store))(*args), 1)

    assert line.startswith(f'Error: database "{frozen_store}" is read-only')
    assert digest(frozen_store.parent) == before


def test_apply_to_a_read_only_store_stops_at_the_first_line(frozen_store: Path) -> None:
    line = error(invoker(str(frozen_store))("apply", "-", input=json.dumps(opening("z"))), 1)

    assert "read-only" in line


def test_a_new_store_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        # A write: only a write creates a store (a read says there is none).
        line = error(
            invoker(str(folder / "new.db"))(
                "account", "open", "z", "--name", "Z", "--industry", "feed", "--owner", "li"
            ),
            1,
        )
    finally:
        folder.chmod(0o755)

    assert "is not writable" in line
    assert list(folder.iterdir()) == []


def _unprivileged_python() -> list[str] | str:
    """A command running this kamflow as the user ``nobody``, or why there is none."""
    if os.geteuid() != 0:
        return "the tests already run as an ordinary user"
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return "setpriv is not installed"

    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"), None)
    for python in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python]
        probe = subprocess.run(
            [*command, "-c", "import kamflow.cli"],
            env={"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=60,
        )
        if probe.returncode == 0:
            return command
    return "no Python interpreter that user nobody may run can import kamflow here"


def test_as_an_ordinary_user_a_read_only_store_reads_and_refuses_writes(
    tmp_path: Path,
) -> None:
    command = _unprivileged_python()
    if isinstance(command, str):
        pytest.skip(f"cannot run kamflow as another user: {command}")
    # A folder user nobody can reach but not write.
    base = Path(tmp_path.anchor) / "tmp" / f"kamflow-ro-{os.getpid()}-{time.monotonic_ns()}"
    base.mkdir(mode=0o755)
    try:
        path = base / "store.db"
        fill(str(path), [opening("acme")])
        Kamflow(str(path)).close()
        path.chmod(0o644)  # owned by root: user nobody may read it but not write it
        base.chmod(0o755)  # root's folder: nobody cannot create -wal or -shm files

        site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
        env = {"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin", "KAMFLOW_ACTOR": "x"}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            script = "import sys; from kamflow.cli import main; main(sys.argv[1:])"
            return subprocess.run(
                [*command, "-c", script, "--db", str(path), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        listed = run("account", "list")
        report = run("report", "cadence")
        write = run("account", "update", "acme", "--notes", "x")
    finally:
        shutil.rmtree(base)

    assert (listed.returncode, listed.stderr) == (0, ""), listed.stderr
    assert "acme" in listed.stdout
    assert (report.returncode, report.stderr) == (0, ""), report.stderr
    assert write.returncode == 1
    assert write.stderr == (
        f'Error: database "{path}" is read-only (the file or its folder is not writable);'
        " nothing was written\n"
    )


# -------------------------------------------------------------------- locks (item 5)
@contextlib.contextmanager
def locked_by_another_process(path: Path) -> Iterator[None]:
    """Another process holding the store's write lock until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            conn = sqlite3.connect({str(path)!r}, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture
def store(sqlite_locator: str) -> Path:
    fill(sqlite_locator, [opening("acme")])
    return Path(sqlite_locator)


def test_a_write_blocked_by_another_process_waits_the_lock_timeout_once(store: Path) -> None:
    kam = invoker(str(store), env={"KAMFLOW_LOCK_TIMEOUT": "0.5"})
    with locked_by_another_process(store):
        started = time.monotonic()
        line = error(kam("account", "update", "acme", "--notes", "x"), 1)
        waited = time.monotonic() - started

    assert line == (
        f'Error: database "{store}" is locked by another process; waited 0.5 s'
        " (set KAMFLOW_LOCK_TIMEOUT to wait longer)"
    )
    assert 0.4 < waited < 3
    assert event_count(str(store)) == FIRST_WRITE + 1


def test_a_report_whose_views_must_catch_up_waits_the_same_lock_timeout(store: Path) -> None:
    kam = invoker(str(store), env={"KAMFLOW_LOCK_TIMEOUT": "0.5"})
    with locked_by_another_process(store):
        started = time.monotonic()
        line = error(kam("report", "portfolio"), 1)
        waited = time.monotonic() - started

    assert "is locked by another process; waited 0.5 s" in line
    assert waited < 3


def test_a_report_on_caught_up_views_answers_while_another_process_writes(store: Path) -> None:
    kam = invoker(str(store), env={"KAMFLOW_LOCK_TIMEOUT": "0.5"})
    assert kam("report", "portfolio").exit_code == 0
    with locked_by_another_process(store):
        result = kam("report", "portfolio")

    assert (result.exit_code, result.stderr) == (0, "")


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "1e9"])
def test_a_lock_timeout_that_is_not_a_number_of_seconds_is_bad_input(
    store: Path, value: str
) -> None:
    line = error(invoker(str(store), env={"KAMFLOW_LOCK_TIMEOUT": value})("account", "list"), 2)

    assert "KAMFLOW_LOCK_TIMEOUT" in line


def test_a_catch_up_on_postgresql_waits_the_lock_timeout_for_another_one(
    postgres_locator: str,
) -> None:
    import psycopg

    fill(postgres_locator, [opening("acme")])
    schema = postgres_locator.rsplit("schema=", 1)[1]
    env = {**os.environ, "KAMFLOW_LOCK_TIMEOUT": "0.5", "KAMFLOW_ACTOR": ACTOR}
    with psycopg.connect(POSTGRES_URL) as holder:
        # What a running catch-up holds (ViewDB.transaction).
        holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
        started = time.monotonic()
        # In a process of its own: the old code waited for ever.
        done = subprocess.run(
            [sys.executable, "-m", "kamflow", "--db", postgres_locator, "report", "funnel"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        waited = time.monotonic() - started

    assert (done.returncode, done.stdout) == (1, "")
    assert "is locked by another process; waited 0.5 s" in done.stderr
    assert waited < 10


# ------------------------------------------------- corrupt stored data (item 4)
KEY = "tongwei"


@pytest.fixture
def history(locator: str) -> str:
    """tongwei: 26 events (a snapshot at 20); other: 1 event."""
    fill(locator, [opening(KEY), opening("other"), *notes(KEY, 24)])
    fill(locator, [{"command": "account update", "account": KEY, "notes": "n"}])
    return locator


@contextlib.contextmanager
def raw(locator: str) -> Iterator[Any]:
    """A plain connection to the store, with ``?`` placeholders on both backends."""
    if locator.startswith("postgresql://"):
        import psycopg

        schema = locator.rsplit("schema=", 1)[1]
        with psycopg.connect(POSTGRES_URL) as conn:
            conn.execute(f"SET search_path TO {schema}")

            class Pg:
                events, snapshots, position = (
                    "kamflow_events",
                    "kamflow_snapshots",
                    "notification_id",
                )
                uid = staticmethod(lambda key: account_id(key))

                @staticmethod
                def execute(sql: str, params: tuple[Any, ...] = ()) -> Any:
                    return conn.execute(sql.replace("?", "%s"), params)

            yield Pg
            conn.commit()
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(locator)) as conn:

            class Lite:
                events, snapshots, position = "stored_events", "stored_snapshots", "rowid"
                uid = staticmethod(lambda key: account_id(key).hex)

                @staticmethod
                def execute(sql: str, params: tuple[Any, ...] = ()) -> Any:
                    return conn.execute(sql, params)

            yield Lite
            conn.commit()


def stored_state(locator: str, version: int, table: str = "events") -> bytes:
    with raw(locator) as db:
        name = db.events if table == "events" else db.snapshots
        row = db.execute(
            f"SELECT state FROM {name} WHERE originator_id=? AND originator_version=?",
            (db.uid(KEY), version),
        ).fetchone()
    return bytes(row[0])


def rewrite(locator: str, version: int, state: bytes | None = None, *, topic: str | None = None,
            table: str = "events") -> None:  # fmt: skip
    with raw(locator) as db:
        name = db.events if table == "events" else db.snapshots
        column, value = ("state", state) if topic is None else ("topic", topic)
        db.execute(
            f"UPDATE {name} SET {column}=? WHERE originator_id=? AND originator_version=?",
            (value, db.uid(KEY), version),
        )


def position(locator: str, version: int) -> int:
    with raw(locator) as db:
        row = db.execute(
            f"SELECT {db.position} FROM {db.events} WHERE originator_id=? AND originator_version=?",
            (db.uid(KEY), version),
        ).fetchone()
    return int(row[0])


def edited(locator: str, version: int, change: Callable[[dict[str, Any]], None]) -> bytes:
    state = json.loads(stored_state(locator, version))
    change(state)
    return json.dumps(state).encode()


CORRUPTIONS: dict[str, tuple[Callable[[str, int], None], str]] = {
    "broken JSON": (lambda loc, v: rewrite(loc, v, b'{"timest'), "cannot be read: JSONDecodeError"),
    "unknown topic": (
        lambda loc, v: rewrite(loc, v, topic="kamflow.domain.account:Account.Gone"),
        "cannot be read: TopicError: no event class for topic",
    ),
    "missing field": (
        lambda loc, v: rewrite(loc, v, edited(loc, v, lambda s: s.pop("actor"))),
        "cannot be read: field 'actor' is missing",
    ),
    "wrong type": (
        lambda loc, v: rewrite(loc, v, edited(loc, v, lambda s: s.update(occurred_on=5))),
        "cannot be read: field 'occurred_on' is int, not date",
    ),
}


@pytest.mark.parametrize(("corrupt", "cause"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_an_unreadable_newest_event_is_named_by_key_version_and_position(
    history: str, corrupt: Callable[[str, int], None], cause: str
) -> None:
    corrupt(history, 26)
    named = f'Error: stored event 26 of "{KEY}" (position {position(history, 26)}) {cause}'
    kam = invoker(history)

    for args in (["account", "show", KEY], ["account", "history", KEY],
                 ["account", "update", KEY, "--notes", "x"]):  # fmt: skip
        assert error(kam(*args), 1).startswith(named), args
    assert event_count(history) == FIRST_WRITE + 27


@pytest.mark.parametrize(("corrupt", "cause"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_account_list_shows_an_unreadable_account_and_lists_the_others(
    history: str, corrupt: Callable[[str, int], None], cause: str
) -> None:
    corrupt(history, 26)
    kam = invoker(history)

    table = kam("account", "list")
    listed = json.loads(kam("account", "list", "--json").stdout)

    assert table.exit_code == 0
    (warning,) = table.stderr.splitlines()
    assert warning.startswith(f'Warning: stored event 26 of "{KEY}" (position ')
    assert cause in warning
    assert [line.split()[0] for line in table.stdout.splitlines()[2:]] == ["other", KEY]
    assert table.stdout.splitlines()[3].endswith("unreadable")
    assert [(r["key"], r["status"]) for r in listed] == [("other", "ok"), (KEY, "unreadable")]
    assert listed[1]["problem"] == warning.removeprefix("Warning: ")


def test_an_unreadable_event_under_a_snapshot_is_named_where_it_is_replayed(history: str) -> None:
    CORRUPTIONS["broken JSON"][0](history, 5)
    named = f'Error: stored event 5 of "{KEY}" (position {position(history, 5)}) cannot be read'
    kam = invoker(history)

    assert error(kam("account", "history", KEY), 1).startswith(named)
    assert error(kam("account", "show", KEY, "--version", "10"), 1).startswith(named)
    assert error(kam("workflow", "check", KEY), 1).startswith(named)


SNAPSHOT_FAULTS: dict[str, Callable[[str], None]] = {
    "broken JSON": lambda loc: rewrite(loc, 20, b'{"broken', table="snapshots"),
    "missing state": lambda loc: rewrite(
        loc, 20, _without_state(stored_state(loc, 20, "snapshots"), "contacts"), table="snapshots"
    ),
    "unknown topic": lambda loc: rewrite(
        loc, 20, topic="kamflow.domain.gone:Snapshot", table="snapshots"
    ),
}


def _without_state(state: bytes, name: str) -> bytes:
    decoded = json.loads(state)
    del decoded["state"][name]
    return json.dumps(decoded).encode()


@pytest.mark.parametrize("corrupt", SNAPSHOT_FAULTS.values(), ids=SNAPSHOT_FAULTS.keys())
def test_a_snapshot_that_cannot_be_read_is_skipped_with_one_warning(
    history: str, corrupt: Callable[[str], None]
) -> None:
    kam = invoker(history)
    expected = kam("account", "show", KEY, "--json").stdout
    corrupt(history)

    shown = kam("account", "show", KEY, "--json")
    updated = kam("account", "update", KEY, "--notes", "after")

    assert (shown.exit_code, shown.stdout) == (0, expected)
    (warning,) = shown.stderr.splitlines()
    assert warning.startswith(f'Warning: snapshot of "{KEY}" at version 20 cannot be')
    assert warning.endswith("ignored it and replayed the account from its events")
    assert updated.exit_code == 0
    assert updated.stdout == f'recorded ProfileUpdated (version 27) on "{KEY}"\n'
    assert event_count(history) == FIRST_WRITE + 28


# A family of damaged events: any stored JSON an attacker or a disk could leave.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


DAMAGEABLE = ["actor", "occurred_on", "command_id", "competitor", "details", "timestamp",
              "command_id_given", "extra"]  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("damaged") / "template.db"
    with fake_clock(date(2026, 3, 2)):
        fill(str(path), [opening(KEY), opening("other"), *notes(KEY, 5)])
    return path


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.sampled_from(DAMAGEABLE),
    value=JSON_VALUES,
    cut=st.none() | st.integers(min_value=0, max_value=300),
)
def test_whatever_a_stored_event_holds_reads_name_it_and_others_still_list(
    template: Path, tmp_path: Path, field: str, value: Any, cut: int | None
) -> None:
    path = tmp_path / f"damaged-{time.monotonic_ns()}.db"
    shutil.copy(template, path)
    state = json.loads(stored_state(str(path), 6))
    state[field] = value
    data = json.dumps(state).encode()
    rewrite(str(path), 6, data if cut is None else data[:cut])
    kam = invoker(str(path))

    shown = kam("account", "show", KEY)
    listed = kam("account", "list", "--json")

    assert shown.exit_code in (0, 1)
    if shown.exit_code == 1:
        assert error(shown, 1).startswith(
            f'Error: stored event 6 of "{KEY}" (position {FIRST_WRITE + 7})'
        )
    assert listed.exit_code == 0
    assert "other" in {row["key"] for row in json.loads(listed.stdout)}

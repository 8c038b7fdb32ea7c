"""`kamflow export`, `audit verify --file` (an export checked with no database) and
`kamflow import` of an export (ADR 0018): a tampered line is named; the demo moved from
SQLite to PostgreSQL and back gives every report exactly as before; an import that
cannot be trusted, or into a database that is not empty, writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    FakeClock,
    fake_clock,
    invoker,
    json_of,
    leaf_commands,
    need_postgres,
    ok,
    old_store,
    postgres_schema,
    refusal,
    run,
)

from kamflow.application import Kamflow
from kamflow.demo import build_demo
from kamflow.projections.db import ViewDB
from kamflow.sealed import seal_meta

TODAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A config folder of the module's own, holding the signing key (never the user's)."""
    folder = tmp_path_factory.mktemp("config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder))
        patch.setenv("KAMFLOW_CONFIG_DIR", str(folder))  # where the checkpoint key is
        from kamflow.checkpoint import signing_key

        signing_key(None)
        yield folder


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, config: Path) -> str:
    """A small demo portfolio on SQLite."""
    locator = str(tmp_path_factory.mktemp("source") / "demo.db")
    kamflow = Kamflow(locator)
    try:
        build_demo(kamflow, accounts=6, seed=7, today=TODAY)
    finally:
        kamflow.close()
    return locator


@pytest.fixture(scope="module")
def exported(source: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "demo.jsonl"
    with fake_clock(TODAY):
        lines = ok(invoker(source)("export", "--out", str(path)))
    assert lines[0].startswith("exported ") and str(path) in lines[0]
    return path


@pytest.fixture(autouse=True)
def _key_folder(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    # The checkpoint key is read from KAMFLOW_CONFIG_DIR, each test's own (people's keys
    # are there): the module's key is put there too, as the one the exports are signed by.
    own = Path(os.environ["KAMFLOW_CONFIG_DIR"]) / "checkpoint-key.pem"
    if not own.exists():
        shutil.copy2(config / "checkpoint-key.pem", own)


def public_key(config: Path) -> str:
    from kamflow.checkpoint import signing_key

    return signing_key(None).public_text


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def events_in(locator: str) -> int:
    kamflow = Kamflow(locator)
    try:
        return kamflow.event_count()
    finally:
        kamflow.close()


# ------------------------------------------------------------------ the export
def test_an_export_holds_every_event_with_its_seal_and_a_signed_checkpoint(
    source: str, exported: Path, config: Path
) -> None:
    lines = lines_of(exported)
    header, first, last = json.loads(lines[0]), json.loads(lines[1]), json.loads(lines[-1])
    assert header["format"] == "kamflow-export-v1" and header["account"] is None
    assert len(lines) - 2 == events_in(source)
    assert {"position", "account", "account_id", "version", "type", "actor", "occurred_on",
            "recorded_at", "command_id", "payload", "topic", "state", "previous",
            "seal"} <= set(first)  # fmt: skip
    assert last["checkpoint"]["log"]["size"] == len(lines) - 2
    opened = next(json.loads(x) for x in lines[1:] if '"type": "AccountOpened"' in x)
    assert opened["account"] == opened["payload"]["key"]
    result = invoker(source)("audit", "verify", "--file", str(exported),
                             "--public-key", public_key(config))  # fmt: skip
    said = "\n".join(ok(result))
    assert f"{len(lines) - 2:,} events in {exported}, every seal recomputed" in said
    assert "(the trusted key)" in said


def edit(lines: list[str], index: int, change: Callable[[dict[str, Any]], None]) -> list[str]:
    """``lines`` with line ``index`` (0: the header) changed by ``change``."""
    line = json.loads(lines[index])
    change(line)
    return [*lines[:index], json.dumps(line, ensure_ascii=False), *lines[index + 1 :]]


def forge_payload(line: dict[str, Any]) -> None:
    line["payload"] = {**line["payload"], "forged": "yes"}


def forge_actor(line: dict[str, Any]) -> None:
    line["actor"] = "someone.else"


def forge_state(line: dict[str, Any]) -> None:
    line["state"] = line["state"].replace(line["actor"], "someone.else")
    line["actor"] = "someone.else"  # the readable field agrees: only the seal can tell


def forge_seal(line: dict[str, Any]) -> None:
    line["seal"] = ("0" if line["seal"][0] != "0" else "1") + line["seal"][1:]


def _edit_payload(lines: list[str]) -> list[str]:
    return edit(lines, 20, forge_payload)


def _edit_actor(lines: list[str]) -> list[str]:
    return edit(lines, 20, forge_actor)


def _edit_state(lines: list[str]) -> list[str]:
    return edit(lines, 20, forge_state)


def _edit_seal(lines: list[str]) -> list[str]:
    return edit(lines, 20, forge_seal)


def _swap(lines: list[str]) -> list[str]:
    return [*lines[:20], lines[21], lines[20], *lines[22:]]


def _drop(lines: list[str]) -> list[str]:
    return [*lines[:20], *lines[21:]]


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_edit_payload, "line 21: payload is not what the sealed event holds"),
        (_edit_actor, "line 21: actor is not what the sealed event holds"),
        (_edit_state, "line 21: seal does not match (position"),
        (_edit_seal, "line 21: seal does not match (position"),
        (_swap, "line 21: its previous seal is not the seal of the line before"),
        (_drop, "line 21: its previous seal is not the seal of the line before"),
    ],
    ids=["payload", "actor", "stored-bytes", "seal", "order", "dropped"],
)
def test_a_tampered_export_line_is_named(
    exported: Path, tmp_path: Path, tamper: object, says: str
) -> None:
    assert callable(tamper)
    forged = write(tmp_path / "forged.jsonl", tamper(lines_of(exported)))
    line = refusal(invoker(str(tmp_path / "none.db"))("audit", "verify", "--file", str(forged)), 1)
    assert line.startswith(f'Error: "{forged}" {says}')
    assert not (tmp_path / "none.db").exists()  # no database needed, none made


def test_a_cut_export_or_a_forged_checkpoint_fails(
    exported: Path, tmp_path: Path, config: Path
) -> None:
    lines = lines_of(exported)
    kam = invoker(str(tmp_path / "none.db"))
    cut = write(tmp_path / "cut.jsonl", lines[:-1])
    assert "the export ends without its checkpoint" in refusal(
        kam("audit", "verify", "--file", str(cut)), 1
    )
    # The last event dropped and the checkpoint kept: the count it signs differs.
    short = write(tmp_path / "short.jsonl", [*lines[:-2], lines[-1]])
    assert "the checkpoint signs" in refusal(kam("audit", "verify", "--file", str(short)), 1)
    # ...and a checkpoint changed to match is no longer signed by the key.
    checkpoint = json.loads(lines[-1])
    checkpoint["checkpoint"]["log"]["size"] -= 1
    forged = write(tmp_path / "forged.jsonl", [*lines[:-2], json.dumps(checkpoint)])
    assert "bad signature" in refusal(kam("audit", "verify", "--file", str(forged)), 1)
    other = "ed25519:" + "A" * 43 + "="
    line = refusal(kam("audit", "verify", "--file", str(exported), "--public-key", other), 1)
    assert "wrong key" in line


def test_one_accounts_export_verifies_line_by_line(
    source: str, tmp_path: Path, config: Path
) -> None:
    kam = invoker(source)
    key = json_of(kam("account", "list", "--json"))[0]["key"]
    path = tmp_path / "one.jsonl"
    with fake_clock(TODAY):
        ok(kam("export", "--account", key, "--out", str(path)))
    lines = lines_of(path)
    assert {json.loads(x)["account"] for x in lines[1:-1]} == {key}
    assert [json.loads(x)["version"] for x in lines[1:-1]] == list(range(1, len(lines) - 1))
    ok(kam("audit", "verify", "--file", str(path), "--public-key", public_key(config)))
    dropped = write(tmp_path / "dropped.jsonl", [*lines[:3], *lines[4:]])
    line = refusal(kam("audit", "verify", "--file", str(dropped)), 1)
    assert "line 4: version 4 of its account follows version 2: a line was dropped" in line
    cut = write(tmp_path / "cut.jsonl", [*lines[:-2], lines[-1]])
    assert "the checkpoint signs" in refusal(kam("audit", "verify", "--file", str(cut)), 1)
    # A line changed and its own seal recomputed: it checks alone, not against the
    # checkpoint, which signs every line's seal.
    from kamflow.seal import link

    def reseal(line: dict[str, Any]) -> None:
        line["state"] = line["state"].replace(line["actor"], "someone.else")
        line["actor"] = "someone.else"
        seal = link(bytes.fromhex(line["previous"]), line["position"],
                    uuid.UUID(hex=line["account_id"]), line["version"], line["topic"],
                    line["state"].encode())  # fmt: skip
        line["seal"] = seal.hex()

    resealed = write(tmp_path / "resealed.jsonl", edit(lines, 3, reseal))
    line = refusal(kam("audit", "verify", "--file", str(resealed)), 1)
    assert "the checkpoint does not sign these lines' seals" in line
    line = refusal(kam("export", "--account", "no-such-account"), 1)
    assert "no-such-account" in line


# ------------------------------------------------------------------ the import
def reports(locator: str) -> dict[str, object]:
    """Every report's --json (and the account list's), read on ``locator``."""
    kam = invoker(locator)
    found: dict[str, object] = {}
    with fake_clock(TODAY):
        accounts = json_of(kam("account", "list", "--json"))
        found["account list"] = accounts
        key = accounts[0]["key"]
        for path in sorted(leaf_commands()):
            if path[0] != "report" or path[1] == "html":
                continue
            args = [*path, key] if path[1] == "file" else list(path)
            found[" ".join(path)] = json_of(kam(*args, "--json"))
        found["account show"] = json_of(kam("account", "show", key, "--json"))
    return found


def test_the_demo_moves_to_postgresql_and_back_with_every_report_equal(
    source: str, exported: Path, tmp_path: Path, config: Path
) -> None:
    need_postgres()
    before = reports(source)
    assert len(before) >= 10
    public = public_key(config)
    with postgres_schema() as target:
        kam = invoker(target)
        said = ok(kam("import", str(exported), "--public-key", public))
        assert said[0].startswith(f"imported {len(lines_of(exported)) - 2:,} events")
        assert "events verified, every seal as chained" in "".join(ok(kam("audit", "verify")))
        assert reports(target) == before
        # ...and back: exported from PostgreSQL, imported into a new SQLite file.
        again = tmp_path / "again.jsonl"
        with fake_clock(TODAY):
            ok(kam("export", "--out", str(again)))
    # The same log, position for position and seal for seal.
    strip = [json.loads(x) for x in lines_of(again)[1:-1]]
    assert strip == [json.loads(x) for x in lines_of(exported)[1:-1]]
    back = str(tmp_path / "back.db")
    ok(invoker(back)("import", str(again)))
    assert reports(back) == before
    checkpoint = tmp_path / "cp.json"
    checkpoint.write_text(json.dumps(json.loads(lines_of(exported)[-1])["checkpoint"]))
    said = "".join(ok(invoker(back)("audit", "verify", "--checkpoint", str(checkpoint),
                                    "--public-key", public)))  # fmt: skip
    assert "extends the checkpoint" in said and "(the trusted key)" in said


def test_an_import_into_a_database_that_is_not_empty_is_refused(
    locator: str, exported: Path
) -> None:
    kam = invoker(locator)
    ok(kam("import", str(exported)))
    count = events_in(locator)
    line = refusal(kam("import", str(exported)), 1)
    assert "is not empty (it holds" in line and "nothing was written" in line
    assert events_in(locator) == count
    # Writing goes on after the imported log, on the same chain.
    key = json_of(kam("account", "list", "--json"))[0]["key"]
    kamflow = Kamflow(locator, clock=FakeClock(TODAY))
    try:
        cost = {"account": key, "amount": "100", "category": "travel", "description": "after"}
        run(kamflow, "cost record", cost)
    finally:
        kamflow.close()
    last = json.loads(lines_of(exported)[-1])["checkpoint"]["log"]
    assert json_of(kam("audit", "verify", "--json"))["events"] == count + 1
    db = ViewDB(locator)
    try:
        assert db.max_position() == last["last_position"] + 1
    finally:
        db.close()


def test_a_tampered_export_is_refused_and_nothing_is_written(
    locator: str, exported: Path, tmp_path: Path
) -> None:
    lines = lines_of(exported)
    # The very last event edited: every line before it went in before it was read.
    forged = write(tmp_path / "forged.jsonl", edit(lines, len(lines) - 2, forge_payload))
    line = refusal(invoker(locator)("import", str(forged)), 1)
    assert f"line {len(lines) - 1}: payload is not what the sealed event holds" in line
    if locator.startswith("postgres"):
        assert events_in(locator) == 0
    else:
        assert not Path(locator).exists()


def test_import_names_what_it_cannot_load(sqlite_locator: str, source: str, tmp_path: Path) -> None:
    kam = invoker(sqlite_locator)
    # A table is imported through a mapping (kamflow.tableimport), never as an export.
    table = write(tmp_path / "customers.csv", ["key,name", "acme,Acme"])
    line = refusal(kam("import", str(table)), 2)
    assert line.endswith("give --mapping MAP.toml; write a first one with"
                         " `kamflow import --suggest customers.csv > map.toml`")  # fmt: skip
    notes = write(tmp_path / "notes.jsonl", ['{"command": "visit log"}'])
    line = refusal(kam("import", str(notes)), 2)
    assert line.endswith("notes.jsonl: neither a kamflow export nor a table; kamflow imports a"
                         " table (.csv, .tsv or .xlsx) through --mapping MAP.toml, and a"
                         " command stream is run by `kamflow apply`")  # fmt: skip
    key = json_of(invoker(source)("account", "list", "--json"))[0]["key"]
    one = tmp_path / "one.jsonl"
    ok(invoker(source)("export", "--account", key, "--out", str(one)))
    line = refusal(kam("import", str(one)), 2)
    assert f"is an export of one account ({key}), not of the whole log" in line
    assert not Path(sqlite_locator).exists()


def test_a_store_sealed_after_the_fact_says_so_after_an_import_too(
    locator: str, tmp_path: Path
) -> None:
    old = old_store("nul-03f4076.db", str(tmp_path / "old.db"))
    kamflow = Kamflow(old)  # first use: its history is sealed after the fact
    try:
        meta = seal_meta(kamflow)
    finally:
        kamflow.close()
    assert meta["sealed_after_from"] == "1"
    path = tmp_path / "old.jsonl"
    ok(invoker(old)("export", "--out", str(path)))
    assert json.loads(lines_of(path)[0])["seal_meta"] == {
        k: v for k, v in meta.items() if k != "algorithm"
    }
    ok(invoker(locator)("import", str(path)))
    kamflow = Kamflow(locator)
    try:
        assert seal_meta(kamflow) == meta
    finally:
        kamflow.close()

"""Signed checkpoints (`kamflow audit checkpoint`, `audit verify --checkpoint`): what a
sealed log alone cannot show -- its last events deleted, the database swapped for an
older backup, the log edited and every seal recomputed -- is found against a checkpoint
the auditor filed away (ADR 0018). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import stat
import uuid
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from conftest import FIRST_WRITE, Kam, fake_clock, invoker, ok, postgres_schema, refusal, run

from kamflow.application import Kamflow
from kamflow.projections.db import ViewDB
from kamflow.seal import GENESIS, link

DAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The signing key is kept in a config folder of the test's own, never the user's,
    and made before the test (its first use is a test of its own)."""
    from kamflow.checkpoint import signing_key

    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    assert signing_key(None).made
    return folder


def cost(key: str, description: str) -> dict[str, str]:
    return {"account": key, "amount": "100", "category": "travel", "description": description}


def history(locator: str, accounts: int = 2, visits: int = 3) -> None:
    """A few accounts, each opened and a few costs recorded."""
    kf = Kamflow(locator)
    try:
        with fake_clock(DAY):
            for n in range(accounts):
                key = f"acct{n}"
                run(kf, "account open", {"account": key, "name": f"Account {n}", "industry": "feed",
                                         "owner": "li.wei"})  # fmt: skip
                for v in range(visits):
                    run(kf, "cost record", cost(key, f"review {v}"))
    finally:
        kf.close()


def more(locator: str, key: str = "acct0", visits: int = 2) -> None:
    kf = Kamflow(locator)
    try:
        with fake_clock(DAY):
            for v in range(visits):
                run(kf, "cost record", cost(key, f"later {v}"))
    finally:
        kf.close()


def checkpoint(kam: Kam, path: Path) -> str:
    """Make a checkpoint at ``path``; returns the public key it printed."""
    lines = ok(kam("audit", "checkpoint", "--out", str(path)))
    assert lines[-1].startswith("public key (key id ")
    return lines[-1].split(": ", 1)[1]


def failed(result: Result) -> str:
    """The one line on stderr of an `audit verify` that found something (exit 1); its
    table of checks is on stdout."""
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    return line


def sql(locator: str, *statements: str) -> None:
    db = ViewDB(locator)
    try:
        with db.transaction() as cur:
            for statement in statements:
                cur.execute(db.sql(statement))
    finally:
        db.close()


def reseal(locator: str) -> None:
    """What someone who edits the log and knows the format does next: recompute every
    seal, so that the chain alone verifies again."""
    db = ViewDB(locator)
    try:
        rows = db.rows(
            f"SELECT {db.position_column}, originator_id, originator_version, topic, state"
            f" FROM {db.events_table} ORDER BY {db.position_column}"
        )
        previous = GENESIS
        sealed = []
        for position, aid, version, topic, state in rows:
            uid = aid if isinstance(aid, uuid.UUID) else uuid.UUID(str(aid))
            previous = link(previous, int(position), uid, int(version), str(topic), bytes(state))
            sealed.append((previous, int(position)))
        with db.transaction() as cur:
            cur.execute("DELETE FROM kamflow_seals")
            cur.executemany(
                db.sql("INSERT INTO kamflow_seals (seal, position) VALUES (?, ?)"), sealed
            )
    finally:
        db.close()


def test_a_checkpoint_is_signed_and_a_log_that_grew_still_extends_it(
    locator: str, tmp_path: Path
) -> None:
    history(locator)
    kam = invoker(locator, actor="gao.yan")
    public = checkpoint(kam, tmp_path / "cp.json")
    statement = json.loads((tmp_path / "cp.json").read_text())
    # history() writes 8 events after the first writer's admin (ADR 0023).
    assert statement["log"]["size"] == 8 + FIRST_WRITE
    assert statement["signer"] == "gao.yan"
    assert statement["public_key"] == public
    more(locator)
    said = "\n".join(
        ok(kam("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"),
               "--public-key", public))
    )  # fmt: skip
    assert f"{10 + FIRST_WRITE} events verified" in said
    assert "extends the checkpoint of" in said and f"({8 + FIRST_WRITE} events)" in said
    assert "(the trusted key)" in said


def test_deleting_the_last_events_is_found_against_a_checkpoint(
    locator: str, tmp_path: Path
) -> None:
    history(locator)
    kam = invoker(locator)
    public = checkpoint(kam, tmp_path / "cp.json")
    db = ViewDB(locator)
    last = db.max_position()
    db.close()
    # The events and their seals: what is left is a valid chain, only shorter.
    sql(
        locator,
        f"DELETE FROM {'kamflow_events' if 'postgres' in locator else 'stored_events'}"
        f" WHERE {'notification_id' if 'postgres' in locator else 'rowid'} > {last - 2}",
        f"DELETE FROM kamflow_seals WHERE position > {last - 2}",
    )
    assert f"{6 + FIRST_WRITE} events verified" in kam("audit", "verify").stdout
    line = failed(
        kam("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), "--public-key", public)
    )
    assert 'checkpoint "' in line and ": size smaller: " in line
    assert f"it holds {6 + FIRST_WRITE} events, the checkpoint {8 + FIRST_WRITE}" in line
    assert "the last events were deleted" in line


def test_an_older_backup_in_place_of_the_database_is_found(locator: str, tmp_path: Path) -> None:
    history(locator)
    kam = invoker(locator)
    if "postgres" in locator:
        # A backup taken then: the log as it was, exported and kept.
        ok(kam("export", "--out", str(tmp_path / "backup.jsonl")))
        with postgres_schema() as restored:
            more(locator)
            public = checkpoint(kam, tmp_path / "cp.json")
            ok(invoker(restored)("import", str(tmp_path / "backup.jsonl")))
            result = invoker(restored)(
                "audit", "verify", "--checkpoint", str(tmp_path / "cp.json"),
                "--public-key", public,
            )  # fmt: skip
            line = failed(result)
    else:
        shutil.copyfile(locator, tmp_path / "backup.db")
        more(locator)
        public = checkpoint(kam, tmp_path / "cp.json")
        shutil.copyfile(tmp_path / "backup.db", locator)
        line = failed(
            kam("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"),
                "--public-key", public)
        )  # fmt: skip
    assert ": size smaller: " in line
    assert f"it holds {8 + FIRST_WRITE} events, the checkpoint {10 + FIRST_WRITE}" in line
    assert "older backup" in line


def test_an_edit_before_the_checkpoint_fails_even_with_every_seal_recomputed(
    locator: str, tmp_path: Path
) -> None:
    history(locator)
    kam = invoker(locator)
    public = checkpoint(kam, tmp_path / "cp.json")
    more(locator)
    events = "kamflow_events" if "postgres" in locator else "stored_events"
    position = "notification_id" if "postgres" in locator else "rowid"
    state = "convert_to(replace(convert_from(state, 'UTF8'), 'review 1', 'review X'), 'UTF8')"
    if "postgres" not in locator:
        state = "CAST(replace(CAST(state AS TEXT), 'review 1', 'review X') AS BLOB)"
    db = ViewDB(locator)
    rows = db.rows(f"SELECT {position}, state FROM {events} ORDER BY {position}")
    edited = next(int(p) for p, raw in rows if b"review 1" in bytes(raw))
    db.close()
    sql(locator, f"UPDATE {events} SET state = {state} WHERE {position} = {edited}")
    # The edit alone: the chain names the event.
    assert f"log {edited}: edited" in failed(kam("audit", "verify"))
    reseal(locator)
    assert f"{10 + FIRST_WRITE} events verified" in kam("audit", "verify").stdout  # chain: fine
    # The writer's signature of the edited event names it too (ADR 0025): seals need no
    # key, signatures do.
    assert f"signature {edited}: bad signature" in failed(kam("audit", "verify"))
    found = kam(
        "audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), "--public-key", public,
        "--json",
    )  # fmt: skip
    assert found.exit_code == 1
    details = [f["detail"] for f in json.loads(found.stdout)["findings"] if f["kind"] == "differs"]
    assert any(
        f"the seal at position {8 + FIRST_WRITE} differs from the checkpoint's head" in d
        for d in details
    ), details


def test_a_changed_checkpoint_or_another_key_is_refused(
    sqlite_locator: str, tmp_path: Path
) -> None:
    history(sqlite_locator)
    kam = invoker(sqlite_locator)
    public = checkpoint(kam, tmp_path / "cp.json")
    statement = json.loads((tmp_path / "cp.json").read_text())
    statement["log"]["size"] = 7  # claim less, to pass off a shortened log
    (tmp_path / "forged.json").write_text(json.dumps(statement))
    line = failed(kam("audit", "verify", "--checkpoint", str(tmp_path / "forged.json")))
    assert ": bad signature: " in line
    # A checkpoint signed with someone else's key, checked against the trusted one.
    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    other.write_bytes(pem)
    ok(kam("audit", "checkpoint", "--key", str(other), "--out", str(tmp_path / "theirs.json")))
    (tmp_path / "trusted.pub").write_text(public + "\n")
    line = failed(
        kam("audit", "verify", "--checkpoint", str(tmp_path / "theirs.json"),
            "--public-key", str(tmp_path / "trusted.pub"))
    )  # fmt: skip
    assert "wrong key: signed with key" in line and "not with the trusted key" in line
    # Without a trusted key the signature is checked, and the output says so.
    said = "".join(ok(kam("audit", "verify", "--checkpoint", str(tmp_path / "theirs.json"))))
    assert "not compared with a trusted key: give --public-key" in said


def test_the_default_key_is_made_once_private_and_its_public_key_printed(
    sqlite_locator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "fresh"))
    monkeypatch.delenv("KAMFLOW_CONFIG_DIR")
    history(sqlite_locator, accounts=1, visits=0)
    kam = invoker(sqlite_locator)
    first = kam("audit", "checkpoint")
    assert first.exit_code == 0
    key = tmp_path / "fresh" / "kamflow" / "checkpoint-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    statement = json.loads(first.stdout)
    (note,) = first.stderr.splitlines()
    assert str(key) in note and note.endswith(statement["public_key"])
    second = kam("audit", "checkpoint")
    assert (second.exit_code, second.stderr) == (0, "")
    assert json.loads(second.stdout)["public_key"] == statement["public_key"]
    line = refusal(kam("audit", "checkpoint", "--key", str(tmp_path / "none.pem")), 2)
    assert "no signing key at" in line
    line = refusal(kam("audit", "verify", "--public-key", "ed25519:short"), 2)
    assert "--public-key must be an Ed25519 public key" in line


def test_the_default_key_is_in_kamflow_config_dir_when_it_is_set(
    sqlite_locator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # KAMFLOW_CONFIG_DIR is the config folder for every key kamflow keeps (people's
    # keys are in its keys/): a checkpoint key made elsewhere (the user config folder
    # of another setup, another user's) is not the one this user set up.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("KAMFLOW_CONFIG_DIR", str(tmp_path / "mine"))
    history(sqlite_locator, accounts=1, visits=0)

    made = invoker(sqlite_locator)("audit", "checkpoint")

    assert made.exit_code == 0
    assert (tmp_path / "mine" / "checkpoint-key.pem").exists()
    assert not (tmp_path / "elsewhere").exists()


def test_a_config_folder_where_the_key_cannot_be_kept_is_one_line(
    sqlite_locator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(sqlite_locator, accounts=1, visits=0)
    (tmp_path / "config").symlink_to(tmp_path / "gone" / "deeper")  # a link to nowhere
    monkeypatch.setenv("KAMFLOW_CONFIG_DIR", str(tmp_path / "config"))

    line = refusal(invoker(sqlite_locator)("audit", "checkpoint"), 2)

    assert line.startswith('Error: cannot keep the signing key at "')
    assert str(tmp_path / "config") in line

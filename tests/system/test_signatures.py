"""Signed writes (issue 12, ADR 0025), on SQLite and PostgreSQL: every write is signed by
its actor's key; `kamflow audit verify` names each forgery (an event recorded under
another person's name, an edited signature, a signature copied from other events, an
event signed by a revoked key, an unsigned event where signatures are required), exit 1;
an untouched store verifies, exit 0."""

from __future__ import annotations

import base64
import csv
import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ACTOR,
    FakeClock,
    fake_clock,
    invoke,
    json_of,
    ok,
    personal_key,
    refusal,
    run,
)
from test_audit_verify import Raw

from kamflow.application import Kamflow
from kamflow.domain.commands import COMMANDS, build
from kamflow.domain.envelope import Meta, delegated
from kamflow.identity import PersonalKey, load_key, make_key
from kamflow.signing import SIGNATURES, WriteSigner

DAY = date(2026, 11, 2)
KAM = "zhou.hui"


def cost(amount: int) -> dict[str, Any]:
    return {"account": "acme", "amount": Decimal(amount), "category": "travel"}


def team(locator: str) -> None:
    """li.wei opens acme (the first writer: admin, key made, signatures required), grants
    zhou.hui kam with zhou.hui's key, and each records costs.

    Positions: 1-3 li.wei (Started, AdminBootstrapped, AccountOpened), 4 li.wei
    (RoleGranted), 5 and 6 zhou.hui (costs), 7 li.wei (a cost)."""
    kf = Kamflow(locator, clock=FakeClock(DAY))
    try:
        run(kf, "account open", {"account": "acme", "name": "Acme", "industry": "feed",
                                 "owner": ACTOR})  # fmt: skip
        run(kf, "roster grant", {"person": KAM, "role": "kam", "reason": "KAM"})
        run(kf, "cost record", cost(101), actor=KAM)
        run(kf, "cost record", cost(102), actor=KAM)
        run(kf, "cost record", cost(103))
    finally:
        kf.close()


def forge(locator: str, actor: str, signer: WriteSigner | None) -> int:
    """A cost on acme recorded as ``actor``, saved through kamflow's own recorder (so
    sealed as kamflow seals) and signed by ``signer`` (None: unsigned), past every
    check: what someone who can write the database and run kamflow's code can do. The
    position it was written at."""
    kf = Kamflow(locator, clock=FakeClock(DAY))
    try:
        account = kf.load("acme")
        meta = Meta(actor, uuid.uuid4().hex, DAY, kf.clock(), today=DAY)
        decided, _ = build(COMMANDS["cost record"], cost(666)).decide(account, meta)
        kf.app.recorder.signer = signer  # type: ignore[attr-defined]
        kf.app.save(*decided.collect_events())
        return int(kf.app.recorder.max_notification_id() or 0)
    finally:
        kf.close()


def audit(locator: str) -> tuple[int, dict[str, Any]]:
    result = invoke(locator, "audit", "verify", "--json")
    return result.exit_code, json.loads(result.stdout)


def signature_findings(found: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["where"], f["kind"]) for f in found["findings"] if f["check"] == "signature"]


def key_of(person: str) -> PersonalKey:
    key = load_key(person)
    assert key is not None
    return key


@pytest.fixture
def store(locator: str) -> str:
    team(locator)
    return locator


def test_an_untouched_store_verifies_every_signature(store: str) -> None:
    code, found = audit(store)

    assert (code, found["findings"]) == (0, [])
    assert found["signatures"] == "5 writes (7 events) signed by their actor's key"


def test_an_event_inserted_under_another_persons_name_is_named(store: str) -> None:
    # Unsigned (the forger has no one's key): where signatures are required, unsigned.
    unsigned = forge(store, KAM, None)
    # Signed with the forger's own registered key, recorded as zhou.hui.
    as_other = forge(store, KAM, WriteSigner(ACTOR, key_of(ACTOR)))

    code, found = audit(store)

    assert code == 1
    assert signature_findings(found) == [
        (str(unsigned), "unsigned"),
        (str(as_other), "not entitled"),
    ]
    details = [f["detail"] for f in found["findings"]]
    assert f"signed by {ACTOR}, recorded as {KAM}" in details[1]


def test_an_edited_signature_is_named(store: str) -> None:
    with Raw(store) as raw:
        ((signature,),) = raw.db.rows(f"SELECT signature FROM {SIGNATURES} WHERE position = 5")
        edited = bytes([bytes(signature)[0] ^ 1]) + bytes(signature)[1:]
        raw.execute(f"UPDATE {SIGNATURES} SET signature = ? WHERE position = 5", (edited,))

    code, found = audit(store)

    assert (code, signature_findings(found)) == (1, [("5", "bad signature")])


def test_a_signature_copied_from_another_event_is_named(store: str) -> None:
    # zhou.hui's signature of position 5 put on position 6, their other cost.
    with Raw(store) as raw:
        (row,) = raw.db.rows(f"SELECT anchor, signature FROM {SIGNATURES} WHERE position = 5")
        raw.execute(
            f"UPDATE {SIGNATURES} SET anchor = ?, signature = ? WHERE position = 6",
            (bytes(row[0]), bytes(row[1])),
        )

    code, found = audit(store)

    assert (code, signature_findings(found)) == (1, [("6", "bad signature")])


def test_an_edited_event_fails_its_writers_signature_even_with_the_seals_recomputed(
    store: str,
) -> None:
    # The edit of zhou.hui's cost, resealed as kamflow seals: the chain is whole again,
    # the signature is not.
    with Raw(store) as raw:
        state = bytes(raw.row(5)[3])
        assert b'"101' in state, state
        raw.execute(
            f"UPDATE {raw.events} SET state = ? WHERE {raw.position} = 5",
            (state.replace(b'"101', b'"9101', 1),),
        )
        reseal(raw)

    code, found = audit(store)

    assert code == 1
    assert signature_findings(found) == [("5", "bad signature"), ("6", "history rewritten")]


def reseal(raw: Raw) -> None:
    """Recompute every seal, as someone who knows the format could."""
    from kamflow.seal import GENESIS, link

    rows = raw.db.rows(
        f"SELECT {raw.position}, originator_id, originator_version, topic, state"
        f" FROM {raw.events} ORDER BY {raw.position}"
    )
    previous = GENESIS
    for position, oid, version, topic, state in rows:
        ident = oid if isinstance(oid, uuid.UUID) else uuid.UUID(str(oid))
        previous = link(previous, int(position), ident, int(version), str(topic), bytes(state))
        raw.execute("UPDATE kamflow_seals SET seal = ? WHERE position = ?", (previous, position))


def test_an_event_signed_with_a_revoked_key_is_named(store: str) -> None:
    stolen = key_of(KAM)
    kf = Kamflow(store, clock=FakeClock(DAY))
    try:
        run(kf, "roster revoke-key", {"person": KAM, "reason": "laptop stolen"})
        revoked_at = int(kf.app.recorder.max_notification_id() or 0)
    finally:
        kf.close()
    position = forge(store, KAM, WriteSigner(KAM, stolen))

    code, found = audit(store)

    assert (code, signature_findings(found)) == (1, [(str(position), "not entitled")])
    (detail,) = [f["detail"] for f in found["findings"]]
    assert detail == f"signed by {KAM} with a key revoked at position {revoked_at}"


def test_a_rotated_key_signs_from_the_next_write_and_the_old_one_no_longer(store: str) -> None:
    old = key_of(KAM)
    key_of(KAM).path.unlink()
    new = make_key(KAM)
    kam = invoke(store, "roster", "key", KAM, "--key", new.public, "--reason", "new laptop")
    assert kam.exit_code == 0, kam.stderr
    assert invoke(store, "cost", "record", "acme", "--amount", "7", "--category", "travel",
                  actor=KAM).exit_code == 0  # fmt: skip
    position = forge(store, KAM, WriteSigner(KAM, old))

    code, found = audit(store)

    assert (code, signature_findings(found)) == (1, [(str(position), "not entitled")])
    assert "replaced at position 8" in found["findings"][0]["detail"]


def test_a_signature_row_deleted_leaves_its_write_unsigned(store: str) -> None:
    with Raw(store) as raw:
        raw.execute(f"DELETE FROM {SIGNATURES} WHERE position = 5")

    code, found = audit(store)

    assert (code, signature_findings(found)) == (1, [("5", "unsigned")])


def test_the_conftest_grant_registers_the_grantees_own_key(store: str) -> None:
    roster = json.loads(invoke(store, "roster", "show", "--json").stdout)
    assert {r["person"]: r["key"] for r in roster} == {
        ACTOR: personal_key(ACTOR),
        KAM: personal_key(KAM),
    }


def test_an_export_carries_the_signatures_and_its_check_and_import_keep_them(
    store: str, tmp_path: Path
) -> None:
    export = tmp_path / "log.jsonl"
    assert invoke(store, "export", "--out", str(export)).exit_code == 0
    checked = invoke(store, "audit", "verify", "--file", str(export), "--json")
    assert checked.exit_code == 0, checked.stderr

    copy = str(tmp_path / "copy.db")
    assert invoke(copy, "import", str(export)).exit_code == 0
    code, found = audit(copy)
    assert (code, found["signatures"]) == (0, "5 writes (7 events) signed by their actor's key")

    # A signature edited in the file: its check names the write.
    lines = export.read_text().splitlines()
    fifth = json.loads(lines[5])
    assert fifth["position"] == 5 and "signature" in fifth
    value = bytearray(base64.b64decode(fifth["signature"]["value"]))
    value[0] ^= 1
    fifth["signature"]["value"] = base64.b64encode(bytes(value)).decode()
    lines[5] = json.dumps(fifth)
    export.write_text("\n".join(lines) + "\n")
    failed = invoke(store, "audit", "verify", "--file", str(export))
    assert failed.exit_code == 1
    assert "the signature of position 5: bad signature" in failed.stderr


# --on-behalf-of (issue 12 item 3, ADR 0025): a delegate records for a named person.
DELEGATE = "crm.bot"
COST_LINE = ("cost", "record", "acme", "--amount", "7", "--category", "travel")


def delegated_writes(store: str, tmp_path: Path) -> None:
    """li.wei grants crm.bot the delegate role; crm.bot records a cost for zhou.hui on
    the command line (position 9) and one more through `apply` (position 10)."""
    with fake_clock(DAY):
        ok(invoke(store, "roster", "grant", DELEGATE, "delegate", "--reason", "the CRM sync"))
        ok(invoke(store, "--on-behalf-of", KAM, *COST_LINE, actor=DELEGATE))
        script = tmp_path / "costs.jsonl"
        line = {"command": "cost record", "account": "acme", "amount": 8, "category": "meals"}
        script.write_text(json.dumps(line) + "\n")
        ok(invoke(store, "--on-behalf-of", KAM, "apply", str(script), actor=DELEGATE))


def test_a_delegates_write_shows_both_names_in_history_the_audit_trail_and_the_export(
    store: str, tmp_path: Path
) -> None:
    delegated_writes(store, tmp_path)

    history = json_of(invoke(store, "account", "history", "acme", "--json"))
    assert [(e["actor"], e["delegate"]) for e in history[-3:]] == [
        (ACTOR, None),  # li.wei's own cost
        (KAM, DELEGATE),  # the work is zhou.hui's, recorded by crm.bot
        (KAM, DELEGATE),  # the same through apply
    ]
    table = ok(invoke(store, "account", "history", "acme", "--wide"))
    assert "delegate" in table[0].split()
    # version, occurred_on, recorded_at (date, time, offset), actor, delegate...
    assert table[-1].split()[5:7] == [KAM, DELEGATE]
    assert table[-3].split()[5:7] == [ACTOR, "-"]
    csv_lines = list(csv.DictReader(ok(invoke(store, "account", "history", "acme", "--csv"))))
    assert [(r["actor"], r["delegate"]) for r in csv_lines[-2:]] == [(KAM, DELEGATE)] * 2
    assert csv_lines[0]["delegate"] == ""

    trail = json_of(invoke(store, "report", "audit", "--json"))["rows"]
    assert [(r["position"], r["actor"], r["delegate"]) for r in trail[-3:]] == [
        (8, ACTOR, None),  # the grant
        (9, KAM, DELEGATE),
        (10, KAM, DELEGATE),
    ]
    assert {r["delegate"] for r in trail[:-2]} == {None}
    audit_csv = ok(invoke(store, "report", "audit", "--csv", "--section", "rows"))
    rows = list(csv.DictReader(audit_csv))
    assert [(r["actor"], r["delegate"]) for r in rows[-2:]] == [(KAM, DELEGATE)] * 2
    narrowed = json_of(invoke(store, "report", "audit", "--actor", KAM, "--json"))["rows"]
    assert [r["delegate"] for r in narrowed] == [None, None, DELEGATE, DELEGATE]

    export = tmp_path / "log.jsonl"
    assert invoke(store, "export", "--out", str(export)).exit_code == 0  # notes its key
    lines = [json.loads(line) for line in export.read_text().splitlines()[1:-1]]
    assert [(e["actor"], e["delegate"]) for e in lines[-2:]] == [(KAM, DELEGATE)] * 2
    assert lines[-1]["signature"]["signer"] == DELEGATE  # the signed row says the same
    assert invoke(store, "audit", "verify", "--file", str(export)).exit_code == 0
    copy = str(tmp_path / "copy.db")
    assert invoke(copy, "import", str(export)).exit_code == 0  # the events, byte for byte
    again = json_of(invoke(copy, "account", "history", "acme", "--json"))
    assert [e["delegate"] for e in again] == [e["delegate"] for e in history]

    code, found = audit(store)
    assert (code, found["findings"]) == (0, [])
    assert found["signatures"] == "8 writes (10 events) signed by their actor's key"


def test_on_behalf_of_by_someone_without_the_delegate_role_is_refused(store: str) -> None:
    before = audit(store)[1]["size"]

    with fake_clock(DAY):
        result = invoke(store, "--on-behalf-of", KAM, *COST_LINE, actor=ACTOR)

    line = refusal(result, 1)
    assert line.startswith('Error: role delegate: "--on-behalf-of" needs the delegate role')
    assert ACTOR in line
    assert audit(store)[1]["size"] == before  # nothing written


def test_an_event_naming_a_delegate_its_write_was_not_signed_by_is_named(store: str) -> None:
    # zhou.hui's own signed write whose event claims crm.bot recorded it: the event's
    # delegate is what history shows, so verify holds it to the signature.
    kf = Kamflow(store, clock=FakeClock(DAY))
    try:
        account = kf.load("acme")
        meta = Meta(KAM, uuid.uuid4().hex, DAY, kf.clock(), today=DAY)
        decided, _ = build(COMMANDS["cost record"], cost(666)).decide(account, meta)
        pending = decided.collect_events()
        delegated(pending, DELEGATE)
        kf.app.recorder.signer = WriteSigner(KAM, key_of(KAM))  # type: ignore[attr-defined]
        kf.app.save(*pending)
        position = int(kf.app.recorder.max_notification_id() or 0)
    finally:
        kf.close()

    code, found = audit(store)

    assert (code, signature_findings(found)) == (1, [(str(position), "not entitled")])
    (detail,) = [f["detail"] for f in found["findings"]]
    assert detail.endswith(f"its events name {DELEGATE} as the delegate who recorded them")


@pytest.mark.parametrize(
    "edit",
    [
        "signature = CAST(X'00' || substr(signature, 2) AS TEXT)",  # text, not UTF-8
        "signature = 'some text'",
        "anchor = X'00'",
        "last_position = 'six'",
        "signer = CAST(X'ff' AS TEXT)",
    ],
)
def test_a_signature_row_of_the_wrong_type_is_a_finding_not_a_crash(
    sqlite_locator: str, edit: str
) -> None:
    # SQLite keeps whatever type it is given in any column: an auditor's verify names
    # the write, exit 1, rather than stopping with an internal error (exit 70).
    team(sqlite_locator)
    with Raw(sqlite_locator) as raw:
        raw.execute(f"UPDATE {SIGNATURES} SET {edit} WHERE position = 5")

    code, found = audit(sqlite_locator)

    assert code == 1
    assert [where for where, _ in signature_findings(found)] == ["5"]


def test_an_export_whose_signature_anchor_is_not_a_seal_is_a_finding(
    sqlite_locator: str, tmp_path: Path
) -> None:
    # The same short anchor as in the table, in an export: it stopped `verify --file`
    # with an internal error (exit 70).
    team(sqlite_locator)
    export = tmp_path / "log.jsonl"
    assert invoke(sqlite_locator, "export", "--out", str(export)).exit_code == 0
    lines = export.read_text().splitlines()
    fifth = json.loads(lines[5])
    fifth["signature"]["anchor"] = "00"
    lines[5] = json.dumps(fifth)
    export.write_text("\n".join(lines) + "\n")

    failed = invoke(sqlite_locator, "audit", "verify", "--file", str(export))

    assert failed.exit_code == 1
    assert "the signature of position 5: bad signature" in failed.stderr

"""People's keys through the command line (issue 12, ADR 0025): `kamflow id init`, the
roster binding people to keys (grant --key, roster key, roster revoke-key), the refusal
of a write by someone whose key is not registered (saying what to run, on both sides),
and the team policy `signatures` (required in a new database, off in an older one)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ACTOR, invoke, json_of, ok, old_store, refusal

from kamflow.cli import cli
from kamflow.identity import key_path, load_key
from kamflow.projections.db import ViewDB
from kamflow.signing import SIGNATURES

OPEN = ("account", "open", "acme", "--name", "Acme", "--industry", "feed", "--owner", ACTOR)
COST = ("cost", "record", "acme", "--amount", "5", "--category", "travel")


def bare(db: str, *args: str, actor: str = ACTOR) -> Result:
    """``invoke`` without the conftest's help: a `roster grant` registers no key."""
    return CliRunner().invoke(cli, ["--db", db, "--actor", actor, *args], catch_exceptions=False)


def events(db: str) -> int:
    return int(json_of(invoke(db, "audit", "verify", "--json"))["size"])


def test_id_init_makes_a_key_once_kept_private_and_prints_its_public_key() -> None:
    first = ok(invoke("unused.db", "id", "init", actor="zhou.hui"))
    again = ok(invoke("unused.db", "id", "init", actor="Zhou.Hui"))  # one person, one key

    (public,) = first
    assert public.startswith("ed25519:") and len(public) == len("ed25519:") + 44
    assert again == first
    path = key_path("zhou.hui")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in path.read_text()
    key = load_key("zhou.hui")
    assert key is not None and key.public == public
    assert not Path("unused.db").exists()


def test_a_write_by_someone_without_a_registered_key_is_refused_saying_what_to_run(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))  # li.wei: the first admin, with a key made on the spot
    ok(bare(db, "roster", "grant", "wang.fang", "kam", "--reason", "KAM"))  # no --key
    before = events(db)

    # wang.fang has no key at all: run id init, then the admin registers it.
    line = refusal(bare(db, *COST, actor="wang.fang"), 1)
    assert line == (
        "Error: signatures: every write to this database is signed and wang.fang has no key"
        " registered; wang.fang runs `kamflow id init` and gives the public key it prints"
        " (PUB) to an admin, who runs: kamflow roster key wang.fang --key PUB --reason ..."
    )
    # With a key made, the refusal gives the very command the admin runs.
    (public,) = ok(bare(db, "id", "init", actor="wang.fang"))
    line = refusal(bare(db, *COST, actor="wang.fang"), 1)
    assert line.endswith(f"an admin runs: kamflow roster key wang.fang --key {public} --reason ...")
    assert events(db) == before

    ok(bare(db, "roster", "key", "wang.fang", "--key", public, "--reason", "her laptop"))
    assert ok(bare(db, *COST, actor="wang.fang"))[0].startswith("recorded ServiceCostRecorded")
    roster = {r["person"]: r["key"] for r in json_of(invoke(db, "roster", "show", "--json"))}
    assert roster["wang.fang"] == public


def test_someone_not_on_the_roster_is_told_the_grant_with_their_key(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))

    line = refusal(bare(db, *COST, actor="chen.jie"), 1)

    assert "`kamflow roster grant chen.jie kam --key ... --reason ...`" in line
    assert "`kamflow id init` prints for chen.jie" in line


def test_a_key_on_this_machine_that_is_not_the_registered_one_is_refused(tmp_path: Path) -> None:
    # qian.wu: not one of the demo's people, whose derived keys sign anywhere (ADR 0025).
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(invoke(db, "roster", "grant", "qian.wu", "kam", "--reason", "KAM"))  # their key
    key_path("qian.wu").unlink()
    (new,) = ok(bare(db, "id", "init", actor="qian.wu"))

    line = refusal(bare(db, *COST, actor="qian.wu"), 1)

    assert "is not the one registered for them" in line
    assert line.endswith(f"an admin runs: kamflow roster key qian.wu --key {new} --reason ...")


def test_a_revoked_key_signs_nothing_more(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(invoke(db, "roster", "grant", "zhou.hui", "kam", "--reason", "KAM"))
    ok(invoke(db, *COST, actor="zhou.hui"))

    ok(invoke(db, "roster", "revoke-key", "zhou.hui", "--reason", "laptop stolen"))

    # Said as it is: the key was revoked and a new one is needed (not "register this
    # key", which would bind the revoked key again).
    line = refusal(bare(db, *COST, actor="zhou.hui"), 1)
    assert "zhou.hui's key ed25519:" in line and "was revoked" in line
    assert "`kamflow id init`" in line and "--key PUB" in line
    roster = {r["person"]: r["key"] for r in json_of(invoke(db, "roster", "show", "--json"))}
    assert roster["zhou.hui"] is None


def test_a_public_key_that_is_not_one_is_refused_in_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))

    line = refusal(bare(db, "roster", "key", ACTOR, "--key", "ssh-rsa AAAA", "--reason", "r"), 2)

    assert 'a public key is "ed25519:" and 44 base64 characters' in line


def test_signatures_off_lets_unsigned_writes_in_and_verify_reports_their_range(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))  # positions 1-3, signed
    ok(bare(db, "roster", "grant", "wang.fang", "kam", "--reason", "KAM"))  # 4, signed
    ok(invoke(db, "policy", "set", "signatures", "off", "--reason", "migration"))  # 5, signed
    ok(bare(db, *COST, actor="wang.fang"))  # 6: unsigned, allowed

    found = json_of(invoke(db, "audit", "verify", "--json"))
    assert found["signatures"] == (
        "3 writes (5 events) signed by their actor's key; unsigned while signatures were off:"
        " positions 6; signatures are off (an admin turns them on: policy set signatures"
        " required)"
    )

    ok(invoke(db, "policy", "set", "signatures", "required", "--reason", "done"))  # 7
    assert "has no key registered" in refusal(bare(db, *COST, actor="wang.fang"), 1)
    found = json_of(invoke(db, "audit", "verify", "--json"))
    assert found["signatures"].endswith("unsigned while signatures were off: positions 6-7")


def test_an_older_database_writes_unsigned_until_an_admin_with_a_key_turns_them_on(
    tmp_path: Path,
) -> None:
    db = old_store("demo-03f4076.db.gz", str(tmp_path / "old.db"))
    ok(invoke(db, *COST[:2], "wantwant", *COST[3:], actor="someone.new"))
    found = json_of(invoke(db, "audit", "verify", "--json"))
    assert found["ok"] and "unsigned while signatures were off: positions 1-" in found["signatures"]

    ok(bare(db, "roster", "grant", "boss", "admin", "--reason", "first admin"))
    line = refusal(
        invoke(db, "policy", "set", "signatures", "required", "--reason", "now", actor="boss"), 1
    )
    assert line.startswith("Error: signatures: boss has no key registered")


def test_roster_show_lists_each_persons_key(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(bare(db, "roster", "grant", "wang.fang", "kam", "--reason", "KAM"))

    shown = json.loads(invoke(db, "roster", "show", "--json").stdout)

    mine = load_key(ACTOR)
    assert mine is not None
    assert shown == [
        {"person": ACTOR, "roles": ["admin", "kam"], "key": mine.public},
        {"person": "wang.fang", "roles": ["kam"], "key": None},
    ]


def test_a_delegate_records_for_a_named_person_signed_with_its_own_key(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(invoke(db, "roster", "grant", "zhou.hui", "kam", "--reason", "KAM"))
    ok(invoke(db, "roster", "grant", "crm.bot", "delegate", "--reason", "the CRM sync"))

    lines = ok(invoke(db, "--on-behalf-of", "Zhou.Hui", *COST, actor="crm.bot"))

    assert lines[0].startswith("recorded ServiceCostRecorded")
    history = json_of(invoke(db, "account", "history", "acme", "--json"))
    assert history[-1]["actor"] == "zhou.hui"  # the work is theirs
    assert history[-1]["delegate"] == "crm.bot"  # recorded by the delegate, shown
    found = json_of(invoke(db, "audit", "verify", "--json"))
    assert found["ok"] and found["signatures"].startswith("4 writes (6 events)")
    views = ViewDB(db)
    try:
        rows = views.rows(f"SELECT signer, behalf FROM {SIGNATURES} ORDER BY position")
    finally:
        views.close()
    assert tuple(rows[-1]) == ("crm.bot", "zhou.hui")  # both names, in the signed record


def test_with_signatures_off_a_delegates_events_still_name_it(tmp_path: Path) -> None:
    # No signature row to hold the delegate's name: the events do (ADR 0025).
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(invoke(db, "roster", "grant", "zhou.hui", "kam", "--reason", "KAM"))
    ok(invoke(db, "roster", "grant", "crm.bot", "delegate", "--reason", "the CRM sync"))
    ok(invoke(db, "policy", "set", "signatures", "off", "--reason", "migration"))

    ok(invoke(db, "--on-behalf-of", "zhou.hui", *COST, actor="crm.bot"))

    views = ViewDB(db)
    try:
        assert views.rows(f"SELECT behalf FROM {SIGNATURES} WHERE behalf <> ''") == []
    finally:
        views.close()
    (last,) = json_of(invoke(db, "report", "audit", "--type", "ServiceCostRecorded", "--json"))[
        "rows"
    ]
    assert (last["actor"], last["delegate"]) == ("zhou.hui", "crm.bot")
    found = json_of(invoke(db, "audit", "verify", "--json"))
    assert found["ok"] and "unsigned while signatures were off" in found["signatures"]


def test_on_behalf_of_needs_the_delegate_role_and_the_persons_role(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(invoke(db, "roster", "grant", "zhou.hui", "kam", "--reason", "KAM"))
    ok(invoke(db, "roster", "grant", "crm.bot", "delegate", "--reason", "the CRM sync"))
    ok(invoke(db, "roster", "grant", "gao.yan", "auditor", "--reason", "audit"))

    line = refusal(invoke(db, "--on-behalf-of", "li.wei", *COST, actor="zhou.hui"), 1)
    assert line.startswith('Error: role delegate: "--on-behalf-of" needs the delegate role')
    line = refusal(invoke(db, "--on-behalf-of", "gao.yan", *COST, actor="crm.bot"), 1)
    assert line.startswith('Error: role kam: "cost record" needs the kam role and gao.yan')


def test_the_demos_people_sign_on_a_machine_without_their_key_files_and_none_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A user who ran `kamflow demo` goes on as its admin (lin.feng, the first writer,
    # whose key no roster grant carries) or as one of its KAMs; their keys are derived
    # from the demo's public secret, never kept in the user's key folder (ADR 0025).
    empty = tmp_path / "config"
    empty.mkdir()
    monkeypatch.setenv("KAMFLOW_CONFIG_DIR", str(empty))
    db = str(tmp_path / "demo.db")
    ok(invoke(db, "demo", "--accounts", "2"))
    shown = json_of(invoke(db, "account", "list", "--json"))
    key = shown[0]["key"]

    for person in ("lin.feng", "li.wei"):
        ok(invoke(db, "cost", "record", key, "--amount", "5", "--category", "travel",
                  "--again", actor=person))  # fmt: skip

    assert not (empty / "keys").exists() or list((empty / "keys").iterdir()) == []
    assert json_of(invoke(db, "audit", "verify", "--json"))["ok"] is True


def test_a_delegate_never_acts_as_admin_or_approver_and_demo_and_import_refuse_it(
    tmp_path: Path,
) -> None:
    # Through roster, policy, rate or approval commands one delegate could make itself
    # admin, or be both the requester and the approver of four eyes (ADR 0023, 0025).
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))  # li.wei: admin
    ok(invoke(db, "roster", "grant", "crm.bot", "delegate", "--reason", "the CRM sync"))
    ok(invoke(db, "roster", "grant", "zhao", "approver", "--reason", "sales director"))
    ok(invoke(db, "tier", "request", "acme", "key", "--reason", "top producer"))
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,quote,rate,on,source\nEUR,CNY,7.8,2026-11-01,ecb\n")
    before = events(db)

    bot = ("--on-behalf-of",)
    for behalf, args in [
        (ACTOR, ("roster", "grant", "crm.bot", "admin", "--reason", "x")),
        (ACTOR, ("policy", "set", "credit-limit.target", "99999999", "--reason", "x")),
        (ACTOR, ("fx", "import", str(rates))),
        ("zhao", ("tier", "approve", "acme")),
    ]:
        line = refusal(invoke(db, *bot, behalf, *args, actor="crm.bot"), 1)
        assert line.startswith("Error: role delegate: --on-behalf-of records account work only")
    assert events(db) == before
    for args in (("demo",), ("import", str(rates))):
        line = refusal(invoke(str(tmp_path / "new.db"), "--on-behalf-of", ACTOR, *args), 2)
        assert line.startswith(f'Error: --on-behalf-of is not taken by "{args[0]}"')
    assert not (tmp_path / "new.db").exists()  # refused before the store is opened


def test_a_config_folder_where_no_key_can_be_kept_is_one_line_not_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # KAMFLOW_CONFIG_DIR names a link to nowhere (a folder that cannot be made): both
    # `id init` and a new database's first write, which makes its writer's key.
    (tmp_path / "config").symlink_to(tmp_path / "gone" / "deeper")
    monkeypatch.setenv("KAMFLOW_CONFIG_DIR", str(tmp_path / "config"))

    made = refusal(invoke("unused.db", "id", "init", actor="zhou.hui"), 2)
    first = refusal(bare(str(tmp_path / "k.db"), *OPEN), 2)

    for line in (made, first):
        assert line.startswith("Error: cannot keep the key at ")
        assert str(tmp_path / "config") in line


# Points of small order (1, 2, 4, 8) of Ed25519, as 32-byte encodings: a "public key"
# that is one verifies signatures nobody made (with the identity, (R = identity, S = 0)
# verifies over every message), so whoever reads the roster could sign as its person.
SMALL_ORDER = [
    "01" + "00" * 31,  # the identity (order 1)
    "00" * 32,  # order 4
    "ec" + "ff" * 30 + "7f",  # order 2
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # its negation
]


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_a_public_key_of_small_order_is_refused(tmp_path: Path, point: str) -> None:
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    weak = "ed25519:" + base64.b64encode(bytes.fromhex(point)).decode()
    before = events(db)

    grant = ("roster", "grant", "zhou.hui", "kam", "--key", weak, "--reason", "r")
    line = refusal(bare(db, *grant), 2)
    other = refusal(bare(db, "roster", "key", ACTOR, "--key", weak, "--reason", "r"), 2)

    assert "is not a usable Ed25519 public key" in line and line == other
    assert events(db) == before


def test_a_revoked_key_is_never_bound_again(tmp_path: Path) -> None:
    # "laptop stolen": the key revoked is the thief's now. Binding it again, to its
    # person or anyone (as the refusal of their next write once suggested), would let
    # the thief sign as them.
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    ok(invoke(db, "roster", "grant", "zhou.hui", "kam", "--reason", "KAM"))
    (stolen,) = ok(invoke(db, "id", "init", actor="zhou.hui"))
    ok(invoke(db, "roster", "revoke-key", "zhou.hui", "--reason", "laptop stolen"))
    before = events(db)

    again = refusal(bare(db, "roster", "key", "zhou.hui", "--key", stolen, "--reason", "r"), 1)
    grant = ("roster", "grant", "zhao", "approver", "--key", stolen, "--reason", "r")
    other = refusal(bare(db, *grant), 1)

    for line in (again, other):
        assert "that key was revoked (zhou.hui's); it is never bound again" in line
    assert events(db) == before


def test_a_key_file_of_binary_bytes_is_named_as_not_a_key(tmp_path: Path) -> None:
    # As any other file that is not a key: the user is told what kamflow needs, not
    # which codec failed on which byte.
    db = str(tmp_path / "k.db")
    ok(invoke(db, *OPEN))
    key_path(ACTOR).write_bytes(bytes(range(256)))

    line = refusal(bare(db, *COST), 2)

    assert line.endswith(
        "is not an unencrypted Ed25519 private key in PEM (`kamflow id init` makes one)"
    )

"""People, roles and four eyes through the command line (ADR 0023).

Given a store, when a person acts, then kamflow accepts it only if their role allows
it; an approval is never by the requester; blank or two-line actors are refused
wherever they come from; what history holds that roles now refuse is flagged by
``report principles`` and ``workflow check``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ACTOR,
    Kam,
    invoke,
    invoker,
    json_of,
    ok,
    old_store,
    refusal,
)

from kamflow.application import Kamflow
from kamflow.domain.account import Account
from kamflow.domain.envelope import Meta
from kamflow.domain.governance import Governance
from kamflow.identity import key_path, load_key

OPEN = ("account", "open", "acme", "--name", "Acme Feed", "--industry", "feed", "--owner", ACTOR)
APPROVER = "zhao.director"


@pytest.fixture
def store(locator: str) -> Kam:
    """A store whose first writer, li.wei, opened acme (so li.wei is admin and KAM)
    and granted zhao.director the approver role."""
    kam = invoker(locator)
    ok(kam(*OPEN))
    ok(kam("roster", "grant", APPROVER, "approver", "--reason", "sales director"))
    return kam


def _stderr_line(result: Any) -> str:
    (line,) = result.stderr.splitlines()
    return str(line)


# ---------------------------------------------------------------- actors
@pytest.mark.parametrize(
    ("actor", "problem"),
    [("", "is blank"), ("   ", "is blank"), ("\t", "is blank"), ("intern\nzhao", "more than one")],
)
def test_a_blank_or_two_line_actor_is_refused_and_nothing_is_created(
    tmp_path: Path, actor: str, problem: str
) -> None:
    db = str(tmp_path / "k.db")
    line = refusal(invoke(db, *OPEN, actor=actor), 2)
    assert line.startswith("Error: the actor (--actor) ")
    assert problem in line
    assert not os.path.exists(db)


@pytest.mark.parametrize("value", ["", "  ", "a\nb"])
def test_a_blank_or_two_line_kamflow_actor_is_refused_naming_the_variable(
    tmp_path: Path, value: str
) -> None:
    from click.testing import CliRunner

    from kamflow.cli import cli

    db = str(tmp_path / "k.db")
    result = CliRunner().invoke(cli, ["--db", db, *OPEN], env={"KAMFLOW_ACTOR": value})
    line = refusal(result, 2)
    assert "the actor (KAMFLOW_ACTOR)" in line
    assert not os.path.exists(db)


def test_apply_refuses_a_blank_actor_before_reading_a_line(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    script = (
        '{"command": "account open", "account": "x", "name": "X", "industry": "i", "owner": "o"}\n'
    )
    line = refusal(invoke(db, "apply", "-", actor=" ", input=script), 2)
    assert "the actor (--actor) is blank" in line
    assert not os.path.exists(db)


def test_one_person_whatever_the_case_or_width_of_their_name(store: Kam) -> None:
    # Li.Wei and full-width ＬＩ.ＷＥＩ are the li.wei on the roster: admin, and recorded so.
    ok(store("policy", "set", "credit-limit.target", "300000", "--reason", "r", actor="Li.Wei"))
    ok(
        store(
            "complaint",
            "raise",
            "acme",
            "--summary",
            "late",
            "--severity",
            "low",
            actor="ＬＩ.ＷＥＩ",
        )
    )
    history = json_of(store("account", "history", "acme", "--json"))
    assert {e["actor"] for e in history} == {"li.wei"}
    policies = json_of(store("policy", "show", "--json"))
    assert {p["set_by"] for p in policies if p["policy"] == "credit-limit.target"} == {"li.wei"}


# ---------------------------------------------------------------- bootstrapping
def test_the_first_writer_of_a_new_database_becomes_its_admin_and_is_told(
    locator: str,
) -> None:
    # Programs read it in --json; a person at a terminal sees it on stderr (a script's
    # stderr stays clean, as with progress bars).
    key_path("li.wei").unlink()  # the demo's li.wei key the tests keep (conftest)
    result = json_of(invoke(locator, *OPEN, "--json"))
    # With a signing key made on the spot (they had none), and signatures required.
    made = load_key("li.wei")
    assert made is not None
    assert result["notice"] == (
        "li.wei is the first to write to this database and is now its admin (roles admin,"
        " kam); give others roles with `kamflow roster grant`; every write here is signed,"
        f" li.wei's with key {made.public} (made now, at {made.path})"
    )
    roster = json_of(invoke(locator, "roster", "show", "--json"))
    assert roster == [{"person": "li.wei", "roles": ["admin", "kam"], "key": made.public}]
    # Only the first write says so.
    second = invoke(locator, "complaint", "raise", "acme", "--summary", "x", "--severity", "low")
    assert (second.exit_code, second.stderr) == (0, "")


def test_an_older_database_without_an_admin_keeps_working_and_grant_warns(
    tmp_path: Path,
) -> None:
    db = old_store("demo-03f4076.db.gz", str(tmp_path / "old.db"))
    # zhou.hui holds approver there, granted before roles were enforced.
    result = invoke(
        db,
        "exception",
        "grant",
        "wantwant",
        "--rule",
        "credit-limit",
        "--reason",
        "harvest",
        actor="zhou.hui",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("recorded PolicyExceptionGranted")
    assert _stderr_line(result).startswith("warning: exception grant is deprecated")
    assert "`kamflow exception request`" in result.stderr
    # Anyone still writes there: no admin, no roles enforced.
    ok(
        invoke(
            db,
            "complaint",
            "raise",
            "wantwant",
            "--summary",
            "x",
            "--severity",
            "low",
            actor="someone.new",
        )
    )


# ---------------------------------------------------------------- each role refused
@pytest.mark.parametrize(
    ("actor", "args", "role"),
    [
        ("wang.fang", ("complaint", "raise", "acme", "--summary", "x", "--severity", "low"), "kam"),
        (APPROVER, ("policy", "set", "credit-limit.target", "1", "--reason", "r"), "admin"),
        (APPROVER, ("roster", "grant", "wang.fang", "kam", "--reason", "r"), "admin"),
        (APPROVER, ("roster", "revoke", ACTOR, "kam", "--reason", "r"), "admin"),
    ],
)
def test_a_person_without_the_role_is_refused_naming_it(
    store: Kam, actor: str, args: tuple[str, ...], role: str
) -> None:
    line = refusal(store(*args, actor=actor), 1)
    assert line.startswith(f"Error: role {role}: ")
    assert f"needs the {role} role" in line
    # Someone with no key registered is granted the role with their key (ADR 0025).
    key = " --key ..." if actor == "wang.fang" else ""
    assert f"`kamflow roster grant {actor} {role}{key} --reason ...`" in line


def test_approving_needs_the_approver_role(store: Kam) -> None:
    ok(store("roster", "grant", "wang.fang", "kam", "--reason", "KAM"))
    ok(store("exception", "request", "acme", "--rule", "credit-limit", "--reason", "r"))
    ok(store("tier", "request", "acme", "key", "--reason", "r"))
    for args in (("exception", "approve", "acme", "E-1"), ("tier", "approve", "acme")):
        line = refusal(store(*args, actor="wang.fang"), 1)
        assert line.startswith("Error: role approver: "), line


def test_no_one_grants_themselves_a_role(store: Kam) -> None:
    line = refusal(store("roster", "grant", "Li.Wei", "approver", "--reason", "me"), 1)
    assert line == "Error: four eyes: li.wei cannot grant a role to themselves; another admin must"


# ---------------------------------------------------------------- four eyes
def test_an_exception_is_requested_by_one_and_approved_by_another(store: Kam) -> None:
    ok(store("policy", "set", "credit-limit.prospect", "1000", "--reason", "r"))
    sale = (
        "sale",
        "record",
        "acme",
        "--invoice",
        "INV-1",
        "--product",
        "p",
        "--amount",
        "5000",
        "--cost",
        "100",
    )
    line = refusal(store(*sale), 1)
    assert "missing: an approved credit-limit exception; request one with" in line
    assert "`kamflow exception request acme --rule credit-limit --invoice INV-1" in line
    assert ok(
        store(
            "exception",
            "request",
            "acme",
            "--rule",
            "credit-limit",
            "--invoice",
            "INV-1",
            "--reason",
            "harvest",
        )
    ) == [
        'recorded PolicyExceptionRequested (version 2) on "acme": E-1 requested; an approver'
        " who is not li.wei approves it"
    ]
    line = refusal(store(*sale), 1)
    assert "missing: an approval of exception E-1, requested by li.wei" in line
    assert "`kamflow exception approve acme E-1`" in line
    assert ok(store("exception", "approve", "acme", "e-1", actor=APPROVER)) == [
        'recorded PolicyExceptionApproved (version 3) on "acme": E-1, approved by zhao.director'
    ]
    ok(store(*sale))
    history = json_of(store("account", "history", "acme", "--json"))
    approval = next(e for e in history if e["type"] == "PolicyExceptionApproved")
    # Part 11 §11.50: the approver's name, the time, and the meaning.
    assert approval["actor"] == APPROVER
    assert approval["recorded_at"]
    assert approval["summary"] == (
        "exception E-1 to credit-limit for invoice INV-1: harvest; requested by li.wei,"
        " approved by zhao.director"
    )


def test_the_requester_never_approves_their_own_exception(store: Kam) -> None:
    # zhao.director needs kam to ask; an approver asking cannot approve their own.
    ok(store("roster", "grant", APPROVER, "kam", "--reason", "also sells"))
    ok(
        store(
            "exception",
            "request",
            "acme",
            "--rule",
            "discount-ceiling",
            "--reason",
            "r",
            actor=APPROVER,
        )
    )
    line = refusal(store("exception", "approve", "acme", "E-1", actor="ZHAO.director"), 1)
    assert line == (
        "Error: four eyes: zhao.director requested exception E-1 on acme and cannot also"
        " approve it; another approver must"
    )


def test_a_raise_to_key_is_requested_and_approved_by_two_people(store: Kam) -> None:
    line = refusal(store("tier", "set", "acme", "key", "--reason", "big"), 1)
    assert line.startswith("Error: P4: raising acme to key needs a second person (four eyes)")
    assert "`kamflow tier request acme key --reason big`" in line
    assert "`kamflow tier approve acme`" in line
    ok(store("tier", "request", "acme", "key", "--reason", "big"))
    assert ok(store("tier", "approve", "acme", actor=APPROVER)) == [
        'recorded TierRaiseApproved (version 3) on "acme": key, approved by zhao.director'
    ]
    show = json_of(store("account", "show", "acme", "--json"))
    assert show["tier"] == "key"


def test_the_requester_never_approves_their_own_raise(store: Kam) -> None:
    ok(store("roster", "grant", APPROVER, "kam", "--reason", "also sells"))
    ok(store("tier", "request", "acme", "strategic", "--reason", "big", actor=APPROVER))
    line = refusal(store("tier", "approve", "acme", actor=APPROVER), 1)
    assert "four eyes: zhao.director requested the raise to strategic on acme" in line


def test_tier_set_approved_by_and_exception_grant_are_refused_where_roles_apply(
    store: Kam,
) -> None:
    result = store("tier", "set", "acme", "strategic", "--reason", "r", "--approved-by", "x")
    line = refusal(result, 1)
    assert line.startswith("Error: P4: raising acme to strategic needs a second person")
    result = store(
        "exception", "grant", "acme", "--rule", "credit-limit", "--reason", "r", actor=ACTOR
    )
    assert result.exit_code == 1
    assert "Error: P1: an exception needs two people (four eyes)" in result.stderr


# ---------------------------------------------------------------- history flags
def _below(kf: Kamflow, key: str | None, actor: str, change: Callable[[Any, Meta], None]) -> None:
    kf.record_below_commands(key, actor, date(2026, 11, 2), change)


def test_report_principles_and_workflow_check_flag_each_act_roles_now_refuse(
    locator: str,
) -> None:
    """Given a store whose history holds one of each act roles refuse (recorded below
    the commands, as an older kamflow or an import would), report principles and
    workflow check name each."""
    ok(invoke(locator, *OPEN, "--on", "2026-11-01"))
    ok(invoke(locator, "tier", "set", "acme", "target", "--reason", "r", "--on", "2026-11-01"))
    kf = Kamflow(locator)
    try:
        _below(
            kf,
            None,
            "wang.fang",
            lambda g, m: g.record(
                Governance.RoleGranted, m, person="wang.fang", role="approver", reason="me"
            ),
        )
        _below(
            kf,
            None,
            "zhang.min",
            lambda g, m: g.record(
                Governance.PolicySet,
                m,
                policy="credit-limit.key",
                value=Decimal(1),
                previous=Decimal(1000000),
                reason="x",
            ),
        )
        _below(
            kf,
            "acme",
            "li.wei",
            lambda a, m: a.record(
                Account.PolicyExceptionGranted,
                m,
                exception_id="E-1",
                rule="credit-limit",
                approver="li.wei",
                reason="self",
                invoice=None,
            ),
        )
        _below(
            kf,
            "acme",
            "li.wei",
            lambda a, m: a.record(
                Account.TierChanged,
                m,
                from_tier="target",
                to_tier="key",
                reason="I say so",
                approved_by=None,
            ),
        )
        _below(
            kf,
            "acme",
            "   ",
            lambda a, m: a.record(
                Account.SatisfactionMeasured, m, score=Decimal(7), target=Decimal(8), note=""
            ),
        )
        _below(
            kf,
            "acme",
            "intern\nzhao",
            lambda a, m: a.record(
                Account.SatisfactionMeasured, m, score=Decimal(7), target=Decimal(8), note=""
            ),
        )
    finally:
        kf.close()
    rows = json_of(invoke(locator, "report", "principles", "--json"))["rows"]
    found = {(r["principle"], r["key"], r["finding"]) for r in rows if r["severity"] == "violation"}
    expected = {
        (
            "roles",
            "(governance)",
            "wang.fang granted themselves the approver role (governance version 3)",
        ),
        (
            "roles",
            "(governance)",
            "policy credit-limit.key set by zhang.min, who was not an admin (governance version 4)",
        ),
        (
            "P4",
            "acme",
            "exception E-1 granted by li.wei with no request by anyone else"
            " (self-approved: one person asked and approved)",
        ),
        ("P4", "acme", "tier raised to key by li.wei without an approver (version 4)"),
        ("actor", "acme", "SatisfactionMeasured (version 5): its actor is blank ('   ')"),
        (
            "actor",
            "acme",
            "SatisfactionMeasured (version 6): its actor is more than one line ('intern\\nzhao')",
        ),
    }
    assert expected <= found, found
    # The same findings from the event store, exit 1.
    result = invoke(locator, "workflow", "check")
    assert result.exit_code == 1
    for principle, key, finding in expected:
        where = "governance" if key == "(governance)" else key
        shown = f"{principle} {key if principle != 'actor' else where}: "
        assert any(line.endswith(finding) for line in result.stdout.splitlines()), (
            shown,
            finding,
            result.stdout,
        )


def test_a_history_of_commands_has_no_flags(store: Kam) -> None:
    ok(store("roster", "grant", "wang.fang", "kam", "--reason", "KAM"))
    ok(store("tier", "request", "acme", "key", "--reason", "big", actor="wang.fang"))
    ok(store("tier", "approve", "acme", actor=APPROVER))
    ok(store("exception", "request", "acme", "--rule", "credit-limit", "--reason", "r"))
    ok(store("exception", "approve", "acme", "E-1", actor=APPROVER))
    rows = json_of(store("report", "principles", "--json"))["rows"]
    assert [r for r in rows if r["principle"] in ("roles", "actor")] == []
    flagged = ("self-approved", "without an approver", "approved by themselves")
    assert [r for r in rows if any(f in r["finding"] for f in flagged)] == []
    assert store("workflow", "check").exit_code == 0

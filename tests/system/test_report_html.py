"""`kamflow report html` (issue 14, item 2): one offline page, looked at in a real
browser (headless Chromium over the DevTools protocol): no console error and no
request, the charts have a mark per account, a table sorts when its header is clicked,
stored text cannot run, and a screenshot is written for a person to look at.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from chromium_devtools import Browser, chromium_problem
from click.testing import CliRunner, Result
from conftest import fake_clock

from kamflow.application import Kamflow
from kamflow.cli import cli
from kamflow.demo import build_demo

TODAY = date(2026, 12, 1)
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def kam(db: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db, "--actor", "li.wei", *args], catch_exceptions=False)


def answer(db: str, *args: str) -> Any:
    result = kam(db, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Page:
    db: str
    path: Path
    html: str


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    folder = tmp_path_factory.mktemp("html")
    db = str(folder / "demo.db")
    kamflow = Kamflow(db, tz="Asia/Shanghai")
    try:
        build_demo(kamflow, accounts=24, seed=7, today=TODAY)
    finally:
        kamflow.close()
    with fake_clock(TODAY):
        opened = kam(db, "account", "open", "xss", "--name", EVIL, "--industry", "<b>feed</b>",
                     "--owner", "li.wei", "--on", "2026-11-02")  # fmt: skip
        assert opened.exit_code == 0, opened.stderr
        kam(db, "contact", "add", "xss", "Eve <i>", "--title", "</svg><script>x()</script>",
            "--department", "it", "--role", "buyer", "--on", "2026-11-02")  # fmt: skip
        path = folder / "report.html"
        result = kam(db, "report", "html", "--out", str(path))
        assert result.exit_code == 0, result.stderr
        assert result.stdout == (
            f"wrote {path}: portfolio, complaints, principles and 25 account pages\n"
        )
        yield Page(db, path, path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the file itself
def test_the_page_is_one_file_that_needs_nothing_from_the_network(page: Page) -> None:
    text = page.html

    assert text.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in text
    assert "default-src 'none'" in text
    # No source from anywhere: no src, no external href, no @import or url() but #ids.
    tags = re.findall(r"<[a-zA-Z][^<>]*>", text)
    assert [t for t in tags if re.search(r"\ssrc=", t)] == []
    assert [t for t in tags if re.search(r'\shref="[^#]', t)] == []
    assert "@import" not in text
    assert set(re.findall(r"url\(([^)]*)\)", text)) <= {f"#arrow-{i}" for i in range(100)}


def test_stored_text_is_escaped_everywhere(page: Page) -> None:
    text = page.html

    assert "<script>window.__pwned" not in text
    assert "<img src=x" not in text
    assert "<b>feed</b>" not in text and "</svg><script>x()" not in text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text
    # The page's own one script, and no other.
    assert text.count("<script>") == 1


# ------------------------------------------------------------------ in Chromium
@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    problem = chromium_problem()
    if problem:
        pytest.skip(problem)
    opened = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.slow
def test_the_page_in_chromium(page: Page, browser: Browser, tmp_path: Path) -> None:
    portfolio = answer(page.db, "report", "portfolio")
    centre = answer(page.db, "report", "buying-centre")
    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.send(f"{domain}.enable")
    browser.send(
        "Emulation.setDeviceMetricsOverride", width=1280, height=1000, deviceScaleFactor=1,
        mobile=False,
    )  # fmt: skip
    browser.send("Page.navigate", url=page.path.as_uri())
    browser.wait_for("Page.loadEventFired")

    # No error of any kind in the console, no exception, no request but the page.
    errors = [
        e for e in browser.events
        if e["method"] == "Runtime.exceptionThrown"
        or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]  # fmt: skip
    assert errors == []
    requested = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e["method"] == "Network.requestWillBeSent"
    ]
    assert requested == [page.path.as_uri()]

    # Stored text did not run: it is shown as text.
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    browser.send("Page.navigate", url=page.path.as_uri() + "#account-xss")
    shown = browser.evaluate("document.getElementById('account-xss').innerText")
    assert "<script>window.__pwned = 1</script>" in shown
    assert browser.evaluate("typeof window.__pwned") == "undefined"

    # Every chart has a mark per account of the report's JSON.
    rows = portfolio["rows"]
    placed = [
        r for r in rows
        if float(r["revenue"]) > 0 and r["cost_to_serve_pct"] is not None
        and r["margin_pct"] is not None
    ]  # fmt: skip

    def count(selector: str) -> int:
        return int(browser.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length"))

    assert count("svg[data-chart=pareto] rect.bar") == len(rows)
    assert count("svg[data-chart=pareto] circle.point") == len(rows)
    assert count("svg[data-chart=zone] circle.point") == 2 * len(placed)
    assert count("svg[data-chart=zone] circle.point.in") == 2 * sum(
        1 for r in placed if r["zone"] == "key-account zone"
    )
    classes = portfolio["summary"]["value_classes"]
    assert browser.evaluate(
        "[...document.querySelectorAll('svg[data-chart=value-classes] text.value')]"
        ".map(t => Number(t.textContent))"
    ) == [classes.get(c, 0) for c in ("MVC", "MGC", "standard", "BZ")]
    for row in centre["rows"]:
        key = row["key"]
        people = f"#account-{key} svg[data-chart=relationship-map] g.person"
        gaps = f"#account-{key} svg[data-chart=relationship-map] g.gap"
        missing = [r for r in row["roles_missing"].split(", ") if r]
        assert count(people) == row["current_contacts"], key
        assert count(gaps) == len(missing) + int(row["single_thread"]), key

    # Clicking the revenue header sorts the portfolio by revenue; again, the other way.
    browser.send("Page.navigate", url=page.path.as_uri())
    browser.wait_for("Page.loadEventFired")
    column = (
        "(() => { const t = document.querySelector('table[data-table=portfolio]');"
        " const i = [...t.tHead.rows[0].cells].findIndex(c => c.textContent === 'revenue');"
        " return [...t.tBodies[0].rows].map(r => Number(r.cells[i].dataset.v)); })()"
    )
    before = browser.evaluate(column)
    header = "table[data-table=portfolio] th:nth-child({})".format(
        [*portfolio["rows"][0]].index("revenue") + 1
    )
    browser.click(header)
    ascending = browser.evaluate(column)
    browser.click(header)
    descending = browser.evaluate(column)
    assert before != sorted(before)
    assert ascending == sorted(before)
    assert descending == sorted(before, reverse=True)

    # A picture for a person to look at: the top of the page, and an account's page.
    browser.evaluate("window.scrollTo(0, 0)")
    shots = _shots_folder(tmp_path)
    top = browser.send("Page.captureScreenshot", format="png")["data"]
    browser.send("Page.navigate", url=page.path.as_uri() + "#account-" + centre["rows"][-1]["key"])
    account = browser.send("Page.captureScreenshot", format="png")["data"]
    for name, data in (("report-html.png", top), ("report-html-account.png", account)):
        png = base64.b64decode(data)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
        (shots / name).write_bytes(png)
    print(f"screenshots: {shots / 'report-html.png'}, {shots / 'report-html-account.png'}")


def _shots_folder(tmp_path: Path) -> Path:
    """KAMFLOW_SCREENSHOTS if set (e.g. to look at them after CI), else the test's folder."""
    chosen = os.environ.get("KAMFLOW_SCREENSHOTS")
    if not chosen:
        return tmp_path
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_page_to_stdout_is_the_same_page(page: Page) -> None:
    with fake_clock(TODAY):
        result = kam(page.db, "report", "html", "--out", "-")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == page.html


def test_chromium_problem_is_none_where_chromium_is_installed() -> None:
    assert (chromium_problem() is None) == (shutil.which("chromium") is not None)

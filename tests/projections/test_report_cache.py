"""`report ... --json` answers with the JSON kept for views that have not moved, and
builds it again once anything reaches the views (kamflow.projections.reportcache)."""

from __future__ import annotations

from datetime import date

from conftest import ACTOR, fake_clock, invoker, json_of, ok

from kamflow.projections.db import ViewDB


def kept_rows(locator: str) -> list[tuple[str, str]]:
    db = ViewDB(locator)
    try:
        if not db.table_exists("kf_report_cache"):
            return []
        return [(str(r), str(b)) for r, b in db.rows("SELECT report, body FROM kf_report_cache")]
    finally:
        db.close()


def test_portfolio_json_is_kept_then_built_again_after_a_write(locator: str) -> None:
    kam = invoker(locator)
    with fake_clock(date(2026, 3, 2)):
        for key in ("acme", "beta"):
            ok(kam("account", "open", key, "--name", key.title(), "--industry", "feed",
                   "--owner", ACTOR, "--tier", "key"))  # fmt: skip
        ok(kam("sale", "record", "acme", "--invoice", "A-1", "--product", "phytase",
               "--amount", "1000", "--cost", "600"))  # fmt: skip

        first = kam("report", "portfolio", "--json")
        again = kam("report", "portfolio", "--json")
        text = kam("report", "portfolio")
        ok(kam("sale", "record", "beta", "--invoice", "B-1", "--product", "phytase",
               "--amount", "5000", "--cost", "1000"))  # fmt: skip
        after = kam("report", "portfolio", "--json")
        # Other parameters, another kept report (a currency not in the store is refused).
        grouped = kam("report", "portfolio", "--json", "--by", "owner")

    assert again.stdout == first.stdout
    assert kept_rows(locator)[0][0] == "portfolio"
    assert any(line.startswith("acme") for line in ok(text))
    revenue = {r["key"]: r["revenue"] for r in json_of(after)["rows"]}
    assert revenue == {"acme": "1000.00", "beta": "5000.00"}
    assert after.stdout != first.stdout
    assert json_of(grouped) != json_of(after)


def test_the_kept_json_is_the_json_a_fresh_build_gives(locator: str) -> None:
    kam = invoker(locator)
    with fake_clock(date(2026, 3, 2)):
        ok(kam("account", "open", "acme", "--name", "Acme", "--industry", "feed",
               "--owner", ACTOR, "--tier", "key"))  # fmt: skip
        kept = kam("report", "portfolio", "--json")
        db = ViewDB(locator)
        try:
            with db.transaction() as cur:
                cur.execute(db.sql("DELETE FROM kf_report_cache"))
        finally:
            db.close()
        fresh = kam("report", "portfolio", "--json")

    assert kept.stdout == fresh.stdout


def test_a_rebuild_forgets_every_kept_report(sqlite_locator: str) -> None:
    kam = invoker(sqlite_locator)
    with fake_clock(date(2026, 3, 2)):
        ok(kam("account", "open", "acme", "--name", "Acme", "--industry", "feed",
               "--owner", ACTOR, "--tier", "key"))  # fmt: skip
        kam("report", "portfolio", "--json")
        kept = kept_rows(sqlite_locator)

        ok(kam("projections", "rebuild"))

    assert [name for name, _ in kept] == ["portfolio"]
    assert kept_rows(sqlite_locator) == []

"""No stored event can take the read side down for everyone (issue 8, items 1b, 2, 4).

- text a backend cannot hold (NUL) that older code stored is projected with U+FFFD, the
  same on SQLite and PostgreSQL, and every report and rebuild answers;
- an event a view cannot project (broken JSON, an unknown type, a missing field, a
  value of the wrong type) is quarantined by the views it breaks, named by
  `projections status` and by the reports that read those views (output given, exit 1),
  while every other report answers exactly as on a store without it, and the events
  after it are projected;
- `projections rebuild` swaps the views in only once they are complete: a rebuild that
  is interrupted or killed leaves the old views answering, and the next one cleans up.

Stores are written through the CLI, then their events are copied byte for byte into a
second store of the same backend, one of them edited with SQL as corruption would.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import (
    ACTOR,
    Capped,
    Interrupting,
    StoredRow,
    fresh_store,
    invoke,
    invoker,
    ok,
    old_store,
    report_commands,
    stored_rows,
    write_rows,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.domain.account import Account
from kamflow.domain.errors import Conflict
from kamflow.domain.values import account_id
from kamflow.projections.db import ViewDB
from kamflow.projections.engine import Projector, caught_up_views, views_as_of
from kamflow.projections.log import REPLACEMENT, StoreSource, readable
from kamflow.projections.reports import MODULES, READS, builder
from kamflow.projections.reports.base import ReportParams
from kamflow.projections.views import VIEWS

ALL_VIEWS = list(VIEWS)
TABLES = [table for view in VIEWS.values() for table in view.tables]
HINT = "; see kamflow projections status"


# ------------------------------------------------------------------ stores
def is_postgres(locator: str) -> bool:
    return locator.startswith("postgresql")


def twin_of(locator: str) -> contextlib.AbstractContextManager[str]:
    """A second, empty store on the same backend as ``locator``."""
    return fresh_store("postgres" if is_postgres(locator) else "sqlite")


def view_rows(locator: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table and of the quarantine, in a stable order."""
    db = ViewDB(locator)
    try:
        return {
            table: sorted((tuple(r) for r in db.rows(f"SELECT * FROM {table}")), key=repr)
            for table in [*TABLES, "kf_quarantine"]
        }
    finally:
        db.close()


def aside_tables(locator: str) -> list[str]:
    db = ViewDB(locator)
    try:
        with db.transaction() as cur:
            return db.tables_like("kfr_", cur)
    finally:
        db.close()


# ------------------------------------------------------------------ the CLI
def reads(command: str) -> tuple[str, ...]:
    return READS[command.split()[0]]


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# ------------------------------------------------------------------ NUL
def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [*_texts(k), *_texts(v)]]
    return [t for v in value for t in _texts(v)]


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
@settings(max_examples=100, deadline=None)
def test_readable_replaces_only_what_no_backend_can_hold(value: Any) -> None:
    cleaned = readable(value)
    for before, after in zip(_texts(value), _texts(cleaned), strict=True):
        after.encode("utf-8")  # no lone surrogate left
        assert "\x00" not in after
        assert after == re.sub("[\x00\ud800-\udfff]", REPLACEMENT, before)
    if not any(re.search("[\x00\ud800-\udfff]", t) for t in _texts(value)):
        assert cleaned == value


# ------------------------------------------------------------------ poison
def write_history(locator: str) -> None:
    """Two accounts whose events interleave; tongwei's 5th event is a ContactAdded."""
    kam = invoker(locator)
    ok(kam("account", "open", "acme", "--name", "Acme", "--industry", "feed",
           "--owner", ACTOR))  # fmt: skip
    ok(kam("account", "open", "tongwei", "--name", "Tongwei", "--industry", "feed",
           "--owner", ACTOR, "--tier", "key"))  # fmt: skip
    ok(kam("contact", "add", "tongwei", "Li Na", "--title", "GM", "--department", "gm",
           "--role", "decider"))  # fmt: skip
    ok(kam("sale", "record", "acme", "--invoice", "A-1", "--product", "premix",
           "--amount", "100", "--cost", "60"))  # fmt: skip
    ok(kam("sale", "record", "tongwei", "--invoice", "T-1", "--product", "phytase",
           "--amount", "5000", "--cost", "3000"))  # fmt: skip
    ok(kam("visit", "log", "tongwei", "--with", "Li Na", "--purpose", "trial",
           "--objective", "size", "--result", "2 t agreed"))  # fmt: skip
    ok(kam("contact", "add", "tongwei", "Zhou Yu", "--title", "Buyer",
           "--department", "procurement", "--role", "buyer"))  # fmt: skip  # tongwei v5
    ok(kam("complaint", "raise", "acme", "--summary", "late", "--severity", "high"))
    ok(kam("sale", "record", "tongwei", "--invoice", "T-2", "--product", "phytase",
           "--amount", "2500", "--cost", "1000"))  # fmt: skip
    ok(kam("opp", "open", "acme", "--title", "premix line", "--budget", "9000"))
    ok(kam("policy", "set", "complaint-sla-days.key", "4", "--reason", "faster"))


Edit = Callable[[str, bytes], tuple[str, bytes]]  # (topic, state) -> (topic, state)


def edit_state(change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(topic: str, state: bytes) -> tuple[str, bytes]:
        fields = json.loads(state)
        change(fields)
        return topic, json.dumps(fields).encode()

    return edit


def _missing(fields: dict[str, Any]) -> None:
    del fields["department"]


def _wrong_type(fields: dict[str, Any]) -> None:
    fields["roles"] = 7


# name -> (edit of the stored event, views it breaks, why, type shown)
POISONS: dict[str, tuple[Edit, list[str], str, str]] = {
    "broken JSON": (
        lambda topic, state: (topic, state[: len(state) // 2]),
        ALL_VIEWS,
        "stored JSON is not valid: EOF while parsing",
        "ContactAdded",
    ),
    "unknown topic": (
        lambda topic, state: (topic.replace("ContactAdded", "ContactBeamedUp"), state),
        ALL_VIEWS,
        "unknown event type kamflow.domain.account:Account.ContactBeamedUp",
        "ContactBeamedUp",
    ),
    "missing field": (
        edit_state(_missing),
        ["people", "audit"],
        'missing field "department"',
        "ContactAdded",
    ),
    "wrong type": (
        edit_state(_wrong_type),
        ["people", "audit"],
        "TypeError: can only join an iterable",
        "ContactAdded",
    ),
}


def as_text(result: Result) -> str:
    """The error a --json read gave (one JSON object on stderr, with the exit code and
    kind of an Unprojectable) as the line a person would have read."""
    (line,) = result.stderr.splitlines()
    error = json.loads(line)["error"]
    assert (error["exit_code"], error["kind"]) == (result.exit_code, "Unprojectable")
    return f"Error: {error['message']}\n"


def skipped_line(views: list[str], entry: str, hint: bool = True) -> str:
    if len(views) == 1:
        head = f'view "{views[0]}" skips 1 event it cannot project'
    else:
        names = ", ".join(f'"{v}"' for v in views[:-1]) + f' and "{views[-1]}"'
        head = f"views {names} skip 1 event they cannot project"
    return f"Error: {head}: {entry}{HINT if hint else ''}\n"


@pytest.mark.parametrize("poison", list(POISONS))
def test_a_poison_event_is_named_by_the_views_it_breaks_and_every_other_report_answers(
    locator: str, poison: str
) -> None:
    edit, broken, why, shown = POISONS[poison]
    # Given a healthy store, and its twin whose event 5 of tongwei is corrupt
    write_history(locator)
    rows = stored_rows(locator)
    tongwei = account_id("tongwei").hex
    position = next(
        n for n, (aid, version, _, _) in enumerate(rows, 1)
        if aid.replace("-", "") == tongwei and version == 5
    )  # fmt: skip
    aid, version, topic, state = rows[position - 1]
    assert topic.endswith("ContactAdded")
    poisoned = list(rows)
    poisoned[position - 1] = (aid, version, *edit(topic, state))
    entry = f'event 5 of "tongwei" (position {position}, {shown}): {why}'

    with twin_of(locator) as twin:
        write_rows(twin, poisoned)
        for stage in ("first catch-up", "after more events"):
            if stage == "after more events":
                for store in (locator, twin):  # (tongwei itself cannot be loaded)
                    ok(invoke(store, "sale", "record", "acme", "--invoice", "A-2", "--product",
                       "premix", "--amount", "700", "--cost", "100"))  # fmt: skip
            # When every report runs on both (the first catches the views up)
            for name, args in report_commands(locator).items():
                clean, got = invoke(locator, *args), invoke(twin, *args)
                assert (clean.exit_code, clean.stderr) == (0, "")
                hit = [v for v in ALL_VIEWS if v in broken and v in reads(name)]
                if not hit:
                    # Then a report over views that skip nothing answers exactly as
                    # on the healthy store, events after the poison included
                    assert (got.exit_code, got.stderr, got.stdout) == (0, "", clean.stdout)
                    continue
                # and one over a view that skips it still prints, names it, exits 1
                assert got.exit_code == 1, (stage, name, got.stderr)
                assert as_text(got).startswith(skipped_line(hit, entry)[: -len(HINT) - 1])
                assert as_text(got).endswith(HINT + "\n")
                json.loads(got.stdout)

            # and `projections status` lists it for each view it breaks, and exits 1
            status = invoke(twin, "projections", "status", "--json")
            assert status.exit_code == 1
            assert as_text(status).startswith(skipped_line(broken, entry, hint=False)[:-1])
            listed = {s["view"]: s for s in json.loads(status.stdout)}
            newest = len(poisoned) + (stage == "after more events")
            for view in ALL_VIEWS:
                assert listed[view]["position"] == newest
                skipped = listed[view]["quarantined"]
                assert [(s["position"], s["key"], s["version"]) for s in skipped] == (
                    [(position, "tongwei", 5)] if view in broken else []
                )
                assert all(s["error"].startswith(why) for s in skipped)
            table = invoke(twin, "projections", "status")
            assert table.exit_code == 1
            assert re.search(rf"people +{re.escape(entry[:40])}", table.stdout)

        # and "as of" today the same views skip it
        as_of = invoke(twin, "report", "buying-centre", "--as-of", today(), "--json")
        assert as_of.exit_code == 1 and f"(position {position}, {shown})" in as_text(as_of)
        assert invoke(twin, "report", "funnel", "--as-of", today()).exit_code == (
            1 if "market" in broken else 0
        )

        # and a rebuild names it too, and gives the rows the catch-ups gave
        incremental = view_rows(twin)
        rebuilt = invoke(twin, "projections", "rebuild")
        assert rebuilt.exit_code == 1
        assert rebuilt.stdout.startswith("rebuilt accounts, people,")
        named = rebuilt.stderr.strip()
        assert named.startswith(skipped_line(broken, entry)[: -len(HINT) - 1])
        assert named.endswith(HINT) and "\n" not in named
        assert view_rows(twin) == incremental


def test_a_database_that_refuses_a_value_quarantines_that_event_for_that_view_only(
    locator: str,
) -> None:
    # Given a sale whose stored amount is too large for a BIGINT column on both backends
    # (the handler computes it; the database refuses it)
    write_history(locator)
    rows = stored_rows(locator)
    position = next(
        n for n, (_, _, topic, state) in enumerate(rows, 1)
        if topic.endswith("SaleRecorded") and b'"T-2"' in state
    )  # fmt: skip
    aid, version, topic, state = rows[position - 1]
    fields = json.loads(state)
    fields["cost"] = {"_type_": "decimal_str", "_data_": "1e30"}
    rows[position - 1] = (aid, version, topic, json.dumps(fields).encode())
    with twin_of(locator) as twin:
        write_rows(twin, rows)

        # When the views catch up (batch by batch, the failing batch in halves), for a
        # report over none of the refusing views (the funnel reads accounts since it
        # takes --owner: issue 15)
        result = invoke(twin, "report", "audit", "--json")
        assert (result.exit_code, result.stderr) == (0, "")

        # Then only the views whose statements the database refused skip it
        status = json.loads(invoke(twin, "projections", "status", "--json").stdout)
        skipping = {s["view"] for s in status if s["quarantined"]}
        assert skipping == {"accounts", "ledger"}
        assert all(s["position"] == len(rows) for s in status)
        errors = [q["error"] for s in status for q in s["quarantined"]]
        assert all(e.startswith(("OverflowError", "NumericValueOutOfRange")) for e in errors)
        # and the rest of the batch is in the views
        sales = ViewDB(twin)
        try:
            assert sales.rows("SELECT invoice FROM kf_sales ORDER BY invoice") == [
                ("A-1",), ("T-1",),
            ]  # fmt: skip
            assert sales.scalar("SELECT COUNT(*) FROM kf_audit") == len(rows)
        finally:
            sales.close()

        # and a rebuild that meets it (a transaction done again) counts each event once
        shown: list[int] = []
        kf, db = Kamflow(twin), ViewDB(twin)
        try:
            with StoreSource(kf.locator) as source:
                read = Projector(db).rebuild(ALL_VIEWS, source, batch=2, progress=shown.append)
        finally:
            db.close()
            kf.close()
        assert read == sum(shown) == len(rows)
        assert json.loads(invoke(twin, "projections", "status", "--json").stdout) == status


# ------------------------------------------------------------------ declared reads
def test_each_report_declares_exactly_the_views_it_reads(tmp_path: Path) -> None:
    store = tmp_path / "demo.db"
    old_store("demo-03f4076.db.gz", str(store))
    kf = Kamflow(str(store))
    db = caught_up_views(str(store))
    table_view = {t: v.name for v in VIEWS.values() for t in v.tables}
    seen: set[str] = set()
    real = db.rows, db.query, db.scalar, db.table_exists

    def spy(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(sql: str, *args: Any) -> Any:
            seen.update(re.findall(r"\bkf_\w+", sql))
            return method(sql, *args)

        return wrapped

    db.rows, db.query, db.scalar, db.table_exists = (spy(m) for m in real)  # type: ignore[method-assign]
    try:
        keys = [r[0] for r in real[0]("SELECT key FROM kf_accounts")]
        for name in MODULES:
            read: set[str] = set()
            for key in keys if name == "file" else [None]:
                seen.clear()
                builder(name)(db, ReportParams(today=datetime(2026, 11, 29).date(), key=key))
                read |= {table_view[t] for t in seen if t in table_view}
            assert sorted(read) == sorted(READS[name]), name
    finally:
        db.close()
        kf.close()


# ------------------------------------------------------------------ atomic rebuild
def every_report(db: ViewDB) -> dict[str, Any]:
    params = ReportParams(today=datetime(2026, 11, 29).date())
    return {name: builder(name)(db, params).as_json() for name in MODULES if name != "file"}


def test_an_interrupted_rebuild_leaves_the_old_views_answering_and_the_next_cleans_up(
    locator: str,
) -> None:
    # Given caught-up views of a store big enough to rebuild in bulk and in batches
    old_store("demo-03f4076.db.gz", locator)
    kf = Kamflow(locator)
    db = caught_up_views(locator)
    try:
        before, reports = view_rows(locator), every_report(db)
        positions = Projector(db).positions()
        during: list[dict[str, Any]] = []

        def report_meanwhile() -> None:
            other = ViewDB(locator)
            try:
                during.append(every_report(other))
            finally:
                other.close()

        # When a rebuild is interrupted part-way, reports running meanwhile
        projector = Projector(db, bulk_from=1)
        with pytest.raises(KeyboardInterrupt):
            projector.rebuild(
                ALL_VIEWS,
                Interrupting(StoreSource(kf.locator), 3, report_meanwhile),
                batch=500,
                hold=0,
            )

        # Then the reports meanwhile and after it read the old views, unchanged
        assert during and all(r == reports for r in during)
        assert view_rows(locator) == before and every_report(db) == reports
        assert Projector(db).positions() == positions
        assert not db.missing([n for v in VIEWS.values() for n in v.indexes])
        assert aside_tables(locator)  # what it had filled, left beside them

        # and the next rebuild succeeds, with the same rows, and drops what was left
        projector.rebuild(ALL_VIEWS, StoreSource(kf.locator), batch=500)
        assert view_rows(locator) == before and every_report(db) == reports
        assert aside_tables(locator) == []
        assert not db.missing([n for v in VIEWS.values() for n in v.indexes])
        assert Projector(db).positions() == positions
    finally:
        db.close()
        kf.close()


def test_a_rebuild_whose_tables_another_rebuild_took_over_swaps_nothing(locator: str) -> None:
    old_store("nul-03f4076.db", locator)
    kf = Kamflow(locator)
    db = caught_up_views(locator)
    try:
        before = view_rows(locator)

        def take_over() -> None:
            # What a second rebuild starting now does to the first one's tables.
            db._conn.execute("UPDATE kfr_tracking SET fingerprint = 'another rebuild'")

        with pytest.raises(Conflict, match="another `kamflow projections rebuild` started"):
            Projector(db).rebuild(
                ["complaints"], Interrupting(StoreSource(kf.locator), 9, take_over)
            )
        assert view_rows(locator) == before
    finally:
        db.close()
        kf.close()


def test_views_caught_up_past_a_rebuild_are_swapped_back_to_its_position_and_catch_up(
    locator: str,
) -> None:
    # Given views a catch-up took further than a rebuild running meanwhile will get
    old_store("nul-03f4076.db", locator)
    kf = Kamflow(locator)
    db = caught_up_views(locator)
    try:
        expected = view_rows(locator)

        # When the rebuild swaps in its views, 4 events into the log of 7
        Projector(db).rebuild(ALL_VIEWS, Capped(StoreSource(kf.locator), 4))

        # Then they are at its position, and the next catch-up applies the rest once
        assert set(Projector(db).positions().values()) == {4}
        db.close()
        db = caught_up_views(locator)
        assert set(Projector(db).positions().values()) == {7}
        assert view_rows(locator) == expected
    finally:
        db.close()
        kf.close()


def test_rebuild_through_the_cli_when_interrupted_changes_no_view(
    locator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_store("nul-03f4076.db", locator)
    answer = ok(invoke(locator, "report", "complaints", "--json"))
    before = view_rows(locator)
    raised = VIEWS["complaints"].handlers[Account.ComplaintRaised]
    calls: list[int] = []

    def stop(event: Any, key: str) -> Any:
        calls.append(1)
        raise KeyboardInterrupt  # Ctrl-C while the complaints are being rebuilt

    monkeypatch.setitem(VIEWS["complaints"].handlers, Account.ComplaintRaised, stop)
    result = invoke(locator, "projections", "rebuild")
    # (click reports Ctrl-C in a command as "Aborted.", exit 1)
    assert (result.exit_code, result.stderr.strip(), calls) == (1, "Aborted.", [1])

    monkeypatch.setitem(VIEWS["complaints"].handlers, Account.ComplaintRaised, raised)
    assert view_rows(locator) == before
    assert ok(invoke(locator, "report", "complaints", "--json")) == answer
    rebuilt = invoke(locator, "projections", "rebuild")
    assert rebuilt.exit_code == 0 and rebuilt.stdout.startswith("rebuilt accounts")
    assert aside_tables(locator) == [] and view_rows(locator) == before


def test_a_rebuild_killed_with_sigkill_leaves_the_old_views_answering(locator: str) -> None:
    # Given caught-up views of the demo portfolio (3,185 events)
    old_store("demo-03f4076.db.gz", locator)
    answer = ok(invoke(locator, "report", "portfolio", "--json"))
    before = view_rows(locator)
    watch = ViewDB(locator)
    tracked = watch.rows("SELECT view, position FROM kf_tracking ORDER BY view")

    # When `kamflow projections rebuild` is killed as soon as it has begun to write
    env = {**os.environ, "KAMFLOW_DB": locator, "KAMFLOW_ACTOR": ACTOR}
    child = subprocess.Popen(
        [sys.executable, "-m", "kamflow", "projections", "rebuild"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            begun = watch.table_exists("kfr_tracking") or (
                watch.rows("SELECT view, position FROM kf_tracking ORDER BY view") != tracked
            )
            if begun:
                break
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        watch.close()

    # Then every view and report is as it was
    assert view_rows(locator) == before
    assert ok(invoke(locator, "report", "portfolio", "--json")) == answer
    # and the next rebuild succeeds and leaves nothing beside the views
    rebuilt = invoke(locator, "projections", "rebuild")
    assert rebuilt.exit_code == 0 and rebuilt.stdout.startswith("rebuilt accounts")
    assert aside_tables(locator) == [] and view_rows(locator) == before


# ------------------------------------------------------------------ any corruption
def mutations() -> st.SearchStrategy[tuple[str, Any]]:
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
        ),
        max_leaves=4,
    )
    return st.one_of(
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("drop"), st.integers(0, 30)),
        st.tuples(st.just("retype"), st.tuples(st.integers(0, 30), json_values)),
        st.tuples(
            st.just("topic"),
            st.sampled_from(
                ["", "no colon", "kamflow.domain.account:Account.Gone", "kamflow.gone:Event"]
            ),
        ),
        st.tuples(st.just("nul"), st.integers(0, 30)),
    )


def mutate(row: StoredRow, how: tuple[str, Any]) -> StoredRow:
    aid, version, topic, state = row
    kind, arg = how
    if kind == "truncate":
        return aid, version, topic, state[: int(len(state) * arg)]
    if kind == "topic":
        return aid, version, arg, state
    fields = json.loads(state)
    names = sorted(fields)
    name = names[(arg[0] if kind == "retype" else arg) % len(names)]
    if kind == "drop":
        del fields[name]
    elif kind == "retype":
        fields[name] = arg[1]
    elif isinstance(fields[name], str):
        fields[name] = fields[name][:1] + "\x00" + fields[name][1:]
    return aid, version, topic, json.dumps(fields).encode()


@pytest.fixture(scope="module")
def healthy_rows(tmp_path_factory: pytest.TempPathFactory) -> list[StoredRow]:
    store = str(tmp_path_factory.mktemp("healthy") / "kamflow.db")
    write_history(store)
    return stored_rows(store)


@given(target=st.integers(0, 200), how=mutations())
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_corrupt_event_is_projected_or_quarantined_and_never_stops_a_catch_up(
    backend: str, healthy_rows: list[StoredRow], target: int, how: tuple[str, Any]
) -> None:
    rows = list(healthy_rows)
    index = target % len(rows)
    rows[index] = mutate(rows[index], how)
    with fresh_store(backend) as locator:
        write_rows(locator, rows)
        kf = Kamflow(locator)
        db = ViewDB(locator)
        try:
            # When views catch up in small batches, as of today, and are rebuilt
            projector = Projector(db)
            projector.ensure_schema()
            with StoreSource(kf.locator) as source:
                projector.catch_up(source, batch=3, hold=0)
            incremental = view_rows(locator)
            memory = views_as_of(kf, datetime(2100, 1, 1, tzinfo=UTC))
            with StoreSource(kf.locator) as source:
                Projector(db).rebuild(ALL_VIEWS, source, batch=4)

            # Then every view passed every event, projecting it or naming it
            assert set(projector.positions().values()) == {len(rows)}
            skipped = projector.quarantined()
            assert {s.position for s in skipped} <= {index + 1}
            audited = db.rows("SELECT position FROM kf_audit ORDER BY position")
            expected = [p for p in range(1, len(rows) + 1) if ("audit", p) not in
                        {(s.view, s.position) for s in skipped}]  # fmt: skip
            assert [p for (p,) in audited] == expected
            # the same way however it was filled
            assert view_rows(locator) == incremental
            if backend == "sqlite":
                # (In memory is SQLite: a value of the wrong JSON type, such as a list
                # where text belongs, is text on PostgreSQL and refused by SQLite.)
                assert Projector(memory).quarantined() == skipped
            memory.close()
            # and text no backend can hold is stored replaced, not skipped
            if how[0] == "nul" and not skipped:
                stored = json.dumps(view_rows(locator), default=str, ensure_ascii=False)
                assert "\x00" not in stored
        finally:
            db.close()
            kf.close()

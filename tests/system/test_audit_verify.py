"""`kamflow audit verify` against a store altered behind kamflow's back (issue 11, ADR
0017), on SQLite and PostgreSQL: each tamper case is found, named by its first bad
position (or snapshot, or view row) and kind, exit 1; an untouched store verifies, exit 0.
(A deleted tail and an older backup are found against a checkpoint: audit checkpoint.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from conftest import ACTOR, FakeClock, invoke, json_of, old_store, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamflow.application import Kamflow
from kamflow.domain.values import account_id
from kamflow.projections.db import ViewDB
from kamflow.sealed import by_account
from kamflow.verify import verify

DAY = date(2026, 11, 2)
COSTS = 24  # acme: opened, 24 costs (a snapshot at version 20)


def history(locator: str, costs: int = COSTS) -> None:
    """Two accounts whose events interleave in the log; acme has a snapshot."""
    kf = Kamflow(locator, clock=FakeClock(DAY))
    try:
        for key in ("acme", "tango"):
            run(kf, "account open", {"account": key, "name": key.title(), "industry": "feed",
                                     "owner": ACTOR})  # fmt: skip
        run(kf, "contact add", {"account": "tango", "contact": "Wang", "title": "PM",
                                "department": "p"})  # fmt: skip
        for n in range(costs):
            run(kf, "cost record", {"account": "acme", "amount": Decimal(100 + n),
                                    "category": "travel", "description": f"trip {n}"})  # fmt: skip
            if n % 6 == 0:
                run(kf, "visit log", {"account": "tango", "with": ["Wang"], "purpose": "p",
                                      "objective": "o", "result": f"r{n}"})  # fmt: skip
    finally:
        kf.close()


def audit(locator: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke(locator, "audit", "verify", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def first(found: dict[str, Any]) -> tuple[str, str, str]:
    finding = found["findings"][0]
    return finding["check"], finding["where"], finding["kind"]


class Raw:
    """The store's tables, written with plain SQL as someone with the file would."""

    def __init__(self, locator: str) -> None:
        self.db = ViewDB(locator)
        self.events = self.db.events_table
        self.position = self.db.position_column
        self.snapshots = "kamflow_snapshots" if self.db.postgres else "stored_snapshots"

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def row(self, position: int) -> tuple[Any, ...]:
        (found,) = self.db.rows(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events}"
            f" WHERE {self.position} = ?",
            (position,),
        )
        return found

    def positions(self, key: str) -> list[int]:
        aid = account_id(key)
        ident = aid if self.db.postgres else aid.hex
        return [
            int(p)
            for (p,) in self.db.rows(
                f"SELECT {self.position} FROM {self.events} WHERE originator_id = ?"
                f" ORDER BY originator_version",
                (ident,),
            )
        ]

    def edit(self, position: int, change: Callable[[bytes], bytes]) -> None:
        state = bytes(self.row(position)[3])
        changed = change(state)
        assert changed != state
        self.execute(f"UPDATE {self.events} SET state = ? WHERE {self.position} = ?",
                     (changed, position))  # fmt: skip

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.db.transaction() as cur:
            cur.execute(self.db.sql(sql), params)


def replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def change(state: bytes) -> bytes:
        assert old in state, state
        return state.replace(old, new, 1)

    return change


@pytest.fixture
def store(locator: str) -> str:
    history(locator)
    return locator


def test_an_untouched_store_verifies_with_its_count_and_head(store: str) -> None:
    found = json_of(invoke(store, "audit", "verify", "--json", "--views"))
    with Raw(store) as raw:
        total = int(raw.db.scalar(f"SELECT COUNT(*) FROM {raw.events}"))
    assert found["ok"] is True
    assert found["events"] == found["size"] == total
    assert len(found["head"]) == 64
    assert found["sealed_after_the_fact"] is None  # sealed as written
    assert found["snapshots"] >= 1
    assert found["store"].startswith(("ok", "not checked"))
    assert "accounts" in found["views"]
    text = invoke(store, "audit", "verify")
    assert text.exit_code == 0
    assert f"{total:,} events verified" in text.stdout
    assert found["head"] in text.stdout


@pytest.mark.parametrize(
    ("what", "old", "new"),
    [
        ("payload", b'"description":"trip 5"', b'"description":"trip 6"'),
        ("actor", b'"actor":"li.wei"', b'"actor":"zhang.min"'),
        ("date", b'"occurred_on":{"_type_":"date_iso","_data_":"2026-11-02"}',
         b'"occurred_on":{"_type_":"date_iso","_data_":"2026-10-02"}'),
    ],
)  # fmt: skip
def test_an_edited_event_is_named_by_its_position(
    store: str, what: str, old: bytes, new: bytes
) -> None:
    with Raw(store) as raw:
        target = raw.positions("acme")[6]  # trip 5
        raw.edit(target, replace(old, new))
    code, found = audit(store)
    assert code == 1, what
    assert first(found) == ("log", str(target), "edited")


def test_an_edited_event_type_is_named(store: str) -> None:
    with Raw(store) as raw:
        target = raw.positions("acme")[6]
        topic = str(raw.row(target)[2])
        raw.execute(f"UPDATE {raw.events} SET topic = ? WHERE {raw.position} = ?",
                    (topic.replace("ServiceCostRecorded", "SaleRecorded"), target))  # fmt: skip
    code, found = audit(store)
    assert (code, first(found)) == (1, ("log", str(target), "edited"))


def test_an_event_deleted_in_the_middle_is_named(store: str) -> None:
    with Raw(store) as raw:
        target = raw.positions("acme")[8]
        raw.execute(f"DELETE FROM {raw.events} WHERE {raw.position} = ?", (target,))
    code, found = audit(store)
    assert (code, first(found)) == (1, ("log", str(target), "deleted"))


def test_an_event_deleted_with_its_seal_is_named(store: str) -> None:
    with Raw(store) as raw:
        target, following = raw.positions("acme")[8:10]
        raw.execute(f"DELETE FROM {raw.events} WHERE {raw.position} = ?", (target,))
        raw.execute("DELETE FROM kamflow_seals WHERE position = ?", (target,))
    code, found = audit(store)
    assert code == 1
    check, where, kind = first(found)
    assert (check, kind) == ("log", "deleted")
    assert target < int(where) <= following


def test_a_forged_event_is_named_as_inserted(store: str) -> None:
    with Raw(store) as raw:
        aid, version, topic, state = raw.row(raw.positions("acme")[-1])
        forged = bytes(state).replace(b'"description":"trip', b'"description":"forged')
        raw.execute(
            f"INSERT INTO {raw.events} (originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?)",
            (aid, int(version) + 1, topic, forged),
        )
        position = raw.positions("acme")[-1]
    code, found = audit(store)
    assert (code, first(found)) == (1, ("log", str(position), "inserted"))


def test_two_swapped_events_are_named_as_reordered(store: str) -> None:
    with Raw(store) as raw:
        a, b = raw.positions("acme")[3], raw.positions("tango")[2]
        a, b = sorted((a, b))
        rows = {a: raw.row(a), b: raw.row(b)}
        raw.execute(f"DELETE FROM {raw.events} WHERE {raw.position} IN (?, ?)", (a, b))
        for here, there in ((a, b), (b, a)):
            raw.execute(
                f"INSERT INTO {raw.events} ({raw.position}, originator_id, originator_version,"
                " topic, state) VALUES (?, ?, ?, ?, ?)",
                (here, *rows[there]),
            )
    code, found = audit(store)
    assert (code, first(found)) == (1, ("log", str(a), "reordered"))


def test_a_changed_account_id_is_named(store: str) -> None:
    with Raw(store) as raw:
        target = raw.positions("acme")[-1]  # the last: no later version to collide with
        other = uuid.uuid4()
        raw.execute(f"UPDATE {raw.events} SET originator_id = ? WHERE {raw.position} = ?",
                    (other if raw.db.postgres else other.hex, target))  # fmt: skip
    code, found = audit(store)
    assert (code, first(found)) == (1, ("log", str(target), "account changed"))
    assert "acme" in found["findings"][0]["detail"]


def test_an_edited_snapshot_is_named(store: str) -> None:
    with Raw(store) as raw:
        aid = account_id("acme")
        ident = aid if raw.db.postgres else aid.hex
        ((version, state),) = raw.db.rows(
            f"SELECT originator_version, state FROM {raw.snapshots} WHERE originator_id = ?",
            (ident,),
        )
        raw.execute(
            f"UPDATE {raw.snapshots} SET state = ? WHERE originator_id = ?",
            (bytes(state).replace(b'"tier":"prospect"', b'"tier":"key"'), ident),
        )
    code, found = audit(store)
    assert code == 1
    assert first(found) == ("snapshot", f"acme v{version}", "edited")
    assert "tier" in found["findings"][0]["detail"]


def test_a_snapshot_value_spelt_otherwise_is_named(store: str) -> None:
    # "2026-11-02 09:00:25" decodes to the same datetime as "2026-11-02T09:00:25": the
    # bytes changed, the meaning did not; verify still finds it (found by hypothesis).
    with Raw(store) as raw:
        aid = account_id("acme")
        ident = aid if raw.db.postgres else aid.hex
        ((version, state),) = raw.db.rows(
            f"SELECT originator_version, state FROM {raw.snapshots} WHERE originator_id = ?",
            (ident,),
        )
        state = bytes(state)
        at = state.index(b'"_modified_on"')
        at = state.index(b"T", state.index(b'"_data_":"', at))
        raw.execute(
            f"UPDATE {raw.snapshots} SET state = ? WHERE originator_id = ?",
            (state[:at] + b" " + state[at + 1 :], ident),
        )
    code, found = audit(store)
    assert code == 1
    assert first(found) == ("snapshot", f"acme v{version}", "edited")
    assert "encoder" in found["findings"][0]["detail"]


def test_each_account_s_snapshots_are_checked_against_its_own_events(locator: str) -> None:
    # Snapshots and events are read side by side in account order: with several
    # accounts snapshotted, an edit is named under its own account, a snapshot beyond an
    # account's last event is named, and the untouched account passes.
    keys = ["kilo", "alfa", "papa"]
    kf = Kamflow(locator, clock=FakeClock(DAY))
    try:
        for key in keys:
            run(kf, "account open", {"account": key, "name": key.title(), "industry": "feed",
                                     "owner": ACTOR})  # fmt: skip
        for n in range(21):  # interleaved in the log; a snapshot of each at version 20
            for key in keys:
                cost = {"amount": Decimal(100 + n), "category": "travel", "description": "trip"}
                run(kf, "cost record", {"account": key, **cost})
    finally:
        kf.close()
    code, found = audit(locator)
    assert (code, found["snapshots"]) == (0, 3)
    with Raw(locator) as raw:
        idents = {key: account_id(key) if raw.db.postgres else account_id(key).hex for key in keys}
        beyond, edited, _untouched = sorted(keys, key=lambda k: str(idents[k]))
        raw.execute(
            f"INSERT INTO {raw.snapshots} (originator_id, originator_version, topic, state)"
            f" SELECT originator_id, 99, topic, state FROM {raw.snapshots}"
            " WHERE originator_id = ?",
            (idents[beyond],),
        )
        ((state,),) = raw.db.rows(
            f"SELECT state FROM {raw.snapshots} WHERE originator_id = ?", (idents[edited],)
        )
        raw.execute(
            f"UPDATE {raw.snapshots} SET state = ? WHERE originator_id = ?",
            (bytes(state).replace(b'"tier":"prospect"', b'"tier":"key"'), idents[edited]),
        )
    code, found = audit(locator)
    assert code == 1
    assert found["snapshots"] == 4
    named = {(f["where"], f["kind"]) for f in found["findings"]}
    assert named == {(f"{beyond} v99", "unexpected"), (f"{edited} v20", "edited")}


def test_snapshots_and_events_are_read_by_account_one_batch_after_another(store: str) -> None:
    # sealed.by_account pages through both tables on their keys: one row per batch
    # reads what one batch of all reads, in account order, up to the last snapshot.
    kf = Kamflow(store)
    try:
        recorder: Any = kf.app.snapshots.recorder  # type: ignore[union-attr]
        read = []
        for batch in (1, 2000):
            with by_account(kf, recorder.events_table_name, batch=batch) as (snaps, events):
                # In turn, as verify reads them: both streams share one cursor.
                first_snapshot = next(snaps)
                keys = [(e.originator_id, e.originator_version) for e in events]
                more = [(s.originator_id, s.originator_version) for s in snaps]
            read.append(((first_snapshot.originator_id, first_snapshot.originator_version),
                         more, keys))  # fmt: skip
    finally:
        kf.close()
    acme = account_id("acme")
    assert read[0] == read[1] == ((acme, 20), [], [(acme, v) for v in range(1, 21)])


def test_progress_counts_every_event_of_the_log(store: str) -> None:
    told: list[int] = []
    kf = Kamflow(store)
    try:
        result = verify(kf, progress=told.append)
    finally:
        kf.close()
    assert result.ok
    assert sum(told) == result.events == result.size


def test_an_edited_view_row_is_named_with_views(store: str) -> None:
    assert invoke(store, "report", "portfolio").exit_code == 0  # the views caught up
    with Raw(store) as raw:
        raw.execute("UPDATE kf_accounts SET owner = ? WHERE key = ?", ("zhang.min", "tango"))
    assert audit(store)[0] == 0  # without --views the views are not checked
    code, found = audit(store, "--views")
    assert code == 1
    assert first(found) == ("view", "kf_accounts key=tango", "edited")
    assert "owner" in found["findings"][0]["detail"]


def test_a_store_written_before_the_seal_is_sealed_on_first_use(locator: str) -> None:
    old_store("demo-03f4076.db.gz", locator)
    found = json_of(invoke(locator, "audit", "verify", "--json"))
    assert found["ok"] is True
    assert found["sealed_after_the_fact"] == {"from_position": 1, "to_position": 3185}
    # Written after: sealed as written; verify still says where sealing after the fact ends.
    assert invoke(locator, "cost", "record", "haid", "--amount", "10", "--category", "travel",
                  "--description", "after").exit_code == 0  # fmt: skip
    again = json_of(invoke(locator, "audit", "verify", "--json"))
    assert again["events"] == 3186
    assert again["sealed_after_the_fact"] == {"from_position": 1, "to_position": 3185}
    assert (
        "positions 1-3185, stored before kamflow sealed its log"
        in invoke(locator, "audit", "verify").stdout
    )


# ------------------------------------------------------------------ any single byte
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_changed_in_an_event_or_a_snapshot_fails_verify(
    backend: str, data: st.DataObject
) -> None:
    from conftest import fresh_store

    in_snapshot = data.draw(st.booleans(), label="in a snapshot")
    # acme's snapshot is taken at version 20: 19 costs after its opening.
    costs = data.draw(st.integers(min_value=19 if in_snapshot else 1, max_value=COSTS))
    with fresh_store(backend) as locator:
        history(locator, costs)
        with Raw(locator) as raw:
            events = int(raw.db.scalar(f"SELECT COUNT(*) FROM {raw.events}"))
            snapshots = raw.db.rows(
                f"SELECT originator_id, originator_version, state FROM {raw.snapshots}"
            )
            targets = (
                [("snapshot", n) for n in range(len(snapshots))]
                if in_snapshot
                else [("event", p) for p in range(1, 1 + events)]
            )
            kind, which = data.draw(st.sampled_from(targets), label="target")
            if kind == "event":
                state = bytes(raw.row(which)[3])
            else:
                ident, version, state = snapshots[which]
                state = bytes(state)
            # Anywhere but a snapshot's own timestamp (when it was taken): nothing reads
            # it, nothing can check it (ADR 0017).
            start = state.index(b'"topic"') if kind == "snapshot" else 0
            index = data.draw(st.integers(min_value=start, max_value=len(state) - 1),
                              label="index")  # fmt: skip
            byte = data.draw(st.integers(0, 255).filter(lambda b: b != state[index]),
                             label="byte")  # fmt: skip
            changed = state[:index] + bytes([byte]) + state[index + 1 :]
            if kind == "event":
                raw.execute(f"UPDATE {raw.events} SET state = ? WHERE {raw.position} = ?",
                            (changed, which))  # fmt: skip
            else:
                raw.execute(
                    f"UPDATE {raw.snapshots} SET state = ? WHERE originator_id = ?"
                    " AND originator_version = ?",
                    (changed, ident, version),
                )
        kf = Kamflow(locator)
        try:
            result = verify(kf)
        finally:
            kf.close()
        assert not result.ok, (kind, which, index, byte)
        assert result.findings[0].check == ("log" if kind == "event" else "snapshot")

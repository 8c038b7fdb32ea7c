"""Old snapshots are deleted after a new one is written, except the as-of checkpoints
(ADR 0024); loads now, at a version and as of a date stay what a replay gives."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import FakeClock, run
from eventsourcing.application import project_aggregate

from kamflow.application import CHECKPOINT_INTERVAL, Kamflow
from kamflow.domain.dates import end_of_day
from kamflow.domain.values import account_id


def test_only_the_newest_snapshot_and_the_checkpoints_are_kept_and_as_of_stays_exact(
    locator: str,
) -> None:
    clock = FakeClock(date(2026, 1, 1), step=timedelta(hours=6))
    kf = Kamflow(locator, clock=clock)
    run(
        kf,
        "account open",
        {"account": "beta", "name": "Beta", "industry": "feed", "owner": "li.wei", "tier": "key"},
    )
    for n in range(1, 230):
        run(kf, "cost record", {"account": "beta", "amount": str(n), "category": "service"})
    aid = account_id("beta")
    assert kf.app.snapshots is not None

    kept = [s.originator_version for s in kf.app.snapshots.get(aid)]
    reader = Kamflow(locator, clock=clock)

    assert CHECKPOINT_INTERVAL == 100
    assert kept == [100, 200, 220]
    assert reader.load("beta") == project_aggregate(None, kf.app.events.get(aid))
    for version in (19, 21, 99, 101, 150, 219, 221, 230):
        expected = project_aggregate(None, kf.app.events.get(aid, lte=version))
        assert reader.account_at("beta", version=version) == expected
    # Four events a day: the end of 2026-01-30 falls between the checkpoints.
    cutoff = end_of_day(date(2026, 1, 30), reader.zone)
    recorded = [e.originator_version for e in kf.app.events.get(aid) if e.timestamp < cutoff]
    then = reader.account_at("beta", as_of=date(2026, 1, 30))
    assert 100 < then.version == recorded[-1] < 200
    assert then == project_aggregate(None, kf.app.events.get(aid, lte=then.version))

"""A team on one PostgreSQL server: concurrent CLI writers, and `projections follow`.

1. Writers: 1 CLI writer for ``--seconds``, then 8 at once (each on its own account),
   every command a whole `kamflow cost record` process. Commands/s and p50/p99 latency;
   target: 8 writers reach at least 3x the single writer's throughput (eventsourcing's
   PostgreSQL recorder serialises inserts with a table lock).
2. Follow: `kamflow projections follow` running; writes made at a steady pace; for each,
   the time from its commit to the views' tracking position passing it. p50/p99;
   target: p99 under 1 s.

Run: ``python benchmarks/team.py [--seconds 60] [--writes 1000] [--quick] [--url URL]``.
Each run works in a fresh schema, dropped at the end. Standard library, psycopg and
kamflow.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    RESULTS,
    Row,
    child_env,
    environment,
    kamflow_script,
    log,
    render_rows,
)

Json = dict[str, Any]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WRITERS = 8
WRITERS_MIN_RATIO = 3.0
FOLLOW_MAX_P99 = 1.0  # seconds


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def schema_url(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def run_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


def open_accounts(locator: str, keys: list[str]) -> None:
    lines = [
        json.dumps(
            {
                "command": "account open",
                "account": key,
                "name": f"{key.title()} Feed",
                "industry": "feed",
                "owner": "li.wei",
                "tier": "key",
            }
        )
        for key in keys
    ]
    proc = subprocess.run(
        [kamflow_script(), "--db", locator, "apply", "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"opening accounts failed: {proc.stderr[-2000:]}")


def writer(locator: str, key: str, until: float, out: list[float], errors: list[str]) -> None:
    """Write cost records on ``key``, one CLI process each, until ``until``."""
    argv = [kamflow_script(), "--db", locator, "cost", "record", key, "--amount", "10",
            "--category", "service", "--again"]  # fmt: skip
    env = child_env()
    while time.monotonic() < until:
        start = time.perf_counter()
        # A description of its own: the same cost again would be refused as a repeat.
        described = [*argv, "--description", f"write {len(out) + len(errors)}"]
        proc = subprocess.run(described, capture_output=True, text=True, env=env, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            errors.append(proc.stderr.strip()[-300:])
            continue
        out.append(elapsed)


def bench_writers(locator: str, seconds: float, rows: list[Row], details: Json) -> None:
    keys = [f"team-{i}" for i in range(WRITERS)]
    open_accounts(locator, keys)
    found: Json = {}
    for count in (1, WRITERS):
        log(f"writers: {count} for {seconds:g} s")
        latencies: list[list[float]] = [[] for _ in range(count)]
        errors: list[str] = []
        until = time.monotonic() + seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(target=writer, args=(locator, keys[i], until, latencies[i], errors))
            for i in range(count)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        every = [x for each in latencies for x in each]
        found[str(count)] = {
            "commands": len(every),
            "seconds": wall,
            "rate": len(every) / wall,
            "p50": percentile(every, 50),
            "p99": percentile(every, 99),
            "errors": len(errors),
            "first_errors": errors[:3],
        }
    one, many = found["1"], found[str(WRITERS)]
    ratio = many["rate"] / one["rate"]
    rows.append(
        Row(
            f"1. {WRITERS} CLI writers vs 1 ({seconds:g} s each), commands/s",
            f"{many['rate']:.1f} cmd/s",
            f"{one['rate']:.1f} cmd/s",
            ratio,
            f">= {WRITERS_MIN_RATIO:g}x",
            ratio >= WRITERS_MIN_RATIO and not many["errors"],
        )
    )
    for p in ("p50", "p99"):
        rows.append(
            Row(
                f"   latency {p}, {WRITERS} writers vs 1",
                f"{many[p] * 1000:.0f} ms",
                f"{one[p] * 1000:.0f} ms",
                many[p] / one[p],
            )
        )
    details["writers"] = found


def position_of_last(conn: Any, schema: str) -> int:
    row = conn.execute(f'SELECT MAX(notification_id) FROM "{schema}".kamflow_events').fetchone()
    return int(row[0] or 0)


def views_position(conn: Any, schema: str) -> int:
    row = conn.execute(f'SELECT MIN(position) FROM "{schema}".kf_tracking').fetchone()
    return int(row[0] or 0)


def bench_follow(
    url: str,
    locator: str,
    schema: str,
    writes: int,
    interval: float,
    rows: list[Row],
    details: Json,
) -> None:
    import psycopg

    from kamflow.application import Kamflow
    from kamflow.domain.commands import COMMANDS, build

    log(f"follow: {writes} writes, `projections follow --interval {interval:g}`")
    follower = subprocess.Popen(
        [kamflow_script(), "--db", locator, "projections", "follow", "--interval", str(interval)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    # The follower's start-up (interpreter, tables, catching up with what the writers
    # phase wrote) is not a write's latency through a running follow: it is timed on
    # its own row, and the timed writes start once the views have reached the log's end.
    started = time.perf_counter()
    startup = float("nan")
    with psycopg.connect(url, autocommit=True) as conn:
        head = position_of_last(conn, schema)
        while time.perf_counter() - started < 300:
            try:
                if views_position(conn, schema) >= head:
                    startup = time.perf_counter() - started
                    break
            except psycopg.Error:  # the views not made yet
                pass
            if follower.poll() is not None:
                said = follower.stderr.read() if follower.stderr else b""
                raise RuntimeError(f"follow stopped: {said.decode()[-2000:]}")
            time.sleep(0.01)
    log(f"  follow: caught up with {head} events after {startup:.2f} s")
    kf = Kamflow(locator)
    pending: dict[int, float] = {}
    order: dict[int, int] = {}  # position -> the write's number, to see where the tail is
    latencies: list[float] = []
    by_write: list[tuple[int, float]] = []
    lock = threading.Lock()
    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.is_set() or pending:
                try:
                    at = views_position(conn, schema)
                except psycopg.Error:  # the views not made yet
                    time.sleep(0.01)
                    continue
                now = time.perf_counter()
                with lock:
                    for position in [p for p in pending if p <= at]:
                        latencies.append(now - pending.pop(position))
                        by_write.append((order.pop(position), latencies[-1]))
                if done.is_set() and pending and now - min(pending.values()) > 30:
                    return
                time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for n in range(writes):
                command = build(
                    COMMANDS["cost record"],
                    {
                        "account": "team-0",
                        "amount": "1",
                        "category": "service",
                        "description": f"follow {n}",
                    },
                )
                kf.execute(command, actor="bench", again=True)
                committed = time.perf_counter()
                position = position_of_last(conn, schema)
                with lock:
                    pending[position] = committed
                    order[position] = n
                if n % 100 == 99:
                    log(f"  follow: {n + 1}/{writes} writes")
                time.sleep(0.05)
    finally:
        done.set()
        watcher.join()
        follower.terminate()
        follower.wait(timeout=30)
        kf.close()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    rows.append(
        Row(
            f"2. follow: commit to views, p99 of {len(latencies)} writes",
            f"{p99 * 1000:.0f} ms",
            "",
            None,
            f"< {FOLLOW_MAX_P99 * 1000:.0f} ms",
            p99 < FOLLOW_MAX_P99 and len(latencies) == writes,
        )
    )
    rows.append(Row("   follow: commit to views, p50", f"{p50 * 1000:.0f} ms"))
    rows.append(
        Row(f"   follow: start-up, caught up with {head:,} events", f"{startup * 1000:.0f} ms")
    )
    details["follow"] = {
        "writes": writes,
        "seen": len(latencies),
        "interval": interval,
        "startup_seconds": startup,
        "startup_events": head,
        "p50": p50,
        "p99": p99,
        "max": max(latencies, default=float("nan")),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        # The slowest writes, by their number in the run (write n, seconds).
        "slowest": sorted(by_write, key=lambda w: -w[1])[:20],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (a scratch schema)")
    parser.add_argument("--seconds", type=float, default=60.0, help="per writer phase")
    parser.add_argument("--writes", type=int, default=1000, help="writes timed through follow")
    parser.add_argument(
        "--interval", type=float, default=0.2, help="`projections follow --interval`"
    )
    parser.add_argument("--quick", action="store_true", help="10 s phases, 100 writes")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.writes = min(args.seconds, 10.0), min(args.writes, 100)
    schema = f"kf_team_{uuid.uuid4().hex[:10]}"
    run_sql(args.url, f"CREATE SCHEMA {schema}")
    locator = schema_url(args.url, schema)
    rows: list[Row] = []
    details: Json = {}
    load_before = os.getloadavg()
    started = time.perf_counter()
    try:
        bench_writers(locator, args.seconds, rows, details)
        bench_follow(args.url, locator, schema, args.writes, args.interval, rows, details)
    finally:
        run_sql(args.url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    load_after = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "mode": "quick" if args.quick else "full",
        "when": stamp,
        "seconds": round(time.perf_counter() - started, 1),
        "arguments": vars(args),
        "environment": environment(),
        "load_average": {"before": load_before, "after": load_after},
        "rows": [{**r.__dict__, "result": r.verdict} for r in rows],
        "all_passed": all(r.passed for r in rows if r.passed is not None),
        "details": details,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    out = RESULTS / f"team-{stamp}{suffix}.json"
    out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    title = "kamflow on one PostgreSQL server" + (" — QUICK" if args.quick else "")
    print(render_rows(rows, title))
    print(f"\nload average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"results in {out}")
    return 0 if result["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

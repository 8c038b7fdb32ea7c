"""8 writers vs 1 on PostgreSQL without process start-up: what the write lock costs.

`benchmarks/team.py` times whole CLI processes, whose start-up (CPU) dominates on a
small machine; this runs the writers as processes that each open one Kamflow and
record ``--writes`` costs on their own account, so the figure is the writes' own
load-decide-save and what the lock makes them wait. Rounds alternate 1 and 8 writers.

Run: ``python benchmarks/team_inprocess.py [--writes 15] [--rounds 2] [--url URL]``;
before/after in one run: ``PYTHONPATH=/path/to/other/checkout python ...`` for the other.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid
from typing import Any

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WRITERS = 8


def write(locator: str, key: str, writes: int, out: Any) -> None:
    from kamflow.application import Kamflow
    from kamflow.domain.commands import COMMANDS, build

    kf = Kamflow(locator)
    kf.load(key)
    start = time.perf_counter()
    for n in range(writes):
        fields = {"account": key, "amount": "1", "category": "service", "description": f"{n}"}
        kf.execute(build(COMMANDS["cost record"], fields), actor="li")
    out.put(time.perf_counter() - start)
    kf.close()


def main() -> None:
    import psycopg

    import kamflow.application
    from kamflow.application import Kamflow
    from kamflow.domain.commands import COMMANDS, build

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--writes", type=int, default=15, help="per writer")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"kamflow from {kamflow.application.__file__}")
    schema = f"kf_inproc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    locator = f"{args.url}{'&' if '?' in args.url else '?'}schema={schema}"
    try:
        kf = Kamflow(locator)
        for k in range(WRITERS):
            fields = {"account": f"t{k}", "name": f"T{k}", "industry": "feed", "owner": "li"}
            kf.execute(build(COMMANDS["account open"], fields), actor="li")
        kf.close()
        spawn = multiprocessing.get_context("spawn")
        rates: dict[int, list[float]] = {1: [], WRITERS: []}
        for _ in range(args.rounds):
            for count in (1, WRITERS):
                out = spawn.Queue()
                procs = [
                    spawn.Process(target=write, args=(locator, f"t{k}", args.writes, out))
                    for k in range(count)
                ]
                for proc in procs:
                    proc.start()
                slowest = max(out.get(timeout=600) for _ in procs)
                for proc in procs:
                    proc.join()
                rates[count].append(count * args.writes / slowest)
                print(
                    f"{count} writer(s): {count * args.writes / slowest:6.1f} writes/s"
                    f" (load average {os.getloadavg()[0]:.1f})"
                )
        for one, many in zip(rates[1], rates[WRITERS], strict=True):
            print(f"{WRITERS} writers vs 1: {many / one:.2f}x")
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()

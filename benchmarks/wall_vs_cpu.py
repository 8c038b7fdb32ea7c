"""Why a load's wall time and CPU time differ: preemption, I/O, or lock waits?

Builds target 3's accounts (``run.load_history_store``: one of 10 events, one of
``--events``), loads each now and as of mid-history, and for every call reads this
process's resource usage before and after: involuntary context switches (the scheduler
ran another process: preemption), voluntary ones (the process waited: I/O, a lock,
fsync), blocks read from disk and major page faults. It prints, per load, the share of
calls preempted, the share of the wall-minus-CPU gap those calls account for, and the
medians of the calls that were never switched out.

Run: ``python benchmarks/wall_vs_cpu.py [--events 2000] [--rounds 10]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run


class Call(NamedTuple):
    wall: float
    cpu: float
    involuntary: int
    voluntary: int
    blocks: int
    major_faults: int


def measured(fn: Callable[[], object]) -> Call:
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu, start = time.process_time(), time.perf_counter()
    fn()
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF)
    return Call(
        wall,
        used,
        after.ru_nivcsw - before.ru_nivcsw,
        after.ru_nvcsw - before.ru_nvcsw,
        after.ru_inblock - before.ru_inblock,
        after.ru_majflt - before.ru_majflt,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000, help="events of the big account")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 10 calls each")
    args = parser.parse_args()
    from kamflow.application import Kamflow

    cfg = replace(run.FULL, load_big=args.events)
    folder = Path(tempfile.mkdtemp(prefix="kamflow-wall-cpu-"))
    try:
        db = folder / "load.db"
        built = run.load_history_store(cfg, db)
        kf = Kamflow(str(db))
        calls: dict[str, Callable[[], object]] = {}
        for name in ("small", "big"):
            b = built[name]
            calls[f"{name} now"] = partial(kf.load, b.key)
            calls[f"{name} as of"] = partial(kf.account_at, b.key, as_of=b.as_of)
        for fn in calls.values():
            for _ in range(5):
                fn()
        found: dict[str, list[Call]] = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, fn in calls.items():
                found[name] += [measured(fn) for _ in range(10)]
        kf.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, got in found.items():
        gap = sum(c.wall - c.cpu for c in got)
        preempted = [c for c in got if c.involuntary]
        never = [c for c in got if not c.involuntary and not c.voluntary]
        share = sum(c.wall - c.cpu for c in preempted) / gap if gap > 0 else 0.0
        print(
            f"{name:10} wall {statistics.median(c.wall for c in got) * 1e6:6.0f} us,"
            f" CPU {statistics.median(c.cpu for c in got) * 1e6:6.0f} us (medians);"
            f" preempted {len(preempted) / len(got):4.0%} of calls, {share:4.0%} of the gap;"
            f" waited {sum(1 for c in got if c.voluntary) / len(got):4.0%};"
            f" blocks read {sum(c.blocks for c in got)}, major faults"
            f" {sum(c.major_faults for c in got)}; never switched out: wall"
            f" {statistics.median(c.wall for c in never) * 1e6 if never else float('nan'):6.0f} us"
        )


if __name__ == "__main__":
    main()

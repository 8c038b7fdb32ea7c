"""Interleaved timing of a few commands: medians of wall and CPU time, as ratios.

For a before/after in one run on a loaded machine (every figure is a ratio against the
first command, measured in the same rounds):

    python benchmarks/ab.py --runs 15 \\
        'python -c pass' \\
        'kamflow --db /tmp/x.db visit log acme --with P-1 --purpose "q {i}" ...'

Each command is a shell line run with ``sh -c``; ``{i}`` is replaced by the round's
number (so writes are not repeats of each other). Two warm-up rounds are not counted.
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()
    wall: dict[str, list[float]] = {c: [] for c in args.commands}
    cpu: dict[str, list[float]] = {c: [] for c in args.commands}
    for i in range(args.runs + 2):
        for command in args.commands:
            line = command.replace("{i}", str(i))
            before, start = children_cpu(), time.perf_counter()
            proc = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=False)
            elapsed, used = time.perf_counter() - start, children_cpu() - before
            if proc.returncode != 0:
                raise SystemExit(f"failed ({proc.returncode}): {line}\n{proc.stderr[-500:]}")
            if i >= 2:
                wall[command].append(elapsed)
                cpu[command].append(used)
    first = args.commands[0]
    base_wall, base_cpu = statistics.median(wall[first]), statistics.median(cpu[first])
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} interleaved runs each; medians")
    print(f"{'wall ms':>9} {'ratio':>6} {'cpu ms':>8} {'ratio':>6}  command")
    for command in args.commands:
        w, c = statistics.median(wall[command]), statistics.median(cpu[command])
        shown = f"{w * 1000:9.1f} {w / base_wall:6.2f} {c * 1000:8.1f} {c / base_cpu:6.2f}"
        print(f"{shown}  {command}")


if __name__ == "__main__":
    main()

"""How costs grow with the store: write latency and `report portfolio --json` time on each
cached projections store (built by `benchmarks/projections.py`), side by side.

Run `python benchmarks/projections.py` (and `--quick`) first: this reads the stores they
cached under `benchmarks/results/` (SQLite), copies each, and times on the copy:
- a CLI write (`cost record` on the first account), median of ``--reps`` runs;
- `report portfolio --json` built (the kept JSON forgotten first) and kept, median;
- `kamflow --help`, interleaved, as the baseline of the same moment.
Standard library and kamflow only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    RESULTS,
    child_env,
    clear_report_cache,
    kamflow_script,
    log,
    median,
    remove_db,
)

STORE = re.compile(r"projstore-p\d+-.*-(\d+)ev-(\d+)acc\.db$")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=child_env(), check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="timed runs of each (median)")
    args = parser.parse_args(argv)
    kamflow = kamflow_script()
    stores = sorted(
        ((int(m.group(1)), int(m.group(2)), p) for p in RESULTS.glob("projstore-*.db")
         if (m := STORE.search(p.name))),
        key=lambda t: (t[0], t[1]),
    )  # fmt: skip
    if not stores:
        print("no cached stores: run benchmarks/projections.py first")
        return 1
    rows = []
    work = RESULTS / f"growth-{os.getpid()}.db"
    try:
        for events, accounts, path in stores:
            log(f"{events:,} events, {accounts:,} accounts")
            remove_db(work)
            shutil.copyfile(path, work)
            db = ["--db", str(work)]
            write = [kamflow, *db, "cost", "record", "acct-00000", "--amount", "10"]
            write += ["--category", "service"]
            timed([kamflow, *db, "report", "portfolio", "--json"])  # catch the views up
            times: dict[str, list[float]] = {"write": [], "built": [], "kept": [], "help": []}
            for _ in range(args.reps):
                times["help"].append(timed([kamflow, "--help"]))
                times["write"].append(timed(write))
                clear_report_cache(work)
                times["built"].append(timed([kamflow, *db, "report", "portfolio", "--json"]))
                times["kept"].append(timed([kamflow, *db, "report", "portfolio", "--json"]))
            rows.append(
                {"events": events, "accounts": accounts} | {k: median(v) for k, v in times.items()}
            )
    finally:
        remove_db(work)
    header = (
        f"{'events':>10} {'accounts':>8} {'write':>9} {'portfolio built':>16}"
        f" {'portfolio kept':>15} {'--help':>8}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['events']:>10,} {r['accounts']:>8,} {r['write'] * 1000:>7.0f}ms"
            f" {r['built'] * 1000:>14.0f}ms {r['kept'] * 1000:>13.0f}ms"
            f" {r['help'] * 1000:>6.0f}ms"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"growth-{stamp}.json"
    out.write_text(json.dumps({"rows": rows, "load": os.getloadavg()}, indent=2))
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

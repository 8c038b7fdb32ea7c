"""`kamflow import` against `sqlite-utils insert --csv`, the same file, the same run.

Usage (from the repository root; sqlite-utils is a benchmark-only dependency):

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/import.py PATH/TO/sales_pipeline.csv   # the target
    .venv/bin/python benchmarks/import.py          # the excerpt: NOT the target

Target (issue 14): importing the crm-sample's ``sales_pipeline.csv`` (8,800 rows) with
``examples/crm-sample/sales_pipeline.toml`` runs at least 0.3x the rows per second of
``sqlite-utils insert DB pipeline FILE --csv`` into a fresh SQLite table. Both are timed
as whole processes into a fresh database, run after run interleaved (so that a change
in the machine's load hits both alike), after one untimed warm-up each; the figure is
the median wall time of ``--runs`` runs. The processes' CPU time (user + system) is
reported beside it: on a loaded machine it says what each would take alone.

The kamflow figure is everything a user waits for: reading and checking every row,
deciding the ~36,000 domain commands they become (every rule), saving the events
(one transaction per 1,000 rows) and bringing the views up to date.

Writes benchmarks/results/import-<UTC time>.json and prints the table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    HERE,
    PYTHON,
    RESULTS,
    Row,
    child_env,
    environment,
    kamflow_script,
    log,
    median,
    render_rows,
)

ROOT = HERE.parent
MAPPING = ROOT / "examples" / "crm-sample" / "sales_pipeline.toml"
EXCERPT = ROOT / "tests" / "fixtures" / "crm-sample" / "sales_pipeline.csv"
TARGET_ROWS = 8800
TARGET = 0.3


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=child_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=EXCERPT)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sqlite_utils = Path(PYTHON).with_name("sqlite-utils")
    if not sqlite_utils.exists():
        raise SystemExit("sqlite-utils not found beside this python: pip install -e '.[bench]'")
    source = args.file.resolve()
    with source.open(newline="", encoding="utf-8-sig") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    valid = rows == TARGET_ROWS
    kamflow = kamflow_script()
    figures: dict[str, list[tuple[float, float]]] = {"sqlite-utils": [], "kamflow": []}
    for run in range(args.runs + 1):  # run 0 warms the caches up, untimed
        for name in figures:
            with tempfile.TemporaryDirectory(prefix="kamflow-bench-import-") as folder:
                here = Path(folder)
                if name == "sqlite-utils":
                    command = [str(sqlite_utils), "insert", "fresh.db", "pipeline", str(source)]
                    command.append("--csv")
                else:
                    command = [kamflow, "--db", "fresh.db", "import", str(source)]
                    command += ["--mapping", str(MAPPING)]
                took = timed(command, here)
            if run:
                figures[name].append(took)
                log(f"run {run}/{args.runs} {name}: {took[0]:.2f} s wall, {took[1]:.2f} s CPU")
    wall = {name: median(w for w, _ in values) for name, values in figures.items()}
    cpu = {name: median(c for _, c in values) for name, values in figures.items()}
    ratio = wall["sqlite-utils"] / wall["kamflow"]
    cpu_ratio = cpu["sqlite-utils"] / cpu["kamflow"]
    table = [
        Row(
            "import sales_pipeline.csv (rows/s, wall)",
            f"{rows / wall['kamflow']:,.0f} rows/s",
            f"{rows / wall['sqlite-utils']:,.0f} rows/s",
            ratio,
            f">= {TARGET}x",
            ratio >= TARGET if valid else None,
        ),
        Row(
            "  the same, CPU time of the processes",
            f"{rows / cpu['kamflow']:,.0f} rows/s",
            f"{rows / cpu['sqlite-utils']:,.0f} rows/s",
            cpu_ratio,
        ),
    ]
    title = f"kamflow import vs sqlite-utils insert --csv: {source.name}, {rows:,} rows"
    if not valid:
        title += f" (NOT the target: it is measured on the whole {TARGET_ROWS:,}-row file)"
    print(render_rows(table, title))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result = {
        "file": str(source),
        "rows": rows,
        "valid_for_targets": valid,
        "runs": figures,
        "median_wall_s": wall,
        "median_cpu_s": cpu,
        "ratio_wall": ratio,
        "ratio_cpu": cpu_ratio,
        "target": TARGET,
        "load_average_at_end": os.getloadavg(),
        "environment": environment(),
    }
    (RESULTS / f"import-{stamp}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    sys.exit(0 if not valid or ratio >= TARGET else 1)


if __name__ == "__main__":
    main()

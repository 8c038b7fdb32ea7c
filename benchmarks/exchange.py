"""kamflow export and import of an export, each measured in the same run as its baseline.

Usage (from the repository root, with the interpreter kamflow is installed in):

    python benchmarks/exchange.py            # full: the 100,000-event store (built once, cached)
    python benchmarks/exchange.py --quick    # smoke run: 10,000 events, NOT the targets

Targets (issue 11):
  1. export (`kamflow.export.write`: every seal checked, every event decoded and written
     as a JSON line with its stored bytes and seals, a signed checkpoint at the end) at
     >= 0.5x the rate of the read+decode baseline of projections.py
     (select_notifications in batches of 5,000 + mapper.to_domain_event, nothing else).
     Both loops timed inside their own child process, start-up left out; best of 2.
  2. `kamflow import` of that export into a new SQLite file, as a whole process, at
     >= 0.3x the rate of one-transaction-per-row inserts of the same lines (the
     baseline `apply` is measured against in run.py: BEGIN/INSERT/COMMIT per line,
     WAL, eventsourcing's `synchronous`). Best of 2, alternating which goes first.
Context rows: `kamflow export` as a whole process, and each child's peak RSS.

The store is run.py's (100,000 events over 200 accounts, built through Kamflow.execute
with the snapshots it takes, cached under benchmarks/results/); a copy is opened once
by kamflow, which seals its history after
the fact (untimed), as any store written before sealing is on first use.
Writes benchmarks/results/exchange-<time>[-quick].json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import run
from harness import PYTHON, RESULTS, Row, environment, kamflow_script, log, remove_db, render_rows
from projections import BASELINE_CODE, PEAK_RSS, run_child
from run import BASELINE_APPLY, eventsourcing_synchronous, timed_run

Json = dict[str, Any]

EXPORT_MIN_RATIO = 0.5
IMPORT_MIN_RATIO = 0.3
ROUNDS = 2
BATCH = 5000  # the baseline's batch, as `projections rebuild` reads


@dataclass(frozen=True)
class Config:
    quick: bool
    events: int
    store: run.Config  # run.py's, whose store is the one measured


FULL = Config(quick=False, events=run.FULL.store_events, store=run.FULL)
QUICK = Config(quick=True, events=run.QUICK.store_events, store=run.QUICK)


@dataclass
class Report:
    config: Config
    rows: list[Row] = field(default_factory=list)
    details: Json = field(default_factory=dict)


# The export loop in a child process of its own, timed without the start-up.
EXPORT_CODE = (
    PEAK_RSS
    + """\
import json, sys, time
from datetime import UTC, datetime
from kamflow.application import Kamflow
from kamflow.checkpoint import signing_key
from kamflow.export import write
kf = Kamflow(sys.argv[1])
key = signing_key(None)
t1, c1 = time.perf_counter(), time.process_time()
with open(sys.argv[2], "w", encoding="utf-8") as out:
    written = write(kf, out, key=key, signer="bench", made_at=datetime.now(UTC))
t2, c2 = time.perf_counter(), time.process_time()
kf.close()
print(json.dumps({"events": written.lines, "seconds": t2 - t1, "cpu_seconds": c2 - c1,
                  "peak_rss_kb": peak_rss_kb()}))
"""
)


def child_json(argv: list[str]) -> Json:
    found: Json = json.loads(run_child(argv).stdout.strip().splitlines()[-1])
    return found


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f} ev/s"


def bench_export(cfg: Config, report: Report, store: Path, work: Path) -> Path:
    out = work / "export.jsonl"
    runs: dict[str, list[Json]] = {"export": [], "baseline": []}
    for round_ in range(ROUNDS):
        order = ["export", "baseline"] if round_ % 2 == 0 else ["baseline", "export"]
        for which in order:
            if which == "export":
                runs[which].append(child_json([PYTHON, "-c", EXPORT_CODE, str(store), str(out)]))
            else:
                argv = [PYTHON, "-c", BASELINE_CODE, str(store), str(BATCH)]
                runs[which].append(child_json(argv))
    best = min(runs["export"], key=lambda r: float(r["seconds"]))
    base = min(runs["baseline"], key=lambda r: float(r["seconds"]))
    events = int(best["events"])
    assert events == int(base["events"]) == cfg.events, (events, base["events"])
    ratio = float(base["seconds"]) / float(best["seconds"])
    report.rows.append(
        Row(
            f"1. export, {events:,} events",
            rate(events, float(best["seconds"])),
            rate(events, float(base["seconds"])),
            ratio,
            f">= {EXPORT_MIN_RATIO:g}x",
            ratio >= EXPORT_MIN_RATIO,
        )
    )
    report.rows.append(
        Row(
            "   peak RSS (export / read+decode)",
            f"{int(best['peak_rss_kb']) / 1024:.1f} MB",
            f"{int(base['peak_rss_kb']) / 1024:.1f} MB",
        )
    )
    cli = timed_run([kamflow_script(), "--db", str(store), "export", "--out", str(out)])
    report.rows.append(Row("   `kamflow export` whole process", rate(events, cli.wall)))
    report.details["export"] = {
        "runs": runs,
        "ratio": ratio,
        "file_bytes": out.stat().st_size,
        "cli_seconds": cli.wall,
    }
    return out


def bench_import(cfg: Config, report: Report, exported: Path, work: Path) -> None:
    kamflow = kamflow_script()
    target, base_db = work / "imported.db", work / "baseline.db"
    remove_db(target)
    ok = timed_run([kamflow, "--db", str(target), "import", str(exported)], expect="imported")
    synchronous = eventsourcing_synchronous(target)
    runs: dict[str, list[float]] = {"import": [ok.wall], "baseline": []}
    for round_ in range(ROUNDS):
        order = ["baseline", "import"] if round_ % 2 == 0 else ["import", "baseline"]
        for which in order:
            if which == "import":
                if round_ == 0:
                    continue  # the first import above is this round's
                remove_db(target)
                argv = [kamflow, "--db", str(target), "import", str(exported)]
                runs[which].append(timed_run(argv, expect="imported").wall)
            else:
                remove_db(base_db)
                argv = [PYTHON, "-c", BASELINE_APPLY, str(base_db), str(exported),
                        str(synchronous)]  # fmt: skip
                runs[which].append(timed_run(argv).wall)
    events = cfg.events
    lines = events + 2  # the baseline inserts the header and checkpoint lines too
    seconds, base_seconds = min(runs["import"]), min(runs["baseline"])
    ratio = (events / seconds) / (lines / base_seconds)
    report.rows.append(
        Row(
            f"2. import, {events:,} events",
            rate(events, seconds),
            f"{lines / base_seconds:,.0f} tx/s",
            ratio,
            f">= {IMPORT_MIN_RATIO:g}x",
            ratio >= IMPORT_MIN_RATIO,
        )
    )
    report.details["import"] = {
        "runs": runs,
        "ratio": ratio,
        "synchronous": synchronous,
        "baseline": BASELINE_APPLY,
    }
    for path in (target, base_db):
        remove_db(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes; NOT the targets")
    parser.add_argument("--rebuild-store", action="store_true", help="build the store anew")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = Report(cfg)
    env = environment()
    started = time.perf_counter()
    work = RESULTS / f"exchangework-{os.getpid()}"
    work.mkdir()
    # The signing key of the run, in a config folder of its own (never the user's).
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    try:
        cached, info = run.ensure_store(cfg.store, rebuild=args.rebuild_store)
        report.details["store"] = info
        store = work / "store.db"
        shutil.copyfile(cached, store)
        log("sealing the copy's history (first use, untimed)")
        run_child([PYTHON, "-c", "import sys; from kamflow.application import Kamflow;"
                   " Kamflow(sys.argv[1]).close()", str(store)])  # fmt: skip
        log(f"export of {cfg.events:,} events and the read+decode baseline, {ROUNDS} rounds")
        exported = bench_export(cfg, report, store, work)
        log(f"import of {cfg.events:,} events and the one-row-per-transaction baseline")
        bench_import(cfg, report, exported, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "-quick" if cfg.quick else ""
    result = {
        "mode": "quick" if cfg.quick else "full",
        "valid_for_targets": not cfg.quick,
        "when": stamp,
        "seconds": round(time.perf_counter() - started, 1),
        "config": asdict(cfg),
        "environment": env | {"load_average_at_end": os.getloadavg()},
        "rows": [{**asdict(r), "result": r.verdict} for r in report.rows],
        "all_passed": all(r.passed for r in report.rows if r.passed is not None),
        "details": report.details,
    }
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    (RESULTS / f"exchange-{stamp}{suffix}.json").write_text(text, encoding="utf-8")
    (RESULTS / f"exchange-latest{suffix}.json").write_text(text, encoding="utf-8")
    title = "kamflow export/import" + (" -- QUICK, NOT THE TARGETS" if cfg.quick else "")
    print(render_rows(report.rows, title))
    return 0 if result["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

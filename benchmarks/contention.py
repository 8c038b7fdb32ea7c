"""Writers contending for one account: N `kamflow apply` runs at once, and interactive
writes (`kamflow cost record`) while they run. Prints how many finished, how long they
took, and how many interactive writes failed. The figures behind ADR 0017's choice of
how a writer that meets a concurrent write waits.

Usage (from the repository root):

    python benchmarks/contention.py [--db URL] [--applies 4] [--lines 500] [--interactive 20]

Without --db a SQLite file in a temporary folder. Standard library only, plus kamflow.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable


def kamflow(db: str, *args: str) -> list[str]:
    return [PYTHON, "-m", "kamflow", "--db", db, "--actor", "bench", *args]


def cost(n: str, amount: int) -> dict[str, str]:
    return {
        "command": "cost record",
        "command_id": n,
        "account": "acme",
        "amount": str(amount),
        "category": "travel",
        "description": "contention",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--db")
    parser.add_argument("--applies", type=int, default=4)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--interactive", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kamflow-contention-"))
    db = args.db or str(folder / "kamflow.db")
    subprocess.run(
        kamflow(
            db,
            "account",
            "open",
            "acme",
            "--name",
            "Acme",
            "--industry",
            "feed",
            "--owner",
            "li.wei",
        ),
        check=True,
        capture_output=True,
    )
    files = []
    for w in range(args.applies):
        path = folder / f"apply-{w}.jsonl"
        with path.open("w") as out:
            for n in range(args.lines):
                out.write(json.dumps(cost(f"a{w}-{n}", n + 1)) + "\n")
        files.append(path)
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            kamflow(db, "apply", str(p)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for p in files
    ]
    interactive_failed: list[str] = []
    interactive_times: list[float] = []
    for n in range(args.interactive):
        if all(p.poll() is not None for p in procs):
            break
        t0 = time.monotonic()
        done = subprocess.run(
            kamflow(
                db,
                "cost",
                "record",
                "acme",
                "--amount",
                "5",
                "--category",
                "travel",
                "--description",
                f"at the keyboard {n}",
            ),
            capture_output=True,
            text=True,
        )
        interactive_times.append(time.monotonic() - t0)
        if done.returncode != 0:
            interactive_failed.append(done.stderr.strip())
    failed = []
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            failed.append(err.strip())
    wall = time.monotonic() - started
    tried = len(interactive_times)
    print(
        json.dumps(
            {
                "db": "postgresql" if "://" in db else "sqlite",
                "applies": args.applies,
                "lines": args.lines,
                "applies_failed": len(failed),
                "wall_s": round(wall, 2),
                "events_per_s": round(args.applies * args.lines / wall, 1),
                "interactive_tried": tried,
                "interactive_failed": len(interactive_failed),
                "interactive_max_s": round(max(interactive_times, default=0), 2),
                "first_failure": (failed + interactive_failed + [""])[0][:120],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

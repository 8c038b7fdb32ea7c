"""What personal-data encryption costs, and what `contact forget` costs (ADR 0026).

    python benchmarks/erasure.py            # the targets
    python benchmarks/erasure.py --quick    # smaller, fewer runs: NOT the targets

Every figure is a ratio against a baseline measured in the same run, interleaved:

1. `kamflow contact add` (with a mobile, an e-mail and notes) as a whole process, with
   encryption (as shipped) and without it (the same code with the mapper's personal
   layer switched off in that process, so values are stored plain and neither
   `cryptography` nor the key file is touched). Target: median <= 1.10x.
2. `kamflow apply` of a file of contacts with personal fields, their changes and visits
   naming them, with and without encryption. Target: best of rounds <= 1.10x.
3. `contact forget` of a person on an account of 5,000 events, in process, against
   loading that account from its events (a replay of the 5,000 events: what a load
   costs without a snapshot). Target: <= 3x. The forget's CLI process against
   `account show` of the account (both with start-up) is shown for context.

Writes benchmarks/results/erasure-<UTC time>[-quick].json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import ACTOR, RESULTS, child_env, environment  # noqa: E402

PYTHON = sys.executable
# The CLI, in a process of its own; PLAIN switches the personal layer off first (the
# baseline: what kamflow costs storing the same values unencrypted).
RUN = "import sys; from kamflow.cli import main; sys.argv[0] = 'kamflow'; main()"
PLAIN = (
    "import kamflow.stored as s, kamflow.application as a\n"
    "made = s.checked_mapper\n"
    "def plain(factory):\n"
    "    mapper = made(factory); mapper.personal = None; return mapper\n"
    "s.checked_mapper = a.checked_mapper = plain\n" + RUN
)


def run(script: str, db: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-c", script, "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args[:2]} failed: {done.stderr.strip()[:300]}")
    return took


def opened_store(path: Path, accounts: int) -> None:
    lines = [
        {
            "command": "account open",
            "account": f"a{i}",
            "name": f"Account {i}",
            "industry": "feed",
            "owner": ACTOR,
            "on": "2026-01-05",
        }
        for i in range(accounts)
    ]
    feed = "\n".join(json.dumps(line) for line in lines) + "\n"
    subprocess.run(
        [PYTHON, "-c", RUN, "--db", str(path), "apply", "-"],
        input=feed,
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
    )


def contact_args(i: int) -> list[str]:
    return [
        "contact", "add", f"a{i}", f"Wang Fang {i}", "--title", "Purchasing Manager",
        "--department", "procurement", "--role", "buyer", "--mobile", f"+86 139 0000 {i:04d}",
        "--email", f"wang.fang{i}@example.cn", "--personal-notes", "prefers calls after 19:00",
    ]  # fmt: skip


def bench_contact_add(runs: int, folder: Path) -> dict[str, Any]:
    stores = {"encrypted": folder / "enc.db", "plain": folder / "plain.db"}
    for path in stores.values():
        opened_store(path, runs + 2)
    times: dict[str, list[float]] = {"encrypted": [], "plain": []}
    for i in range(runs + 2):
        order = ("encrypted", "plain") if i % 2 else ("plain", "encrypted")
        for name in order:
            script = RUN if name == "encrypted" else PLAIN
            took = run(script, stores[name], *contact_args(i))
            if i >= 2:  # two warm-up runs
                times[name].append(took)
    enc, plain = statistics.median(times["encrypted"]), statistics.median(times["plain"])
    return {"encrypted_ms": enc * 1000, "plain_ms": plain * 1000, "ratio": enc / plain,
            "runs": runs, "target": 1.10}  # fmt: skip


def apply_file(path: Path, accounts: int) -> int:
    lines: list[dict[str, Any]] = []
    day = date(2026, 1, 5)
    for i in range(accounts):
        key = f"b{i}"
        lines.append({"command": "account open", "account": key, "name": key,
                      "industry": "feed", "owner": ACTOR, "on": day.isoformat()})  # fmt: skip
        for p in range(3):
            lines.append({"command": "contact add", "account": key, "contact": f"Li {i}-{p}",
                          "title": "GM", "department": f"d{p}", "mobile": f"+86 {i:05d}{p}",
                          "email": f"li{i}.{p}@example.cn", "hobbies": "tea and Go",
                          "on": day.isoformat()})  # fmt: skip
        lines.append({"command": "contact change", "account": key, "contact": "P-1",
                      "wechat": f"wx{i}"})  # fmt: skip
        for v in range(8):
            lines.append({"command": "visit log", "account": key, "with": [f"P-{v % 3 + 1}"],
                          "purpose": f"visit {v}", "objective": "o", "result": "r",
                          "on": (day + timedelta(days=v + 1)).isoformat()})  # fmt: skip
    for n, line in enumerate(lines):
        line["command_id"] = f"bench-{n}"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return len(lines)


def bench_apply(rounds: int, accounts: int, folder: Path) -> dict[str, Any]:
    feed = folder / "mix.jsonl"
    count = apply_file(feed, accounts)
    best: dict[str, float] = {}
    for r in range(rounds):
        order = ("encrypted", "plain") if r % 2 else ("plain", "encrypted")
        for name in order:
            db = folder / f"apply-{name}-{r}.db"
            took = run(RUN if name == "encrypted" else PLAIN, db, "apply", str(feed))
            best[name] = min(best.get(name, took), took)
    return {"lines": count, "encrypted_s": best["encrypted"], "plain_s": best["plain"],
            "ratio": best["encrypted"] / best["plain"], "rounds": rounds,
            "target": 1.10}  # fmt: skip


def bench_forget(events: int, folder: Path) -> dict[str, Any]:
    from kamflow.application import Kamflow
    from kamflow.domain.commands import COMMANDS, build

    class Clock:
        def __init__(self) -> None:
            self.now = datetime(2026, 1, 5, 1, tzinfo=UTC)

        def __call__(self) -> datetime:
            self.now += timedelta(minutes=20)
            return self.now

    source = folder / "forget.db"
    kf = Kamflow(str(source), clock=Clock())
    kf.keep_loaded()

    def do(command: str, **fields: Any) -> None:
        kf.execute(build(COMMANDS[command], fields), actor=ACTOR, again=True)

    do("account open", account="big", name="Big", industry="feed", owner=ACTOR, on="2026-01-05")
    people = 10
    for p in range(people):
        do("contact add", account="big", contact=f"Person {p}", title="t", department=f"d{p}",
           mobile=f"+86 139 {p:08d}", email=f"p{p}@example.cn", on="2026-01-05")  # fmt: skip
    n = 1 + people
    while n < events:
        do("visit log", account="big", **{"with": [f"P-{n % people + 1}"]}, purpose=f"v{n}",
           objective="o", result="r", on="2026-01-05")  # fmt: skip
        n += 1
    kf.close()
    subprocess.run([PYTHON, "-c", RUN, "--db", str(source), "report", "audit", "--account",
                    "big", "--json"], capture_output=True, env=child_env(), check=True)  # fmt: skip
    loads, forgets, cli_show, cli_forget = [], [], [], []
    for r in range(3):
        db = folder / f"forget-{r}.db"
        for end in ("", "-wal", ".keys", ".keys-wal"):
            if Path(f"{source}{end}").exists():
                shutil.copy(f"{source}{end}", f"{db}{end}")
        kf = Kamflow(str(db))
        aid = kf.load("big").id
        start = time.perf_counter()
        # The account from its events, no snapshot: every event decoded and applied.
        from eventsourcing.application import ProjectorFunction  # noqa: F401

        stored = list(kf.app.events.get(aid))
        account: Any = None
        event: Any
        for event in stored:
            account = event.mutate(account)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        kf.execute(build(COMMANDS["contact forget"], {"account": "big", "contact": f"P-{r + 1}",
                                                      "reason": "asked"}), actor=ACTOR)  # fmt: skip
        forgets.append(time.perf_counter() - start)
        kf.close()
        cli_show.append(run(RUN, db, "account", "show", "big"))
        cli_forget.append(run(RUN, db, "contact", "forget", "big", f"P-{r + 5}", "--reason", "x"))
    load, forget = statistics.median(loads), statistics.median(forgets)
    return {"events": events, "load_ms": load * 1000, "forget_ms": forget * 1000,
            "ratio": forget / load, "target": 3.0,
            "cli_show_ms": statistics.median(cli_show) * 1000,
            "cli_forget_ms": statistics.median(cli_forget) * 1000}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {
            "contact_add": bench_contact_add(5 if quick else 21, folder),
            "apply": bench_apply(2 if quick else 4, 10 if quick else 60, folder),
            "forget": bench_forget(1000 if quick else 5000, folder),
        }
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    results["quick"] = quick
    results["environment"] = environment()
    for name in ("contact_add", "apply", "forget"):
        row = results[name]
        verdict = "PASS" if row["ratio"] <= row["target"] else "FAIL"
        print(f"{name:12} ratio {row['ratio']:.3f} (target <= {row['target']}) {verdict}  {row}")
    print(f"load average before {load_before}, after {results['load_average']['after']}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"erasure-{stamp}{'-quick' if quick else ''}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"written {out}")


if __name__ == "__main__":
    main()

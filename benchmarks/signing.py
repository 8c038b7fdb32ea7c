"""The cost of signed writes (issue 12, ADR 0025), signatures off vs on in the same run.

    python benchmarks/signing.py            # 15 interleaved CLI writes each, apply 2,000 lines
    python benchmarks/signing.py --quick    # 5 writes each, apply 300 lines

Rows: the CLI write (`kamflow cost record`, a whole process) into a store with
signatures required vs one where an admin set them off (both made the same way, both
sealed); `kamflow apply` of the same file into each; `audit verify` of the signed store
(seals, signatures, snapshots, integrity) against reading and decoding its log. Targets
(issue 12): the write and apply at most +15% with signatures; verify at least 0.3x the
read+decode rate. Keys live in a scratch config folder (KAMFLOW_CONFIG_DIR). Standard
library and kamflow only; load is shared, so say `uptime` beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAMFLOW = str(Path(sys.executable).with_name("kamflow"))


def run(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([KAMFLOW, *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kamflow {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def store(env: dict[str, str], path: Path, *, signed: bool) -> None:
    run(env, "--db", str(path), "account", "open", "acme", "--name", "Acme", "--industry",
        "feed", "--owner", "bench")  # fmt: skip
    if not signed:
        run(env, "--db", str(path), "policy", "set", "signatures", "off", "--reason", "bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    writes, lines = (5, 300) if args.quick else (15, 2000)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        env = {**os.environ, "KAMFLOW_CONFIG_DIR": str(folder / "config"),
               "KAMFLOW_ACTOR": "bench", "TZ": "UTC"}  # fmt: skip
        on, off = folder / "on.db", folder / "off.db"
        store(env, on, signed=True)
        store(env, off, signed=False)
        times: dict[str, list[float]] = {"on": [], "off": []}
        for i in range(writes + 1):  # the first of each is a warm-up
            for name, db in (("on", on), ("off", off)):
                took = run(env, "--db", str(db), "cost", "record", "acme", "--amount",
                           str(100 + i), "--category", "travel")  # fmt: skip
                if i:
                    times[name].append(took)
        script = folder / "costs.jsonl"
        line = {"command": "cost record", "account": "acme", "category": "travel"}
        script.write_text(
            "".join(
                json.dumps({**line, "amount": str(1000 + n), "command_id": f"c{n}"}) + "\n"
                for n in range(lines)
            )
        )
        # Twice each, in the order off, on, on, off (the load drifts); the faster of each.
        applied: dict[str, float] = {}
        for rep, order in enumerate((("off", "on"), ("on", "off"))):
            for name in order:
                db = on if name == "on" else off
                text = script.read_text().replace('"command_id": "c', f'"command_id": "r{rep}c')
                again = folder / f"costs-{rep}.jsonl"
                again.write_text(text)
                took = run(env, "--db", str(db), "apply", str(again))
                applied[name] = min(applied.get(name, took), took)
        verify_seconds, read_seconds, check_seconds, events = verify_vs_read(on, env)
    load = os.getloadavg()[0]
    write_on, write_off = statistics.median(times["on"]), statistics.median(times["off"])
    fastest_on, fastest_off = min(times["on"]), min(times["off"])
    rows = [
        ("CLI write (cost record), median of " + str(writes), write_on, write_off,
         write_on / write_off, "<= 1.15x"),
        ("   the fastest of each", fastest_on, fastest_off, fastest_on / fastest_off, "info"),
        (f"apply of {lines} lines (the faster of 2)", applied["on"], applied["off"],
         applied["on"] / applied["off"], "<= 1.15x"),
        (f"audit verify of {events} events vs read+decode", verify_seconds, read_seconds,
         read_seconds / verify_seconds, ">= 0.3x"),
        ("   of which the signature check", check_seconds, read_seconds,
         read_seconds / check_seconds, "info"),
    ]  # fmt: skip
    print(f"signatures on vs off (load average {load:.2f}; seconds, on / off = ratio)")
    for name, a, b, ratio, target in rows:
        print(f"{name:48} {a:8.3f} {b:8.3f}  {ratio:5.2f}x  target {target}")
    return 0


def verify_vs_read(db: Path, env: dict[str, str]) -> tuple[float, float, float, int]:
    """Seconds of ``verify`` on ``db``, of reading and decoding every event, and of the
    signature check alone; how many events."""
    os.environ["KAMFLOW_CONFIG_DIR"] = env["KAMFLOW_CONFIG_DIR"]
    from kamflow.application import Kamflow
    from kamflow.signature_check import check
    from kamflow.verify import verify

    kf = Kamflow(str(db))
    try:
        started = time.perf_counter()
        recorder, mapper = kf.app.recorder, kf.app.mapper
        events, start = 0, 1
        while True:
            batch = recorder.select_notifications(start, 2000)
            for stored in batch:
                mapper.to_domain_event(stored)
            events += len(batch)
            if len(batch) < 2000:
                break
            start = batch[-1].id + 1
        read = time.perf_counter() - started
        started = time.perf_counter()
        result = verify(kf)
        verified = time.perf_counter() - started
        assert result.ok, result.findings
        started = time.perf_counter()
        check(kf)
        checked = time.perf_counter() - started
    finally:
        kf.close()
    return verified, read, checked, events


if __name__ == "__main__":
    raise SystemExit(main())

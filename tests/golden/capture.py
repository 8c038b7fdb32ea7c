"""Capture what kamflow shows a user, to compare after a change that must not alter it.

Writes, for the demo portfolio (seed 7, built as of 2026-11-30):
- ``help.txt``: the ``--help`` text of every command and group;
- ``outputs.jsonl.gz``: the ``--json`` output of every report, the agenda and the task
  list (as of 2026-11-29, the demo's last business day) and of ``account show`` /
  ``account history`` for every account,
  with the business time zone Asia/Shanghai.

Run it from the repository root: ``python tests/golden/capture.py [OUT_DIR]``. The
golden test (tests/system/test_golden.py) builds the same demo and compares.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from kamflow.application import Kamflow
from kamflow.cli import cli
from kamflow.demo import build_demo

TODAY = date(2026, 11, 30)
AS_OF = "2026-11-29"
# The demo's team works in China: its record times are 09:00-18:00 there, and every
# time is shown in that zone (ADR 0015).
ZONE = "Asia/Shanghai"
REPORTS = (
    "portfolio",
    "complaints",
    "cadence",
    "buying-centre",
    "funnel",
    "scorecard",
    "satisfaction",
    "principles",
    "audit",
)


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under ``group``, as the words a user types."""
    ctx = click.Context(group)
    paths: list[tuple[str, ...]] = [prefix]
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        assert sub is not None
        if isinstance(sub, click.Group):
            paths.extend(command_paths(sub, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


def help_texts() -> str:
    runner = CliRunner()
    out: list[str] = []
    for path in command_paths(cli):
        result = runner.invoke(cli, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, (path, result.output)
        out.append(f"=== kamflow {' '.join(path)}\n{result.output}")
    return "\n".join(out)


def outputs(db: str) -> dict[str, Any]:
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["--db", db, "--tz", ZONE, *args])
        assert result.exit_code == 0, (args, result.output)
        return _stable(json.loads(result.output))

    found: dict[str, Any] = {}
    listed = run("account", "list", "--json")
    keys = [a["key"] for a in listed]
    # Accounts closed or merged have no customer file: they are out of every report.
    gone = {a["key"] for a in listed if a["lifecycle"] in ("closed", "merged")}
    found["account list"] = listed
    for name in REPORTS:
        found[f"report {name}"] = run("report", name, "--as-of", AS_OF, "--json")
    # The KAM's week (issue 15): everyone's agenda for two weeks, and every task.
    found["agenda"] = run("agenda", "--days", "14", "--as-of", AS_OF, "--json")
    found["task list"] = run("task", "list", "--all", "--as-of", AS_OF, "--json")
    # The monthly review (issue 15): a month compared with the one before, converted.
    for name in ("portfolio", "scorecard"):
        found[f"report {name} --month 2026-10 --compare previous"] = run(
            "report", name, "--month", "2026-10", "--compare", "previous", "--as-of", AS_OF,
            "--json",
        )  # fmt: skip
    found["fx show"] = run("fx", "show", "--json")
    for key in keys:
        found[f"account show {key}"] = run("account", "show", key, "--json")
        found[f"account history {key}"] = run("account", "history", key, "--json")
        if key not in gone:
            found[f"report file {key}"] = run("report", "file", key, "--as-of", AS_OF, "--json")
    return found


def _stable(value: Any) -> Any:
    """``value`` with the generated (uuid4) command ids blanked: they differ every run."""
    if isinstance(value, dict):
        return {
            k: "<generated>" if k == "command_id" and _generated(v) else _stable(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _generated(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    )


def build(db: str) -> None:
    kamflow = Kamflow(db, tz=ZONE)
    try:
        build_demo(kamflow, accounts=60, seed=7, today=TODAY)
    finally:
        kamflow.close()


def write_outputs(path: Path, found: dict[str, Any]) -> None:
    """One JSON line per output, sorted, gzipped without a timestamp (reproducible)."""
    lines = [json.dumps({k: found[k]}, ensure_ascii=False, sort_keys=True) for k in sorted(found)]
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(("\n".join(lines) + "\n").encode())


def read_outputs(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            found.update(json.loads(line))
    return found


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    with tempfile.TemporaryDirectory() as tmp:
        # A signing key the build makes (ADR 0025) stays in here, not in the user's.
        os.environ["KAMFLOW_CONFIG_DIR"] = str(Path(tmp) / "config")
        db = str(Path(tmp) / "demo.db")
        build(db)
        (out / "help.txt").write_text(help_texts(), encoding="utf-8")
        write_outputs(out / "outputs.jsonl.gz", outputs(db))


if __name__ == "__main__":
    main()

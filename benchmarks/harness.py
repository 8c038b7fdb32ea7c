"""What both benchmark scripts share: the printed row, process environment, timing
helpers and the `python -X importtime` reader. Standard library only."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PYTHON = sys.executable
ACTOR = "bench"


@dataclass
class Row:
    """One line of the printed table and of the JSON ``rows``."""

    name: str
    figure: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: informational

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "info"
        return "PASS" if self.passed else "FAIL"


def render_rows(rows: Sequence[Row], title: str) -> str:
    """The printed table: a title line, then one aligned line per row."""
    headers = ["benchmark", "figure", "baseline", "ratio", "target", "result"]
    cells = [
        [
            r.name,
            r.figure,
            r.baseline,
            f"{r.ratio:.2f}x" if r.ratio is not None else "",
            r.target,
            r.verdict,
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *cells, strict=True)]
    out = [
        title,
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells),
    ]
    return "\n".join(out)


def environment() -> dict[str, Any]:
    """What the figures were measured with: interpreter, machine, versions, commit."""
    from importlib import metadata

    from kamflow import __version__

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "python": sys.version.split()[0],
        "executable": PYTHON,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "kamflow": __version__,
        "eventsourcing": metadata.version("eventsourcing"),
        "pydantic": metadata.version("pydantic"),
        "click": metadata.version("click"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "kamflow")),
        "load_average_at_start": os.getloadavg(),
    }


def log(message: str) -> None:
    """A progress line on stderr, tagged with the script's name and the time."""
    tag = Path(sys.argv[0]).stem
    print(f"[{tag} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def kamflow_script() -> str:
    """The console script installed next to this interpreter (same venv)."""
    candidate = Path(PYTHON).with_name("kamflow")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kamflow")
    if found is None:
        raise SystemExit("kamflow console script not found; pip install -e . first")
    return found


def child_env() -> dict[str, str]:
    """The environment of every measured process.

    Byte-code is cached under results/pycache (PYTHONPYCACHEPREFIX) and always written,
    even if the caller set PYTHONDONTWRITEBYTECODE: otherwise a module edited since its
    .pyc was written is compiled again in every process, which no installed kamflow does,
    and start-up figures would measure the compiler. Warm-up runs fill the cache. The
    caller's KAMFLOW_DB is dropped; the actor is fixed.
    """
    env = dict(os.environ)
    env.pop("KAMFLOW_DB", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(RESULTS / "pycache")
    env["KAMFLOW_ACTOR"] = ACTOR
    return env


def clear_report_cache(db: Path) -> None:
    """Forget the JSON reports keep (kamflow.projections.reportcache), as a write would."""
    conn = sqlite3.connect(db)
    try:
        if conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'kf_report_cache'"
        ).fetchone()[0]:
            conn.execute("DELETE FROM kf_report_cache")
            conn.commit()
    finally:
        conn.close()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@dataclass(frozen=True)
class ImportTimes:
    """Medians over several `python -X importtime` runs of one command, in ms."""

    runs: int
    total: float  # all modules' own time
    cumulative: dict[str, float]  # per module, itself and what it imported
    own: dict[str, float]  # per module, itself only
    top_level: list[str]  # modules imported at the top, largest cumulative time first

    def summary(self, heaviest: int) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "total_import_ms": self.total,
            "top_level_cumulative_ms": {n: self.cumulative[n] for n in self.top_level[:15]},
            "top_self_ms": {
                n: self.own[n] for n in sorted(self.own, key=lambda n: -self.own[n])[:heaviest]
            },
        }


def import_times(commands: Sequence[list[str]]) -> ImportTimes:
    """Run each command (argv after the interpreter) under `-X importtime`."""
    selfs: dict[str, list[int]] = {}
    cumuls: dict[str, list[int]] = {}
    depth: dict[str, int] = {}
    totals: list[int] = []
    for argv in commands:
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", *argv],
            capture_output=True,
            text=True,
            env=child_env(),
            check=True,
        )
        total = 0
        for raw in proc.stderr.splitlines():
            if not raw.startswith("import time:") or "imported package" in raw:
                continue
            self_us, cumul_us, name = raw[len("import time:") :].split("|", 2)
            stripped = name.lstrip(" ")
            depth[stripped] = (len(name) - len(stripped) - 1) // 2
            selfs.setdefault(stripped, []).append(int(self_us))
            cumuls.setdefault(stripped, []).append(int(cumul_us))
            total += int(self_us)
        totals.append(total)
    cum = {n: round(median(v) / 1000, 1) for n, v in cumuls.items()}
    own = {n: round(median(v) / 1000, 1) for n, v in selfs.items()}
    top = sorted((n for n in cum if depth[n] == 0), key=lambda n: -cum[n])
    return ImportTimes(len(commands), round(median(totals) / 1000, 1), cum, own, top)

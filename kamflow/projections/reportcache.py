"""A report's JSON, kept until the views it was made from move (ADR 0024).

`report portfolio --json` over 10,000 accounts spends most of its time building and
encoding the same answer again while nothing was written. The rendered JSON is kept in
``kf_report_cache`` (one row per report) under a key made of everything the text
depends on: the report and its parameters, the business date and zone, every view's
log position and definition fingerprint (kf_tracking), and the kamflow code that built
it. Any write that reaches the views moves a position, so the next report is built
again; nothing is ever served from views older than the ones just caught up.
"""

from __future__ import annotations

import hashlib
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamflow.projections.engine import REPORT_CACHE_TABLE

if TYPE_CHECKING:
    from kamflow.projections.db import ViewDB

# The table's definition lives with the engine, whose rebuild empties it.
TABLE = REPORT_CACHE_TABLE
_PACKAGE = Path(__file__).resolve().parent.parent


def _code_stamp(name: str) -> str:
    """The files that shape a report's JSON, by size and modification time: a changed
    report (or encoder) in a development checkout never meets an old answer."""
    module = name.replace("-", "_")
    parts = []
    for path in (
        _PACKAGE / "projections" / "reports" / f"{module}.py",
        _PACKAGE / "projections" / "reports" / "base.py",
        _PACKAGE / "projections" / "handlers.py",
        _PACKAGE / "output.py",
    ):
        try:
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{path.name}:?")
    return ";".join(parts)


def cache_key(db: ViewDB, name: str, params: dict[str, Any], today: date, zone: tzinfo) -> str:
    """The key of a report's JSON over ``db`` as it stands now."""
    from kamflow import __version__

    tracking = sorted(
        (str(v), int(p), str(f))
        for v, p, f in db.rows("SELECT view, position, fingerprint FROM kf_tracking")
    )
    text = repr(
        (
            __version__,
            _code_stamp(name),
            name,
            sorted((k, repr(v)) for k, v in params.items()),
            today.isoformat(),
            str(zone),
            tracking,
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached(db: ViewDB, name: str, key: str) -> str | None:
    """The JSON kept for ``name`` under ``key``, or None."""
    if not db.table_exists("kf_report_cache"):
        return None
    rows = db.rows("SELECT cache_key, body FROM kf_report_cache WHERE report = ?", (name,))
    if rows and rows[0][0] == key:
        return str(rows[0][1])
    return None


def keep(db: ViewDB, name: str, key: str, body: str) -> None:
    """Keep ``body`` as ``name``'s JSON under ``key`` (replacing the one kept before).
    Best effort: a store that cannot be written (read-only) keeps nothing."""
    try:
        with db.transaction() as cur:
            cur.execute(db.sql(TABLE))
            cur.execute(
                db.sql(
                    "INSERT INTO kf_report_cache (report, cache_key, body) VALUES (?, ?, ?)"
                    " ON CONFLICT (report) DO UPDATE"
                    " SET cache_key = excluded.cache_key, body = excluded.body"
                ),
                (name, key, body),
            )
    except Exception:  # a cache: failing to keep it only costs the next report its time
        return

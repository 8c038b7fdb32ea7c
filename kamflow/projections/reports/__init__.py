"""Reports over the views. Each module has ``build(db, params) -> Report``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from kamflow.projections.db import ViewDB
from kamflow.projections.reports.base import Report, ReportParams

# Report name (as users type it) -> module holding its build().
MODULES = {
    "file": "file",
    "portfolio": "portfolio",
    "complaints": "complaints",
    "cadence": "cadence",
    "buying-centre": "buying_centre",
    "funnel": "funnel",
    "satisfaction": "satisfaction",
    "principles": "principles",
    "audit": "audit",
    "scorecard": "scorecard",
}

# Report name -> the views (projections/views.py) whose tables it reads: a report over
# a view that skips events names them and exits 1; the others answer as ever.
# tests/projections/test_projection_failures.py checks these against the tables each report reads.
READS = {
    "file": ("accounts", "people", "visits", "complaints", "ledger", "market"),
    "portfolio": ("accounts", "ledger", "governance"),
    "complaints": ("accounts", "complaints", "governance"),
    "cadence": ("accounts", "visits", "governance"),
    "buying-centre": ("accounts", "people"),
    "funnel": ("accounts", "market", "governance"),
    "satisfaction": ("accounts", "market"),
    "principles": (
        "accounts",
        "people",
        "visits",
        "complaints",
        "ledger",
        "market",
        "governance",
        "audit",
    ),
    "audit": ("audit",),
    "scorecard": (
        "accounts",
        "visits",
        "complaints",
        "ledger",
        "market",
        "governance",
    ),
}


def builder(name: str) -> Callable[[ViewDB, ReportParams], Report]:
    module = import_module(f"kamflow.projections.reports.{MODULES[name]}")
    build: Callable[[ViewDB, ReportParams], Report] = module.build
    return build

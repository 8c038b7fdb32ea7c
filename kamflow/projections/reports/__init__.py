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
}


def builder(name: str) -> Callable[[ViewDB, ReportParams], Report]:
    module = import_module(f"kamflow.projections.reports.{MODULES[name]}")
    build: Callable[[ViewDB, ReportParams], Report] = module.build
    return build

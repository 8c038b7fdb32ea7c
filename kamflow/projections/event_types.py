"""The names of the event classes, read from their source without importing them.

Here rather than in ``kamflow.domain``: it reads files, and the domain does no I/O.

Reports over caught-up views must not import eventsourcing (ADR 0009), yet the audit
trail must know every event type (to refuse a ``--type`` that names none) and which of
them correct an earlier fact (``--type corrections``). Both are read here from the
classes themselves, as written in ``account.py`` and ``governance.py``: every class
nested in ``Account`` or ``Governance`` that derives from its ``Event``, and of those the
ones that declare ``corrects = True`` (ADR 0031). Nothing is kept by hand, so a new
event class is known to the audit trail the moment it is written.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

# The modules that declare the aggregates, and the aggregate class in each.
SOURCES = (("account.py", "Account"), ("governance.py", "Governance"))


def _base_names(node: ast.ClassDef) -> list[str]:
    """A class's bases as written: ``Event``, ``TierChanged``, ``Aggregate.Created``..."""
    return [ast.unparse(base) for base in node.bases]


def _corrects(node: ast.ClassDef) -> bool:
    return any(
        isinstance(item, ast.Assign)
        and [ast.unparse(target) for target in item.targets] == ["corrects"]
        and isinstance(item.value, ast.Constant)
        and item.value.value is True
        for item in node.body
    )


def _events_of(source: str, aggregate: str) -> dict[str, bool]:
    """The event classes nested in ``aggregate`` in the module text ``source``, in the
    order they are declared, each with whether it corrects an earlier fact."""
    outer = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef) and node.name == aggregate
    )
    events: dict[str, bool] = {}
    for node in outer.body:
        if not isinstance(node, ast.ClassDef) or node.name == "Event":
            continue
        bases = _base_names(node)
        # An event derives from the aggregate's Event, directly or through another event.
        if "Event" in bases or any(base in events for base in bases):
            events[node.name] = _corrects(node) or any(events.get(b, False) for b in bases)
    return events


@cache
def event_types() -> dict[str, bool]:
    """Every event type of both aggregates (``{"AccountOpened": False, ...,
    "FactVoided": True, ...}``: whether it corrects an earlier fact), Account's first,
    each in the order declared. Reads two source files once per process."""
    here = Path(__file__).parent.parent / "domain"
    found: dict[str, bool] = {}
    for module, aggregate in SOURCES:
        found |= _events_of((here / module).read_text(encoding="utf-8"), aggregate)
    return found
